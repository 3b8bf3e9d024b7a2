/*
 * The collective tuner (cx_coll_tune.h): auto's algorithm and protocol, and
 * the alpha-beta estimate they rest on.  As NCCL's ncclTopoTuneModel, a
 * collective's time is its latency (steps x per-step latency) plus bytes over
 * its bandwidth; unlike NCCL's tables, the latencies and bandwidths are this
 * model's own (the configured step latencies and efficiencies, the links'
 * bandwidths and path latencies), so the pick is the one the simulation then
 * rewards.  Every member computes it from the op and member 0's links: all
 * agree, at any rank count.
 */
#include "cx_coll_impl.h"
#include "cx_coll_tune.h"

#include <math.h>

/* Protocols: the share of Simple's bandwidth (LL: a 4-byte flag per 8
 * bytes; LL128: 8 of 128 bytes, NVIDIA/nccl#281) and of Simple's step
 * latency, NCCL's own ring step latencies relative to Simple's
 * (src/graph/tuning.cc hwLat: NVLink .47 / 1.9 / 3.4 us, network 2.7 / 4.0
 * / 9.6 us). */
const double cx_coll_proto_bw[CX_PROTO_COUNT]     = {1.0, 0.5, 0.95, 1.0};
const double cx_coll_proto_lat[2][CX_PROTO_COUNT] = {{1.0, 2.7 / 9.6, 4.0 / 9.6, 1.0},   /* network */
                                                     {1.0, .47 / 3.4, 1.9 / 3.4, 1.0}};  /* NVLink */

#define CX_PS 1e-12

void cx_coll_links_of(const cx_topo_t *t, uint64_t d0, uint64_t d1, uint64_t dg, cx_coll_links_t *l)
{
    cx_gpu_info_t  gi;
    cx_port_info_t pi;
    int            hops;
    int64_t        lat;
    l->nvlink_bw = l->net_bw = 0;
    l->nvlink_hop = l->net_hop = 0;
    l->nvs = 0;
    if (cx_topo_gpu_info(t, d0, &gi) != CX_OK) return;
    if (gi.nvlink_port >= 0 && cx_topo_port(t, d0, (uint32_t)gi.nvlink_port, &pi) == CX_OK) l->nvlink_bw = pi.bandwidth;
    if (gi.nic_port >= 0 && cx_topo_port(t, d0, (uint32_t)gi.nic_port, &pi) == CX_OK) l->net_bw = pi.bandwidth;
    l->nvs = cx_topo_domain_nvswitch(t, gi.domain) != UINT64_MAX && cx_topo_domain_nvls(t, gi.domain);
    if (d1 != UINT64_MAX && cx_topo_gpu_distance(t, d0, d1, &hops, &lat) == CX_OK) l->nvlink_hop = lat;
    /* The next domain's path: a rail-aligned ring's hops across domains
     * mostly stay under one leaf. */
    if (dg != UINT64_MAX && cx_topo_gpu_distance(t, d0, dg, &hops, &lat) == CX_OK) l->net_hop = lat;
}

/* Ring (all-reduce, reduce-scatter, all-gather) or chain (broadcast,
 * reduce) of `bytes` over n members, g per domain, in protocol pr.
 * nccl: as NCCL's tuner weighs it (the protocol pick): NVLink steps x their
 * latency + network steps x theirs + bytes x steps / n / bus bandwidth
 * (channels x link x efficiency x the protocol's share), LL's NVLink steps
 * 1.8x in a multi-node collective.  Else as the simulation runs it: a step
 * of d = bytes / (n C) per channel costs its latency, its path and d / link
 * bandwidth, but the C channels sharing a link (every GPU's NVLink port
 * across domains, the NIC with one member per domain) send while the others
 * wait, so a step costs at least C d / bandwidth. */
