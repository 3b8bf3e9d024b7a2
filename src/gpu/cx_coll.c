/*
 * Collectives as NCCL runs them, expanded into point-to-point steps over net.
 *
 * This file is the engine's driver: the table of algorithms (one row per
 * line of cx_coll_algos.h, each a cx_coll_algo_def_t in cx_coll_<name>.c),
 * the tuner that picks one when asked for auto, and start / poll, which run
 * a collective through its row phase by phase.  The algorithms:
 *   ring      cx_coll_ring.c     rail-aligned rings; chain for broadcast/reduce
 *   tree      cx_coll_tree.c     NCCL's double binary tree (flat, or as the
 *                                cross-domain phase of a hierarchical one)
 *   nvls      cx_coll_nvls.c     NVSwitch in-switch reduction / multicast
 *   pairwise  cx_coll_pairwise.c all-to-all, PXN across rails
 *   hier      cx_coll_hier.c     reduce-scatter inside, all-reduce across,
 *                                all-gather inside
 *   direct    cx_coll_direct.c   every piece straight to every member (toy)
 *
 * Protocol overhead: a step of B payload bytes puts B / efficiency bytes on
 * the wire (efficiency per link class, cx_coll_params_t), plus a per-step
 * software latency before its first byte leaves.  Both sides of a step
 * compute the same wire size from the same inputs, so they agree exactly.
 */
#include "cx_coll_impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define CX_COLL_P2P_LL_BYTES 16384u  /* NCCL_P2P_LL_THRESHOLD's default */

_Static_assert(CX_COLL_MAX_CH <= CX_COOKIE_CH_MASK + 1, "channel numbers fit the cookie");

/* auto is the tuner (cx_coll_tune), not an algorithm that runs. */
const cx_coll_algo_def_t cx_coll_algo_auto = {CX_ALGO_AUTO, 0, 0, NULL, NULL, NULL, NULL};

#define CX_COLL_ALGO_ROW(_id, _n, _cli, _h) &cx_coll_algo_##_n,
static const cx_coll_algo_def_t *const cx_coll_algos[CX_ALGO_COUNT] = {CX_COLL_ALGO_LIST(CX_COLL_ALGO_ROW)};

const cx_coll_algo_def_t *cx_coll_algo(uint32_t id)
{
    const cx_coll_algo_def_t *d = id < CX_ALGO_COUNT ? cx_coll_algos[id] : NULL;
    if (d == NULL || d->id != id) cx_fatal("collective algorithm %u: no such row in the table", id);
    return d;
}

cx_status_t cx_coll_params_check(const cx_coll_params_t *p, cx_err_t *err)
{
    if (p->max_channels > CX_COLL_MAX_CH) {
        return cx_err_set(err, CX_ERR_INVALID, NULL, 0, "max_channels",
                          "%u channels per collective; at most %d (CX_COLL_MAX_CH)", p->max_channels, CX_COLL_MAX_CH);
    }
    if (p->proto >= CX_PROTO_COUNT) {
        return cx_err_set(err, CX_ERR_INVALID, NULL, 0, "proto", "protocol %u is not one of 0..%d", p->proto,
                          CX_PROTO_COUNT - 1);
    }
    if (p->algo >= CX_ALGO_COUNT) {
        return cx_err_set(err, CX_ERR_INVALID, NULL, 0, "algo", "algorithm %u is not one of 0..%d", p->algo,
                          CX_ALGO_COUNT - 1);
    }
    return CX_OK;
}

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

/* Protocols in the simulation: the share of Simple's bandwidth (LL: a
 * 4-byte flag per 8 bytes; LL128: 8 of 128 bytes, NVIDIA/nccl#281) and of
 * Simple's step latency, NCCL's own ring step latencies relative to
 * Simple's (src/graph/tuning.cc hwLat: NVLink .47 / 1.9 / 3.4 us, network
 * 2.7 / 4.0 / 9.6 us).  Indexed by cx_coll_proto_t. */
static const double cx_proto_bw[CX_PROTO_COUNT]     = {1.0, 0.5, 0.95, 1.0};
static const double cx_proto_lat[2][CX_PROTO_COUNT] = {{1.0, 2.7 / 9.6, 4.0 / 9.6, 1.0},   /* network */
                                                       {1.0, .47 / 3.4, 1.9 / 3.4, 1.0}};  /* NVLink */

