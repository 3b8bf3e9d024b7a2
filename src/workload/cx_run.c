/*
 * colossim run: wires topology, workload generator, fabric, GPUs and trace
 * into one run, then reduces what the GPUs observed into the summary.
 *
 * Order matters for "no half-written output": everything that can fail on
 * input (files, fit, trace size, output directory) is checked before the
 * trace file is opened; the trace is written as NAME.partial and renamed
 * only by a successful close.
 */
#define _POSIX_C_SOURCE 200809L
#include "cx_run.h"

#include <errno.h>
#include <json-c/json.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "cx_collbench.h"
#include "cx_compute.h"
#include "cx_gen.h"
#include "cx_replay.h"
#include "cx_topo.h"
#include "cx_trace.h"
#include "cx_traffic.h"

/* ---- trace rows ------------------------------------------------------- */

typedef struct cx_row_op {
    uint64_t gpu;
    int64_t  start_ps, end_ps;
    uint64_t bytes;
    double   flops;
    uint64_t tag;
    uint64_t peer;          /* SEND/RECV: peer GPU; COLLECTIVE: group base; WAIT: count */
    uint32_t microbatch, iteration, group_size, group_stride;
    uint16_t layer;
    uint8_t  stream, kind, cls, phase, block, algo;
} cx_row_op_t;

static const cx_trace_field_t cx_row_op_fields[] = {
    CX_TRACE_FIELD(cx_row_op_t, gpu, CX_TRACE_U64, "", "global GPU index"),
    CX_TRACE_FIELD(cx_row_op_t, stream, CX_TRACE_U8, "", "0 compute, 1 TP/CP/EP comm, 2 DP comm, 3 PP send/recv"),
    CX_TRACE_FIELD(cx_row_op_t, kind, CX_TRACE_U8, "", "0 compute 1 send 2 recv 3 collective 4 wait 5 iter_begin 6 iter_end"),
    CX_TRACE_FIELD(cx_row_op_t, cls, CX_TRACE_U8, "", "compute: 0 gemm 1 attention 2 elementwise 3 optimizer; collective: 0 allreduce 1 reducescatter 2 allgather 3 alltoall 4 broadcast; wait: stream waited for"),
    CX_TRACE_FIELD(cx_row_op_t, algo, CX_TRACE_U8, "", "collective algorithm used: 1 ring 2 tree 3 nvls 4 pairwise"),
    CX_TRACE_FIELD(cx_row_op_t, phase, CX_TRACE_U8, "", "0 none 1 fwd 2 bwd 3 recompute 4 optimizer"),
    CX_TRACE_FIELD(cx_row_op_t, block, CX_TRACE_U8, "", "model block (cx_op_block_t, see SCHEMA.md)"),
    CX_TRACE_FIELD(cx_row_op_t, layer, CX_TRACE_U16, "", "layer, PP boundary or DP bucket; 65535 = none"),
    CX_TRACE_FIELD(cx_row_op_t, microbatch, CX_TRACE_U32, "", "microbatch; 4294967295 = none"),
    CX_TRACE_FIELD(cx_row_op_t, iteration, CX_TRACE_U32, "", "training iteration"),
    CX_TRACE_FIELD(cx_row_op_t, start_ps, CX_TRACE_I64, "ps", "op start (simulated time)"),
    CX_TRACE_FIELD(cx_row_op_t, end_ps, CX_TRACE_I64, "ps", "op end (simulated time)"),
    CX_TRACE_FIELD(cx_row_op_t, bytes, CX_TRACE_U64, "bytes", "payload (comm) or HBM traffic (compute)"),
    CX_TRACE_FIELD(cx_row_op_t, flops, CX_TRACE_F64, "FLOP", "floating point operations (compute)"),
    CX_TRACE_FIELD(cx_row_op_t, tag, CX_TRACE_U64, "", "matching tag of send/recv/collective"),
    CX_TRACE_FIELD(cx_row_op_t, peer, CX_TRACE_U64, "", "send/recv: peer GPU; collective: group base GPU; wait: op count waited for"),
    CX_TRACE_FIELD(cx_row_op_t, group_size, CX_TRACE_U32, "", "collective group size"),
    CX_TRACE_FIELD(cx_row_op_t, group_stride, CX_TRACE_U32, "", "collective group stride (members base + i*stride)"),
};

typedef struct cx_row_iter {
    uint64_t gpu;
    uint32_t iteration;
    uint32_t pad;
    int64_t  begin_ps, end_ps;
    int64_t  compute_ps, exposed_comm_ps, pp_wait_ps;
} cx_row_iter_t;

static const cx_trace_field_t cx_row_iter_fields[] = {
    CX_TRACE_FIELD(cx_row_iter_t, gpu, CX_TRACE_U64, "", "global GPU index"),
    CX_TRACE_FIELD(cx_row_iter_t, iteration, CX_TRACE_U32, "", "training iteration"),
    CX_TRACE_FIELD(cx_row_iter_t, begin_ps, CX_TRACE_I64, "ps", "iteration begin marker on this GPU"),
    CX_TRACE_FIELD(cx_row_iter_t, end_ps, CX_TRACE_I64, "ps", "iteration end marker on this GPU (after all its streams drained)"),
    CX_TRACE_FIELD(cx_row_iter_t, compute_ps, CX_TRACE_I64, "ps", "compute-stream kernel time in this iteration"),
    CX_TRACE_FIELD(cx_row_iter_t, exposed_comm_ps, CX_TRACE_I64, "ps", "compute stream blocked on TP/CP/EP or DP communication"),
    CX_TRACE_FIELD(cx_row_iter_t, pp_wait_ps, CX_TRACE_I64, "ps", "compute stream blocked on pipeline send/recv"),
};

typedef struct cx_row_coll {
    uint64_t gpu;            /* member 0 */
    uint64_t group_base;
    uint64_t bytes;
    uint64_t tag;
    int64_t  start_ps, end_ps;
    double   busbw_gbps;
    uint32_t group_size, group_stride, iteration, microbatch;
    uint16_t layer;
    uint8_t  kind, algo, channels, stream, phase, block;
} cx_row_coll_t;

static const cx_trace_field_t cx_row_coll_fields[] = {
    CX_TRACE_FIELD(cx_row_coll_t, gpu, CX_TRACE_U64, "", "the group's member 0 (whose view this row is)"),
    CX_TRACE_FIELD(cx_row_coll_t, kind, CX_TRACE_U8, "", "0 allreduce 1 reducescatter 2 allgather 3 alltoall 4 broadcast"),
    CX_TRACE_FIELD(cx_row_coll_t, algo, CX_TRACE_U8, "", "1 ring 2 tree 3 nvls 4 pairwise"),
    CX_TRACE_FIELD(cx_row_coll_t, channels, CX_TRACE_U8, "", "rings used"),
    CX_TRACE_FIELD(cx_row_coll_t, stream, CX_TRACE_U8, "", "stream of the collective"),
    CX_TRACE_FIELD(cx_row_coll_t, phase, CX_TRACE_U8, "", "0 none 1 fwd 2 bwd 3 recompute 4 optimizer"),
    CX_TRACE_FIELD(cx_row_coll_t, block, CX_TRACE_U8, "", "model block (cx_op_block_t)"),
    CX_TRACE_FIELD(cx_row_coll_t, layer, CX_TRACE_U16, "", "layer or DP bucket"),
    CX_TRACE_FIELD(cx_row_coll_t, iteration, CX_TRACE_U32, "", "training iteration"),
    CX_TRACE_FIELD(cx_row_coll_t, microbatch, CX_TRACE_U32, "", "microbatch"),
    CX_TRACE_FIELD(cx_row_coll_t, group_base, CX_TRACE_U64, "", "first member GPU"),
    CX_TRACE_FIELD(cx_row_coll_t, group_size, CX_TRACE_U32, "", "members"),
    CX_TRACE_FIELD(cx_row_coll_t, group_stride, CX_TRACE_U32, "", "stride between members"),
    CX_TRACE_FIELD(cx_row_coll_t, bytes, CX_TRACE_U64, "bytes", "size (nccl-tests convention)"),
    CX_TRACE_FIELD(cx_row_coll_t, tag, CX_TRACE_U64, "", "collective tag"),
    CX_TRACE_FIELD(cx_row_coll_t, start_ps, CX_TRACE_I64, "ps", "start on member 0"),
    CX_TRACE_FIELD(cx_row_coll_t, end_ps, CX_TRACE_I64, "ps", "end on member 0"),
    CX_TRACE_FIELD(cx_row_coll_t, busbw_gbps, CX_TRACE_F64, "GB/s", "bus bandwidth seen by member 0 (nccl-tests definition)"),
};

typedef struct cx_row_bin {
    uint64_t dev;
    int64_t  start_ps;
    uint64_t bytes;
    uint32_t port;
    uint8_t  cls;
    uint8_t  tier;
    uint16_t pad;
} cx_row_bin_t;

