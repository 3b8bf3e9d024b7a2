/*
 * HIERARCHICAL (all-reduce over several NVLink domains of g members):
 * reduce-scatter inside each domain (NVLS where the NVSwitch has it, NCCL's
 * NVLS tree; else ring), all-reduce of the 1/g shard across domains among
 * the GPUs of one rail (ring for hier, double binary tree for tree), and
 * all-gather inside each domain.  The phases run one after the other (no
 * pipelining between them).
 */
#include "cx_coll_impl.h"

/* Phase ph (0..2) of a hierarchical all-reduce of op over domains of g. */
static void cx_coll_hier_phase(const cx_op_t *op, uint32_t g, uint32_t ph, cx_op_t *sub)
{
    uint32_t me = op->group_index, n = op->group_size;
    *sub     = *op;
    sub->tag = op->tag | (uint64_t)(ph + 1);   /* low tag bits are free (cx_op_tag) */
    if (ph == 1) {
        /* The 1/g shard, across domains, among the GPUs of this rail. */
        sub->cls          = CX_COLL_ALLREDUCE;
        sub->bytes        = cx_ceil_div(op->bytes, g);
        sub->u.group_base = cx_coll_member(op, me % g);
        sub->group_stride = op->group_stride * g;
        sub->group_size   = n / g;
        sub->group_index  = me / g;
    } else {
        sub->cls          = ph == 0 ? CX_COLL_REDUCESCATTER : CX_COLL_ALLGATHER;
        sub->u.group_base = cx_coll_member(op, (uint64_t)(me / g) * g);
        sub->group_size   = g;
        sub->group_index  = me % g;
    }
}

/* The algorithm running phase ph. */
static const cx_coll_algo_def_t *cx_coll_hier_ph(const cx_coll_run_t *run, uint32_t ph)
{
    if (ph == 1) return cx_coll_algo(run->inner);
    return run->nvls_in ? &cx_coll_algo_nvls : &cx_coll_algo_ring;
}

void cx_coll_hier_begin(cx_coll_ctx_t *x, uint32_t g, const cx_coll_algo_def_t *inner)
{
    cx_coll_run_t *run = x->run;
    cx_gpu_t      *gpu = x->gpu;
    run->n_phases = 3;
    run->inner    = (uint8_t)inner->id;
    run->g        = g;
    /* NVLS reduce-scatter / all-gather inside the domain where the
     * NVSwitch offers it (NCCL's NVLS tree), rings otherwise. */
    run->nvls_in = (uint8_t)(g > 2 && cx_topo_domain_nvswitch(gpu->g->topo, gpu->domain) != UINT64_MAX);
    cx_coll_hier_phase(run->op, g, 0, &run->cur);
    cx_coll_phase_setup(x, cx_coll_hier_ph(run, 0));
}

void cx_coll_hier_next(cx_coll_ctx_t *x)
{
    cx_coll_run_t *run = x->run;
    cx_coll_hier_phase(run->op, run->g, run->phase, &run->cur);
    cx_coll_phase_setup(x, cx_coll_hier_ph(run, run->phase));
}

static void cx_coll_hier_start(cx_coll_ctx_t *x, uint32_t g)
{
    cx_coll_hier_begin(x, g, &cx_coll_algo_ring);
}

const cx_coll_algo_def_t cx_coll_algo_hier = {
    CX_ALGO_HIER, CX_KIND(CX_COLL_ALLREDUCE), CX_GROUP_RAILS, NULL, cx_coll_hier_start, cx_coll_hier_next, NULL,
};
