/*
 * colossim run's plan: how big a run will be (ops, events, trace rows and
 * bytes, memory per rank) before it is built, and the --dry-run report of
 * it.  The estimate is also what the progress line counts against and what
 * --trace-max-gb checks, so it must be cheap: it walks the program of one
 * GPU per pipeline stage and asks the topology about the paths its
 * messages take; it never simulates.
 *
 * Events, as the engine counts them (src/net, src/gpu):
 *   - a compute op: 1 (OP_DONE); every job GPU: 1 KICK at t = 0;
 *   - a message is cut into chunks (scale-out: chunk_bytes; inside an NVLink
 *     domain: nvlink_chunk_bytes, 0 = the whole message; NVLS:
 *     nvls_chunk_bytes); a chunk costs one event per link it crosses (each
 *     switch on its path and the receiving GPU), except ring and chain
 *     steps inside a domain (CX_NET_SEND_SOLE): 1 per chunk;
 *   - a point-to-point SEND: 1 TX_DONE more; collectives' sends: none;
 *   - collectives as cx_coll.c expands them: the algorithm it would pick,
 *     the ring's channels and steps, wire bytes = payload / efficiency; the
 *     cost of a collective is averaged over its group's members, so one GPU
 *     per stage stands for the stage.  Not counted: the KICK a ring member
 *     takes when its last send is still leaving (~10 per GPU and iteration,
 *     0.03% of a Llama 3 405B step).
 * Memory per rank: the structures the run allocates for what the rank owns
 * (devices, ports, GPU state, power model, trace buffers), the event queue
 * at its peak, and a measured baseline for the process.
 */
#include "cx_run_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cx_coll_tune.h"
#include "cx_gen.h"
#include "cx_bq_inl.h"
#include "cx_replay.h"
#include "cx_traffic.h"

#define CX_PLAN_MIB       1048576.0
#define CX_PLAN_MAX_CH    8      /* CX_COLL_MAX_CH (src/gpu): rings per collective */
#define CX_PLAN_MEMO      1024   /* collectives remembered (a layer's repeat) */

/* Events one message or collective costs, per member of its group. */
typedef struct cx_plan_cost {
    double gpu;      /* chunk arrivals at GPUs */
    double sw;       /* chunk hops through NVSwitches and Ethernet switches */
    double other;    /* KICKs */
    double tx;       /* chunk transmissions over links (a SOLE chunk: 2, 1 event) */
    double pending;  /* chunks a member puts in flight at once */
    int    nvls;     /* reduced in the NVSwitch */
} cx_plan_cost_t;

typedef struct cx_plan_memo {
    uint64_t       base, bytes;
    uint32_t       stride, size;
    uint8_t        cls, algo, used;
    cx_plan_cost_t cost;
} cx_plan_memo_t;

typedef struct cx_plan_ctx {
    const cx_topo_t        *topo;
    const cx_net_config_t  *net;
    const cx_coll_params_t *coll;
    uint64_t                gpd;      /* GPUs per NVLink domain (domain = gpu / gpd), 0 = irregular */
    uint64_t                gpd_gpus; /* ... for GPUs below this */
    double                  pbw;      /* the collective's protocol: share of Simple's bandwidth */
    cx_plan_memo_t         *memo;
} cx_plan_ctx_t;

static uint64_t cx_plan_div(uint64_t a, uint64_t b) { return b == 0 ? 0 : (a + b - 1) / b; }

static uint64_t cx_plan_member(const cx_op_t *op, uint64_t i)
{
    return op->u.group_base + i * (uint64_t)op->group_stride;
}

static void cx_plan_gpu(const cx_plan_ctx_t *x, uint64_t gpu, cx_gpu_info_t *gi)
{
    cx_topo_gpu_info(x->topo, cx_topo_gpu_device(x->topo, gpu), gi);
}

/* Members per NVLink domain when the group is laid out domain by domain
 * with the same count in each; 1 otherwise (as cx_coll.c). */
static uint32_t cx_plan_per_domain(const cx_plan_ctx_t *x, const cx_op_t *op)
{
    cx_gpu_info_t a, b, c;
    uint32_t      n = op->group_size, g = 1, d;
    cx_plan_gpu(x, cx_plan_member(op, 0), &a);
    for (; g < n; g++) {
        cx_plan_gpu(x, cx_plan_member(op, g), &b);
        if (b.domain != a.domain) break;
    }
    if (n % g != 0) return 1;
    for (d = 1; d < n / g; d++) {
        cx_plan_gpu(x, cx_plan_member(op, (uint64_t)d * g), &a);
        cx_plan_gpu(x, cx_plan_member(op, (uint64_t)d * g + g - 1), &b);
        cx_plan_gpu(x, cx_plan_member(op, (uint64_t)d * g - 1), &c);
        if (b.domain != a.domain || c.domain == a.domain) return 1;
    }
    return g;
}

/* Parent of position p in cx_coll.c's binary tree over m positions. */
static int64_t cx_plan_tree_parent(uint32_t m, uint32_t p)
{
    uint32_t lo = 0, hi = m;
    int64_t  par = -1;
    for (;;) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (p == mid || hi <= lo) return par;
        par = (int64_t)mid;
        if (p < mid) hi = mid;
        else lo = mid + 1;
    }
}

/* A message of `wire` bytes from GPU a to GPU b, `times` times: chunks and
 * the events they cost.  payload_eff: 1 to apply the collective efficiency
 * of the link class (NVLink or network) to `wire`.  Returns its chunks. */
static double cx_plan_msg(const cx_plan_ctx_t *x, uint64_t a, uint64_t b, uint64_t wire, int payload_eff,
                          int sole, double times, cx_plan_cost_t *c)
{
    cx_gpu_info_t ga, gb;
    int           hops = 2, same, nvl;
    int64_t       lat;
    double        chunk, k;
    if (a == b) {
        c->gpu += times;  /* to itself: delivered as one chunk */
        return 1.0;
    }
    cx_plan_gpu(x, a, &ga);
    cx_plan_gpu(x, b, &gb);
    same = ga.domain == gb.domain;
    nvl  = same && ga.nvlink_port >= 0;
    if (payload_eff) {
        double eff = (same ? x->coll->nvlink_efficiency : x->coll->net_efficiency) * x->pbw;
        wire = (uint64_t)ceil((double)wire / (eff > 0 ? eff : 1.0));
    }
    if (!nvl) {
        cx_topo_gpu_distance(x->topo, cx_topo_gpu_device(x->topo, a), cx_topo_gpu_device(x->topo, b), &hops,
                             &lat);
    }
    chunk = !nvl ? (double)x->net->chunk_bytes
                 : x->net->nvlink_chunk_bytes > 0 ? (double)x->net->nvlink_chunk_bytes : (double)UINT32_MAX;
    k = wire == 0 ? 1.0 : ceil((double)wire / chunk);
    c->gpu += k * times;
    c->tx += k * (double)hops * times;
    if (!(nvl && sole) && hops > 1) c->sw += k * (double)(hops - 1) * times;
    return k;
}

