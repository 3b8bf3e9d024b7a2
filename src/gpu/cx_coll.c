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
 * CHAIN (broadcast, reduce): a pipeline along the ring in pieces, from
 * member 0 (broadcast) or ending at member 0 (reduce: each member adds its
 * part to a piece before passing it on).
 * PAIRWISE (all-to-all): every member sends bytes/n to every other at once.
 * NVLS (inside one NVLink domain): all-reduce: each member sends its buffer
 * to the NVSwitch, which reduces and multicasts the result; reduce-scatter:
 * the switch sends each reduced chunk to its owner only; all-gather: each
 * member's part is multicast (cx_net_send_nvls).
 * TREE (all-reduce): NCCL's double binary tree: half the data on each of two
 * binary trees over the members, the second the first shifted by one, so a
 * leaf of one is an inner node of the other; each half goes up the tree
 * (reduce) and back down (broadcast) in pipelined pieces.
 * HIERARCHICAL (all-reduce over several domains of g members): reduce-
 * scatter inside each domain (NVLS where the NVSwitch has it, else ring),
 * all-reduce of the 1/g shard across
 * domains among the GPUs of one rail (ring for HIER, double binary tree for
 * TREE), all-gather inside each domain.  Phases run one after the other
 * (no pipelining between them).
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

uint32_t cx_coll_ring_member(uint32_t pos, uint32_t g, uint32_t n, uint32_t c)
{
    uint32_t d, k, l;
    if (g <= 1 || g >= n) return pos;
    c %= g;
    d = pos / g;
    k = pos % g;
    l = (d % 2 == 0) ? (c + k) % g : (c + 2 * g - 1 - k) % g;
    return d * g + l;
}

uint32_t cx_coll_ring_pos(uint32_t member, uint32_t g, uint32_t n, uint32_t c)
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
    int    intra = cx_gpus_domain(gpu->g, a) == cx_gpus_domain(gpu->g, b);
    double eff   = intra ? p->nvlink_efficiency : p->net_efficiency;
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

/* PXN (NCCL's PCI x NVLink): traffic to a GPU of another NVLink domain on
 * another rail first crosses NVLink to the GPU of this domain on the
 * destination's rail, which sends it over its NIC, so the scale-out hop
 * stays on one rail.  Returns the GPU to send to (this GPU when direct).
 * Needs NVLink domains laid out as gpu / gpd and GPU indices < 2^32. */
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

/* Binary tree over positions 0..m-1 (root at the middle, recursively):
 * parent and children of position p, -1 when absent. */
static void cx_tree_links(uint32_t m, uint32_t p, int64_t *parent, int64_t *c0, int64_t *c1)
{
    uint32_t lo = 0, hi = m;
    int64_t  par = -1;
    for (;;) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (p == mid) {
            *parent = par;
            *c0     = mid > lo ? (int64_t)(lo + (mid - lo) / 2) : -1;
            *c1     = mid + 1 < hi ? (int64_t)(mid + 1 + (hi - mid - 1) / 2) : -1;
            return;
        }
        par = (int64_t)mid;
        if (p < mid) hi = mid;
        else lo = mid + 1;
    }
}

