/*
 * gpu: the GPU entity.  It runs a program of ops (cx_op.h) on in-order
 * streams, like CUDA streams: compute kernels take roofline time, SEND/RECV
 * and collectives move bytes through net/, WAIT ops order streams.
 *
 * Ops come from an op source (the workload generator or a replay reader),
 * one source instance per stream that yields only that stream's ops in
 * program order, so no look-ahead buffer can deadlock and memory stays O(1)
 * per GPU.
 *
 * Collectives execute here, expanded into point-to-point steps over net the
 * way NCCL runs them (cx_coll.c): rail-aligned rings with one channel per
 * rail, NVLS in-switch reduction, pairwise all-to-all.  Congestion is
 * emergent: the steps' chunks share ports with everything else.
 *
 * Arrivals are counted in a small per-GPU mailbox keyed by (tag, cookie,
 * source), so a message may arrive before the op that consumes it starts.
 */
#ifndef CX_GPU_H
#define CX_GPU_H

#include "cx_net.h"
#include "cx_op.h"

/* Upper event kinds of GPU entities (after net's). */
enum {
    CX_GPU_EV_OP_DONE = CX_NET_N_KINDS, /* a compute op finished: payload stream */
    CX_GPU_EV_KICK,                     /* delayed collective progress (step latency) */
    CX_GPU_N_KINDS
};

/* SM SHARING.  A COLLECTIVE op with flops > 0 runs kernels that hold that
 * share of the GPU's SMs (0 < flops < 1; DeepSeek-V3's all-to-all under
 * DualPipe: 20 of 132 SMs): while it runs, COMPUTE kernels proceed at
 * 1 - share of their speed (the largest share of the collectives running
 * at once, at most CX_GPU_MAX_SM_SHARE), re-timed whenever a collective
 * starts or ends.  flops = 0 (what every collective carried before)
 * changes nothing. */
#define CX_GPU_MAX_SM_SHARE 0.9

/* Op source: yields one stream's ops of one GPU in program order. */
typedef struct cx_op_source {
    size_t state_size;
    /* Prepare state for (gpu, stream).  ctx is the source's shared context. */
    cx_status_t (*init)(void *state, const void *ctx, uint64_t gpu, int stream, cx_err_t *err);
    /* 1 with *op filled, 0 at the end of the program. */
    int (*next)(void *state, cx_op_t *op);
    const void *ctx;
} cx_op_source_t;

/* Compute time of a COMPUTE op on this GPU type (roofline). */
typedef cx_time_t (*cx_compute_time_fn)(const void *ctx, const cx_gpu_type_t *gpu, const cx_op_t *op);

/* Collective protocol parameters (defaults: cx_coll_params_defaults). */
typedef struct cx_coll_params {
    double    nvlink_efficiency;   /* share of NVLink bandwidth a ring step achieves */
    double    net_efficiency;      /* share of NIC bandwidth across nodes */
    double    nvls_efficiency;     /* share of NVLink bandwidth with in-switch reduction */
    double    nvls_rsag_efficiency; /* NVLS reduce-scatter / all-gather: their own share */
    cx_time_t nvlink_step_latency; /* software latency per ring step inside a domain */
    cx_time_t net_step_latency;    /* per step across nodes */
    uint32_t  max_channels;        /* rings per collective across nodes (0 = one per rail, at most
                                    * CX_COLL_MAX_CH = 8; more is refused) */
    uint32_t  algo;                /* cx_coll_algo_t override for every collective, 0 = op's hint */
    uint32_t  proto;               /* cx_coll_proto_t for every collective, 0 = NCCL's tuner */
    int       pxn;                 /* all-to-all across rails via NVLink to the peer's rail (default 1) */
} cx_coll_params_t;

/* Defaults (NCCL figures, REFERENCE.md; see cx_coll_params_defaults). */
#define CX_COLL_DEFAULT_NVLINK_EFF    0.82
#define CX_COLL_DEFAULT_NET_EFF       0.94
#define CX_COLL_DEFAULT_NVLS_EFF      0.61
#define CX_COLL_DEFAULT_NVLS_RSAG_EFF 0.82
#define CX_COLL_DEFAULT_NVLINK_LAT_NS 1000
#define CX_COLL_DEFAULT_NET_LAT_NS    3000
void cx_coll_params_defaults(cx_coll_params_t *p);

/* Per-op record handed to the observer when an op completes. */
typedef struct cx_op_record {
    cx_op_t   op;
    uint64_t  gpu;          /* the job's GPU index (the global one without a placement) */
    cx_time_t start, end;
    uint32_t  algo;         /* COLLECTIVE: the algorithm used */
    uint32_t  channels;
    uint32_t  proto;        /* COLLECTIVE: cx_coll_proto_t used */
} cx_op_record_t;

