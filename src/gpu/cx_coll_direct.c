/*
 * DIRECT (all-gather, broadcast): no ring, no pipeline: in an all-gather
 * every member sends its piece (bytes / n) straight to every other member
 * at once; in a broadcast member 0 sends the whole buffer to every other.
 * One step each, so its latency does not grow with n, but every piece
 * crosses the fabric n - 1 times from one sender: what NCCL avoids with
 * rings.  The proof that an algorithm is one file and one table row
 * (cx_coll_algos.h); selectable as --algo direct.
 */
#include "cx_coll_impl.h"

/* Payload this member sends to each other member (0: none). */
static uint64_t cx_coll_direct_piece(const cx_op_t *op, uint32_t member)
{
    if (op->cls == CX_COLL_BROADCAST) return member == 0 ? op->bytes : 0;
    return cx_ceil_div(op->bytes, op->group_size);
}

static void cx_coll_direct_setup(cx_coll_ctx_t *x)
{
    cx_coll_run_t *run = x->run;
    const cx_op_t *op  = &run->cur;
    uint32_t       n = op->group_size, me = op->group_index, j;
    uint64_t       w;
    run->n_send = cx_coll_direct_piece(op, me) > 0 ? n - 1 : 0;
    for (j = 1; j < n; j++) {
        uint32_t from = (me + n - j) % n;
        if (cx_coll_direct_piece(op, from) == 0) continue;
        cx_coll_link(x, cx_coll_member(op, from), x->gpu->gpu, cx_coll_direct_piece(op, from), &w, NULL);
        run->recv_bytes += w;
    }
    run->n_recv = run->recv_bytes > 0;
}

static int cx_coll_direct_poll(cx_coll_ctx_t *x)
{
    cx_coll_run_t *run = x->run;
    cx_gpu_t      *gpu = x->gpu;
    const cx_op_t *op  = &run->cur;
    uint32_t       n = op->group_size, me = op->group_index, j;
    for (j = 1; run->sent[0] < run->n_send && j < n; j++) {
        uint64_t  peer = cx_coll_member(op, (me + j) % n), w;
        cx_time_t lat;
        cx_coll_link(x, gpu->gpu, peer, cx_coll_direct_piece(op, me), &w, &lat);
        cx_coll_sent(run, cx_net_send_ex(x->eng, x->ent, cx_gpus_device(gpu->g, peer), w, op->tag, CX_COOKIE_COLL,
                                         lat, 0, 0));
    }
    run->sent[0] = run->n_send;
    if (run->rcvd[0] < run->n_recv && cx_mail_take(gpu, op->tag, CX_COOKIE_COLL, CX_SRC_ANY, run->recv_bytes)) {
        run->rcvd[0] = 1;
    }
    return run->rcvd[0] == run->n_recv && cx_coll_tx_clear(x);
}

const cx_coll_algo_def_t cx_coll_algo_direct = {
    CX_ALGO_DIRECT, CX_KIND(CX_COLL_ALLGATHER) | CX_KIND(CX_COLL_BROADCAST), CX_GROUP_ANY,
    cx_coll_direct_setup, NULL, NULL, cx_coll_direct_poll,
};
