/*
 * Collectives as NCCL runs them, expanded into point-to-point steps over net.
 *
 * RING (all-reduce 2(n-1) steps, reduce-scatter and all-gather n-1 steps,
 * each moving bytes / (n * channels) per channel).  When the group spans
 * several NVLink domains with g members each, channel c's ring visits the
 * members of every domain starting at local index c, alternating direction
 * from one domain to the next ("snake"), so every inter-domain hop of
 * channel c joins two GPUs of the same local index: the same rail, as NCCL's
 * rail-aligned rings do.  There is one channel per rail, so every NIC
 * carries one channel.  Step s+1 of a channel may leave only when step s has
 * arrived (the data must be reduced or forwarded first).
 * CHAIN (broadcast): a pipeline from member 0 along the ring, in pieces.
 * PAIRWISE (all-to-all): every member sends bytes/n to every other at once.
 * NVLS (all-reduce inside one NVLink domain): each member sends its buffer
 * to the NVSwitch, which reduces and multicasts the result (cx_net_send_nvls).
 *
 * Protocol overhead: a step of B payload bytes puts B / efficiency bytes on
 * the wire (efficiency per link class, cx_coll_params_t), plus a per-step
 * software latency before its first byte leaves.  Both sides of a step
 * compute the same wire size from the same inputs, so they agree exactly.
 */
#include "cx_gpu_internal.h"

#include <math.h>
#include <string.h>

static uint64_t cx_ceil_div(uint64_t a, uint64_t b) { return b == 0 ? 0 : (a + b - 1) / b; }


/* Member index at ring position pos of channel c (snake over domains). */
static uint32_t cx_ring_member(uint32_t pos, uint32_t g, uint32_t n, uint32_t c)
{
    uint32_t d, k, l;
    if (g <= 1 || g >= n) return pos;
    c %= g;
    d = pos / g;
    k = pos % g;
    l = (d % 2 == 0) ? (c + k) % g : (c + 2 * g - 1 - k) % g;
    return d * g + l;
}

static uint32_t cx_ring_pos(uint32_t member, uint32_t g, uint32_t n, uint32_t c)
{
    uint32_t d, l, k;
    if (g <= 1 || g >= n) return member;
    c %= g;
    d = member / g;
    l = member % g;
    k = (d % 2 == 0) ? (l + g - c) % g : (c + 2 * g - 1 - l) % g;
    return d * g + k;
}

/* Wire bytes and step latency of a hop between two members. */
static void cx_coll_link(const cx_gpu_t *gpu, const cx_coll_params_t *p, uint64_t a, uint64_t b,
                         uint64_t payload, uint64_t *wire_p, cx_time_t *lat_p)
{
    int              intra = cx_gpus_domain(gpu->g, a) == cx_gpus_domain(gpu->g, b);
    double           eff   = intra ? p->nvlink_efficiency : p->net_efficiency;
    *wire_p = (uint64_t)ceil((double)payload / (eff > 0 ? eff : 1.0));
    if (lat_p != NULL) *lat_p = intra ? p->nvlink_step_latency : p->net_step_latency;
}

/* Members per NVLink domain when the group is laid out domain by domain
 * with the same count in each; 1 otherwise. */
static uint32_t cx_coll_per_domain(const cx_gpus_t *gs, const cx_op_t *op)
{
    uint32_t n = op->group_size, g = 1, d;
    uint64_t d0 = cx_gpus_domain(gs, cx_coll_member(op, 0));
    while (g < n && cx_gpus_domain(gs, cx_coll_member(op, g)) == d0) g++;
    if (n % g != 0) return 1;
    /* Check the boundaries of every domain block. */
    for (d = 1; d < n / g; d++) {
        uint64_t dd = cx_gpus_domain(gs, cx_coll_member(op, (uint64_t)d * g));
        if (cx_gpus_domain(gs, cx_coll_member(op, (uint64_t)d * g + g - 1)) != dd ||
            dd == cx_gpus_domain(gs, cx_coll_member(op, (uint64_t)d * g - 1))) {
            return 1;
        }
    }
    return g;
}