uint32_t cx_coll_choose(uint32_t algo, const cx_op_t *op, uint32_t g, int nvls_ok)
{
    uint32_t n = op->group_size;
    /* Choose as NCCL's tuner would: NVLS for large all-reduces inside an
     * NVLink domain, the double binary tree for small all-reduces across
     * domains (latency grows with log n, not n), rings otherwise. */
    if (algo == CX_ALGO_AUTO) {
        if (op->cls == CX_COLL_ALLTOALL) algo = CX_ALGO_PAIRWISE;
        else if (op->cls == CX_COLL_ALLREDUCE && nvls_ok && op->bytes >= CX_COLL_PIECE_BYTES) algo = CX_ALGO_NVLS;
        else if (op->cls == CX_COLL_ALLREDUCE && g < n && n / g > 2 && op->bytes < CX_COLL_PIECE_BYTES * (n / g))
            algo = CX_ALGO_TREE;  /* crossover measured on colossus1-mini: ~1 MiB per domain */
        else algo = CX_ALGO_RING;
    }
    /* What each algorithm covers here; otherwise the ring. */
    if (op->cls == CX_COLL_ALLTOALL) algo = CX_ALGO_PAIRWISE;
    if (algo == CX_ALGO_PAIRWISE && op->cls != CX_COLL_ALLTOALL) algo = CX_ALGO_RING;
    if (algo == CX_ALGO_NVLS && (!nvls_ok || (op->cls != CX_COLL_ALLREDUCE && op->cls != CX_COLL_REDUCESCATTER &&
                                               op->cls != CX_COLL_ALLGATHER))) {
        algo = CX_ALGO_RING;
    }
    if ((algo == CX_ALGO_TREE || algo == CX_ALGO_HIER) && (op->cls != CX_COLL_ALLREDUCE || g == n)) {
        algo = CX_ALGO_RING;
    }
    if (algo == CX_ALGO_HIER && g == 1) algo = CX_ALGO_RING;
    return algo;
}

/* Set up one collective (or one phase of a hierarchical one) described by
 * run->cur with algorithm algo (not AUTO, not HIER). */