void cx_coll_link(const cx_coll_ctx_t *x, uint64_t a, uint64_t b, uint64_t payload, uint64_t *wire_p, cx_time_t *lat_p)
{
    const cx_gpu_t         *gpu   = x->gpu;
    const cx_coll_params_t *p     = &gpu->g->cfg.coll;
    uint32_t                proto = x->run->proto < CX_PROTO_COUNT ? x->run->proto : CX_PROTO_SIMPLE;
    int                     intra = cx_gpus_domain(gpu->g, a) == cx_gpus_domain(gpu->g, b);
    double                  eff   = (intra ? p->nvlink_efficiency : p->net_efficiency) * cx_proto_bw[proto];
    *wire_p = (uint64_t)ceil((double)payload / (eff > 0 ? eff : 1.0));
    if (lat_p != NULL) {
        cx_time_t base = intra ? p->nvlink_step_latency : p->net_step_latency;
        *lat_p = proto == CX_PROTO_SIMPLE ? base : (cx_time_t)llround((double)base * cx_proto_lat[intra][proto]);
    }
}

double cx_coll_port_bw(const cx_gpus_t *g, uint64_t j, int nvlink)
{
    cx_gpu_info_t  gi;
    cx_port_info_t pi;
    uint64_t       dev = cx_gpus_device(g, j);
    int            port;
    cx_topo_gpu_info(g->topo, dev, &gi);
    port = nvlink ? gi.nvlink_port : gi.nic_port;
    if (port < 0 || cx_topo_port(g->topo, dev, (uint32_t)port, &pi) != CX_OK) return 0;
    return pi.bandwidth;
}

/* The tree: half the data (of the 1/g shard over domains of g) in P pieces
 * of <= 1 MiB goes up and down 2 x depth links; the first piece pays every
 * link's step latency and transfer, the other P - 1 follow it at the
 * link's bandwidth: time = 2 depth (lat + piece / bw) + (P - 1) piece / bw
 * per protocol, the least wins. */
static uint32_t cx_coll_tune_tree(const cx_gpu_t *gpu, const cx_op_t *op, uint32_t g, uint32_t nodes)
{
    const cx_coll_params_t *p = &gpu->g->cfg.coll;
    int      net   = nodes > 1;
    uint64_t shard = g > 1 && g < op->group_size ? cx_ceil_div(op->bytes, g) : op->bytes;
    uint64_t half  = cx_ceil_div(shard, 2), pieces = cx_ceil_div(half, CX_COLL_PIECE_BYTES);
    double   bw    = (net ? p->net_efficiency : p->nvlink_efficiency) * cx_coll_port_bw(gpu->g, op->u.group_base, !net);
    double   piece, depth = 1, best_t = 0;
    uint32_t pr, best = CX_PROTO_SIMPLE, m = net ? nodes : op->group_size;
    if (pieces < 1) pieces = 1;
    if (pieces > 1024) pieces = 1024;
    piece = (double)cx_ceil_div(half, pieces);
    while ((1u << (uint32_t)depth) < m && depth < 31) depth++;
    if (!(bw > 0)) return CX_PROTO_SIMPLE;
    for (pr = CX_PROTO_LL; pr <= CX_PROTO_SIMPLE; pr++) {
        double step = (double)(net ? p->net_step_latency : p->nvlink_step_latency) * cx_proto_lat[!net][pr] * 1e-12;
        double tx   = piece / (bw * cx_proto_bw[pr]);
        double t    = 2 * depth * (step + tx) + (double)(pieces - 1) * tx;
        if (pr == CX_PROTO_LL || t < best_t) {
            best   = pr;
            best_t = t;
        }
    }
    return best;
}

/* auto protocol, as NCCL's tuner (src/graph/tuning.cc) picks one: per
 * protocol, time = NVLink steps x NVLink step latency + network steps x
 * network step latency + bytes x steps / n / bandwidth, the bandwidth
 * Simple's bus bandwidth (channels x link x efficiency) times the
 * protocol's share; the least wins.  The latencies and shares are this
 * model's (cx_proto_lat, cx_proto_bw, the configured step latencies), so
 * the pick is the one the simulation then rewards; like NCCL, LL's NVLink
 * steps cost 1.8x inside a multi-node collective.  NVLS runs Simple only;
 * point-to-point pieces (all-to-all, direct) LL up to 16 KiB, as NCCL's
 * NCCL_P2P_LL_THRESHOLD, Simple above.
 * Every member computes it from the op and member 0's links: all agree. */