void cx_coll_start(cx_engine_t *eng, cx_entity_t *ent, cx_gpu_t *gpu, int stream)
{
    cx_gpu_stream_t        *s    = &gpu->s[stream];
    const cx_op_t          *op   = &s->op;
    cx_coll_run_t          *run  = &s->coll;
    const cx_coll_params_t *p    = &gpu->g->cfg.coll;
    const cx_topo_t        *topo = gpu->g->topo;
    uint32_t                n    = op->group_size, me = op->group_index, g, C, ch;
    uint32_t                algo = p->algo != 0 ? p->algo : op->algo;
    uint64_t                bytes = op->bytes, data;
    (void)eng;
    (void)ent;

    memset(run, 0, sizeof(*run));
    run->active = 1;
    run->n_ch   = 1;
    if (n <= 1) return;  /* nothing to exchange: completes at the first poll */
    if (me >= n) cx_fatal("GPU %llu: group index %u of %u", (unsigned long long)gpu->gpu, me, n);
    if (cx_coll_member(op, me) != gpu->gpu) {
        cx_fatal("GPU %llu is not member %u of its collective's group (base %llu stride %u)",
                 (unsigned long long)gpu->gpu, me, (unsigned long long)op->u.group_base, op->group_stride);
    }
    g = cx_coll_per_domain(gpu->g, op);

    if (algo == CX_ALGO_AUTO) {
        if (op->cls == CX_COLL_ALLTOALL) algo = CX_ALGO_PAIRWISE;
        else if (op->cls == CX_COLL_ALLREDUCE && g == n && n > 2 && bytes >= (UINT64_C(1) << 20) &&
                 cx_topo_domain_nvswitch(topo, gpu->domain) != UINT64_MAX)
            algo = CX_ALGO_NVLS;
        else algo = CX_ALGO_RING;
    }
    if (algo == CX_ALGO_NVLS && (op->cls != CX_COLL_ALLREDUCE || g != n ||
                                 cx_topo_domain_nvswitch(topo, gpu->domain) == UINT64_MAX)) {
        algo = CX_ALGO_RING;  /* NVLS here: single-domain all-reduce only */
    }
    if (algo == CX_ALGO_PAIRWISE && op->cls != CX_COLL_ALLTOALL) algo = CX_ALGO_RING;
    if (op->cls == CX_COLL_ALLTOALL) algo = CX_ALGO_PAIRWISE;
    if (algo == CX_ALGO_TREE) algo = CX_ALGO_RING;  /* tree: not modelled yet, ring instead */
    run->algo = (uint8_t)algo;

    if (algo == CX_ALGO_NVLS) {
        run->shape      = CX_COLL_RUN_NVLS;
        run->n_send     = 1;
        run->n_recv     = 1;
        run->send_bytes = (uint64_t)ceil((double)bytes / p->nvls_efficiency);
        run->recv_bytes = run->send_bytes;
        run->send_delay = p->nvlink_step_latency;
        return;
    }
    if (algo == CX_ALGO_PAIRWISE) {
        uint32_t j;
        uint64_t w;
        run->shape  = CX_COLL_RUN_PAIRWISE;
        run->n_send = n - 1;
        run->n_recv = 1;
        data        = cx_ceil_div(bytes, n);
        for (j = 1; j < n; j++) {
            cx_coll_link(gpu, p, cx_coll_member(op, (me + n - j) % n), gpu->gpu, data, &w, NULL);
            run->recv_bytes += w;
        }
        return;
    }

    /* Ring / chain. */
    C = 1;
    if (g > 1 && g < n) C = g;           /* one channel per rail */
    else if (g == 1) C = 2;              /* one member per domain: two flows per NIC, as NCCL */
    if (p->max_channels > 0 && C > p->max_channels) C = p->max_channels;
    if (C > CX_COLL_MAX_CH) C = CX_COLL_MAX_CH;
    run->n_ch = (uint8_t)C;
    switch ((cx_coll_kind_t)op->cls) {
    case CX_COLL_ALLREDUCE:
        run->shape  = CX_COLL_RUN_RING;
        run->n_send = run->n_recv = 2 * (n - 1);
        run->dep    = 1;
        data        = cx_ceil_div(bytes, (uint64_t)n * C);
        break;
    case CX_COLL_REDUCESCATTER:
    case CX_COLL_ALLGATHER:
        run->shape  = CX_COLL_RUN_RING;
        run->n_send = run->n_recv = n - 1;
        run->dep    = 1;
        data        = cx_ceil_div(bytes, (uint64_t)n * C);
        break;
    case CX_COLL_BROADCAST:
    default: {
        /* Pipelined chain from member 0 in pieces of <= 4 MiB (at most 64). */
        uint64_t pieces = cx_ceil_div(bytes, (uint64_t)C << 22);
        if (pieces < 1) pieces = 1;
        if (pieces > 64) pieces = 64;
        run->shape = CX_COLL_RUN_CHAIN;
        run->dep   = 2;
        data       = cx_ceil_div(bytes, pieces * C);
        run->n_send = run->n_recv = (uint32_t)pieces;
        break;
    }
    }
    for (ch = 0; ch < C; ch++) {
        uint32_t  pos  = cx_ring_pos(me, g, n, ch);
        uint64_t  next = cx_coll_member(op, cx_ring_member((pos + 1) % n, g, n, ch));
        uint64_t  prev = cx_coll_member(op, cx_ring_member((pos + n - 1) % n, g, n, ch));
        uint64_t  w;
        cx_time_t lat;
        run->next_dev[ch] = cx_topo_gpu_device(topo, next);
        cx_coll_link(gpu, p, gpu->gpu, next, data, &w, &lat);
        run->send_bytes_ch[ch] = w;
        run->delay_ch[ch]      = lat;
        cx_coll_link(gpu, p, prev, gpu->gpu, data, &w, NULL);
        run->recv_bytes_ch[ch] = w;
        if (run->shape == CX_COLL_RUN_CHAIN) {
            uint32_t root = cx_ring_pos(0, g, n, ch);
            uint32_t idx  = (pos + n - root) % n;   /* place in the chain */
            run->n_send_ch[ch] = idx == n - 1 ? 0 : run->n_send;
            run->n_recv_ch[ch] = idx == 0 ? 0 : run->n_recv;
        } else {
            run->n_send_ch[ch] = run->n_send;
            run->n_recv_ch[ch] = run->n_recv;
        }
    }
}