/* Ring (all-reduce, reduce-scatter, all-gather) or pipelined chain
 * (broadcast, reduce): every member's steps to its successor on every
 * channel, as cx_coll_setup lays them out. */
static void cx_plan_ring(const cx_plan_ctx_t *x, const cx_op_t *op, uint32_t g, cx_plan_cost_t *c)
{
    const cx_coll_params_t *p = x->coll;
    uint32_t                n = op->group_size, C = 1, ch, pos;
    uint64_t                data, steps;
    int                     chain = 0;
    if (g > 1 && g < n) C = g;
    else if (g == 1) C = 2;
    if (p->max_channels > 0 && C > p->max_channels) C = p->max_channels;
    if (C > CX_PLAN_MAX_CH) C = CX_PLAN_MAX_CH;
    if (op->cls == CX_COLL_ALLREDUCE || op->cls == CX_COLL_REDUCESCATTER || op->cls == CX_COLL_ALLGATHER) {
        steps = op->cls == CX_COLL_ALLREDUCE ? 2u * (n - 1) : n - 1u;
        data  = cx_plan_div(op->bytes, (uint64_t)n * C);
    } else {
        steps = cx_plan_div(op->bytes, (uint64_t)C * CX_COLL_CHAIN_PIECE_BYTES);
        steps = steps < 1 ? 1 : steps > 1024 ? 1024 : steps;
        data  = cx_plan_div(op->bytes, steps * C);
        chain = 1;
        /* A chain's head paces its pieces with self wake-ups (cx_coll_ring.c):
         * about one per piece, per channel where each channel has its own
         * head (reduce), one for all channels where member 0 heads them all
         * (broadcast). */
        c->other += (double)steps * (op->cls == CX_COLL_REDUCE ? C : 1) / n;
    }
    for (ch = 0; ch < C; ch++) {
        uint32_t root = cx_coll_ring_pos(0, g, n, ch);
        uint32_t head = op->cls == CX_COLL_REDUCE ? (root + 1) % n : root;
        for (pos = 0; pos < n; pos++) {
            uint64_t a = cx_plan_member(op, cx_coll_ring_member(pos, g, n, ch));
            uint64_t b = cx_plan_member(op, cx_coll_ring_member((pos + 1) % n, g, n, ch));
            if (chain && (pos + n - head) % n == n - 1) continue;  /* the chain's end */
            c->pending += cx_plan_msg(x, a, b, data, 1, 1, (double)steps / n, c) / n;
        }
    }
}

/* Double binary tree: each half of the data up and down two trees in
 * pieces of <= 1 MiB (no CX_NET_SEND_SOLE: a parent hears two children). */
static void cx_plan_tree(const cx_plan_ctx_t *x, const cx_op_t *op, cx_plan_cost_t *c)
{
    uint32_t n = op->group_size, t, pos;
    uint64_t half = cx_plan_div(op->bytes, 2), pieces = cx_plan_div(half, CX_COLL_PIECE_BYTES), data;
    pieces = pieces < 1 ? 1 : pieces > 1024 ? 1024 : pieces;
    data   = cx_plan_div(half, pieces);
    for (t = 0; t < 2; t++) {
        for (pos = 0; pos < n; pos++) {
            int64_t  par = cx_plan_tree_parent(n, pos);
            uint64_t a, b;
            if (par < 0) continue;
            a = cx_plan_member(op, t == 0 ? pos : (pos + n - 1) % n);
            b = cx_plan_member(op, t == 0 ? (uint32_t)par : ((uint32_t)par + n - 1) % n);
            cx_plan_msg(x, a, b, data, 1, 0, (double)pieces / n, c);
            cx_plan_msg(x, b, a, data, 1, 0, (double)pieces / n, c);
        }
    }
    c->pending += 4.0;  /* a piece per tree and direction */
}

/* NVLS inside one domain: nvls_chunk_bytes chunks up to the NVSwitch, which
 * multicasts each reduced chunk to every member (all-reduce), to its owner
 * (reduce-scatter), or each member's chunk to every member (all-gather). */
static void cx_plan_nvls(const cx_plan_ctx_t *x, const cx_op_t *op, cx_plan_cost_t *c)
{
    double   eff = op->cls == CX_COLL_ALLREDUCE ? x->coll->nvls_efficiency : x->coll->nvls_rsag_efficiency;
    double   n   = op->group_size;
    uint64_t up  = op->cls == CX_COLL_ALLGATHER ? cx_plan_div(op->bytes, op->group_size) : op->bytes;
    double   k   = ceil(ceil((double)up / (eff > 0 ? eff : 1.0)) / (double)x->net->nvls_chunk_bytes);
    if (k < 1) k = 1;
    c->sw += k;
    c->gpu += op->cls == CX_COLL_ALLGATHER ? k * n : op->cls == CX_COLL_REDUCESCATTER ? k / n : k;
    c->tx += k + (op->cls == CX_COLL_ALLGATHER ? k * n : op->cls == CX_COLL_REDUCESCATTER ? k / n : k);
    c->pending += k;
    c->nvls = 1;
    /* Reduce-scatter: a member's reduced part comes back before its own
     * upload has left, so it waits for that with a KICK (all but the owner
     * of the last chunk). */
    if (op->cls == CX_COLL_REDUCESCATTER) c->other += (n - 1.0) / n;
}

/* All-to-all: every member to every other; with PXN, to a GPU of another
 * domain and rail through the GPU of its own domain on the peer's rail. */