static const cx_trace_field_t cx_row_bin_fields[] = {
    CX_TRACE_FIELD(cx_row_bin_t, dev, CX_TRACE_U64, "", "transmitting device (topology device id)"),
    CX_TRACE_FIELD(cx_row_bin_t, port, CX_TRACE_U32, "", "port of that device"),
    CX_TRACE_FIELD(cx_row_bin_t, cls, CX_TRACE_U8, "", "link class: 0 gpu->nvswitch 1 nvswitch->gpu 2 nic->leaf 3 leaf->nic 4 switch-up 5 switch-down"),
    CX_TRACE_FIELD(cx_row_bin_t, tier, CX_TRACE_U8, "", "tier of the transmitting switch (0 for GPUs and NVSwitches)"),
    CX_TRACE_FIELD(cx_row_bin_t, start_ps, CX_TRACE_I64, "ps", "bin start (bins are /meta/link_bin_ps wide)"),
    CX_TRACE_FIELD(cx_row_bin_t, bytes, CX_TRACE_U64, "bytes", "bytes sent in this bin (a chunk's bytes are split over the bins its transmission overlaps)"),
};

typedef struct cx_row_port {
    uint64_t dev, peer_dev;
    uint64_t bytes, chunks;
    double   bandwidth;
    int64_t  latency_ps;
    uint32_t port, peer_port;
    uint8_t  cls, tier, pad[6];
} cx_row_port_t;

static const cx_trace_field_t cx_row_port_fields[] = {
    CX_TRACE_FIELD(cx_row_port_t, dev, CX_TRACE_U64, "", "transmitting device"),
    CX_TRACE_FIELD(cx_row_port_t, port, CX_TRACE_U32, "", "port"),
    CX_TRACE_FIELD(cx_row_port_t, peer_dev, CX_TRACE_U64, "", "device at the other end"),
    CX_TRACE_FIELD(cx_row_port_t, peer_port, CX_TRACE_U32, "", "its port"),
    CX_TRACE_FIELD(cx_row_port_t, cls, CX_TRACE_U8, "", "link class (as /links/bins)"),
    CX_TRACE_FIELD(cx_row_port_t, tier, CX_TRACE_U8, "", "tier of the transmitting switch"),
    CX_TRACE_FIELD(cx_row_port_t, bandwidth, CX_TRACE_F64, "bytes/s", "per direction"),
    CX_TRACE_FIELD(cx_row_port_t, latency_ps, CX_TRACE_I64, "ps", "port latency"),
    CX_TRACE_FIELD(cx_row_port_t, bytes, CX_TRACE_U64, "bytes", "bytes sent over the run"),
    CX_TRACE_FIELD(cx_row_port_t, chunks, CX_TRACE_U64, "", "chunks sent over the run"),
};

typedef struct cx_row_hop {
    uint64_t dev, src_dev, dst_dev, tag;
    int64_t  start_ps, end_ps, arrive_ps;
    uint32_t port, index, bytes, cookie;
} cx_row_hop_t;

static const cx_trace_field_t cx_row_hop_fields[] = {
    CX_TRACE_FIELD(cx_row_hop_t, dev, CX_TRACE_U64, "", "transmitting device"),
    CX_TRACE_FIELD(cx_row_hop_t, port, CX_TRACE_U32, "", "port it leaves on"),
    CX_TRACE_FIELD(cx_row_hop_t, src_dev, CX_TRACE_U64, "", "message source (GPU device)"),
    CX_TRACE_FIELD(cx_row_hop_t, dst_dev, CX_TRACE_U64, "", "message destination (GPU device, or the NVSwitch for NVLS)"),
    CX_TRACE_FIELD(cx_row_hop_t, tag, CX_TRACE_U64, "", "message tag (op tag)"),
    CX_TRACE_FIELD(cx_row_hop_t, cookie, CX_TRACE_U32, "", "collective channel/step bits or stream"),
    CX_TRACE_FIELD(cx_row_hop_t, index, CX_TRACE_U32, "", "chunk number in its message"),
    CX_TRACE_FIELD(cx_row_hop_t, bytes, CX_TRACE_U32, "bytes", "chunk size"),
    CX_TRACE_FIELD(cx_row_hop_t, start_ps, CX_TRACE_I64, "ps", "first byte starts leaving the port"),
    CX_TRACE_FIELD(cx_row_hop_t, end_ps, CX_TRACE_I64, "ps", "last byte leaves the port"),
    CX_TRACE_FIELD(cx_row_hop_t, arrive_ps, CX_TRACE_I64, "ps", "last byte arrives at the next device"),
};

#define CX_NFIELDS(_f) (sizeof(_f) / sizeof((_f)[0]))

/* ---- per-rank run state ----------------------------------------------- */

typedef struct cx_run_acc {
    cx_time_t compute, wait_comm, wait_pp;        /* whole run */
    cx_time_t it_compute, it_comm, it_pp, it_begin; /* current iteration */
} cx_run_acc_t;

typedef struct cx_run_ctx {
    const cx_workload_t *w;
    uint32_t             iterations;
    const char          *replay_dir;      /* non-NULL: ops come from replay files */
    cx_compute_eff_t     eff;
    int                  level;
    uint64_t             gpu_lo, gpu_n;   /* local GPUs: [gpu_lo, gpu_lo + gpu_n) */
    cx_run_acc_t        *acc;
    cx_time_t           *iter_begin_min;  /* per iteration */
    cx_time_t           *iter_end_max;
    int64_t              ops_done;
    cx_trace_table_t    *t_ops, *t_iter, *t_coll, *t_bins, *t_ports, *t_hops;
    cx_time_t            bin_ps;
    cx_power_t          *power;           /* power hook: src/power, NULL when off */
} cx_run_ctx_t;

static void cx_run_on_hop(void *vctx, const cx_net_dev_t *d, uint32_t port, const cx_net_chunk_t *ch,
                          cx_time_t start, cx_time_t end, cx_time_t arrive)
{
    cx_run_ctx_t *c = vctx;
    cx_row_hop_t  r;
    r.dev       = d->dev;
    r.port      = port;
    r.src_dev   = ch->src_dev;
    r.dst_dev   = ch->dst_dev;
    r.tag       = ch->tag;
    r.cookie    = ch->cookie;
    r.index     = ch->index;
    r.bytes     = ch->bytes;
    r.start_ps  = start;
    r.end_ps    = end;
    r.arrive_ps = arrive;
    cx_trace_table_append(c->t_hops, &r, 1);
}

static void cx_run_on_link_bin(void *vctx, const cx_net_dev_t *d, uint32_t port, int64_t bin, uint64_t bytes)
{
    cx_run_ctx_t *c = vctx;
    cx_row_bin_t  r;
    memset(&r, 0, sizeof(r));
    r.dev      = d->dev;
    r.port     = port;
    r.cls      = (uint8_t)cx_net_port_class(d, &d->ports[port]);
    r.tier     = (uint8_t)d->tier;
    r.start_ps = bin * c->bin_ps;
    r.bytes    = bytes;
    cx_trace_table_append(c->t_bins, &r, 1);
}

/* One stream's op source: the generator, or a replay file, filtered to the
 * stream (each stream reads the GPU's program on its own, so no stream waits
 * on a look-ahead buffer). */
typedef struct cx_run_src {
    cx_gen_t     gen;
    cx_replay_t *replay;
    uint64_t     gpu;
    int          stream;
    int          active;
} cx_run_src_t;

static void cx_run_replay_path(char *buf, size_t len, const char *dir, uint64_t gpu)
{
    snprintf(buf, len, "%s/gpu-%06llu.ops", dir, (unsigned long long)gpu);
}

static cx_status_t cx_run_src_init(void *state, const void *ctx, uint64_t gpu, int stream, cx_err_t *err)
{
    cx_run_src_t       *s = state;
    const cx_run_ctx_t *c = ctx;
    s->stream = stream;
    s->gpu    = gpu;
    s->replay = NULL;
    s->active = gpu < c->w->gpus;
    if (!s->active) return CX_OK;
    if (c->replay_dir != NULL) {
        char path[4096];
        cx_status_t st;
        cx_run_replay_path(path, sizeof(path), c->replay_dir, gpu);
        st = cx_replay_open(&s->replay, path, err);
        if (st == CX_OK && cx_replay_gpu(s->replay) != gpu) {
            st = cx_err_set(err, CX_ERR_INVALID, path, 0, "gpu", "holds the program of GPU %llu, not %llu",
                            (unsigned long long)cx_replay_gpu(s->replay), (unsigned long long)gpu);
        }
        return st;
    }
    return cx_gen_init(&s->gen, c->w, gpu, c->iterations, err);
}