typedef void (*cx_op_observer_fn)(void *ctx, const cx_op_record_t *rec);

/* A slowdown (colossim run --faults): from `at` on, kernels of global GPU
 * `gpu` take `factor` times as long (thermal throttling, a bad part).
 * Several on one GPU multiply. */
typedef struct cx_gpu_slow {
    uint64_t  gpu;
    cx_time_t at;
    double    factor;
} cx_gpu_slow_t;

typedef struct cx_gpu_config {
    cx_op_source_t     source;
    cx_compute_time_fn compute_time;
    const void        *compute_ctx;
    cx_coll_params_t   coll;
    cx_op_observer_fn  observer;     /* may be NULL */
    void              *observer_ctx;
    /* GPUs with a global index >= job_gpus run nothing and hold no state
     * (a PXN relay through them still works); 0 = every GPU runs. */
    uint64_t           job_gpus;
    const cx_gpu_slow_t *slow;       /* sorted by (gpu, at); the caller keeps it; NULL = none */
    uint64_t           n_slow;
    /* Placement (colossim run --scenario: several jobs, one cx_gpus_t each,
     * on one fabric).  The job's GPU j -- what its program, its groups and
     * its op records name -- is global GPU place[j / place_block] + j %
     * place_block; place_block is the NVLink domain size and every base a
     * whole domain of the first fabric, so domain arithmetic (rings, PXN)
     * done on job indices holds on the global ones.  job_gpus GPUs in all;
     * the caller keeps the array.  NULL: job GPU j is global GPU j. */
    const uint64_t    *place;
    uint64_t           place_block;
    cx_time_t          start;        /* the programs start then (0: at once) */
} cx_gpu_config_t;

/* Collective shapes, shared with anything that must predict them (the
 * run's plan): */
/* Tree and chain pieces, and the size below which auto prefers them. */
#define CX_COLL_PIECE_BYTES (UINT64_C(1) << 20)
/* The algorithm a collective runs with: `algo` as asked (CX_ALGO_AUTO:
 * NCCL's tuner), narrowed to what covers the op's class; g = members per
 * NVLink domain (1 when the group does not tile domains evenly), nvls_ok =
 * the whole group is one domain of more than 2 with an NVLS switch. */
uint32_t cx_coll_choose(uint32_t algo, const cx_op_t *op, uint32_t g, int nvls_ok);
/* Ring channel c over n members, g per NVLink domain: the member at ring
 * position pos ("snake" over domains, so cross-domain hops stay on one
 * rail), and the position of a member. */
uint32_t cx_coll_ring_member(uint32_t pos, uint32_t g, uint32_t n, uint32_t c);
uint32_t cx_coll_ring_pos(uint32_t member, uint32_t g, uint32_t n, uint32_t c);

typedef struct cx_gpus cx_gpus_t;

/* The GPU entity type to pass to cx_net_create. */
extern const cx_entity_type_t cx_gpu_entity_type;
void cx_gpu_on_recv(cx_engine_t *eng, cx_net_dev_t *gpu, const cx_net_chunk_t *c);
void cx_gpu_on_txdone(cx_engine_t *eng, cx_net_dev_t *gpu, const cx_net_txdone_t *d);

/* Create the state of every local GPU (after cx_net_create) and start their
 * programs at time 0.  Not collective. */
cx_status_t cx_gpus_create(cx_gpus_t **g_p, cx_engine_t *eng, cx_net_t *net,
                           const cx_gpu_config_t *cfg, cx_err_t *err);
void        cx_gpus_destroy(cx_gpus_t *g);

/* After the run: did every local GPU finish its program?  Returns the number
 * of GPUs that did not, and describes the first in buf. */
uint64_t cx_gpus_unfinished(const cx_gpus_t *g, char *buf, size_t len);

/* Call fn on every op-source state of every local GPU (e.g. to release
 * files a source holds when a run stops early). */
void cx_gpus_foreach_source(cx_gpus_t *g, void (*fn)(void *state));

/* Local figures summed over this rank's GPUs. */
typedef struct cx_gpus_totals {
    uint64_t  gpus;
    cx_time_t busy_compute;     /* sum of compute op time */
    cx_time_t last_end;         /* latest op end */
    uint64_t  ops;
} cx_gpus_totals_t;
void cx_gpus_totals(const cx_gpus_t *g, cx_gpus_totals_t *t);

#endif
