/*
 * NVLS (inside one NVLink domain with an NVLS switch): all-reduce: each
 * member sends its buffer to the NVSwitch, which reduces and multicasts
 * the result; reduce-scatter: the switch sends each reduced chunk to its
 * owner only; all-gather: each member's part is multicast
 * (cx_net_send_nvls).  Also the inside-domain phases of a hierarchical
 * all-reduce (cx_coll_hier.c).  Reduce-scatter and all-gather run at their
 * own efficiency (nvls_rsag_efficiency): an all-reduce's in-switch
 * reduction with multicast back (nvls_efficiency, ~480 GB/s of bus
 * bandwidth on H100) is not what either of them pays (issue 14 item 3).
 */
#include "cx_coll_impl.h"

#include <math.h>

static void cx_coll_nvls_setup(cx_coll_ctx_t *x)
{
    cx_coll_run_t          *run = x->run;
    const cx_op_t          *op  = &run->cur;
    const cx_coll_params_t *p   = &x->gpu->g->cfg.coll;
    uint32_t                n = op->group_size, me = op->group_index;
    uint64_t                bytes = op->bytes;

    /* All-reduce: the buffer up, the reduced buffer down to everyone.
     * Reduce-scatter: the buffer up, each reduced chunk down to its owner
     * only.  All-gather: each member's part up, multicast down. */
    run->n_send     = 1;
    run->n_recv     = 1;
    /* A collective of its own pays NVLS's latency (CX_COLL_NVLS_LATENCY,
     * NCCL's); a phase of a hierarchical one the step latency (its first
     * chunk pays NVLS's, cx_coll_hier.c). */
    run->send_delay = run->def == &cx_coll_algo_nvls ? CX_COLL_NVLS_LATENCY : p->nvlink_step_latency;
    if (op->cls == CX_COLL_ALLGATHER) {
        run->nvls_mode  = CX_NET_FLAG_NVLS_MC;
        run->send_bytes = (uint64_t)ceil((double)cx_ceil_div(bytes, n) / p->nvls_rsag_efficiency);
        run->recv_bytes = run->send_bytes * n;
    } else if (op->cls == CX_COLL_REDUCESCATTER) {
        uint64_t csize = cx_net_get_config(x->gpu->g->net)->nvls_chunk_bytes, k, nk;
        run->nvls_mode  = CX_NET_FLAG_NVLS_RS;
        run->send_bytes = (uint64_t)ceil((double)bytes / p->nvls_rsag_efficiency);
        nk              = cx_ceil_div(run->send_bytes, csize);
        run->recv_bytes = 0;
        for (k = 0; k < nk; k++) {
            if (cx_net_nvls_owner((uint32_t)k, (uint32_t)nk, n) != me) continue;
            run->recv_bytes += run->send_bytes - k * csize < csize ? run->send_bytes - k * csize : csize;
        }
        if (run->recv_bytes == 0) run->n_recv = 0;  /* more members than chunks */
    } else {
        run->nvls_mode  = CX_NET_FLAG_NVLS;
        run->send_bytes = (uint64_t)ceil((double)bytes / p->nvls_efficiency);
        run->recv_bytes = run->send_bytes;
    }
}

static int cx_coll_nvls_poll(cx_coll_ctx_t *x)
{
    cx_coll_run_t *run = x->run;
    const cx_op_t *op  = &run->cur;
    if (run->sent[0] == 0) {
        cx_coll_sent(run, cx_net_send_nvls(x->eng, x->ent, cx_gpus_global(x->gpu->g, op->u.group_base),
                                           op->group_stride, op->group_size, run->send_bytes, op->tag,
                                           CX_COOKIE_COLL, run->send_delay, run->nvls_mode));
        run->sent[0] = 1;
    }
    if (run->rcvd[0] < run->n_recv && cx_mail_take(x->gpu, op->tag, CX_COOKIE_COLL, CX_SRC_ANY, run->recv_bytes)) {
        run->rcvd[0] = 1;
    }
    return run->rcvd[0] == run->n_recv && cx_coll_tx_clear(x);
}

const cx_coll_algo_def_t cx_coll_algo_nvls = {
    CX_ALGO_NVLS,
    CX_KIND(CX_COLL_ALLREDUCE) | CX_KIND(CX_COLL_REDUCESCATTER) | CX_KIND(CX_COLL_ALLGATHER),
    CX_GROUP_NVLS,
    cx_coll_nvls_setup,
    NULL,
    NULL,
    cx_coll_nvls_poll,
};