static int cx_run_src_next(void *state, cx_op_t *op)
{
    cx_run_src_t *s = state;
    if (!s->active) return 0;
    if (s->replay != NULL) {
        cx_err_t err;
        int      r;
        while ((r = cx_replay_next(s->replay, op, &err)) == 1) {
            if (op->stream == s->stream) return 1;
        }
        if (r < 0) {
            char msg[CX_ERR_FILE_MAX + CX_ERR_MSG_MAX + 64];
            cx_err_format(&err, msg, sizeof(msg));
            cx_fatal("replay of GPU %llu failed mid-run: %s", (unsigned long long)s->gpu, msg);
        }
        cx_replay_close(s->replay);
        s->replay = NULL;
        s->active = 0;
        return 0;
    }
    while (cx_gen_next(&s->gen, op)) {
        if (op->stream == s->stream) return 1;
    }
    s->active = 0;
    return 0;
}

/* Replay files still open at the end (a stopped run): close them. */
static void cx_run_src_close_one(void *state)
{
    cx_run_src_t *s = state;
    if (s->replay != NULL) cx_replay_close(s->replay);
    s->replay = NULL;
    s->active = 0;
}
static void cx_run_src_close_all(cx_gpus_t *g);

static cx_time_t cx_run_compute_time(const void *ctx, const cx_gpu_type_t *gpu, const cx_op_t *op)
{
    const cx_run_ctx_t *c = ctx;
    return cx_compute_time_ps(gpu, op, &c->eff);
}

static int64_t cx_run_progress_work(void *ctx)
{
    return ((const cx_run_ctx_t *)ctx)->ops_done;
}

static void cx_run_observe(void *vctx, const cx_op_record_t *rec)
{
    cx_run_ctx_t  *c  = vctx;
    const cx_op_t *op = &rec->op;
    cx_run_acc_t  *a;
    cx_time_t      dt = rec->end - rec->start;
    uint32_t       it = op->iteration;

    c->ops_done++;
    if (rec->gpu < c->gpu_lo || rec->gpu - c->gpu_lo >= c->gpu_n) {
        cx_fatal("op observed for GPU %llu outside this rank's GPUs", (unsigned long long)rec->gpu);
    }
    a = &c->acc[rec->gpu - c->gpu_lo];
    if (c->power != NULL) cx_power_observe(c->power, rec); /* power hook */
    switch ((cx_op_kind_t)op->kind) {
    case CX_OP_ITER_BEGIN:
        a->it_begin   = rec->start;
        a->it_compute = a->it_comm = a->it_pp = 0;
        if (it < c->iterations && rec->start < c->iter_begin_min[it]) c->iter_begin_min[it] = rec->start;
        break;
    case CX_OP_ITER_END:
        if (it < c->iterations && rec->end > c->iter_end_max[it]) c->iter_end_max[it] = rec->end;
        {
            cx_row_iter_t r;
            memset(&r, 0, sizeof(r));
            r.gpu             = rec->gpu;
            r.iteration       = it;
            r.begin_ps        = a->it_begin;
            r.end_ps          = rec->end;
            r.compute_ps      = a->it_compute;
            r.exposed_comm_ps = a->it_comm;
            r.pp_wait_ps      = a->it_pp;
            if (c->t_iter != NULL) cx_trace_table_append(c->t_iter, &r, 1);
        }
        break;
    case CX_OP_COMPUTE:
        if (op->stream == CX_STREAM_COMPUTE) {
            a->compute += dt;
            a->it_compute += dt;
        }
        break;
    case CX_OP_WAIT:
        if (op->stream == CX_STREAM_COMPUTE) {
            if (op->cls == CX_STREAM_TP || op->cls == CX_STREAM_DP) {
                a->wait_comm += dt;
                a->it_comm += dt;
            } else if (op->cls == CX_STREAM_PP) {
                a->wait_pp += dt;
                a->it_pp += dt;
            }
        }
        break;
    case CX_OP_COLLECTIVE:
        if (op->group_index == 0 && c->t_coll != NULL) {
            cx_row_coll_t r;
            double        t = (double)dt * 1e-12;
            memset(&r, 0, sizeof(r));
            r.gpu          = rec->gpu;
            r.kind         = op->cls;
            r.algo         = (uint8_t)rec->algo;
            r.channels     = (uint8_t)rec->channels;
            r.stream       = op->stream;
            r.phase        = op->phase;
            r.block        = op->block;
            r.layer        = op->layer;
            r.iteration    = op->iteration;
            r.microbatch   = op->microbatch;
            r.group_base   = op->u.group_base;
            r.group_size   = op->group_size;
            r.group_stride = op->group_stride;
            r.bytes        = op->bytes;
            r.tag          = op->tag;
            r.start_ps     = rec->start;
            r.end_ps       = rec->end;
            r.busbw_gbps   = t > 0 ? (double)op->bytes / t * 1e-9 *
                                         cx_coll_busbw_factor(op->cls, op->group_size) : 0.0;
            cx_trace_table_append(c->t_coll, &r, 1);
        }
        break;
    default:
        break;
    }
    if (c->level >= CX_TRACE_LEVEL_OPS && c->t_ops != NULL) {
        cx_row_op_t r;
        memset(&r, 0, sizeof(r));
        r.gpu          = rec->gpu;
        r.start_ps     = rec->start;
        r.end_ps       = rec->end;
        r.bytes        = op->bytes;
        r.flops        = op->flops;
        r.tag          = op->tag;
        r.peer         = op->u.peer;
        r.microbatch   = op->microbatch;
        r.iteration    = op->iteration;
        r.group_size   = op->group_size;
        r.group_stride = op->group_stride;
        r.layer        = op->layer;
        r.stream       = op->stream;
        r.kind         = op->kind;
        r.cls          = op->cls;
        r.phase        = op->phase;
        r.block        = op->block;
        r.algo         = (uint8_t)rec->algo;
        cx_trace_table_append(c->t_ops, &r, 1);
    }
}

/* ---- set-up helpers ---------------------------------------------------- */

static cx_status_t cx_run_load_topo(const char *path, cx_topo_t **t_p, cx_err_t *err)
{
    const char *text;
    size_t      len;
    if (path != NULL && path[0] != '\0') return cx_topo_load(t_p, path, err);
    cx_topo_default_yaml(&text, &len);
    return cx_topo_load_string(t_p, "<embedded colossus1-mini.yaml>", text, len, err);
}

static int cx_run_is_dir(const char *path)
{
    struct stat sb;
    return path != NULL && path[0] != '\0' && stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

/* A workload file, the embedded default, or a `colossim gen` directory
 * (then *iters_p = the iterations its files hold). */
static cx_status_t cx_run_load_workload(const char *path, cx_workload_t **w_p, uint32_t *iters_p,
                                        cx_err_t *err)
{
    const char *text;
    size_t      len;
    *iters_p = 0;
    if (cx_run_is_dir(path)) {
        char           f[4096];
        cx_yaml_doc_t *doc = NULL;
        int64_t        it = 0, gpus = 0;
        const char    *fmt = NULL;
        static const char *const keys[] = {"format", "workload", "iterations", "gpus", NULL};
        cx_status_t    st;
        snprintf(f, sizeof(f), "%s/replay.yaml", path);
        st = cx_yaml_load_file(&doc, f, err);
        if (st == CX_OK) st = cx_yaml_check_keys(cx_yaml_root(doc), keys, err);
        if (st == CX_OK) st = cx_yaml_get_string(cx_yaml_root(doc), "format", 1, &fmt, err);
        if (st == CX_OK && strcmp(fmt, "colossim-ops-v1") != 0) {
            st = cx_yaml_error(cx_yaml_get(cx_yaml_root(doc), "format"), CX_ERR_UNSUPPORTED, err,
                               "unknown replay format '%s' (expected colossim-ops-v1)", fmt);
        }
        if (st == CX_OK) st = cx_yaml_get_int(cx_yaml_root(doc), "iterations", 1, 1, 1000000, &it, err);
        if (st == CX_OK) st = cx_yaml_get_int(cx_yaml_root(doc), "gpus", 1, 1, INT64_C(1) << 40, &gpus, err);
        cx_yaml_free(doc);
        if (st != CX_OK) return st;
        snprintf(f, sizeof(f), "%s/workload.yaml", path);
        st = cx_workload_load(w_p, f, err);
        if (st != CX_OK) return st;
        if ((uint64_t)gpus != (*w_p)->gpus) {
            uint64_t wg = (*w_p)->gpus;
            cx_workload_destroy(*w_p);
            *w_p = NULL;
            return cx_err_set(err, CX_ERR_INVALID, f, 0, "gpus", "replay.yaml says %lld GPUs, the workload %llu",
                              (long long)gpus, (unsigned long long)wg);
        }
        *iters_p = (uint32_t)it;
        return CX_OK;
    }
    if (path != NULL && path[0] != '\0') return cx_workload_load(w_p, path, err);
    cx_workload_default_yaml(&text, &len);
    return cx_workload_load_string(w_p, "<embedded small.yaml>", text, len, err);
}

/* Read a whole file into a NUL-terminated buffer (for /meta); NULL on error. */
static char *cx_run_slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long  n;
    if (f == NULL) return NULL;
    if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        return NULL;
    }
    buf = malloc((size_t)n + 1);
    if (buf != NULL && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    if (buf != NULL) buf[n] = '\0';
    fclose(f);
    return buf;
}