int cx_coll_poll(cx_engine_t *eng, cx_entity_t *ent, cx_gpu_t *gpu, int stream)
{
    cx_gpu_stream_t *s   = &gpu->s[stream];
    const cx_op_t   *op  = &s->op;
    cx_coll_run_t   *run = &s->coll;
    uint32_t         ch, n = op->group_size, me = op->group_index;
    int              moved = 1, done;

    if (n <= 1) return 1;
    switch ((cx_coll_shape_t)run->shape) {
    case CX_COLL_RUN_NVLS:
        if (run->sent[0] == 0) {
            cx_net_send_nvls(eng, ent, op->u.group_base, op->group_stride, n, run->send_bytes, op->tag,
                             CX_COOKIE_COLL, run->send_delay);
            run->sent[0] = 1;
        }
        if (run->rcvd[0] == 0 && cx_mail_take(gpu, op->tag, CX_COOKIE_COLL, CX_SRC_ANY, run->recv_bytes)) {
            run->rcvd[0] = 1;
        }
        return run->txd[0] == 1 && run->rcvd[0] == 1;
    case CX_COLL_RUN_PAIRWISE:
        if (run->sent[0] == 0) {
            uint32_t j;
            for (j = 1; j < n; j++) {
                uint64_t  peer = cx_coll_member(op, (me + j) % n), w;
                cx_time_t lat;
                cx_coll_link(gpu, &gpu->g->cfg.coll, gpu->gpu, peer, cx_ceil_div(op->bytes, n), &w, &lat);
                cx_net_send(eng, ent, cx_topo_gpu_device(gpu->g->topo, peer), w, op->tag, CX_COOKIE_COLL, lat);
            }
            run->sent[0] = n - 1;
        }
        if (run->rcvd[0] == 0 && cx_mail_take(gpu, op->tag, CX_COOKIE_COLL, CX_SRC_ANY, run->recv_bytes)) {
            run->rcvd[0] = 1;
        }
        return run->txd[0] == n - 1 && run->rcvd[0] == 1;
    case CX_COLL_RUN_RING:
    case CX_COLL_RUN_CHAIN:
        break;
    }
    while (moved) {
        moved = 0;
        for (ch = 0; ch < run->n_ch; ch++) {
            while (run->rcvd[ch] < run->n_recv_ch[ch]) {
                uint32_t cookie = CX_COOKIE_COLL | (ch << CX_COOKIE_CH_SHIFT);
                if (!cx_mail_take(gpu, op->tag, cookie, CX_SRC_ANY, run->recv_bytes_ch[ch])) break;
                run->rcvd[ch]++;
                moved = 1;
            }
            while (run->sent[ch] < run->n_send_ch[ch]) {
                uint32_t st = run->sent[ch];
                /* Ring: step s forwards what step s-1 brought.  Chain: piece s
                 * leaves a non-root member after it has arrived. */
                if (run->dep == 1 && run->rcvd[ch] < st) break;
                if (run->dep == 2 && run->n_recv_ch[ch] > 0 && run->rcvd[ch] <= st) break;
                cx_net_send(eng, ent, run->next_dev[ch], run->send_bytes_ch[ch], op->tag,
                            CX_COOKIE_COLL | (ch << CX_COOKIE_CH_SHIFT) | st, run->delay_ch[ch]);
                run->sent[ch]++;
                moved = 1;
            }
        }
    }
    done = 1;
    for (ch = 0; ch < run->n_ch && done; ch++) {
        if (run->txd[ch] < run->n_send_ch[ch] || run->rcvd[ch] < run->n_recv_ch[ch]) done = 0;
    }
    return done;
}

void cx_coll_txdone(cx_gpu_t *gpu, uint64_t tag, uint32_t cookie)
{
    int      st;
    uint32_t ch = (cookie & ~CX_COOKIE_COLL) >> CX_COOKIE_CH_SHIFT;
    for (st = 0; st < CX_NUM_STREAMS; st++) {
        cx_gpu_stream_t *s = &gpu->s[st];
        if (s->state == CX_S_RUN && s->op.kind == CX_OP_COLLECTIVE && s->coll.active && s->op.tag == tag) {
            if (ch >= CX_COLL_MAX_CH) break;
            s->coll.txd[ch]++;
            return;
        }
    }
    cx_fatal("GPU %llu: send completion for no active collective (tag %016llx)",
             (unsigned long long)gpu->gpu, (unsigned long long)tag);
}