static void cx_coll_setup(cx_gpu_t *gpu, cx_coll_run_t *run, uint32_t algo)
{
    const cx_op_t          *op = &run->cur;
    const cx_coll_params_t *p  = &gpu->g->cfg.coll;
    uint32_t                n = op->group_size, me = op->group_index, g, C, ch;
    uint64_t                bytes = op->bytes, data;

    run->shape = 0;
    run->n_ch  = 1;
    run->dep   = 0;
    run->n_send = run->n_recv = 0;
    run->send_bytes = run->recv_bytes = 0;
    memset(run->n_send_ch, 0, sizeof(run->n_send_ch));
    memset(run->n_recv_ch, 0, sizeof(run->n_recv_ch));
    memset(run->sent, 0, sizeof(run->sent));
    run->tx_until = 0;
    memset(run->rcvd, 0, sizeof(run->rcvd));
    if (n <= 1) return;
    g = cx_coll_per_domain(gpu->g, op);

    if (algo == CX_ALGO_NVLS) {
        /* All-reduce: the buffer up, the reduced buffer down to everyone.
         * Reduce-scatter: the buffer up, each reduced chunk down to its
         * owner only.  All-gather: each member's part up, multicast down. */
        run->shape      = CX_COLL_RUN_NVLS;
        run->n_send     = 1;
        run->n_recv     = 1;
        run->send_delay = p->nvlink_step_latency;
        if (op->cls == CX_COLL_ALLGATHER) {
            run->nvls_mode  = CX_NET_FLAG_NVLS_MC;
            run->send_bytes = (uint64_t)ceil((double)cx_ceil_div(bytes, n) / p->nvls_efficiency);
            run->recv_bytes = run->send_bytes * n;
        } else if (op->cls == CX_COLL_REDUCESCATTER) {
            uint64_t csize = cx_net_get_config(gpu->g->net)->nvls_chunk_bytes, k, nk;
            run->nvls_mode  = CX_NET_FLAG_NVLS_RS;
            run->send_bytes = (uint64_t)ceil((double)bytes / p->nvls_efficiency);
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
    if (algo == CX_ALGO_TREE) {
        /* Two trees (channels 2t: up = reduce, 2t+1: down = broadcast), each
         * with half the data in pieces of <= 1 MiB (at most 1024). */
        uint64_t half   = cx_ceil_div(bytes, 2);
        uint64_t pieces = cx_ceil_div(half, CX_COLL_PIECE_BYTES);
        uint32_t t;
        if (pieces < 1) pieces = 1;
        if (pieces > 1024) pieces = 1024;
        data       = cx_ceil_div(half, pieces);
        run->shape = CX_COLL_RUN_TREE;
        run->n_ch  = 4;
        run->n_send = run->n_recv = (uint32_t)pieces;
        for (t = 0; t < 2; t++) {
            uint32_t  pos = t == 0 ? me : (me + 1) % n;
            int64_t   par, c[2];
            uint32_t  k;
            uint64_t  w;
            cx_time_t lat;
            cx_tree_links(n, pos, &par, &c[0], &c[1]);
            /* Back from tree positions to members. */
            if (t == 1) {
                if (par >= 0) par = (par + n - 1) % n;
                for (k = 0; k < 2; k++) if (c[k] >= 0) c[k] = (c[k] + n - 1) % n;
            }
            run->tree_parent[t] = par;
            run->tree_child[t][0] = c[0];
            run->tree_child[t][1] = c[1];
            run->tree_nchild[t] = (uint8_t)((c[0] >= 0) + (c[1] >= 0));
            /* Up: receive every child's piece, send to the parent. */
            run->recv_bytes_ch[2 * t] = 0;
            for (k = 0; k < 2; k++) {
                if (c[k] < 0) continue;
                cx_coll_link(gpu, p, cx_coll_member(op, (uint64_t)c[k]), gpu->gpu, data, &w, NULL);
                run->recv_bytes_ch[2 * t] += w;
            }
            run->n_recv_ch[2 * t] = run->tree_nchild[t] > 0 ? (uint32_t)pieces : 0;
            run->n_send_ch[2 * t] = par >= 0 ? (uint32_t)pieces : 0;
            if (par >= 0) {
                cx_coll_link(gpu, p, gpu->gpu, cx_coll_member(op, (uint64_t)par), data, &w, &lat);
                run->send_bytes_ch[2 * t] = w;
                run->delay_ch[2 * t]      = lat;
                run->next_dev[2 * t]      = cx_gpus_device(gpu->g, cx_coll_member(op, (uint64_t)par));
                /* Down: receive from the parent. */
                cx_coll_link(gpu, p, cx_coll_member(op, (uint64_t)par), gpu->gpu, data, &w, NULL);
                run->recv_bytes_ch[2 * t + 1] = w;
                run->n_recv_ch[2 * t + 1]     = (uint32_t)pieces;
            }
            /* Down: send each piece to every child (counted per child). */
            run->n_send_ch[2 * t + 1] = (uint32_t)pieces * run->tree_nchild[t];
            run->tree_piece = data;
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
    case CX_COLL_REDUCE:
    default: {
        /* Pipelined chain in pieces of <= 1 MiB per channel (at most 1024):
         * filling the pipe costs (n - 1) pieces. */
        uint64_t pieces = cx_ceil_div(bytes, (uint64_t)C * CX_COLL_PIECE_BYTES);
        if (pieces < 1) pieces = 1;
        if (pieces > 1024) pieces = 1024;
        run->shape = CX_COLL_RUN_CHAIN;
        run->dep   = 2;
        data       = cx_ceil_div(bytes, pieces * C);
        run->n_send = run->n_recv = (uint32_t)pieces;
        break;
    }
    }
    for (ch = 0; ch < C; ch++) {
        uint32_t  pos  = cx_coll_ring_pos(me, g, n, ch);
        uint64_t  next = cx_coll_member(op, cx_coll_ring_member((pos + 1) % n, g, n, ch));
        uint64_t  prev = cx_coll_member(op, cx_coll_ring_member((pos + n - 1) % n, g, n, ch));
        uint64_t  w;
        cx_time_t lat;
        run->next_dev[ch] = cx_gpus_device(gpu->g, next);
        cx_coll_link(gpu, p, gpu->gpu, next, data, &w, &lat);
        run->send_bytes_ch[ch] = w;
        run->delay_ch[ch]      = lat;
        cx_coll_link(gpu, p, prev, gpu->gpu, data, &w, NULL);
        run->recv_bytes_ch[ch] = w;
        if (run->shape == CX_COLL_RUN_CHAIN) {
            /* Broadcast starts at member 0; reduce ends there. */
            uint32_t root = cx_coll_ring_pos(0, g, n, ch);
            uint32_t head = op->cls == CX_COLL_REDUCE ? (root + 1) % n : root;
            uint32_t idx  = (pos + n - head) % n;   /* place in the chain */
            run->n_send_ch[ch] = idx == n - 1 ? 0 : run->n_send;
            run->n_recv_ch[ch] = idx == 0 ? 0 : run->n_recv;
        } else {
            run->n_send_ch[ch] = run->n_send;
            run->n_recv_ch[ch] = run->n_recv;
        }
    }
}

/* Phase ph (0..2) of a hierarchical all-reduce of op over domains of g. */
static void cx_coll_hier_phase(const cx_op_t *op, uint32_t g, uint32_t ph, cx_op_t *sub)
{
    uint32_t me = op->group_index, n = op->group_size;
    *sub = *op;
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

void cx_coll_start(cx_engine_t *eng, cx_entity_t *ent, cx_gpu_t *gpu, int stream)
{
    cx_gpu_stream_t        *s    = &gpu->s[stream];
    const cx_op_t          *op   = &s->op;
    cx_coll_run_t          *run  = &s->coll;
    const cx_coll_params_t *p    = &gpu->g->cfg.coll;
    const cx_topo_t        *topo = gpu->g->topo;
    uint32_t                n    = op->group_size, me = op->group_index, g;
    uint32_t                algo = p->algo != 0 ? p->algo : op->algo;
    int                     nvls_ok;
    (void)eng;
    (void)ent;

    memset(run, 0, sizeof(*run));
    run->active   = 1;
    run->n_ch     = 1;
    run->cur      = *op;
    run->n_phases = 1;
    if (n <= 1) return;  /* nothing to exchange: completes at the first poll */
    if (me >= n) cx_fatal("GPU %llu: group index %u of %u", (unsigned long long)gpu->gpu, me, n);
    if (cx_coll_member(op, me) != gpu->gpu) {
        cx_fatal("GPU %llu is not member %u of its collective's group (base %llu stride %u)",
                 (unsigned long long)gpu->gpu, me, (unsigned long long)op->u.group_base, op->group_stride);
    }
    g       = cx_coll_per_domain(gpu->g, op);
    nvls_ok = g == n && n > 2 && cx_topo_domain_nvswitch(topo, gpu->domain) != UINT64_MAX;

    algo      = cx_coll_choose(algo, op, g, nvls_ok);
    run->algo = (uint8_t)algo;

    if ((algo == CX_ALGO_TREE || algo == CX_ALGO_HIER) && g > 1) {
        /* Hierarchical: RS inside the domain, all-reduce across, AG inside. */
        run->n_phases = 3;
        run->inner    = (uint8_t)(algo == CX_ALGO_TREE ? CX_ALGO_TREE : CX_ALGO_RING);
        run->g        = g;
        /* NVLS reduce-scatter / all-gather inside the domain where the
         * NVSwitch offers it (NCCL's NVLS tree), rings otherwise. */
        run->nvls_in  = (uint8_t)(g > 2 && cx_topo_domain_nvswitch(topo, gpu->domain) != UINT64_MAX);
        cx_coll_hier_phase(op, g, 0, &run->cur);
        cx_coll_setup(gpu, run, run->nvls_in ? CX_ALGO_NVLS : CX_ALGO_RING);
        return;
    }
    cx_coll_setup(gpu, run, algo);
}

/* Sends of a collective cost no TX_DONE event: net says when each one's
 * last byte leaves, and the phase is done once that time has come. */
static void cx_coll_sent(cx_coll_run_t *run, cx_time_t tx_end)
{
    if (tx_end > run->tx_until) run->tx_until = tx_end;
}

/* 1 if every send has left; else wake this GPU when the last one has. */
static int cx_coll_tx_clear(cx_engine_t *eng, cx_entity_t *ent, cx_coll_run_t *run)
{
    if (run->tx_until <= cx_engine_now(eng)) return 1;
    if (run->kick_at != run->tx_until) {
        run->kick_at = run->tx_until;
        cx_engine_send(eng, ent, cx_engine_entity_id(eng, ent), run->tx_until, CX_GPU_EV_KICK, 0, NULL, 0);
    }
    return 0;
}

/* Advance the current phase; 1 when it has completed. */
static int cx_coll_poll_phase(cx_engine_t *eng, cx_entity_t *ent, cx_gpu_t *gpu, cx_coll_run_t *run)
{
    const cx_op_t *op = &run->cur;
    uint32_t       ch, n = op->group_size, me = op->group_index;
    int            moved = 1, done;

    if (n <= 1) return 1;
    switch ((cx_coll_shape_t)run->shape) {
    case CX_COLL_RUN_NVLS:
        if (run->sent[0] == 0) {
            cx_coll_sent(run, cx_net_send_nvls(eng, ent, cx_gpus_global(gpu->g, op->u.group_base), op->group_stride, n, run->send_bytes,
                                               op->tag, CX_COOKIE_COLL, run->send_delay, run->nvls_mode));
            run->sent[0] = 1;
        }
        if (run->rcvd[0] < run->n_recv && cx_mail_take(gpu, op->tag, CX_COOKIE_COLL, CX_SRC_ANY, run->recv_bytes)) {
            run->rcvd[0] = 1;
        }
        return run->rcvd[0] == run->n_recv && cx_coll_tx_clear(eng, ent, run);
    case CX_COLL_RUN_PAIRWISE:
        if (run->sent[0] == 0) {
            uint32_t j;
            for (j = 1; j < n; j++) {
                uint64_t  peer = cx_coll_member(op, (me + j) % n), w, via;
                cx_time_t lat;
                cx_coll_link(gpu, &gpu->g->cfg.coll, gpu->gpu, peer, cx_ceil_div(op->bytes, n), &w, &lat);
                via = cx_coll_pxn_via(gpu, peer);
                if (via != gpu->gpu) {
                    /* PXN: over NVLink to the GPU of this domain on the
                     * peer's rail, which sends it on over its NIC. */
                    cx_coll_sent(run, cx_net_send_ex(eng, ent, cx_gpus_device(gpu->g, via), w, op->tag,
                                                     CX_COOKIE_COLL | CX_COOKIE_RELAY, lat,
                                                     (uint32_t)cx_gpus_global(gpu->g, peer), 0));
                } else {
                    cx_coll_sent(run, cx_net_send_ex(eng, ent, cx_gpus_device(gpu->g, peer), w, op->tag,
                                                     CX_COOKIE_COLL, lat, 0, 0));
                }
            }
            run->sent[0] = n - 1;
        }
        if (run->rcvd[0] == 0 && cx_mail_take(gpu, op->tag, CX_COOKIE_COLL, CX_SRC_ANY, run->recv_bytes)) {
            run->rcvd[0] = 1;
        }
        return run->rcvd[0] == 1 && cx_coll_tx_clear(eng, ent, run);
    case CX_COLL_RUN_TREE:
        while (moved) {
            uint32_t t;
            moved = 0;
            for (t = 0; t < 2; t++) {
                uint32_t up = 2 * t, dn = 2 * t + 1, k;
                uint32_t P  = run->n_send;   /* pieces */
                /* Up: children's pieces in, then to the parent. */
                while (run->rcvd[up] < run->n_recv_ch[up] &&
                       cx_mail_take(gpu, op->tag, CX_COOKIE_COLL | (up << CX_COOKIE_CH_SHIFT), CX_SRC_ANY,
                                    run->recv_bytes_ch[up])) {
                    run->rcvd[up]++;
                    moved = 1;
                }
                while (run->sent[up] < run->n_send_ch[up] &&
                       (run->tree_nchild[t] == 0 || run->rcvd[up] > run->sent[up])) {
                    cx_coll_sent(run, cx_net_send_ex(eng, ent, run->next_dev[up], run->send_bytes_ch[up], op->tag,
                                                     CX_COOKIE_COLL | (up << CX_COOKIE_CH_SHIFT) | run->sent[up],
                                                     run->delay_ch[up], 0, 0));
                    run->sent[up]++;
                    moved = 1;
                }
                /* Down: from the parent (the root has the result once its
                 * children's pieces are in), then to every child. */
                while (run->rcvd[dn] < run->n_recv_ch[dn] &&
                       cx_mail_take(gpu, op->tag, CX_COOKIE_COLL | (dn << CX_COOKIE_CH_SHIFT), CX_SRC_ANY,
                                    run->recv_bytes_ch[dn])) {
                    run->rcvd[dn]++;
                    moved = 1;
                }
                if (run->tree_nchild[t] > 0) {
                    for (;;) {
                        uint32_t piece = run->sent[dn] / run->tree_nchild[t];
                        uint32_t avail = run->tree_parent[t] >= 0 ? run->rcvd[dn] : run->rcvd[up];
                        if (piece >= P || piece >= avail) break;
                        for (k = 0; k < 2; k++) {
                            uint64_t  peer, w;
                            cx_time_t lat;
                            if (run->tree_child[t][k] < 0) continue;
                            peer = cx_coll_member(op, (uint64_t)run->tree_child[t][k]);
                            cx_coll_link(gpu, &gpu->g->cfg.coll, gpu->gpu, peer, run->tree_piece, &w, &lat);
                            cx_coll_sent(run, cx_net_send_ex(eng, ent, cx_gpus_device(gpu->g, peer), w,
                                                             op->tag, CX_COOKIE_COLL | (dn << CX_COOKIE_CH_SHIFT) | piece,
                                                             lat, 0, 0));
                            run->sent[dn]++;
                        }
                        moved = 1;
                    }
                }
            }
        }
        done = 1;
        for (ch = 0; ch < 4 && done; ch++) {
            if (run->sent[ch] < run->n_send_ch[ch] || run->rcvd[ch] < run->n_recv_ch[ch]) done = 0;
        }
        return done && cx_coll_tx_clear(eng, ent, run);
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
                cx_coll_sent(run, cx_net_send_ex(eng, ent, run->next_dev[ch], run->send_bytes_ch[ch], op->tag,
                                                 CX_COOKIE_COLL | (ch << CX_COOKIE_CH_SHIFT) | st, run->delay_ch[ch],
                                                 0, CX_NET_SEND_SOLE));
                run->sent[ch]++;
                moved = 1;
            }
        }
    }
    done = 1;
    for (ch = 0; ch < run->n_ch && done; ch++) {
        if (run->sent[ch] < run->n_send_ch[ch] || run->rcvd[ch] < run->n_recv_ch[ch]) done = 0;
    }
    return done && cx_coll_tx_clear(eng, ent, run);
}

int cx_coll_poll(cx_engine_t *eng, cx_entity_t *ent, cx_gpu_t *gpu, int stream)
{
    cx_gpu_stream_t *s   = &gpu->s[stream];
    cx_coll_run_t   *run = &s->coll;
    for (;;) {
        if (!cx_coll_poll_phase(eng, ent, gpu, run)) return 0;
        if (++run->phase >= run->n_phases) return 1;
        cx_coll_hier_phase(&s->op, run->g, run->phase, &run->cur);
        cx_coll_setup(gpu, run, run->phase == 1 ? run->inner : run->nvls_in ? CX_ALGO_NVLS : CX_ALGO_RING);
    }
}