typedef struct cx_run_estimate {
    uint64_t ops_per_gpu;        /* GPU 0's program */
    uint64_t coll_per_gpu;
    uint64_t ops_total;          /* all GPUs (GPU 0 x gpus) */
    uint64_t trace_rows;
    uint64_t trace_bytes;
    double   events;             /* rough, see below */
} cx_run_estimate_t;

/* Size the run from one GPU of every pipeline stage (PP is the outermost
 * coordinate, so stage s starts at GPU s * gpus / pp; stages differ, the
 * GPUs of one stage nearly do not).  Events: one per compute op, and per
 * chunk hop for communication (ring steps: 2 hops inside a domain, 4
 * across, as on a 2-tier path).  A guide for --dry-run and the progress
 * line, not a promise. */
static cx_status_t cx_run_estimate(const cx_workload_t *w, uint32_t iters, int level,
                                   const cx_net_config_t *net, cx_run_estimate_t *e, cx_err_t *err)
{
    cx_gen_t    g;
    cx_op_t     op;
    cx_status_t st;
    double      ev = 0.0, ops = 0.0, colls = 0.0;
    uint32_t    pp = w->par.pp > 0 ? w->par.pp : 1, s;
    memset(e, 0, sizeof(*e));
    for (s = 0; s < pp; s++) {
        st = cx_gen_init(&g, w, (uint64_t)s * (w->gpus / pp), iters, err);
        if (st != CX_OK) return st;
        while (cx_gen_next(&g, &op)) {
            ops += 1.0;
            switch ((cx_op_kind_t)op.kind) {
            case CX_OP_COMPUTE: ev += 1.0; break;
            case CX_OP_SEND: ev += 2.0 + 4.0 * ceil((double)op.bytes / (double)net->chunk_bytes); break;
            case CX_OP_COLLECTIVE: {
                double n = op.group_size > 0 ? op.group_size : 1;
                double steps = op.cls == CX_COLL_ALLREDUCE ? 2 * (n - 1) : (n - 1);
                double intra = op.group_stride == 1 && n <= 8;
                double chunk = intra ? (net->nvlink_chunk_bytes > 0 ? (double)net->nvlink_chunk_bytes : 4e9)
                                     : (double)net->chunk_bytes;
                colls += 1.0;
                ev += steps * (2.0 + (intra ? 2.0 : 4.0) * ceil((double)op.bytes / n / chunk));
                break;
            }
            default: break;
            }
        }
    }
    e->ops_per_gpu  = (uint64_t)(ops / pp);
    e->coll_per_gpu = (uint64_t)(colls / pp);
    e->ops_total    = (uint64_t)(ops / pp * (double)w->gpus);
    e->events       = ev / pp * (double)w->gpus;
    e->trace_rows = (uint64_t)iters * w->gpus + e->coll_per_gpu * w->gpus / 4;
    e->trace_bytes = cx_trace_estimate_bytes(sizeof(cx_row_iter_t), (uint64_t)iters * w->gpus) +
                     cx_trace_estimate_bytes(sizeof(cx_row_coll_t), e->coll_per_gpu * w->gpus);
    if (level >= CX_TRACE_LEVEL_OPS) {
        e->trace_rows += e->ops_total;
        e->trace_bytes += cx_trace_estimate_bytes(sizeof(cx_row_op_t), e->ops_total);
    }
    return CX_OK;
}

/* Link bins: ~8 busy ports per GPU (its NVLink and NIC, and its share of
 * switch ports both ways), each with a bin per width over an iteration
 * estimated at 40% MFU. */
static uint64_t cx_run_estimate_link_rows(const cx_workload_t *w, uint32_t iters, double peak,
                                          cx_time_t width)
{
    double t = cx_workload_model_flops_per_iteration(w) / ((double)w->gpus * peak * 0.4) * iters;
    double bins = ceil(t * 1e12 / (double)width);
    return (uint64_t)(8.0 * (double)w->gpus * bins);
}

static const char *cx_run_level_name(int level)
{
    static const char *names[] = {"summary", "ops", "links", "chunks"};
    return level >= 0 && level < 4 ? names[level] : "?";
}

/* GPUs per NVLink domain of the fabric the job starts in. */
static uint32_t cx_run_domain_size(const cx_topo_t *topo)
{
    cx_fabric_info_t fi;
    cx_gpu_info_t    g0;
    cx_topo_gpu_info(topo, cx_topo_gpu_device(topo, 0), &g0);
    if (cx_topo_fabric_info(topo, g0.fabric, &fi) != CX_OK) return 1;
    return (uint32_t)fi.domain_gpus;
}

static cx_status_t cx_run_write_meta(cx_trace_t *tr, const cx_run_config_t *cfg, const cx_run_summary_t *s,
                                     const char *topo_text, const char *wl_text, cx_err_t *err)
{
    cx_status_t st = CX_OK;
#define CX_M(_call) do { if (st == CX_OK) st = (_call); } while (0)
    CX_M(cx_trace_meta_set_text(tr, "topology_yaml", topo_text != NULL ? topo_text : "", "application/yaml", err));
    CX_M(cx_trace_meta_set_text(tr, "workload_yaml", wl_text != NULL ? wl_text : "", "application/yaml", err));
    CX_M(cx_trace_meta_set_text(tr, "options", cfg->options_text != NULL ? cfg->options_text : "", "text/plain", err));
    CX_M(cx_trace_meta_set_string(tr, "command_line", cfg->command_line != NULL ? cfg->command_line : "", err));
    CX_M(cx_trace_meta_set_string(tr, "topology", s->topology, err));
    CX_M(cx_trace_meta_set_string(tr, "workload", s->workload, err));
    CX_M(cx_trace_meta_set_string(tr, "gpu_type", s->gpu_type, err));
    CX_M(cx_trace_meta_set_int64(tr, "seed", (int64_t)cfg->seed, err));
    CX_M(cx_trace_meta_set_int64(tr, "trace_level", cfg->trace_level, err));
    CX_M(cx_trace_meta_set_int64(tr, "link_bin_ps", cfg->trace_level >= CX_TRACE_LEVEL_LINKS ? cfg->link_bin_ps : 0, err));
    CX_M(cx_trace_meta_set_int64(tr, "gpus", (int64_t)s->gpus, err));
    CX_M(cx_trace_meta_set_int64(tr, "iterations", s->iterations, err));
    CX_M(cx_trace_meta_set_double(tr, "iteration_seconds", s->iteration_seconds, err));
    CX_M(cx_trace_meta_set_double(tr, "first_iteration_seconds", s->first_iteration_seconds, err));
    CX_M(cx_trace_meta_set_double(tr, "tokens_per_iteration", s->tokens_per_iteration, err));
    CX_M(cx_trace_meta_set_double(tr, "tokens_per_second", s->tokens_per_second, err));
    CX_M(cx_trace_meta_set_double(tr, "model_flops_per_iteration", s->model_flops_per_iteration, err));
    CX_M(cx_trace_meta_set_double(tr, "model_flops_noncausal_per_iteration", s->model_flops_noncausal_per_iteration, err));
    CX_M(cx_trace_meta_set_double(tr, "tflops_per_gpu", s->tflops_per_gpu, err));
    CX_M(cx_trace_meta_set_double(tr, "peak_flops_per_gpu", s->peak_flops_per_gpu, err));
    CX_M(cx_trace_meta_set_double(tr, "mfu", s->mfu, err));
    CX_M(cx_trace_meta_set_double(tr, "mfu_noncausal", s->mfu_noncausal, err));
    CX_M(cx_trace_meta_set_double(tr, "compute_share", s->compute_share, err));
    CX_M(cx_trace_meta_set_double(tr, "exposed_comm_share", s->exposed_comm_share, err));
    CX_M(cx_trace_meta_set_double(tr, "bubble_share", s->bubble_share, err));
    CX_M(cx_trace_meta_set_int64(tr, "engine_events", (int64_t)s->engine.events, err));
    CX_M(cx_trace_meta_set_int64(tr, "engine_windows", (int64_t)s->engine.windows, err));
    CX_M(cx_trace_meta_set_int64(tr, "engine_remote_events", (int64_t)s->engine.remote_events, err));
    CX_M(cx_trace_meta_set_double(tr, "wall_seconds", s->engine.wall_seconds, err));
    CX_M(cx_trace_meta_set_double(tr, "engine_sync_share", s->engine.sync_share, err));
    CX_M(cx_trace_meta_set_int64(tr, "engine_peak_rss_max_bytes", (int64_t)s->engine.peak_rss_max, err));
    {
        char dig[24];
        snprintf(dig, sizeof(dig), "%016llx", (unsigned long long)s->engine.digest);
        CX_M(cx_trace_meta_set_string(tr, "engine_digest", dig, err));
    }
#undef CX_M
    return st;
}