static double cx_tune_ring(const cx_coll_params_t *p, const cx_coll_links_t *l, uint32_t cls, uint64_t bytes,
                           uint32_t n, uint32_t g, uint32_t pr, int nccl)
{
    uint32_t nodes = g >= n ? 1 : n / g, C = cx_coll_ring_channels(p, n, g);
    int      ar = cls == CX_COLL_ALLREDUCE, rsag = cls == CX_COLL_REDUCESCATTER || cls == CX_COLL_ALLGATHER;
    double   steps = ar ? 2.0 * (n - 1) : rsag ? n - 1.0 : n;
    double   inter = nodes <= 1 ? 0 : ar ? 2.0 * (nodes - 1) : rsag ? nodes - 1.0 : nodes;
    double   bus   = nodes <= 1 ? p->nvlink_efficiency * l->nvlink_bw : C * p->net_efficiency * l->net_bw;
    double   il    = (double)p->nvlink_step_latency * cx_coll_proto_lat[1][pr] * (nccl && nodes > 1 && pr == CX_PROTO_LL ? 1.8 : 1.0);
    double   nl    = (double)p->net_step_latency * cx_coll_proto_lat[0][pr];
    double   d, bnv, bnet, t_in, t_x;
    if (!(bus > 0)) return HUGE_VAL;
    if (nccl) return ((steps - inter) * il + inter * nl) * CX_PS + (double)bytes * steps / n / (bus * cx_coll_proto_bw[pr]);
    d    = (double)bytes / ((double)n * C);
    bnv  = p->nvlink_efficiency * l->nvlink_bw * cx_coll_proto_bw[pr];
    bnet = p->net_efficiency * l->net_bw * cx_coll_proto_bw[pr];
    if (!(bnv > 0)) bnv = bnet;
    t_in = (il + (double)l->nvlink_hop) * CX_PS + d / bnv;
    if (nodes > 1 && C * d / bnv > t_in) t_in = C * d / bnv;
    t_x = 0;
    if (inter > 0) {
        if (!(bnet > 0)) return HUGE_VAL;
        t_x = (nl + (double)l->net_hop) * CX_PS + d / bnet;
        if (g == 1 && C * d / bnet > t_x) t_x = C * d / bnet;
    }
    return (steps - inter) * t_in + inter * t_x;
}

/* The double binary tree over m members carrying `bytes` (net: across
 * domains): half of it in P pieces of <= 1 MiB up and down 2 x depth links;
 * the first piece pays every link's step latency and transfer, the other
 * P - 1 follow it at the link's bandwidth. */
static double cx_tune_tree(const cx_coll_params_t *p, const cx_coll_links_t *l, uint64_t bytes, uint32_t m, int net,
                           uint32_t pr, int hops)
{
    uint64_t half = cx_ceil_div(bytes, 2), pieces = cx_ceil_div(half, CX_COLL_PIECE_BYTES);
    double   bw   = (net ? p->net_efficiency * l->net_bw : p->nvlink_efficiency * l->nvlink_bw) * cx_coll_proto_bw[pr];
    double   depth = 1, piece, step, tx;
    if (pieces < 1) pieces = 1;
    if (pieces > 1024) pieces = 1024;
    piece = (double)cx_ceil_div(half, pieces);
    while ((1u << (uint32_t)depth) < m && depth < 31) depth++;
    if (!(bw > 0)) return HUGE_VAL;
    step = (double)(net ? p->net_step_latency : p->nvlink_step_latency) * cx_coll_proto_lat[!net][pr] * CX_PS;
    if (hops) step += (double)(net ? l->net_hop : l->nvlink_hop) * CX_PS;
    tx = piece / bw;
    /* As the simulation runs it (hops): the busiest member sends 4 halves
     * (a piece up and to two children in the tree it is inside of, up in
     * the other), so the pieces after the first follow at 4 per piece time. */
    return 2 * depth * (step + tx) + (double)((hops ? 4 : 1) * pieces - 1) * tx;
}

uint32_t cx_coll_hier_chunks(const cx_coll_params_t *p, const cx_coll_links_t *l, uint64_t bytes, uint32_t n,
                             uint32_t g, int nvls_in)
{
    /* The pipeline costs the three phases of one chunk plus K - 1 times the
     * slowest, and every chunk pays each phase's step latencies (Simple's
     * figures, so K does not depend on the protocol). */
    double   B = (double)bytes, m = (double)n / g;
    double   nv  = (nvls_in ? p->nvls_rsag_efficiency : p->nvlink_efficiency) * l->nvlink_bw;
    double   net = p->net_efficiency * l->net_bw;
    double   lnv = (double)p->nvlink_step_latency * CX_PS, lnet = (double)p->net_step_latency * CX_PS, best_t = 0;
    uint32_t K, best = 1;
    if (!(nv > 0) || !(net > 0)) return 1;
    for (K = 1; K <= CX_COLL_HIER_MAX_CHUNKS; K++) {
        double c    = B / K;
        double t_in = nvls_in ? lnv + c / nv : (g - 1) * (lnv + c / g / nv);
        double t_x  = 2 * (m - 1) * (lnet + c / g / (2 * m) / net);
        double t    = 2 * t_in + t_x + (K - 1) * (t_in > t_x ? t_in : t_x);
        if (K == 1 || t < best_t) {
            best   = K;
            best_t = t;
        }
    }
    return best;
}

/* Hierarchical all-reduce (hier; tree over domains of g > 1): reduce-scatter
 * inside, inner (ring or tree) across among one rail's GPUs, all-gather
 * inside, pipelined over K chunks as cx_coll_hier.c runs it; NVLS's latency
 * once where the domains reduce in the switch (hier; the tree's domains run
 * rings, as NCCL's tree chains inside a node). */