static void cx_plan_pairwise(const cx_plan_ctx_t *x, const cx_op_t *op, cx_plan_cost_t *c)
{
    uint32_t n = op->group_size, i, j;
    uint64_t data = cx_plan_div(op->bytes, n), gpd = x->gpd;
    for (i = 0; i < n; i++) {
        for (j = 1; j < n; j++) {
            uint64_t a = cx_plan_member(op, i), b = cx_plan_member(op, (i + j) % n), via = a;
            if (x->coll->pxn && gpd > 1 && a < x->gpd_gpus && b < x->gpd_gpus && a / gpd != b / gpd &&
                a % gpd != b % gpd) {
                via = (a / gpd) * gpd + b % gpd;
            }
            if (via != a) {
                /* Wire bytes of the a -> b link class, over NVLink then the NIC. */
                double   e = x->coll->net_efficiency * x->pbw;
                uint64_t w = (uint64_t)ceil((double)data / (e > 0 ? e : 1));
                c->pending += cx_plan_msg(x, a, via, w, 0, 0, 1.0 / n, c) / n;
                cx_plan_msg(x, via, b, w, 0, 0, 1.0 / n, c);
            } else {
                c->pending += cx_plan_msg(x, a, b, data, 1, 0, 1.0 / n, c) / n;
            }
        }
    }
}

/* One collective (or phase) with algorithm algo, as cx_coll_setup runs it. */
static void cx_plan_setup(const cx_plan_ctx_t *x, const cx_op_t *op, uint32_t g, uint32_t algo, cx_plan_cost_t *c)
{
    if (op->group_size <= 1) return;
    if (algo == CX_ALGO_NVLS) cx_plan_nvls(x, op, c);
    else if (algo == CX_ALGO_PAIRWISE) cx_plan_pairwise(x, op, c);
    else if (algo == CX_ALGO_TREE) cx_plan_tree(x, op, c);
    else cx_plan_ring(x, op, g, c);
}

/* The hierarchical all-reduce (hier, or tree over domains of g > 1) as
 * cx_coll_hier.c runs it: K chunks (cx_coll_hier_chunks), each reduced
 * inside (NVLS where the domain has it, else a ring), all-reduced across
 * among one rail's GPUs (inner: ring or tree), gathered inside. */
static void cx_plan_hier(const cx_plan_ctx_t *x, const cx_op_t *op, uint32_t g, uint32_t algo,
                         const cx_coll_links_t *l, cx_plan_cost_t *c)
{
    uint32_t       n = op->group_size, in = algo != CX_ALGO_TREE && g > 2 && l->nvs ? CX_ALGO_NVLS : CX_ALGO_RING;
    uint32_t       K = cx_coll_hier_chunks(x->coll, l, op->bytes, n, g, in == CX_ALGO_NVLS);
    cx_op_t        sub = *op;
    cx_plan_cost_t one;
    memset(&one, 0, sizeof(one));
    sub.bytes      = cx_plan_div(op->bytes, K);
    sub.group_size = g;
    sub.cls        = CX_COLL_REDUCESCATTER;
    cx_plan_setup(x, &sub, g, in, &one);
    sub.cls = CX_COLL_ALLGATHER;
    cx_plan_setup(x, &sub, g, in, &one);
    sub.bytes        = cx_plan_div(cx_plan_div(op->bytes, K), g);
    sub.cls          = CX_COLL_ALLREDUCE;
    sub.group_stride = op->group_stride * g;
    sub.group_size   = n / g;
    cx_plan_setup(x, &sub, cx_plan_per_domain(x, &sub), algo == CX_ALGO_TREE ? CX_ALGO_TREE : CX_ALGO_RING, &one);
    c->gpu += one.gpu * K;
    c->sw += one.sw * K;
    c->tx += one.tx * K;
    c->other += one.other * K;
    c->pending += one.pending;  /* three lanes: a chunk each in flight */
    c->nvls |= one.nvls;
}

/* A collective as cx_coll_start runs it: the algorithm and protocol the
 * engine's tuner picks from member 0's links (cx_coll_pick), hierarchical
 * all-reduces in pipelined phases. */
static void cx_plan_coll(const cx_plan_ctx_t *x, const cx_op_t *op, cx_plan_cost_t *c)
{
    uint32_t        n = op->group_size, g, algo = x->coll->algo != 0 ? x->coll->algo : op->algo, proto;
    cx_coll_links_t l;
    cx_plan_ctx_t   y = *x;
    if (n <= 1) return;
    g = cx_plan_per_domain(x, op);
    cx_coll_links_of(x->topo, cx_topo_gpu_device(x->topo, cx_plan_member(op, 0)),
                     g > 1 ? cx_topo_gpu_device(x->topo, cx_plan_member(op, 1)) : UINT64_MAX,
                     g < n ? cx_topo_gpu_device(x->topo, cx_plan_member(op, g)) : UINT64_MAX, &l);
    algo  = cx_coll_pick(x->coll, &l, algo, op, g, &proto);
    y.pbw = cx_coll_proto_bw[proto];
    if ((algo == CX_ALGO_TREE || algo == CX_ALGO_HIER) && g > 1) cx_plan_hier(&y, op, g, algo, &l, c);
    else cx_plan_setup(&y, op, g, algo, c);
}

/* cx_plan_coll through a small cache: a program repeats the same
 * collectives layer after layer. */
static void cx_plan_coll_memo(const cx_plan_ctx_t *x, const cx_op_t *op, cx_plan_cost_t *c)
{
    uint64_t        h = cx_mix64(op->u.group_base * 0x9E3779B97F4A7C15ULL ^ op->bytes ^
                                 ((uint64_t)op->group_stride << 40) ^ ((uint64_t)op->group_size << 20) ^
                                 ((uint64_t)op->cls << 8) ^ op->algo);
    cx_plan_memo_t *m = &x->memo[h % CX_PLAN_MEMO];
    if (!(m->used && m->base == op->u.group_base && m->bytes == op->bytes && m->stride == op->group_stride &&
          m->size == op->group_size && m->cls == op->cls && m->algo == op->algo)) {
        m->used   = 1;
        m->base   = op->u.group_base;
        m->bytes  = op->bytes;
        m->stride = op->group_stride;
        m->size   = op->group_size;
        m->cls    = op->cls;
        m->algo   = op->algo;
        memset(&m->cost, 0, sizeof(m->cost));
        cx_plan_coll(x, op, &m->cost);
    }
    c->gpu += m->cost.gpu;
    c->sw += m->cost.sw;
    c->tx += m->cost.tx;
    c->other += m->cost.other;
    c->pending = m->cost.pending;
    c->nvls |= m->cost.nvls;
}