/* ---- the run ------------------------------------------------------------ */

cx_status_t cx_run(const cx_run_config_t *cfg, MPI_Comm comm, cx_run_summary_t *sum, cx_err_t *err)
{
    cx_topo_t        *topo = NULL;
    cx_workload_t    *w    = NULL;
    cx_engine_t      *eng  = NULL;
    cx_net_t         *net  = NULL;
    cx_gpus_t        *gpus = NULL;
    cx_trace_t       *tr   = NULL;
    cx_run_ctx_t      ctx;
    cx_run_estimate_t est;
    cx_gpu_config_t   gcfg;
    cx_engine_config_t tmpl;
    cx_topo_summary_t ts;
    char             *topo_text = NULL, *wl_text = NULL;
    int               rank;
    int64_t           la = 0;
    uint32_t          iters, i, replay_iters = 0;
    cx_status_t       st;
    const cx_gpu_type_t *gt;

    memset(sum, 0, sizeof(*sum));
    memset(&ctx, 0, sizeof(ctx));
    MPI_Comm_rank(comm, &rank);

    st = cx_run_load_topo(cfg->topology_path, &topo, err);
    if (st != CX_OK) goto out;
    st = cx_run_load_workload(cfg->workload_path, &w, &replay_iters, err);
    if (st != CX_OK) goto out;
    iters = cfg->iterations > 0 ? cfg->iterations : (w->iterations > 0 ? w->iterations : 1);
    if (replay_iters > 0) {
        if (cfg->iterations > 0 && cfg->iterations != replay_iters) {
            st = cx_err_set(err, CX_ERR_INVALID, cfg->workload_path, 0, "iterations",
                            "the replay holds %u iteration(s); --iterations %u differs", replay_iters,
                            cfg->iterations);
            goto out;
        }
        iters          = replay_iters;
        ctx.replay_dir = cfg->workload_path;
    }
    if (cfg->trace_level >= CX_TRACE_LEVEL_LINKS && cfg->link_bin_ps <= 0) {
        st = cx_err_set(err, CX_ERR_RANGE, NULL, 0, "link-bin", "must be > 0");
        goto out;
    }
    {
        cx_gpu_info_t a;
        st = cx_workload_check_fit(w, cx_topo_num_gpus(topo), cx_run_domain_size(topo), err);
        if (st != CX_OK) goto out;
        cx_topo_gpu_info(topo, cx_topo_gpu_device(topo, 0), &a);
        if (!cx_topo_gpus_one_fabric(topo, w->gpus)) {
            st = cx_err_set(err, CX_ERR_INVALID, w->file, 0, "gpus",
                            "the job's %llu GPUs span two unconnected fabrics of the topology",
                            (unsigned long long)w->gpus);
            goto out;
        }
        gt = cx_topo_gpu_type(topo, a.gpu_type);
    }
    st = cx_run_estimate(w, iters, cfg->trace_level, &cfg->net, &est, err);
    if (st != CX_OK) goto out;
    if (cfg->trace_level >= CX_TRACE_LEVEL_LINKS) {
        uint64_t rows = cx_run_estimate_link_rows(w, iters, gt->bf16_flops, cfg->link_bin_ps);
        est.trace_rows += rows;
        est.trace_bytes += cx_trace_estimate_bytes(sizeof(cx_row_bin_t), rows);
    }
    if (cfg->trace_level >= CX_TRACE_LEVEL_CHUNKS) {
        /* About one row per event. */
        est.trace_rows += (uint64_t)est.events;
        est.trace_bytes += cx_trace_estimate_bytes(sizeof(cx_row_hop_t), (uint64_t)est.events);
    }
    sum->trace_bytes_estimate = est.trace_bytes;
    cx_topo_summary(topo, &ts);
    snprintf(sum->gpu_type, sizeof(sum->gpu_type), "%s", gt->name);
    snprintf(sum->topology, sizeof(sum->topology), "%s", cx_topo_name(topo));
    snprintf(sum->workload, sizeof(sum->workload), "%s", w->name);
    sum->gpus                      = w->gpus;
    sum->iterations                = iters;
    sum->tokens_per_iteration      = cx_workload_tokens_per_iteration(w);
    /* MFU as the Llama 3 paper reports it: its Table 4 rows only agree on
     * the hardware throughput achieved if causal attention counts as half
     * (at 131k tokens the full count would mean a third less throughput for
     * the same kernels); the full (PaLM) count is reported alongside. */
    sum->model_flops_per_iteration           = cx_workload_model_flops_causal_per_iteration(w);
    sum->model_flops_noncausal_per_iteration = cx_workload_model_flops_per_iteration(w);
    sum->peak_flops_per_gpu        = gt->bf16_flops;

    if (cfg->dry_run) {
        int       nranks;
        uint64_t *first;
        int64_t   lookahead = 0;
        MPI_Comm_size(comm, &nranks);
        first = malloc((size_t)(nranks + 1) * sizeof(uint64_t));
        if (first == NULL) {
            st = cx_err_set(err, CX_ERR_NOMEM, NULL, 0, NULL, "out of memory");
            goto out;
        }
        st = cx_topo_partition_job(topo, nranks, w->gpus, first, &lookahead, NULL, NULL, err);
        if (st == CX_OK && rank == 0) {
            uint64_t dmin = UINT64_MAX, dmax = 0;
            int      r;
            double   dev_bytes = 96.0 + 64.0 * (double)ts.links * 2.0 / (double)ts.devices;
            for (r = 0; r < nranks; r++) {
                uint64_t d = first[r + 1] - first[r];
                if (d < dmin) dmin = d;
                if (d > dmax) dmax = d;
            }
            printf("plan: %s on %s (%s), %llu of %llu GPUs, %u iteration(s)\n", w->name,
                   cx_topo_name(topo), gt->name, (unsigned long long)w->gpus,
                   (unsigned long long)ts.gpus, iters);
            printf("  ranks %d, entities (devices) per rank %llu .. %llu of %llu, lookahead %.3f us\n",
                   nranks, (unsigned long long)dmin, (unsigned long long)dmax,
                   (unsigned long long)ts.devices,
                   lookahead == INT64_MAX ? 0.0 : (double)lookahead * 1e-6);
            printf("  ops per GPU %llu (mean over stages), %llu in all; estimated events %.3g (%.3g per rank)\n",
                   (unsigned long long)est.ops_per_gpu, (unsigned long long)est.ops_total, est.events,
                   est.events / nranks);
            printf("  estimated model memory per rank %.1f MiB (devices and ports %.1f, GPU state %.1f, "
                   "event queue %.1f)\n",
                   ((double)dmax * dev_bytes + (double)w->gpus / nranks * 4096.0 +
                    est.events / nranks * 0.02 * CX_EVENT_SIZE) / 1048576.0,
                   (double)dmax * dev_bytes / 1048576.0, (double)w->gpus / nranks * 4096.0 / 1048576.0,
                   est.events / nranks * 0.02 * CX_EVENT_SIZE / 1048576.0);
            printf("  trace level %s: %llu rows, about %.1f MB uncompressed\n",
                   cx_run_level_name(cfg->trace_level), (unsigned long long)est.trace_rows,
                   (double)est.trace_bytes / 1e6);
        }
        free(first);
        goto out;
    }
    if (cfg->trace_max_gb > 0 && (double)est.trace_bytes > cfg->trace_max_gb * 1e9) {
        st = cx_err_set(err, CX_ERR_RANGE, NULL, 0, "trace-max-gb",
                        "the trace would take about %.2f GB at level %s, over the limit of %.2f GB "
                        "(lower --trace-level or raise --trace-max-gb)",
                        (double)est.trace_bytes / 1e9,
                        cx_run_level_name(cfg->trace_level),
                        cfg->trace_max_gb);
        goto out;
    }
    if (rank == 0 && cfg->out != NULL && cfg->out[0] != '\0') {
        fprintf(stderr, "colossim: %s on %s: %llu GPUs, trace %s (about %.1f MB before compression)\n",
                w->name, cx_topo_name(topo), (unsigned long long)w->gpus, cfg->out,
                (double)est.trace_bytes / 1e6);
    }

    /* Engine, fabric, GPUs. */
    memset(&tmpl, 0, sizeof(tmpl));
    tmpl.seed                = cfg->seed;
    tmpl.progress_seconds    = cfg->progress_seconds;
    tmpl.progress_label      = "run";
    tmpl.progress_work       = cx_run_progress_work;
    tmpl.progress_ctx        = &ctx;
    tmpl.progress_work_total = (int64_t)est.ops_total;
    st = cx_net_engine_create(&eng, topo, w->gpus, comm, &tmpl, &la, err);
    if (st != CX_OK) goto out;
    st = cx_net_create(&net, eng, topo, &cfg->net, &cx_gpu_entity_type, cx_gpu_on_recv, cx_gpu_on_txdone, err);
    if (st != CX_OK) goto out;

    ctx.w          = w;
    ctx.iterations = iters;
    ctx.eff        = cx_compute_eff_from_catalog(cx_topo_compute_efficiency(topo));
    ctx.level      = cfg->trace_level;
    {
        uint64_t d, lo = UINT64_MAX, hi = 0;
        for (d = cx_net_local_first(net); d < cx_net_local_first(net) + cx_net_local_count(net); d++) {
            cx_gpu_info_t gi;
            if (cx_topo_device_kind(topo, d) != CX_DEV_GPU) continue;
            cx_topo_gpu_info(topo, d, &gi);
            if (gi.gpu_index < lo) lo = gi.gpu_index;
            if (gi.gpu_index > hi) hi = gi.gpu_index;
        }
        ctx.gpu_lo = lo == UINT64_MAX ? 0 : lo;
        ctx.gpu_n  = lo == UINT64_MAX ? 0 : hi - lo + 1;
    }
    ctx.acc            = calloc(ctx.gpu_n > 0 ? ctx.gpu_n : 1, sizeof(cx_run_acc_t));
    ctx.iter_begin_min = malloc(iters * sizeof(cx_time_t));
    ctx.iter_end_max   = malloc(iters * sizeof(cx_time_t));
    if (ctx.acc == NULL || ctx.iter_begin_min == NULL || ctx.iter_end_max == NULL) {
        st = cx_err_set(err, CX_ERR_NOMEM, NULL, 0, NULL, "out of memory");
        goto out;
    }
    for (i = 0; i < iters; i++) {
        ctx.iter_begin_min[i] = CX_TIME_MAX;
        ctx.iter_end_max[i]   = 0;
    }

    /* The trace file is opened only now that the input is known good. */
    if (cfg->out != NULL && cfg->out[0] != '\0') {
        st = cx_trace_open(&tr, comm, cfg->out, err);
        if (st != CX_OK) goto out;
        st = cx_trace_table_define(tr, "/summary/iterations", cx_row_iter_fields, CX_NFIELDS(cx_row_iter_fields),
                                   sizeof(cx_row_iter_t), "one row per GPU and iteration", &ctx.t_iter, err);
        if (st == CX_OK)
            st = cx_trace_table_define(tr, "/summary/collectives", cx_row_coll_fields,
                                       CX_NFIELDS(cx_row_coll_fields), sizeof(cx_row_coll_t),
                                       "one row per collective instance, as seen by its member 0", &ctx.t_coll, err);
        if (st == CX_OK && cfg->trace_level >= CX_TRACE_LEVEL_OPS)
            st = cx_trace_table_define(tr, "/ops/gpu_ops", cx_row_op_fields, CX_NFIELDS(cx_row_op_fields),
                                       sizeof(cx_row_op_t), "every op of every GPU", &ctx.t_ops, err);
        if (st == CX_OK && cfg->trace_level >= CX_TRACE_LEVEL_LINKS) {
            st = cx_trace_table_define(tr, "/links/bins", cx_row_bin_fields, CX_NFIELDS(cx_row_bin_fields),
                                       sizeof(cx_row_bin_t), "bytes per port per time bin (bins with traffic)",
                                       &ctx.t_bins, err);
            if (st == CX_OK)
                st = cx_trace_table_define(tr, "/links/ports", cx_row_port_fields, CX_NFIELDS(cx_row_port_fields),
                                           sizeof(cx_row_port_t), "every Ethernet switch port, and every other port that carried traffic", &ctx.t_ports, err);
            ctx.bin_ps = cfg->link_bin_ps;
            cx_net_set_link_bins(net, cfg->link_bin_ps, cx_run_on_link_bin, &ctx);
        }
        if (st == CX_OK && cfg->trace_level >= CX_TRACE_LEVEL_CHUNKS) {
            st = cx_trace_table_define(tr, "/chunks/hops", cx_row_hop_fields, CX_NFIELDS(cx_row_hop_fields),
                                       sizeof(cx_row_hop_t), "every chunk on every port (debug level)",
                                       &ctx.t_hops, err);
            cx_net_set_hop_hook(net, cx_run_on_hop, &ctx);
        }
        if (st != CX_OK) goto out;
    } else {
        /* No trace: the observer still needs somewhere to drop rows. */
        ctx.t_iter = NULL;
        ctx.t_coll = NULL;
        ctx.t_ops  = NULL;
    }

    /* Power hook: binned GPU state -> rack / site power (src/power). */
    if (cfg->power_bin_ps > 0) {
        cx_power_config_t pc;
        pc.bin_ps   = cfg->power_bin_ps;
        pc.job_gpus = w->gpus;
        st = cx_power_create(&ctx.power, topo, &pc, ctx.gpu_lo, ctx.gpu_n, err);
        if (st != CX_OK) goto out;
    }

    memset(&gcfg, 0, sizeof(gcfg));
    gcfg.source.state_size = sizeof(cx_run_src_t);
    gcfg.source.init       = cx_run_src_init;
    gcfg.source.next       = cx_run_src_next;
    gcfg.source.ctx        = &ctx;
    gcfg.compute_time      = cx_run_compute_time;
    gcfg.compute_ctx       = &ctx;
    gcfg.coll              = cfg->coll;
    gcfg.observer          = cx_run_observe;
    gcfg.observer_ctx      = &ctx;
    if (ctx.replay_dir != NULL) {
        /* Each local GPU keeps one replay file open per stream. */
        struct rlimit rl;
        uint64_t      need = ctx.gpu_n * CX_NUM_STREAMS + 64;
        int           bad = 0, any_bad = 0;
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < need) {
            rl.rlim_cur = need <= rl.rlim_max ? need : rl.rlim_max;
            setrlimit(RLIMIT_NOFILE, &rl);
            bad = rl.rlim_cur < need;
        }
        MPI_Allreduce(&bad, &any_bad, 1, MPI_INT, MPI_MAX, comm);
        if (any_bad) {
            st = cx_err_set(err, CX_ERR_RANGE, cfg->workload_path, 0, NULL,
                            "replaying needs %llu open files per rank (4 per GPU); raise 'ulimit -n' "
                            "or use more ranks", (unsigned long long)need);
            goto out;
        }
    }
    st = cx_gpus_create(&gpus, eng, net, &gcfg, err);
    {
        int bad = st != CX_OK, any_bad = 0;
        MPI_Allreduce(&bad, &any_bad, 1, MPI_INT, MPI_MAX, comm);
        if (st == CX_OK && any_bad) {
            st = cx_err_set(err, CX_ERR_INVALID, cfg->workload_path, 0, NULL,
                            "another rank could not open its replay files");
        }
    }
    if (st != CX_OK) goto out;

    st = cx_engine_run(eng, err);
    if (st != CX_OK) goto out;
    sum->engine   = *cx_engine_stats(eng);
    sum->complete = !sum->engine.stopped;
    if (ctx.t_bins != NULL) {
        uint64_t d;
        cx_net_flush_link_bins(net);
        for (d = cx_net_local_first(net); d < cx_net_local_first(net) + cx_net_local_count(net); d++) {
            cx_net_dev_t *nd = cx_net_local_dev(net, d);
            uint32_t      p;
            for (p = 0; p < nd->n_ports; p++) {
                cx_net_port_t *pp = &nd->ports[p];
                cx_row_port_t  r;
                /* Switch ports always (idle uplinks matter for ECMP
                 * imbalance); other ports when they carried traffic. */
                if (pp->bytes_tx == 0 && nd->kind != CX_DEV_SWITCH) continue;
                memset(&r, 0, sizeof(r));
                r.dev        = d;
                r.port       = p;
                r.peer_dev   = pp->peer_dev;
                r.peer_port  = pp->peer_port;
                r.cls        = (uint8_t)cx_net_port_class(nd, pp);
                r.tier       = (uint8_t)nd->tier;
                r.bandwidth  = 1e12 / pp->ps_per_byte;
                r.latency_ps = pp->latency;
                r.bytes      = pp->bytes_tx;
                r.chunks     = pp->chunks_tx;
                cx_trace_table_append(ctx.t_ports, &r, 1);
            }
        }
    }

    if (sum->complete) {
        char     why[256];
        uint64_t stuck = cx_gpus_unfinished(gpus, why, sizeof(why)), stuck_all;
        MPI_Allreduce(&stuck, &stuck_all, 1, MPI_UINT64_T, MPI_SUM, comm);
        if (stuck_all > 0) {
            /* A program that cannot finish is a generator/executor bug. */
            char msg[300];
            snprintf(msg, sizeof(msg), "%s", why);
            cx_fatal("%llu GPUs did not finish their programs (deadlock): %s",
                     (unsigned long long)stuck_all, stuck > 0 ? msg : "(on another rank)");
        }
    }

    /* Reduce the observations. */
    {
        double    loc[4] = {0, 0, 0, 0}, glob[4];
        uint64_t  k;
        cx_time_t *bmin = malloc(iters * sizeof(cx_time_t)), *emax = malloc(iters * sizeof(cx_time_t));
        cx_time_t t0, t1;
        uint64_t  ops = (uint64_t)ctx.ops_done, ops_all = 0;
        if (bmin == NULL || emax == NULL) cx_fatal("out of memory");
        for (k = 0; k < ctx.gpu_n; k++) {
            loc[0] += (double)ctx.acc[k].compute;
            loc[1] += (double)ctx.acc[k].wait_comm;
            loc[2] += (double)ctx.acc[k].wait_pp;
        }
        MPI_Allreduce(loc, glob, 3, MPI_DOUBLE, MPI_SUM, comm);
        MPI_Allreduce(ctx.iter_begin_min, bmin, (int)iters, MPI_INT64_T, MPI_MIN, comm);
        MPI_Allreduce(ctx.iter_end_max, emax, (int)iters, MPI_INT64_T, MPI_MAX, comm);
        MPI_Allreduce(&ops, &ops_all, 1, MPI_UINT64_T, MPI_SUM, comm);
        sum->ops = ops_all;
        /* Iterations that finished everywhere. */
        for (k = 0; k < iters && emax[k] > 0 && bmin[k] != CX_TIME_MAX; k++) {
        }
        if (k == 0) {
            sum->iteration_seconds = 0.0;
        } else {
            t0 = bmin[0];
            t1 = emax[k - 1];
            sum->first_iteration_seconds = (double)(emax[0] - bmin[0]) * 1e-12;
            /* Steady state: from the end of the first to the end of the last
             * iteration when there are several; else the one iteration. */
            sum->iteration_seconds = k >= 2 ? (double)(emax[k - 1] - emax[0]) * 1e-12 / (double)(k - 1)
                                            : sum->first_iteration_seconds;
            if (t1 > t0) {
                double span = (double)(t1 - t0) * (double)w->gpus;
                sum->compute_share      = glob[0] / span;
                sum->exposed_comm_share = glob[1] / span;
                sum->bubble_share       = 1.0 - sum->compute_share - sum->exposed_comm_share;
            }
        }
        sum->iterations = (uint32_t)k;
        if (sum->iteration_seconds > 0) {
            sum->tokens_per_second = sum->tokens_per_iteration / sum->iteration_seconds;
            sum->tflops_per_gpu = sum->model_flops_per_iteration / sum->iteration_seconds / (double)w->gpus * 1e-12;
            sum->mfu = sum->model_flops_per_iteration / (sum->iteration_seconds * (double)w->gpus * gt->bf16_flops);
            sum->mfu_noncausal = sum->model_flops_noncausal_per_iteration /
                              (sum->iteration_seconds * (double)w->gpus * gt->bf16_flops);
        }
        free(bmin);
        free(emax);
    }

    /* Power hook: reduce the power bins, /power tables, power summary. */
    if (ctx.power != NULL) {
        st = cx_power_finish(ctx.power, comm, tr, sum->tokens_per_iteration, sum->iteration_seconds,
                             sum->iterations, &sum->power, err);
        if (st != CX_OK) goto out;
        sum->has_power = 1;
    }

    if (tr != NULL) {
        if (rank == 0) {
            if (cfg->topology_path != NULL && cfg->topology_path[0] != '\0') topo_text = cx_run_slurp(cfg->topology_path);
            if (cfg->workload_path != NULL && cfg->workload_path[0] != '\0') wl_text = cx_run_slurp(cfg->workload_path);
        }
        if (topo_text == NULL && rank == 0) {
            const char *t;
            size_t      n;
            cx_topo_default_yaml(&t, &n);
            topo_text = strdup(cfg->topology_path != NULL && cfg->topology_path[0] != '\0' ? "" : t);
        }
        if (wl_text == NULL && rank == 0) {
            const char *t;
            size_t      n;
            cx_workload_default_yaml(&t, &n);
            wl_text = strdup(cfg->workload_path != NULL && cfg->workload_path[0] != '\0' ? "" : t);
        }
        st = cx_run_write_meta(tr, cfg, sum, topo_text, wl_text, err);
        if (st != CX_OK) goto out;
        st = cx_trace_close(tr, sum->complete, err);
        tr = NULL;
        if (st != CX_OK) goto out;
    }