static double cx_tune_hier(const cx_coll_params_t *p, const cx_coll_links_t *l, const cx_op_t *op, uint32_t g,
                           uint32_t pr, uint32_t inner)
{
    uint32_t n = op->group_size, m = n / g;
    int      nvls_in = inner != CX_ALGO_TREE && g > 2 && l->nvs;
    uint32_t K = cx_coll_hier_chunks(p, l, op->bytes, n, g, nvls_in);
    uint64_t c = cx_ceil_div(op->bytes, K), shard = cx_ceil_div(c, g);
    double   t_in, t_x, t;
    if (nvls_in) {
        double nv = p->nvls_rsag_efficiency * l->nvlink_bw;
        if (!(nv > 0)) return HUGE_VAL;
        t_in = (double)(p->nvlink_step_latency + l->nvlink_hop) * CX_PS + (double)c / nv;
    } else {
        t_in = cx_tune_ring(p, l, CX_COLL_REDUCESCATTER, c, g, g, pr, 0);
    }
    t_x = inner == CX_ALGO_TREE ? cx_tune_tree(p, l, shard, m, 1, pr, 1)
                                : cx_tune_ring(p, l, CX_COLL_ALLREDUCE, shard, m, 1, pr, 0);
    t   = 2 * t_in + t_x + (K - 1) * (t_in > t_x ? t_in : t_x);
    if (nvls_in) t += (double)(CX_COLL_NVLS_LATENCY - p->nvlink_step_latency) * CX_PS;
    return t;
}

double cx_coll_predict(const cx_coll_params_t *p, const cx_coll_links_t *l, uint32_t algo, uint32_t proto,
                       const cx_op_t *op, uint32_t g)
{
    uint32_t n = op->group_size, pr = proto < CX_PROTO_COUNT && proto != CX_PROTO_AUTO ? proto : CX_PROTO_SIMPLE;
    if (n <= 1) return 0;
    switch ((cx_coll_algo_t)algo) {
    case CX_ALGO_RING:
        return cx_tune_ring(p, l, op->cls, op->bytes, n, g, pr, 0);
    case CX_ALGO_TREE:
        if (g > 1 && g < n) return cx_tune_hier(p, l, op, g, pr, CX_ALGO_TREE);
        return cx_tune_tree(p, l, op->bytes, g >= n ? n : n / g, g < n, pr, 1);
    case CX_ALGO_HIER:
        return cx_tune_hier(p, l, op, g, pr, CX_ALGO_RING);
    case CX_ALGO_NVLS: {
        double eff = op->cls == CX_COLL_ALLREDUCE ? p->nvls_efficiency : p->nvls_rsag_efficiency;
        if (!(eff * l->nvlink_bw > 0)) return HUGE_VAL;
        return (double)(CX_COLL_NVLS_LATENCY + l->nvlink_hop) * CX_PS + (double)op->bytes / (eff * l->nvlink_bw);
    }
    case CX_ALGO_PAIRWISE: {
        /* Every pair at once: each member's n - 1 pieces leave through its
         * NIC (its NVLink port inside one domain). */
        double bw = g >= n ? p->nvlink_efficiency * l->nvlink_bw : p->net_efficiency * l->net_bw;
        if (!(bw > 0)) return HUGE_VAL;
        return (double)(g >= n ? l->nvlink_hop : l->net_hop) * CX_PS +
               (double)op->bytes * (n - 1) / n / (bw * cx_coll_proto_bw[pr]);
    }
    case CX_ALGO_DIRECT:
        return HUGE_VAL;  /* only when asked */
    case CX_ALGO_AUTO:
    case CX_ALGO_COUNT:
        break;
    }
    return HUGE_VAL;
}

/* auto protocol, as NCCL's tuner picks one: per protocol, time = steps x
 * step latency + bytes / bandwidth, the least wins (NCCL's structure, this
 * model's latencies and shares; cx_tune_ring with nccl = 1).  NVLS runs
 * Simple only; point-to-point pieces (all-to-all, direct) LL up to 16 KiB,
 * as NCCL's NCCL_P2P_LL_THRESHOLD, Simple above; the tree as it runs. */