/* ---- the run's size ------------------------------------------------------ */

/* Simulated time ~ the slowest stage's kernel time / the share of time a
 * GPU computes (measured: 0.73 Llama 3 405B on 8k GPUs, 0.64 on 16k, 0.55
 * the default job); for the power model's bins and the link bins. */
#define CX_PLAN_COMPUTE_SHARE 0.65

/* One GPU's program: its events and what they need. */
typedef struct cx_plan_sample {
    double ops, colls, coll_rows;  /* coll_rows: collectives it is member 0 of, on average */
    double other, gpu, sw;         /* events: OP_DONE / TX_DONE / KICK, chunk arrivals, switch hops */
    double tx;                     /* chunk transmissions over links */
    double pending;                /* events pending at once on its account, at most */
    double compute_ps;             /* kernel time on the compute stream */
    int    nvls;
} cx_plan_sample_t;

static cx_status_t cx_plan_sample(const cx_plan_ctx_t *x, const cx_workload_t *w, uint64_t gpu, uint32_t iters,
                                  const cx_compute_eff_t *eff, cx_plan_sample_t *s, cx_err_t *err)
{
    const cx_gpu_type_t *gt;
    cx_gpu_info_t        gi;
    cx_gen_t             g;
    cx_op_t              op;
    double               burst[CX_NUM_STREAMS] = {0};
    cx_status_t          st = cx_gen_init(&g, w, gpu, iters, err);
    if (st != CX_OK) return st;
    cx_plan_gpu(x, gpu, &gi);
    gt = cx_topo_gpu_type(x->topo, gi.gpu_type);
    memset(s, 0, sizeof(*s));
    s->other = 1.0;  /* the KICK that starts the program */
    while (cx_gen_next(&g, &op)) {
        cx_plan_cost_t c;
        memset(&c, 0, sizeof(c));
        s->ops += 1.0;
        if (!(op.flops <= CX_OP_MAX_FLOPS) || op.bytes > CX_OP_MAX_BYTES) {
            /* Absurd model sizes: an op's time would overflow int64 ps. */
            return cx_err_set(err, CX_ERR_RANGE, w->file, 0, "model",
                              "the model's sizes make a %s %s op of %.3g FLOPs and %.3g bytes (layer %u), over "
                              "the limits of %.0e FLOPs and %.0e bytes per op: check hidden, ffn_hidden, "
                              "vocab, seq_len and micro_batch_size", cx_op_kind_name(op.kind),
                              cx_block_name(op.block), op.flops, (double)op.bytes, (unsigned)op.layer,
                              CX_OP_MAX_FLOPS, (double)CX_OP_MAX_BYTES);
        }
        switch ((cx_op_kind_t)op.kind) {
        case CX_OP_COMPUTE:
            s->other += 1.0;
            if (op.stream == CX_STREAM_COMPUTE) s->compute_ps += (double)cx_compute_time_ps(gt, &op, eff);
            break;
        case CX_OP_SEND:
            c.pending = cx_plan_msg(x, gpu, op.u.peer, op.bytes, 0, 0, 1.0, &c) + 1.0;
            s->other += 1.0;  /* TX_DONE */
            break;
        case CX_OP_COLLECTIVE:
            cx_plan_coll_memo(x, &op, &c);
            s->colls += 1.0;
            s->coll_rows += 1.0 / (op.group_size > 0 ? op.group_size : 1);
            break;
        default:
            break;
        }
        s->gpu += c.gpu;
        s->tx += c.tx;
        s->sw += c.sw;
        s->other += c.other;
        s->nvls |= c.nvls;
        if (op.stream < CX_NUM_STREAMS && c.pending > burst[op.stream]) burst[op.stream] = c.pending;
    }
    /* Peak pending events: measured 14.5 per GPU (default job), 7.6 (Llama
     * 3 405B on 8k GPUs: pipeline warm-up traffic queued at the 1:7
     * aggregation tier), 3.7 (16k).  Taken as a kernel's OP_DONE, a TP step
     * and half a PP message per GPU (DP traffic comes when the pipeline
     * drains, with less else in flight). */
    s->pending = 1.0 + burst[CX_STREAM_TP] + 0.5 * burst[CX_STREAM_PP];
    return CX_OK;
}

/* Iterations past this are extrapolated from programs of 1 and 2 iterations
 * (every iteration after the first issues the same ops): the estimate of
 * --iterations 1000000 generated every op of every iteration and took
 * minutes before the run, deaf to SIGTERM.  Up to it the count is exact. */
#define CX_PLAN_ITERS_EXACT 16

static cx_status_t cx_plan_sample_iters(const cx_plan_ctx_t *x, const cx_workload_t *w, uint64_t gpu,
                                        uint32_t iters, const cx_compute_eff_t *eff, cx_plan_sample_t *s,
                                        cx_err_t *err)
{
    cx_plan_sample_t one, two;
    double           m = (double)iters - 1.0;
    cx_status_t      st;
    if (iters <= CX_PLAN_ITERS_EXACT) return cx_plan_sample(x, w, gpu, iters, eff, s, err);
    st = cx_plan_sample(x, w, gpu, 1, eff, &one, err);
    if (st == CX_OK) st = cx_plan_sample(x, w, gpu, 2, eff, &two, err);
    if (st != CX_OK) return st;
    *s            = two;
    s->ops        = one.ops + m * (two.ops - one.ops);
    s->colls      = one.colls + m * (two.colls - one.colls);
    s->coll_rows  = one.coll_rows + m * (two.coll_rows - one.coll_rows);
    s->other      = one.other + m * (two.other - one.other);
    s->gpu        = one.gpu + m * (two.gpu - one.gpu);
    s->sw         = one.sw + m * (two.sw - one.sw);
    s->tx         = one.tx + m * (two.tx - one.tx);
    s->compute_ps = one.compute_ps + m * (two.compute_ps - one.compute_ps);
    s->nvls       = one.nvls | two.nvls;
    return CX_OK;
}