out:
    if (tr != NULL) cx_trace_abort(tr);
    free(topo_text);
    free(wl_text);
    free(ctx.acc);
    free(ctx.iter_begin_min);
    free(ctx.iter_end_max);
    cx_power_destroy(ctx.power); /* power hook */
    if (gpus != NULL && ctx.replay_dir != NULL) cx_run_src_close_all(gpus);
    cx_gpus_destroy(gpus);
    cx_net_destroy(net);
    cx_engine_destroy(eng);
    cx_workload_destroy(w);
    cx_topo_destroy(topo);
    return st;
}

static void cx_run_src_close_all(cx_gpus_t *g)
{
    cx_gpus_foreach_source(g, cx_run_src_close_one);
}

/* ---- colossim gen ------------------------------------------------------ */

static cx_status_t cx_gen_write_text(const char *path, const char *text, cx_err_t *err)
{
    char  tmp[4096];
    FILE *f;
    int   ok;
    snprintf(tmp, sizeof(tmp), "%s.partial", path);
    f = fopen(tmp, "w");
    if (f == NULL) return cx_err_set(err, CX_ERR_IO, path, 0, NULL, "cannot write: %s", strerror(errno));
    ok = fputs(text, f) >= 0;
    ok = (fclose(f) == 0) && ok;
    if (!ok || rename(tmp, path) != 0) {
        remove(tmp);
        return cx_err_set(err, CX_ERR_IO, path, 0, NULL, "cannot write: %s", strerror(errno));
    }
    return CX_OK;
}