uint32_t cx_coll_tune_proto(const cx_coll_params_t *p, const cx_coll_links_t *l, const cx_op_t *op, uint32_t algo,
                            uint32_t g)
{
    uint32_t n = op->group_size, nodes = g >= n ? 1 : n / g, pr, best = CX_PROTO_SIMPLE;
    double   best_t = 0;
    if (algo == CX_ALGO_NVLS) return CX_PROTO_SIMPLE;
    if (p->proto != CX_PROTO_AUTO) return p->proto;
    if (algo == CX_ALGO_PAIRWISE || algo == CX_ALGO_DIRECT) {
        uint64_t piece = op->cls == CX_COLL_BROADCAST ? op->bytes : cx_ceil_div(op->bytes, n);
        return piece <= CX_COLL_P2P_LL_BYTES ? CX_PROTO_LL : CX_PROTO_SIMPLE;
    }
    for (pr = CX_PROTO_LL; pr <= CX_PROTO_SIMPLE; pr++) {
        double t;
        if (algo == CX_ALGO_TREE) {
            uint64_t shard = g > 1 && g < n ? cx_ceil_div(op->bytes, g) : op->bytes;
            t = cx_tune_tree(p, l, shard, nodes > 1 ? nodes : n, nodes > 1, pr, 0);
        } else {
            t = cx_tune_ring(p, l, op->cls, op->bytes, n, g, pr, 1);
        }
        if (t == HUGE_VAL) return CX_PROTO_SIMPLE;
        if (pr == CX_PROTO_LL || t < best_t) {
            best   = pr;
            best_t = t;
        }
    }
    return best;
}

/* The CX_GROUP_ bit of a group of n > 1 members, g per domain. */
static uint32_t cx_coll_group(uint32_t n, uint32_t g, int nvls_ok)
{
    if (nvls_ok) return CX_GROUP_NVLS;
    if (g >= n) return CX_GROUP_DOMAIN;
    return g > 1 ? CX_GROUP_RAILS : CX_GROUP_SPREAD;
}

static int cx_coll_covers(uint32_t a, const cx_op_t *op, uint32_t group)
{
    const cx_coll_algo_def_t *d = cx_coll_algo(a);
    return op->cls < CX_COLL_COUNT && (d->kinds & CX_KIND(op->cls)) && (d->groups & group);
}

/* auto: every algorithm NCCL would weigh that covers the collective, with
 * its protocol, by estimated time; the least wins (ties: the earlier). */
static uint32_t cx_coll_tune(const cx_coll_params_t *p, const cx_coll_links_t *l, const cx_op_t *op, uint32_t g,
                             uint32_t group)
{
    static const uint32_t cand[] = {CX_ALGO_RING, CX_ALGO_TREE, CX_ALGO_NVLS, CX_ALGO_HIER, CX_ALGO_PAIRWISE};
    uint32_t i, best = CX_ALGO_RING;
    double   best_t = HUGE_VAL;
    for (i = 0; i < sizeof(cand) / sizeof(cand[0]); i++) {
        double t;
        if (!cx_coll_covers(cand[i], op, group)) continue;
        t = cx_coll_predict(p, l, cand[i], cx_coll_tune_proto(p, l, op, cand[i], g), op, g);
        if (t < best_t) {
            best   = cand[i];
            best_t = t;
        }
    }
    return best;
}

uint32_t cx_coll_pick(const cx_coll_params_t *p, const cx_coll_links_t *l, uint32_t algo, const cx_op_t *op,
                      uint32_t g, uint32_t *proto_p)
{
    uint32_t group = cx_coll_group(op->group_size, g, cx_coll_nvls_ok(l, op->group_size, g)), a;
    if (algo == CX_ALGO_AUTO || algo >= CX_ALGO_COUNT) algo = cx_coll_tune(p, l, op, g, group);
    /* What the asked algorithm does not cover runs on rings; what rings
     * do not cover, on the first row that covers it. */
    if (!cx_coll_covers(algo, op, group)) {
        if (cx_coll_covers(CX_ALGO_RING, op, group)) {
            algo = CX_ALGO_RING;
        } else {
            for (a = CX_ALGO_AUTO + 1; a < CX_ALGO_COUNT && !cx_coll_covers(a, op, group); a++) {}
            if (a >= CX_ALGO_COUNT) {
                cx_fatal("%s over %u members: no collective algorithm covers it", cx_coll_kind_name(op->cls),
                         op->group_size);
            }
            algo = a;
        }
    }
    if (proto_p != NULL) *proto_p = cx_coll_tune_proto(p, l, op, algo, g);
    return algo;
}

/* Without links (cx_gpu.h): the tuner on default parameters and nominal H100
 * links (NVLink 4 at 450 GB/s, 400G NICs). */
uint32_t cx_coll_choose(uint32_t algo, const cx_op_t *op, uint32_t g, int nvls_ok)
{
    cx_coll_params_t p;
    cx_coll_links_t  l = {450e9, 50e9, 0, 0, nvls_ok};
    cx_coll_params_defaults(&p);
    return cx_coll_pick(&p, &l, algo, op, g, NULL);
}