/* Sample i of n stands for stages [i pp / n, (i + 1) pp / n). */
static uint64_t cx_plan_sample_gpus(const cx_workload_t *w, uint32_t i, uint32_t n, uint64_t *first)
{
    uint32_t pp = w->par.pp > 0 ? w->par.pp : 1;
    uint64_t gps = w->gpus / pp, lo = (uint64_t)i * pp / n, hi = (uint64_t)(i + 1) * pp / n;
    *first = lo * gps;
    return (hi - lo) * gps;
}

/* Sample every pipeline stage (up to CX_PLAN_SAMPLES, evenly spread), and
 * scale each to the GPUs it stands for. */
static cx_status_t cx_run_estimate(const cx_topo_t *topo, const cx_workload_t *w, uint32_t iters,
                                   const cx_run_config_t *cfg, cx_run_estimate_t *e, cx_err_t *err)
{
    cx_plan_ctx_t    x;
    cx_fabric_info_t fi;
    cx_gpu_info_t    g0;
    uint32_t         pp = w->par.pp > 0 ? w->par.pp : 1, n, i;
    double           ops = 0.0, colls = 0.0, rows = 0.0, tmax = 0.0;
    cx_status_t      st = CX_OK;

    memset(&x, 0, sizeof(x));
    x.topo = topo;
    x.net  = &cfg->net;
    x.coll = &cfg->coll;
    x.pbw  = 1.0;
    x.memo = calloc(CX_PLAN_MEMO, sizeof(*x.memo));
    if (x.memo == NULL) return cx_err_set(err, CX_ERR_NOMEM, NULL, 0, NULL, "out of memory");
    cx_topo_gpu_info(topo, cx_topo_gpu_device(topo, 0), &g0);
    if (cx_topo_fabric_info(topo, g0.fabric, &fi) == CX_OK && fi.domain_gpus > 1) {
        x.gpd      = (uint64_t)fi.domain_gpus;
        x.gpd_gpus = fi.gpus;
    }
    n          = pp < CX_PLAN_SAMPLES ? pp : CX_PLAN_SAMPLES;
    e->samples = n;
    for (i = 0; i < n && st == CX_OK; i++) {
        cx_plan_sample_t s;
        uint64_t         first, k = cx_plan_sample_gpus(w, i, n, &first);
        st = cx_plan_sample_iters(&x, w, first, iters, NULL, &s, err);
        if (st != CX_OK) break;
        e->sample_events[i]  = s.other + s.gpu + s.sw;
        e->sample_pending[i] = s.pending;
        e->ev_other += s.other * (double)k;
        e->ev_gpu += s.gpu * (double)k;
        e->chunk_tx += s.tx * (double)k;
        e->ev_switch += s.sw * (double)k;
        e->nvls |= s.nvls;
        ops += s.ops * (double)k;
        colls += s.colls * (double)k;
        rows += s.coll_rows * (double)k;
        if (s.compute_ps > tmax) tmax = s.compute_ps;
    }
    free(x.memo);
    if (st != CX_OK) return st;
    e->events       = e->ev_other + e->ev_gpu + e->ev_switch;
    e->ops_total    = (uint64_t)llround(ops);
    e->ops_per_gpu  = (uint64_t)llround(ops / (double)w->gpus);
    e->coll_per_gpu = (uint64_t)llround(colls / (double)w->gpus);
    e->coll_rows    = (uint64_t)llround(rows);
    e->seconds      = tmax * 1e-12 / CX_PLAN_COMPUTE_SHARE;
    return CX_OK;
}

/* ---- trace size ------------------------------------------------------------ */

/* Compression (shuffle + deflate 1) of each table, at the low end of what
 * was measured, so the file figure is about an upper bound: collectives
 * 11-12x (Llama 3 405B on 16k GPUs, 1 and 2 ranks), 15x (default job), 80x
 * (small-1024), 116x (dense-405b-hall, whose uncongested fabric gives very
 * regular times); ops 53x (default), 141x (small-1024).  The rows and
 * uncompressed bytes are what the run will hold. */
#define CX_PLAN_Z_ITER   5.0
#define CX_PLAN_Z_COLL   11.0
#define CX_PLAN_Z_OPS    50.0
#define CX_PLAN_Z_POWER  6.0
#define CX_PLAN_Z_BINS   40.0
#define CX_PLAN_Z_PORTS  25.0
#define CX_PLAN_Z_HOPS   50.0
/* /links/bins rows per chunk transmission at the default 100 us bins
 * (chunks following one another on a port share a bin): 0.37 default job,
 * 0.34 small-1024. */
#define CX_PLAN_BIN_ROWS_PER_TX 0.36
/* Superblock, /meta (options, the input files, the summary), headers. */
#define CX_PLAN_TRACE_FIXED 32768.0
/* /power rows (src/power/cx_power.c): per job rack and bin, per bin, per
 * iteration. */
#define CX_PLAN_PW_RACK_ROW 48.0
#define CX_PLAN_PW_SITE_ROW 105.0
#define CX_PLAN_PW_ITER_ROW 76.0
/* Most that writing buffered rows adds on top of them (see cx_plan_memory). */
#define CX_PLAN_TRACE_WRITE_BYTES (16.0 * CX_PLAN_MIB)

static void cx_plan_table(cx_run_estimate_t *e, double rows, double row_bytes, double ratio)
{
    e->trace_rows += (uint64_t)llround(rows);
    e->trace_bytes += (uint64_t)llround(rows * row_bytes);
    e->trace_file_bytes += (uint64_t)llround(rows * row_bytes / ratio);
}

/* Racks the job's GPUs span, as the power model counts them. */
static uint64_t cx_plan_job_racks(const cx_topo_t *topo, const cx_workload_t *w)
{
    cx_power_params_t par;
    cx_gpu_info_t     a, b;
    uint32_t          spr;
    cx_topo_gpu_info(topo, cx_topo_gpu_device(topo, 0), &a);
    cx_topo_gpu_info(topo, cx_topo_gpu_device(topo, w->gpus - 1), &b);
    cx_power_params_init(&par, topo, a.fabric);
    spr = par.servers_per_rack > 0 ? par.servers_per_rack : 1;
    return b.server / spr - a.server / spr + 1;
}