cx_status_t cx_gen_write_dir(const char *topology_path, const char *workload_path, uint32_t iterations,
                             const char *dir, MPI_Comm comm, uint64_t *n_files_p, cx_err_t *err)
{
    cx_topo_t     *topo = NULL;
    cx_workload_t *w    = NULL;
    char          *wl_text = NULL;
    int            rank, nranks, bad = 0, any_bad = 0;
    uint32_t       iters, replay_iters = 0;
    uint64_t       g, lo, hi, mine = 0;
    cx_status_t    st;

    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &nranks);
    st = cx_run_load_topo(topology_path, &topo, err);
    if (st == CX_OK) st = cx_run_load_workload(workload_path, &w, &replay_iters, err);
    if (st == CX_OK && replay_iters > 0) {
        st = cx_err_set(err, CX_ERR_INVALID, workload_path, 0, "workload",
                        "is already a replay directory; give a workload YAML");
    }
    if (st == CX_OK) st = cx_workload_check_fit(w, cx_topo_num_gpus(topo), cx_run_domain_size(topo), err);
    if (st != CX_OK) goto out;
    iters = iterations > 0 ? iterations : (w->iterations > 0 ? w->iterations : 1);
    if (rank == 0) {
        const char *t;
        size_t      n;
        if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
            st = cx_err_set(err, CX_ERR_IO, dir, 0, "out", "cannot create the directory: %s", strerror(errno));
        }
        if (workload_path != NULL && workload_path[0] != '\0') {
            wl_text = cx_run_slurp(workload_path);
        } else {
            cx_workload_default_yaml(&t, &n);
            wl_text = strdup(t);
        }
        if (st == CX_OK && wl_text == NULL) {
            st = cx_err_set(err, CX_ERR_IO, workload_path, 0, NULL, "cannot read the workload file again");
        }
        if (st == CX_OK) {
            char path[4096];
            snprintf(path, sizeof(path), "%s/workload.yaml", dir);
            st = cx_gen_write_text(path, wl_text, err);
        }
    }
    bad = st != CX_OK;
    MPI_Allreduce(&bad, &any_bad, 1, MPI_INT, MPI_MAX, comm);
    if (any_bad) {
        if (st == CX_OK) st = cx_err_set(err, CX_ERR_IO, dir, 0, "out", "rank 0 could not prepare the directory");
        goto out;
    }
    /* Each rank writes a contiguous share of the GPUs. */
    lo = w->gpus * (uint64_t)rank / (uint64_t)nranks;
    hi = w->gpus * (uint64_t)(rank + 1) / (uint64_t)nranks;
    for (g = lo; g < hi && st == CX_OK; g++) {
        cx_gen_t gen;
        char     path[4096];
        cx_run_replay_path(path, sizeof(path), dir, g);
        st = cx_gen_init(&gen, w, g, iters, err);
        if (st == CX_OK) st = cx_replay_write_gen(path, &gen, err);
        if (st == CX_OK) mine++;
    }
    bad = st != CX_OK;
    MPI_Allreduce(&bad, &any_bad, 1, MPI_INT, MPI_MAX, comm);
    if (any_bad && st == CX_OK) st = cx_err_set(err, CX_ERR_IO, dir, 0, "out", "another rank failed to write its files");
    /* replay.yaml last: its presence marks a complete directory. */
    if (st == CX_OK && rank == 0) {
        char path[4096], text[256];
        snprintf(path, sizeof(path), "%s/replay.yaml", dir);
        snprintf(text, sizeof(text),
                 "# Written by colossim gen: per-GPU op programs (gpu-NNNNNN.ops, workloads/README.md)\n"
                 "format: colossim-ops-v1\nworkload: workload.yaml\niterations: %u\ngpus: %llu\n",
                 iters, (unsigned long long)w->gpus);
        st = cx_gen_write_text(path, text, err);
    }
    bad = st != CX_OK;
    MPI_Allreduce(&bad, &any_bad, 1, MPI_INT, MPI_MAX, comm);
    if (any_bad && st == CX_OK) st = cx_err_set(err, CX_ERR_IO, dir, 0, "out", "rank 0 failed to finish the directory");
    MPI_Allreduce(&mine, n_files_p, 1, MPI_UINT64_T, MPI_SUM, comm);