static uint32_t cx_coll_tune_proto(const cx_gpu_t *gpu, const cx_op_t *op, uint32_t algo, uint32_t g, uint32_t C)
{
    const cx_coll_params_t *p = &gpu->g->cfg.coll;
    uint32_t n = op->group_size, nodes = g >= n ? 1 : n / g, pr, best = CX_PROTO_SIMPLE;
    int      ar = op->cls == CX_COLL_ALLREDUCE, rsag = op->cls == CX_COLL_REDUCESCATTER || op->cls == CX_COLL_ALLGATHER;
    double   steps, inter, bus, best_t = 0;
    if (algo == CX_ALGO_NVLS) return CX_PROTO_SIMPLE;
    if (p->proto != CX_PROTO_AUTO) return p->proto;
    if (algo == CX_ALGO_PAIRWISE || algo == CX_ALGO_DIRECT) {
        /* Point-to-point pieces: LL up to NCCL_P2P_LL_THRESHOLD (16 KiB). */
        uint64_t piece = op->cls == CX_COLL_BROADCAST ? op->bytes : cx_ceil_div(op->bytes, n);
        return piece <= CX_COLL_P2P_LL_BYTES ? CX_PROTO_LL : CX_PROTO_SIMPLE;
    }
    if (algo == CX_ALGO_TREE) return cx_coll_tune_tree(gpu, op, g, nodes);
    steps = ar ? 2.0 * (n - 1) : rsag ? n - 1.0 : n;
    inter = nodes <= 1 ? 0 : ar ? 2.0 * (nodes - 1) : rsag ? nodes - 1.0 : nodes;
    bus   = nodes <= 1 ? p->nvlink_efficiency * cx_coll_port_bw(gpu->g, op->u.group_base, 1)
                       : C * p->net_efficiency * cx_coll_port_bw(gpu->g, op->u.group_base, 0);
    if (!(bus > 0)) return CX_PROTO_SIMPLE;
    for (pr = CX_PROTO_LL; pr <= CX_PROTO_SIMPLE; pr++) {
        double il = (double)p->nvlink_step_latency * cx_proto_lat[1][pr] * (nodes > 1 && pr == CX_PROTO_LL ? 1.8 : 1.0);
        double nl = (double)p->net_step_latency * cx_proto_lat[0][pr];
        double t  = ((steps - inter) * il + inter * nl) * 1e-12 + (double)op->bytes * steps / n / (bus * cx_proto_bw[pr]);
        if (pr == CX_PROTO_LL || t < best_t) {
            best   = pr;
            best_t = t;
        }
    }
    return best;
}

uint32_t cx_coll_per_domain(const cx_gpus_t *gs, const cx_op_t *op)
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

uint32_t cx_coll_ring_channels(const cx_coll_params_t *p, uint32_t n, uint32_t g)
{
    uint32_t C = 1, cap = p->max_channels > 0 ? p->max_channels : CX_COLL_MAX_CH;
    if (g > 1 && g < n) C = g;
    else if (g == 1) C = 2;
    return C > cap ? cap : C;
}

/* The CX_GROUP_ bit of a group of n > 1 members, g per domain. */
static uint32_t cx_coll_group(uint32_t n, uint32_t g, int nvls_ok)
{
    if (nvls_ok) return CX_GROUP_NVLS;
    if (g >= n) return CX_GROUP_DOMAIN;
    return g > 1 ? CX_GROUP_RAILS : CX_GROUP_SPREAD;
}

static int cx_coll_covers(const cx_coll_algo_def_t *d, const cx_op_t *op, uint32_t group)
{
    return op->cls < CX_COLL_COUNT && (d->kinds & CX_KIND(op->cls)) && (d->groups & group);
}

/* auto: as NCCL's tuner would: pairwise for all-to-all, NVLS for large
 * all-reduces inside an NVLink domain, the double binary tree for small
 * all-reduces across domains (latency grows with log n, not n), rings
 * otherwise. */
static uint32_t cx_coll_tune(const cx_op_t *op, uint32_t g, int nvls_ok)
{
    uint32_t n = op->group_size;
    if (op->cls == CX_COLL_ALLTOALL) return CX_ALGO_PAIRWISE;
    if (op->cls == CX_COLL_ALLREDUCE && nvls_ok && op->bytes >= CX_COLL_PIECE_BYTES) return CX_ALGO_NVLS;
    if (op->cls == CX_COLL_ALLREDUCE && g < n && n / g > 2 && op->bytes < CX_COLL_PIECE_BYTES * (n / g)) {
        return CX_ALGO_TREE;  /* crossover measured on colossus1-mini: ~1 MiB per domain */
    }
    return CX_ALGO_RING;
}

uint32_t cx_coll_choose(uint32_t algo, const cx_op_t *op, uint32_t g, int nvls_ok)
{
    uint32_t group = cx_coll_group(op->group_size, g, nvls_ok), a;
    if (algo == CX_ALGO_AUTO || algo >= CX_ALGO_COUNT) algo = cx_coll_tune(op, g, nvls_ok);
    /* What the asked algorithm does not cover runs on rings; what rings
     * do not cover, on the first row that covers it. */
    if (cx_coll_covers(cx_coll_algo(algo), op, group)) return algo;
    if (cx_coll_covers(cx_coll_algo(CX_ALGO_RING), op, group)) return CX_ALGO_RING;
    for (a = CX_ALGO_AUTO + 1; a < CX_ALGO_COUNT; a++) {
        if (cx_coll_covers(cx_coll_algo(a), op, group)) return a;
    }
    cx_fatal("%s over %u members: no collective algorithm covers it", cx_coll_kind_name(op->cls), op->group_size);
    return CX_ALGO_RING;
}