/* Ports of every Ethernet switch of the topology. */
static double cx_plan_switch_ports(const cx_topo_t *topo)
{
    double ports = 0.0;
    int    f, t;
    for (f = 0; f < cx_topo_num_fabrics(topo); f++) {
        cx_fabric_info_t fi;
        if (cx_topo_fabric_info(topo, f, &fi) != CX_OK) continue;
        for (t = 1; t <= fi.tiers && t <= CX_TOPO_MAX_TIERS; t++)
            ports += (double)fi.switches_by_tier[t] * (double)(fi.down_ports[t] + fi.up_ports[t]);
    }
    return ports;
}

/* Rows and bytes of every table of cfg's trace level (with the power
 * model's tables when it runs). */
static void cx_plan_trace(const cx_topo_t *topo, const cx_workload_t *w, uint32_t iters, const cx_run_config_t *cfg,
                          cx_run_estimate_t *e)
{
    int    level = cfg->trace_level;
    double gpus  = (double)w->gpus;
    e->trace_rows = e->trace_bytes = 0;
    e->trace_file_bytes = (uint64_t)CX_PLAN_TRACE_FIXED;
    cx_plan_table(e, (double)iters * gpus, sizeof(cx_row_iter_t), CX_PLAN_Z_ITER);
    cx_plan_table(e, (double)e->coll_rows, sizeof(cx_row_coll_t), CX_PLAN_Z_COLL);
    if (level >= CX_TRACE_LEVEL_OPS) cx_plan_table(e, (double)e->ops_total, sizeof(cx_row_op_t), CX_PLAN_Z_OPS);
    if (level >= CX_TRACE_LEVEL_LINKS && cfg->link_bin_ps > 0) {
        /* Bins with traffic; a row per Ethernet switch port and per port
         * of the job's GPUs and NVSwitches (NVLink, NIC) after the run. */
        double width = (double)cfg->link_bin_ps / (100.0 * CX_PS_PER_US);
        cx_plan_table(e, CX_PLAN_BIN_ROWS_PER_TX * e->chunk_tx / width, sizeof(cx_row_bin_t), CX_PLAN_Z_BINS);
        cx_plan_table(e, cx_plan_switch_ports(topo) + 3.0 * gpus, sizeof(cx_row_port_t), CX_PLAN_Z_PORTS);
    }
    if (level >= CX_TRACE_LEVEL_CHUNKS) {
        /* A row per chunk per port it leaves. */
        cx_plan_table(e, e->chunk_tx, sizeof(cx_row_hop_t), CX_PLAN_Z_HOPS);
    }
    e->trace_run_bytes = e->trace_bytes;
    if (cfg->power_bin_ps > 0) {
        double bins = ceil(e->seconds * 1e12 / (double)cfg->power_bin_ps);
        cx_plan_table(e, bins * (double)cx_plan_job_racks(topo, w), CX_PLAN_PW_RACK_ROW, CX_PLAN_Z_POWER);
        cx_plan_table(e, bins, CX_PLAN_PW_SITE_ROW, CX_PLAN_Z_POWER);
        cx_plan_table(e, iters, CX_PLAN_PW_ITER_ROW, 1.0);
    }
}

cx_status_t cx_plan_estimate(const cx_workload_t *w, uint32_t iters, const cx_run_config_t *cfg,
                             double peak_flops, cx_run_estimate_t *e, cx_err_t *err)
{
    cx_topo_t  *topo = NULL;
    cx_status_t st;
    (void)peak_flops;
    memset(e, 0, sizeof(*e));
    e->cfg = cfg;
    /* The paths messages take need the fabric (loaded again here: the
     * description is parametric, a few microseconds to build). */
    st = cx_run_load_topo(cfg->topology_path, &topo, err);
    if (st == CX_OK) st = cx_run_estimate(topo, w, iters, cfg, e, err);
    if (st == CX_OK) cx_plan_trace(topo, w, iters, cfg, e);
    cx_topo_destroy(topo);
    return st;
}

/* ---- memory per rank ------------------------------------------------------- */

/* What one rank holds under the partition, and the events its GPUs cause. */
typedef struct cx_plan_rank {
    uint64_t devs, ports, switches, nvswitches, gpus, job_gpus;
    uint64_t gpu_lo, gpu_hi;  /* the first and last job GPU here (the run's accumulators span them) */
    double   events, pending;
    double   tables;          /* a cyclic partition's owner and index tables (bytes) */
} cx_plan_rank_t;

/* One pass over the devices (the dry run only). */
static void cx_plan_ranks(const cx_topo_t *topo, const cx_workload_t *w, const cx_run_estimate_t *e,
                          const cx_topo_part_t *part, cx_plan_rank_t *rk)
{
    uint64_t d, nd = cx_topo_num_devices(topo), gps = w->gpus / (w->par.pp > 0 ? w->par.pp : 1);
    uint32_t pp = w->par.pp > 0 ? w->par.pp : 1;
    int      r, nranks = part->nranks;
    memset(rk, 0, (size_t)nranks * sizeof(*rk));
    for (r = 0; r < nranks; r++) {
        rk[r].gpu_lo = UINT64_MAX;
        rk[r].tables = part->cyclic ? (double)nd * 8.0 : 0.0;
    }
    for (d = 0; d < nd; d++) {
        cx_dev_kind_t kind = cx_topo_device_kind(topo, d);
        cx_gpu_info_t gi;
        r = cx_topo_part_owner(part, d);
        rk[r].devs++;
        if (part->cyclic) rk[r].tables += 8.0;
        rk[r].ports += cx_topo_num_ports(topo, d);
        if (kind == CX_DEV_SWITCH) rk[r].switches++;
        else if (kind == CX_DEV_NVSWITCH) rk[r].nvswitches++;
        if (kind != CX_DEV_GPU) continue;
        rk[r].gpus++;
        cx_topo_gpu_info(topo, d, &gi);
        if (gi.gpu_index < w->gpus && gps > 0 && e->samples > 0) {
            uint64_t i = (gi.gpu_index / gps) * e->samples / pp;
            rk[r].job_gpus++;
            if (gi.gpu_index < rk[r].gpu_lo) rk[r].gpu_lo = gi.gpu_index;
            rk[r].gpu_hi = gi.gpu_index;
            rk[r].events += e->sample_events[i < e->samples ? i : e->samples - 1];
            rk[r].pending += e->sample_pending[i < e->samples ? i : e->samples - 1];
        }
    }
}