out:
    free(wl_text);
    cx_workload_destroy(w);
    cx_topo_destroy(topo);
    return st;
}

void cx_run_summary_print(const cx_run_summary_t *s, FILE *out)
{
    fprintf(out, "run: %s on %s, %llu x %s, %u iteration(s)%s\n", s->workload, s->topology,
            (unsigned long long)s->gpus, s->gpu_type, s->iterations,
            s->complete ? "" : "  ** INCOMPLETE: stopped early **");
    fprintf(out, "  iteration time     %.4f s%s\n", s->iteration_seconds,
            s->iterations >= 2 ? " (steady state, after the first)" : "");
    fprintf(out, "  tokens/s           %.4g  (%.4g tokens per iteration)\n", s->tokens_per_second,
            s->tokens_per_iteration);
    fprintf(out, "  TFLOPs/GPU         %.1f  (model FLOPs %.4g per iteration)\n", s->tflops_per_gpu,
            s->model_flops_per_iteration);
    fprintf(out, "  MFU                %.1f%%  (of %.0f TFLOPs dense BF16; %.1f%% counting attention in full)\n",
            100.0 * s->mfu, s->peak_flops_per_gpu * 1e-12, 100.0 * s->mfu_noncausal);
    fprintf(out, "  time breakdown     compute %.1f%%, exposed communication %.1f%%, pipeline bubble %.1f%%\n",
            100.0 * s->compute_share, 100.0 * s->exposed_comm_share, 100.0 * s->bubble_share);
    if (s->has_power) cx_power_summary_print(&s->power, out); /* power hook */
    cx_engine_stats_print(&s->engine, out);
}

cx_status_t cx_run_summary_write_json(const cx_run_summary_t *s, const char *path, cx_err_t *err)
{
    json_object *j = json_object_new_object();
    char         dig[24], tmp[4096];
    FILE        *f;
    int          ok;
    snprintf(dig, sizeof(dig), "%016llx", (unsigned long long)s->engine.digest);
    json_object_object_add(j, "workload", json_object_new_string(s->workload));
    json_object_object_add(j, "topology", json_object_new_string(s->topology));
    json_object_object_add(j, "gpu_type", json_object_new_string(s->gpu_type));
    json_object_object_add(j, "gpus", json_object_new_uint64(s->gpus));
    json_object_object_add(j, "iterations", json_object_new_int((int)s->iterations));
    json_object_object_add(j, "complete", json_object_new_boolean(s->complete));
    json_object_object_add(j, "iteration_seconds", json_object_new_double(s->iteration_seconds));
    json_object_object_add(j, "tokens_per_second", json_object_new_double(s->tokens_per_second));
    json_object_object_add(j, "tflops_per_gpu", json_object_new_double(s->tflops_per_gpu));
    json_object_object_add(j, "mfu", json_object_new_double(s->mfu));
    json_object_object_add(j, "mfu_noncausal", json_object_new_double(s->mfu_noncausal));
    json_object_object_add(j, "compute_share", json_object_new_double(s->compute_share));
    json_object_object_add(j, "exposed_comm_share", json_object_new_double(s->exposed_comm_share));
    json_object_object_add(j, "bubble_share", json_object_new_double(s->bubble_share));
    json_object_object_add(j, "tokens_per_iteration", json_object_new_double(s->tokens_per_iteration));
    json_object_object_add(j, "model_flops_per_iteration", json_object_new_double(s->model_flops_per_iteration));
    json_object_object_add(j, "first_iteration_seconds", json_object_new_double(s->first_iteration_seconds));
    json_object_object_add(j, "ops", json_object_new_uint64(s->ops));
    json_object_object_add(j, "ranks", json_object_new_int(s->engine.ranks));
    json_object_object_add(j, "events", json_object_new_uint64(s->engine.events));
    json_object_object_add(j, "wall_seconds", json_object_new_double(s->engine.wall_seconds));
    json_object_object_add(j, "digest", json_object_new_string(dig));
    if (s->has_power) { /* power hook: keys documented in analysis/SCHEMA.md (/power) */
        const cx_power_summary_t *pw = &s->power;
        json_object *o = json_object_new_object();
        json_object_object_add(o, "job_gpus", json_object_new_uint64(pw->job_gpus));
        json_object_object_add(o, "site_gpus", json_object_new_uint64(pw->site_gpus));
        json_object_object_add(o, "extrapolated", json_object_new_boolean(pw->extrapolated));
        json_object_object_add(o, "site_scale", json_object_new_double(pw->site_scale));
        json_object_object_add(o, "bin_seconds", json_object_new_double(pw->bin_seconds));
        json_object_object_add(o, "mean_it_mw", json_object_new_double(pw->mean_it_mw));
        json_object_object_add(o, "peak_it_mw", json_object_new_double(pw->peak_it_mw));
        json_object_object_add(o, "mean_facility_mw", json_object_new_double(pw->mean_facility_mw));
        json_object_object_add(o, "peak_facility_mw", json_object_new_double(pw->peak_facility_mw));
        json_object_object_add(o, "site_mean_facility_mw", json_object_new_double(pw->site_mean_facility_mw));
        json_object_object_add(o, "site_peak_facility_mw", json_object_new_double(pw->site_peak_facility_mw));
        json_object_object_add(o, "swing_mw", json_object_new_double(pw->swing_mw));
        json_object_object_add(o, "site_swing_mw", json_object_new_double(pw->site_swing_mw));
        json_object_object_add(o, "max_ramp_mw_per_s", json_object_new_double(pw->max_ramp_mw_per_s));
        json_object_object_add(o, "site_max_ramp_mw_per_s", json_object_new_double(pw->site_max_ramp_mw_per_s));
        json_object_object_add(o, "energy_j_per_iteration", json_object_new_double(pw->energy_j_per_iteration));
        json_object_object_add(o, "energy_j_per_token", json_object_new_double(pw->energy_j_per_token));
        json_object_object_add(o, "it_energy_j_per_token", json_object_new_double(pw->it_energy_j_per_token));
        json_object_object_add(o, "battery_cycles", json_object_new_double(pw->battery_cycles));
        json_object_object_add(o, "violations", json_object_new_uint64(pw->violations));
        json_object_object_add(o, "overlap_truncated", json_object_new_uint64(pw->overlap_truncated));
        json_object_object_add(j, "power", o);
    }
    snprintf(tmp, sizeof(tmp), "%s.partial", path);
    f = fopen(tmp, "w");
    if (f == NULL) {
        json_object_put(j);
        return cx_err_set(err, CX_ERR_IO, path, 0, "summary-json", "cannot write this file");
    }
    ok = fprintf(f, "%s\n", json_object_to_json_string_ext(j, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE)) > 0;
    ok = (fclose(f) == 0) && ok;
    json_object_put(j);
    if (!ok || rename(tmp, path) != 0) {
        remove(tmp);
        return cx_err_set(err, CX_ERR_IO, path, 0, "summary-json", "cannot write this file");
    }
    return CX_OK;
}