void cx_coll_phase_setup(cx_coll_ctx_t *x, const cx_coll_algo_def_t *def)
{
    cx_coll_run_t *run = x->run;
    run->ph     = def;
    run->n_ch   = 1;
    run->dep    = 0;
    run->n_send = run->n_recv = 0;
    run->send_bytes = run->recv_bytes = 0;
    memset(run->n_send_ch, 0, sizeof(run->n_send_ch));
    memset(run->n_recv_ch, 0, sizeof(run->n_recv_ch));
    memset(run->sent, 0, sizeof(run->sent));
    run->tx_until = 0;
    memset(run->rcvd, 0, sizeof(run->rcvd));
    if (run->cur.group_size <= 1) return;
    if (def->setup == NULL) cx_fatal("collective algorithm %s has no phase set-up", cx_coll_algo_name((int)def->id));
    def->setup(x);
}

void cx_coll_start(cx_engine_t *eng, cx_entity_t *ent, cx_gpu_t *gpu, const cx_op_t *op, cx_coll_run_t *run)
{
    const cx_coll_params_t *p  = &gpu->g->cfg.coll;
    uint32_t                n  = op->group_size, me = op->group_index, g;
    uint32_t                algo = p->algo != 0 ? p->algo : op->algo;
    cx_coll_ctx_t           x  = {eng, ent, gpu, run};
    int                     nvls_ok;

    cx_coll_release(run);
    memset(run, 0, sizeof(*run));
    run->active   = 1;
    run->n_ch     = 1;
    run->op       = op;
    run->cur      = *op;
    run->n_phases = 1;
    run->def = run->ph = cx_coll_algo(CX_ALGO_RING);
    run->proto    = CX_PROTO_SIMPLE;
    if (n <= 1) return;  /* nothing to exchange: completes at the first poll */
    if (me >= n) cx_fatal("GPU %llu: group index %u of %u", (unsigned long long)gpu->gpu, me, n);
    if (cx_coll_member(op, me) != gpu->gpu) {
        cx_fatal("GPU %llu is not member %u of its collective's group (base %llu stride %u)",
                 (unsigned long long)gpu->gpu, me, (unsigned long long)op->u.group_base, op->group_stride);
    }
    g       = cx_coll_per_domain(gpu->g, op);
    nvls_ok = g == n && n > 2 && cx_topo_domain_nvswitch(gpu->g->topo, gpu->domain) != UINT64_MAX &&
              cx_topo_domain_nvls(gpu->g->topo, gpu->domain);

    algo      = cx_coll_choose(algo, op, g, nvls_ok);
    run->algo  = (uint8_t)algo;
    run->def   = cx_coll_algo(algo);
    run->proto = (uint8_t)cx_coll_tune_proto(gpu, op, algo, g, cx_coll_ring_channels(p, n, g));
    if (run->def->start != NULL) run->def->start(&x, g);
    else cx_coll_phase_setup(&x, run->def);
}

void cx_coll_sent(cx_coll_run_t *run, cx_time_t tx_end)
{
    if (tx_end > run->tx_until) run->tx_until = tx_end;
}

/* Sends of a collective cost no TX_DONE event: net says when each one's
 * last byte leaves, and the phase is done once that time has come. */
int cx_coll_tx_clear(cx_coll_ctx_t *x)
{
    cx_coll_run_t *run = x->run;
    if (run->tx_until <= cx_engine_now(x->eng)) return 1;
    if (run->kick_at != run->tx_until) {
        run->kick_at = run->tx_until;
        cx_engine_send(x->eng, x->ent, cx_engine_entity_id(x->eng, x->ent), run->tx_until, CX_GPU_EV_KICK, 0, NULL, 0);
    }
    return 0;
}

void cx_coll_release(cx_coll_run_t *run)
{
    free(run->lanes);
    run->lanes = NULL;
}

int cx_coll_poll(cx_engine_t *eng, cx_entity_t *ent, cx_gpu_t *gpu, cx_coll_run_t *run)
{
    cx_coll_ctx_t x = {eng, ent, gpu, run};
    for (;;) {
        if (run->cur.group_size > 1 && !run->ph->poll(&x)) return 0;
        if (++run->phase >= run->n_phases) return 1;
        run->def->next(&x);
    }
}