/* Bytes of the engine's event pool (blocks of 4096 events doubling up to
 * 65536, all touched when carved) and queue (cx_bq_inl.h: the buckets'
 * heads and bitmap, their blocks of CX_BQ_BLOCK_ITEMS items carved
 * CX_BQ_SLAB_BLOCKS at a time, and the near and far heaps at their initial
 * 4096 items: a bucket holds 1 us of events). */
static double cx_plan_queue_bytes(double pending)
{
    double cap = 0.0, blk = 4096.0, slabs;
    while (cap < pending) {
        cap += blk;
        if (blk < 65536.0) blk *= 2.0;
    }
    slabs = ceil(pending / CX_BQ_BLOCK_ITEMS / CX_BQ_SLAB_BLOCKS);
    return cap * CX_EVENT_SIZE + slabs * CX_BQ_SLAB_BLOCKS * (double)sizeof(cx_bq_block_t) +
           CX_BQ_BUCKETS * ((double)sizeof(cx_bq_bucket_t) + 1.0 / 8.0) + 2.0 * 4096.0 * (double)sizeof(cx_heap_item_t);
}

typedef struct cx_plan_mem {
    double process, fabric, gpus, queue, power, trace, peak, end;  /* bytes */
} cx_plan_mem_t;

/* A rank's peak memory: during the run (what the engine reports) and at
 * the end (the power reduction and the last trace tables come on top). */
static void cx_plan_memory(const cx_topo_t *topo, const cx_workload_t *w, const cx_run_estimate_t *e,
                           const cx_plan_rank_t *rk, int rank, cx_plan_mem_t *m)
{
    const cx_run_config_t *cfg   = e->cfg;
    double                 share = rk->gpus > 0 ? (double)rk->job_gpus / (double)rk->gpus : 0.0;
    double                 jg    = (double)rk->job_gpus;
    /* The accumulators and power lists span the first to the last job GPU
     * here: the job GPUs themselves when the partition is contiguous. */
    double                 span  = rk->job_gpus > 0 ? (double)(rk->gpu_hi - rk->gpu_lo + 1) : 0.0;
    memset(m, 0, sizeof(*m));
    m->process = CX_PLAN_PROCESS_BYTES + rk->tables;
    /* net/ and core/: a device, its entity and ports; the switches' flow
     * tables and NVSwitches' NVLS slots are touched where the job runs. */
    m->fabric = (double)rk->devs * (double)(sizeof(cx_net_dev_t) + sizeof(cx_entity_t)) +
                (double)rk->ports * (double)sizeof(cx_net_port_t) +
                (double)rk->switches * share * CX_NET_RR_SLOTS * CX_PLAN_RR_ENTRY_BYTES +
                (e->nvls ? (double)rk->nvswitches * share * CX_PLAN_NVLS_BYTES : 0.0);
    /* gpu/: the GPU, an op source per stream; the run's accumulators. */
    m->gpus  = jg * (CX_PLAN_GPU_STATE_BYTES + CX_NUM_STREAMS * (double)((sizeof(cx_gen_t) + 15u) & ~(size_t)15u)) +
               span * (double)sizeof(cx_run_acc_t);
    m->queue = cx_plan_queue_bytes(rk->pending);
    if (cfg->power_bin_ps > 0 && rk->job_gpus > 0) {
        cx_power_params_t par;
        cx_gpu_info_t     g0;
        double            bins = ceil(e->seconds * 1e12 / (double)cfg->power_bin_ps), cap = 256.0, racks;
        cx_topo_gpu_info(topo, cx_topo_gpu_device(topo, 0), &g0);
        cx_power_params_init(&par, topo, g0.fabric);
        racks = ceil(span / (double)(par.server_gpus > 0 ? par.server_gpus : 1) /
                     (double)(par.servers_per_rack > 0 ? par.servers_per_rack : 1));
        while (cap < bins) cap *= 2.0;
        /* Interval lists per GPU, and (bin, local rack, state) sums. */
        m->power = span * (2.0 * (CX_POWER_RING * 16.0 + 16.0) + 4.0) + cap * racks * 3.0 * 8.0;
        /* After the run: the job-wide sums, and rank 0's /power rows. */
        m->end = bins * (double)cx_plan_job_racks(topo, w) *
                 (3.0 * 8.0 + (rank == 0 && cfg->out != NULL && cfg->out[0] != '\0' ? CX_PLAN_PW_RACK_ROW : 0.0));
    }
    if (cfg->out != NULL && cfg->out[0] != '\0') {
        /* Rows buffered until a rank holds --trace-buffer, the open file,
         * and writing the rows: HDF5's chunk and compression buffers and
         * MPI-IO's collective buffer take ~1.8x the rows written, up to
         * ~16 MiB (measured) -- during the run when the buffer fills,
         * else at the end. */
        double limit = cfg->trace_buffer_bytes > 0 ? (double)cfg->trace_buffer_bytes : (double)CX_RUN_FLUSH_BYTES;
        double rows  = (double)e->trace_run_bytes * jg / (double)w->gpus;
        double held  = rows < limit ? rows : limit;
        double write = 1.8 * held < CX_PLAN_TRACE_WRITE_BYTES ? 1.8 * held : CX_PLAN_TRACE_WRITE_BYTES;
        m->trace = CX_PLAN_TRACE_OPEN_BYTES + held + (rows >= limit ? write : 0.0);
        if (rows < limit) m->end += write;
    }
    m->peak = m->process + m->fabric + m->gpus + m->queue + m->power + m->trace;
    m->end += m->peak;
}

cx_status_t cx_plan_rank_peak(const cx_topo_t *topo, const cx_workload_t *w, const cx_run_estimate_t *e,
                              int nranks, double *peak, cx_err_t *err)
{
    cx_plan_rank_t *rk = calloc((size_t)nranks, sizeof(*rk));
    cx_topo_part_t  part;
    cx_status_t     st;
    int             r;
    *peak = 0.0;
    memset(&part, 0, sizeof(part));
    if (rk == NULL) {
        st = cx_err_set(err, CX_ERR_NOMEM, NULL, 0, NULL, "out of memory");
    } else {
        st = cx_topo_part_make_env(topo, nranks, w->gpus, &part, err);
    }
    if (st == CX_OK) {
        cx_plan_ranks(topo, w, e, &part, rk);
        for (r = 0; r < nranks; r++) {
            cx_plan_mem_t m;
            cx_plan_memory(topo, w, e, &rk[r], r, &m);
            if (m.peak > *peak) *peak = m.peak;
        }
    }
    cx_topo_part_free(&part);
    free(rk);
    return st;
}

