/*
 * PAIRWISE (all-to-all): every member sends bytes/n to every other at once.
 * PXN (NCCL's PCI x NVLink, cx_coll_params_t.pxn): traffic to a GPU of
 * another NVLink domain on another rail first crosses NVLink to the GPU of
 * this domain on the destination's rail, which sends it over its NIC
 * (cx_gpu_on_recv relays it), so the scale-out hop stays on one rail.
 */
#include "cx_coll_impl.h"

/* The GPU to send to on the way to peer (this GPU when direct).  Needs
 * NVLink domains laid out as gpu / gpd and GPU indices < 2^32. */
static uint64_t cx_coll_pxn_via(const cx_gpu_t *gpu, uint64_t peer)
{
    const cx_gpus_t *g   = gpu->g;
    uint64_t         gpd = g->gpd;
    if (!g->cfg.coll.pxn || gpd <= 1 || peer >= g->gpd_gpus || gpu->gpu >= g->gpd_gpus || peer > UINT32_MAX) {
        return gpu->gpu;
    }
    if (peer / gpd == gpu->gpu / gpd || peer % gpd == gpu->gpu % gpd) return gpu->gpu;
    return (gpu->gpu / gpd) * gpd + peer % gpd;
}

static void cx_coll_pairwise_setup(cx_coll_ctx_t *x)
{
    cx_coll_run_t *run = x->run;
    const cx_op_t *op  = &run->cur;
    uint32_t       n = op->group_size, me = op->group_index, j;
    uint64_t       data = cx_ceil_div(op->bytes, n), w;
    run->n_send = n - 1;
    run->n_recv = 1;
    for (j = 1; j < n; j++) {
        cx_coll_link(x, cx_coll_member(op, (me + n - j) % n), x->gpu->gpu, data, &w, NULL);
        run->recv_bytes += w;
    }
}

static int cx_coll_pairwise_poll(cx_coll_ctx_t *x)
{
    cx_coll_run_t *run = x->run;
    cx_gpu_t      *gpu = x->gpu;
    const cx_op_t *op  = &run->cur;
    uint32_t       n = op->group_size, me = op->group_index;
    if (run->sent[0] == 0) {
        uint32_t j;
        for (j = 1; j < n; j++) {
            uint64_t  peer = cx_coll_member(op, (me + j) % n), w, via;
            cx_time_t lat;
            cx_coll_link(x, gpu->gpu, peer, cx_ceil_div(op->bytes, n), &w, &lat);
            via = cx_coll_pxn_via(gpu, peer);
            if (via != gpu->gpu) {
                /* PXN: over NVLink to the GPU of this domain on the peer's
                 * rail, which sends it on over its NIC. */
                cx_coll_sent(run, cx_net_send_ex(x->eng, x->ent, cx_gpus_device(gpu->g, via), w, op->tag,
                                                 CX_COOKIE_COLL | CX_COOKIE_RELAY, lat,
                                                 (uint32_t)cx_gpus_global(gpu->g, peer), 0));
            } else {
                cx_coll_sent(run, cx_net_send_ex(x->eng, x->ent, cx_gpus_device(gpu->g, peer), w, op->tag,
                                                 CX_COOKIE_COLL, lat, 0, 0));
            }
        }
        run->sent[0] = n - 1;
    }
    if (run->rcvd[0] == 0 && cx_mail_take(gpu, op->tag, CX_COOKIE_COLL, CX_SRC_ANY, run->recv_bytes)) {
        run->rcvd[0] = 1;
    }
    return run->rcvd[0] == 1 && cx_coll_tx_clear(x);
}

const cx_coll_algo_def_t cx_coll_algo_pairwise = {
    CX_ALGO_PAIRWISE, CX_KIND(CX_COLL_ALLTOALL), CX_GROUP_ANY, cx_coll_pairwise_setup, NULL, NULL,
    cx_coll_pairwise_poll,
};
