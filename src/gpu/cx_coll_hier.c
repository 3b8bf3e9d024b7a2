/*
 * HIERARCHICAL (all-reduce over several NVLink domains of g members):
 * reduce-scatter inside each domain (NVLS where the NVSwitch has it, NCCL's
 * NVLS tree; else ring), all-reduce of the 1/g shard across domains among
 * the GPUs of one rail (ring for hier, double binary tree for tree), and
 * all-gather inside each domain.
 *
 * Pipelined (issue 14 item 3), as NCCL's NVLS tree and CollNet chain run
 * it: the buffer is cut into K <= 16 chunks and the three phases run as
 * three lanes at once, lane s taking chunk
 * k as soon as lane s-1 has finished it: while chunk k crosses the domains,
 * chunk k+1 is reduced inside and chunk k-1 gathered.  Each lane is a run
 * of its own (the phase's algorithm row polls it unchanged), allocated for
 * the collective's life.  K is what an alpha-beta estimate of the three
 * phases finds fastest: the pipeline costs the three phases of one chunk
 * plus K - 1 times the slowest, and every chunk pays each phase's step
 * latencies, so small buffers stay in one chunk, the sequential form.
 */
#include "cx_coll_impl.h"

#include <stdlib.h>

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

/* Lane s (phase s) takes chunk lane->phase of the K: its sub-collective,
 * with a tag of its own (1 + s + 3k in the spare bits) and set up. */
static void cx_coll_hier_lane_setup(cx_coll_ctx_t *x, uint32_t s)
{
    cx_coll_run_t *run  = x->run, *lane = &run->lanes[s];
    cx_coll_ctx_t  lx   = {x->eng, x->ent, x->gpu, lane};
    uint32_t       k = lane->phase, K = run->chunks;
    cx_op_t        chunk = *run->op;
    chunk.bytes = run->op->bytes / K + (k < run->op->bytes % K ? 1 : 0);
    cx_coll_hier_phase(&chunk, run->g, s, &lane->cur);
    lane->cur.tag = run->op->tag | (uint64_t)(1 + s + 3 * k);
    lane->proto   = run->proto;
    lane->active  = 1;
    cx_coll_phase_setup(&lx, cx_coll_hier_ph(run, s));
    /* NVLS's latency once per collective (NCCL's NVLS tree: intraLat once). */
    if (s == 0 && k == 0 && run->nvls_in) lane->send_delay = CX_COLL_NVLS_LATENCY;
}

/* Advance the lanes; 1 when the last has gathered the last chunk. */
static int cx_coll_hier_pipe_poll(cx_coll_ctx_t *x)
{
    cx_coll_run_t *run = x->run;
    int            moved = 1;
    uint32_t       s;
    while (moved) {
        moved = 0;
        for (s = 0; s < 3; s++) {
            cx_coll_run_t *lane = &run->lanes[s];
            cx_coll_ctx_t  lx   = {x->eng, x->ent, x->gpu, lane};
            if (lane->phase >= run->chunks) continue;
            if (!lane->active) {
                if (s > 0 && run->lanes[s - 1].phase <= lane->phase) continue;  /* chunk not here yet */
                cx_coll_hier_lane_setup(x, s);
            }
            if (lane->cur.group_size > 1 && !lane->ph->poll(&lx)) continue;
            lane->active = 0;
            lane->phase++;
            moved = 1;
        }
    }
    if (run->lanes[2].phase < run->chunks) return 0;
    free(run->lanes);
    run->lanes = NULL;
    return 1;
}

/* Runs the lanes (not in the table: a form of hier and tree). */
static const cx_coll_algo_def_t cx_coll_hier_pipe = {
    CX_ALGO_HIER, CX_KIND(CX_COLL_ALLREDUCE), CX_GROUP_RAILS, NULL, NULL, NULL, cx_coll_hier_pipe_poll,
};

void cx_coll_hier_begin(cx_coll_ctx_t *x, uint32_t g, const cx_coll_algo_def_t *inner)
{
    cx_coll_run_t *run = x->run;
    cx_gpu_t      *gpu = x->gpu;
    cx_coll_links_t l;
    uint32_t       K;
    run->n_phases = 3;
    run->inner    = (uint8_t)inner->id;
    run->g        = g;
    /* NVLS reduce-scatter / all-gather inside the domain where the
     * NVSwitch offers it (NCCL's NVLS tree), rings otherwise and under the
     * tree (NCCL's tree chains inside a node: no NVLS latency to pay). */
    run->nvls_in = (uint8_t)(inner->id != CX_ALGO_TREE && g > 2 && cx_topo_domain_nvswitch(gpu->g->topo, gpu->domain) != UINT64_MAX &&
                             cx_topo_domain_nvls(gpu->g->topo, gpu->domain));
    cx_coll_links(gpu->g, run->op, g, &l);
    /* K: the least estimated time (Simple's figures, member 0's links, so
     * every member finds the same K). */
    K            = cx_coll_hier_chunks(&gpu->g->cfg.coll, &l, run->op->bytes, run->op->group_size, g, run->nvls_in);
    if (K >= 2) {
        run->chunks   = (uint8_t)K;
        run->n_phases = 1;
        run->lanes    = calloc(3, sizeof(*run->lanes));
        if (run->lanes == NULL) cx_fatal("GPU %llu: out of memory for a pipelined all-reduce", (unsigned long long)gpu->gpu);
        run->ph = &cx_coll_hier_pipe;
        return;
    }
    cx_coll_hier_phase(run->op, g, 0, &run->cur);
    cx_coll_phase_setup(x, cx_coll_hier_ph(run, 0));
    if (run->nvls_in) run->send_delay = CX_COLL_NVLS_LATENCY;
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