/* ---- the plan --------------------------------------------------------------- */

/* "12.3 MB" (powers of 1000, as file sizes go). */
static const char *cx_plan_size(double bytes, char *buf, size_t len)
{
    if (bytes >= 1e9) snprintf(buf, len, "%.2f GB", bytes / 1e9);
    else if (bytes >= 1e6) snprintf(buf, len, "%.1f MB", bytes / 1e6);
    else snprintf(buf, len, "%.0f kB", ceil(bytes / 1e3));
    return buf;
}

/* Events and memory per rank (rank 0 prints). */
static void cx_plan_print_ranks(const cx_topo_t *topo, const cx_workload_t *w, const cx_run_estimate_t *e,
                                const cx_plan_rank_t *rk, int nranks, double lookahead_us)
{
    cx_plan_mem_t m, big;
    double        ev_lo = 0.0, ev_hi = 0.0, mem_lo = 0.0, pct = e->events > 0 ? 100.0 / e->events : 0.0;
    uint64_t      dmin = UINT64_MAX, dmax = 0;
    char          evs[96], mem[96];
    int           r;
    memset(&big, 0, sizeof(big));
    for (r = 0; r < nranks; r++) {
        /* A rank's events: those its GPUs' messages cause, hops included. */
        if (r == 0 || rk[r].events < ev_lo) ev_lo = rk[r].events;
        if (rk[r].events > ev_hi) ev_hi = rk[r].events;
        if (rk[r].devs < dmin) dmin = rk[r].devs;
        if (rk[r].devs > dmax) dmax = rk[r].devs;
        cx_plan_memory(topo, w, e, &rk[r], r, &m);
        if (r == 0 || m.peak < mem_lo) mem_lo = m.peak;
        if (r == 0 || m.peak > big.peak) {
            double end = big.end > m.end ? big.end : m.end;
            big        = m;
            big.end    = end;
        }
        if (m.end > big.end) big.end = m.end;
    }
    printf("  ranks %d, entities (devices) per rank %llu .. %llu of %llu, lookahead %.3f us\n", nranks,
           (unsigned long long)dmin, (unsigned long long)dmax, (unsigned long long)cx_topo_num_devices(topo),
           lookahead_us);
    if (nranks > 1) snprintf(evs, sizeof(evs), "per rank %.3g .. %.3g", ev_lo, ev_hi);
    else snprintf(evs, sizeof(evs), "%.3g per rank", ev_hi);
    printf("  ops per GPU %llu (mean over stages), %llu in all; estimated events %.3g (%s)\n",
           (unsigned long long)e->ops_per_gpu, (unsigned long long)e->ops_total, e->events, evs);
    printf("    %.0f%% chunk arrivals at GPUs, %.0f%% chunk hops in switches, %.0f%% kernel ends and wake-ups; "
           "about %.3g s simulated\n",
           e->ev_gpu * pct, e->ev_switch * pct, e->ev_other * pct, e->seconds);
    if (nranks > 1) {
        snprintf(mem, sizeof(mem), "%.1f MiB (ranks %.1f .. %.1f)", big.peak / CX_PLAN_MIB, mem_lo / CX_PLAN_MIB,
                 big.peak / CX_PLAN_MIB);
    } else {
        snprintf(mem, sizeof(mem), "%.1f MiB", big.peak / CX_PLAN_MIB);
    }
    printf("  estimated peak memory per rank %s while it runs, %.1f MiB at the end\n", mem, big.end / CX_PLAN_MIB);
    printf("    process %.1f, devices and ports %.1f, GPU state %.1f, event queue %.1f, power %.1f, "
           "trace buffers %.1f MiB\n",
           big.process / CX_PLAN_MIB, big.fabric / CX_PLAN_MIB, big.gpus / CX_PLAN_MIB, big.queue / CX_PLAN_MIB,
           big.power / CX_PLAN_MIB, big.trace / CX_PLAN_MIB);
}

cx_status_t cx_plan_print(const cx_topo_t *topo, const cx_workload_t *w, const cx_gpu_type_t *gt,
                          uint32_t iters, int trace_level, const cx_run_estimate_t *e, MPI_Comm comm,
                          cx_err_t *err)
{
    cx_topo_summary_t ts;
    cx_plan_rank_t   *rk = NULL;
    cx_topo_part_t    part;
    int               rank, nranks;
    int64_t           lookahead = 0;
    cx_status_t       st;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &nranks);
    cx_topo_summary(topo, &ts);
    rk = calloc((size_t)nranks, sizeof(*rk));
    if (rk == NULL) return cx_err_set(err, CX_ERR_NOMEM, NULL, 0, NULL, "out of memory");
    st        = cx_topo_part_make_env(topo, nranks, w->gpus, &part, err);
    lookahead = part.lookahead_ps;
    if (st == CX_OK && rank == 0) {
        const char *out = e->cfg->out;
        char        raw[32], file[32];
        printf("plan: %s on %s (%s), %llu of %llu GPUs, %u iteration(s)\n", w->name, cx_topo_name(topo),
               gt->name, (unsigned long long)w->gpus, (unsigned long long)ts.gpus, iters);
        cx_plan_ranks(topo, w, e, &part, rk);
        cx_plan_print_ranks(topo, w, e, rk, nranks, lookahead == INT64_MAX ? 0.0 : (double)lookahead * 1e-6);
        printf("  trace level %s: %llu rows, about %s uncompressed, a file of up to about %s%s\n",
               cx_run_level_name(trace_level), (unsigned long long)e->trace_rows,
               cx_plan_size((double)e->trace_bytes, raw, sizeof(raw)),
               cx_plan_size((double)e->trace_file_bytes, file, sizeof(file)),
               out == NULL || out[0] == '\0' ? " (not written: --out \"\")" : "");
    }
    free(rk);
    cx_topo_part_free(&part);
    return st;
}
