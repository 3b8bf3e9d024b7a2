/*
 * Internals of `colossim run` and `colossim gen`, shared by their files and
 * not part of the workload module's API (that is cx_run.h):
 *   cx_run.c          the phases of a run: load, plan, build, run, finish, write
 *   cx_run_trace.c    trace tables and their rows, the op / link observers, /meta
 *   cx_plan.c         the size estimate and the --dry-run plan
 *   cx_run_summary.c  summary figures: set-up, reduction over ranks, text, JSON
 *   cx_replay.c       per-stream op sources (generator or replay file) and
 *                     `colossim gen` directories (cx_replay.h)
 *   cx_gen_dir.c      `colossim gen`
 * The per-rank run context (cx_run_ctx_t) is what the GPU engine hands back
 * to the observers and op sources as their ctx.
 */
#ifndef CX_RUN_INTERNAL_H
#define CX_RUN_INTERNAL_H

#include "cx_compute.h"
#include "cx_faults.h"
#include "cx_run.h"
#include "cx_topo.h"
#include "cx_trace.h"

/* ---- trace rows (field descriptors in cx_run_trace.c) ----------------- */

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

typedef struct cx_row_iter {
    uint64_t gpu;
    uint32_t iteration;
    uint32_t pad;
    int64_t  begin_ps, end_ps;
    int64_t  compute_ps, exposed_comm_ps, pp_wait_ps;
} cx_row_iter_t;

typedef struct cx_row_coll {
    uint64_t gpu;            /* member 0 */
    uint64_t group_base;
    uint64_t bytes;
    uint64_t tag;
    int64_t  start_ps, end_ps;
    double   busbw_gbps;
    uint32_t group_size, group_stride, iteration, microbatch;
    uint16_t layer;
    uint8_t  kind, algo, proto, channels, stream, phase, block;
} cx_row_coll_t;

typedef struct cx_row_bin {
    uint64_t dev;
    int64_t  start_ps;
    uint64_t bytes;
    uint32_t port;
    uint8_t  cls;
    uint8_t  tier;
    uint16_t pad;
} cx_row_bin_t;

typedef struct cx_row_port {
    uint64_t dev, peer_dev;
    uint64_t bytes, chunks;
    double   bandwidth;
    int64_t  latency_ps;
    uint32_t port, peer_port;
    uint8_t  cls, tier, pad[6];
} cx_row_port_t;

typedef struct cx_row_hop {
    uint64_t dev, src_dev, dst_dev, tag;
    int64_t  start_ps, end_ps, arrive_ps;
    uint32_t port, index, bytes, cookie;
} cx_row_hop_t;

/* ---- per-rank run state ----------------------------------------------- */

typedef struct cx_run_acc {
    cx_time_t compute, wait_comm, wait_pp;        /* whole run */
    cx_time_t it_compute, it_comm, it_pp, it_begin; /* current iteration */
    cx_time_t done_compute, done_comm, done_pp;   /* iterations this GPU finished (a stopped run) */
    cx_time_t last_compute, last_comm, last_pp;   /* the last of them */
    uint32_t  done_iters;                         /* iterations this GPU finished */
} cx_run_acc_t;

typedef struct cx_run_ctx {
    const cx_workload_t *w;
    uint32_t             iterations;
    const char          *replay_dir;      /* non-NULL: ops come from replay files */
    int                  level;
    uint64_t             gpu_lo, gpu_n;   /* local GPUs: [gpu_lo, gpu_lo + gpu_n) */
    cx_run_acc_t        *acc;
    cx_time_t           *iter_begin_min;  /* per iteration */
    cx_time_t           *iter_end_max;
    int64_t              ops_done;
    cx_trace_table_t    *t_ops, *t_iter, *t_coll, *t_bins, *t_ports, *t_hops;
    cx_time_t            bin_ps;
    cx_power_t          *power;           /* power hook: src/power, NULL when off */
    cx_err_t             flush_err;       /* a failed flush during the run */
    uint64_t             flushes;         /* tables written during the run */
    cx_faults_t         *faults;          /* --faults (cx_run_faults.c), NULL = none */
    cx_gpu_slow_t       *slow;            /* its GPU slowdowns, by (gpu, at) */
    uint64_t             n_slow;
    /* --scenario: the job's placement (cx_gpu_config_t.place); the GPUs
     * above (gpu_lo, acc) are job indices, trace rows name global GPUs. */
    const uint64_t      *place;
    uint64_t             place_block;
} cx_run_ctx_t;

/* ---- scenarios (cx_run_scenario.c) ------------------------------------ */

/* colossim run --scenario: cx_run with cfg->scenario_path set. */
cx_status_t cx_run_scenario(const cx_run_config_t *cfg, MPI_Comm comm, cx_run_summary_t *sum, cx_err_t *err);
/* Each job's line and the total (rank 0). */
void        cx_run_scenario_print(const cx_run_summary_t *s, FILE *out);

/* ---- faults (cx_run_faults.c) ----------------------------------------- */

/* Load cfg's faults file (none: nothing) for the job; a fault later than
 * twice the plan's length (est_seconds) is refused as past the end. */
cx_status_t cx_run_faults_load(cx_run_ctx_t *c, const char *path, const cx_topo_t *topo, uint64_t job_gpus,
                               double est_seconds, uint64_t seed, cx_err_t *err);
/* When the first fault stops the job (CX_TIME_MAX: none does). */
cx_time_t   cx_run_faults_stop(const cx_run_ctx_t *c);
/* Ports down or degraded, into net. */
cx_status_t cx_run_faults_net(const cx_run_ctx_t *c, cx_net_t *net, cx_err_t *err);
/* Define /faults (all ranks) and fill it (rank 0). */
cx_status_t cx_run_faults_trace(cx_trace_t *tr, cx_run_ctx_t *c, int rank, cx_err_t *err);
void        cx_run_faults_release(cx_run_ctx_t *c);

/* Trace rows buffered on a rank before every rank appends its rows to the
 * file (the engine's end-of-window hook), so a long run's trace memory stays
 * bounded. */
#define CX_RUN_FLUSH_BYTES (UINT64_C(64) << 20)

/* ---- inputs (cx_run.c) ------------------------------------------------ */

/* path NULL or "": the embedded colossus1-mini. */
cx_status_t cx_run_load_topo(const char *path, cx_topo_t **t_p, cx_err_t *err);
/* A workload file, the embedded default (path NULL or ""), or a `colossim
 * gen` directory (then *iters_p = the iterations its files hold, else 0). */
cx_status_t cx_run_load_workload(const char *path, cx_workload_t **w_p, uint32_t *iters_p,
                                 cx_err_t *err);
/* GPUs per NVLink domain of the fabric the job starts in. */
uint32_t    cx_run_domain_size(const cx_topo_t *topo);
/* A job's accumulators on this rank: its GPUs lo..hi (lo UINT64_MAX: none
 * here) and the per-iteration extremes of c->iterations iterations. */
cx_status_t cx_run_ctx_alloc(cx_run_ctx_t *c, uint64_t lo, uint64_t hi, cx_err_t *err);

/* ---- trace (cx_run_trace.c) ------------------------------------------- */

/* "summary", "ops", ... for a cx_trace_level_t; "?" when out of range. */
const char *cx_run_level_name(int level);
/* The op observer (cx_gpu_config_t.observer, ctx a cx_run_ctx_t): per-GPU
 * time accounting, and rows for the tables c holds (NULL ones are skipped). */
void        cx_run_observe(void *vctx, const cx_op_record_t *rec);
/* Define the tables of cfg->trace_level in tr (all ranks, same order) into
 * c->t_*, and hook the link-bin and chunk-hop observers into net. */
cx_status_t cx_run_trace_define(cx_trace_t *tr, const cx_run_config_t *cfg, cx_net_t *net,
                                cx_run_ctx_t *c, cx_err_t *err);
/* After the run, with link tables defined: flush the open bins, and a
 * /links/ports row per local switch port and per port that carried traffic. */
void        cx_run_trace_ports(cx_run_ctx_t *c, cx_net_t *net);
/* The engine's end-of-window hook (ctx a cx_run_ctx_t): bytes of rows this
 * rank holds in its tables, and the flush that appends every rank's rows to
 * the file (collective; non-zero on failure, kept in c->flush_err). */
uint64_t    cx_run_trace_pending(void *vctx);
int         cx_run_trace_flush(void *vctx);
/* /meta: configuration, the input files as given (rank 0 reads them) and the
 * summary.  Collective over the trace's communicator. */
cx_status_t cx_run_trace_write_meta(cx_trace_t *tr, const cx_run_config_t *cfg,
                                    const cx_run_summary_t *s, int rank, cx_err_t *err);
/* Read a whole file into a NUL-terminated buffer (free it); NULL on error. */
char       *cx_run_slurp(const char *path);

/* ---- plan (cx_plan.c) ------------------------------------------------- */

/* Pipeline stages the estimate samples (one GPU each; more are spread). */
#define CX_PLAN_SAMPLES 64

/* For the plan's memory figures: structures private to other modules, and
 * the process itself (x86-64, Debian 12 + Open MPI 4.1 + HDF5 1.10;
 * tests/workload/test_plan_sizes.c checks the GPU state against
 * sizeof(cx_gpu_t)). */
#define CX_PLAN_GPU_STATE_BYTES  4832.0  /* cx_gpu_t, src/gpu/cx_gpu_internal.h */
#define CX_PLAN_NVLS_BYTES       2496.0  /* CX_NVLS_SLOTS cx_nvls_slot_t per NVSwitch, src/net/cx_net.c */
#define CX_PLAN_RR_ENTRY_BYTES   24.0    /* struct cx_net_rr, src/net/cx_net.c */
/* Peak RSS of a run with next to nothing to simulate (MPI, HDF5, libraries,
 * topology): 17.3-17.9 MiB under mpirun, 21.0 MiB as a singleton. */
#define CX_PLAN_PROCESS_BYTES    (19.0 * 1048576.0)
/* An open trace file (parallel HDF5, MPI-IO): measured, the same run with
 * and without --out. */
#define CX_PLAN_TRACE_OPEN_BYTES (4.5 * 1048576.0)

typedef struct cx_run_estimate {
    uint64_t ops_per_gpu;        /* mean over the job's GPUs */
    uint64_t coll_per_gpu;
    uint64_t ops_total;          /* all GPUs */
    uint64_t coll_rows;          /* collective instances (one trace row each) */
    uint64_t trace_rows;
    uint64_t trace_bytes;        /* uncompressed: what --trace-max-gb checks */
    uint64_t trace_run_bytes;    /* of which rows buffered while the run goes */
    uint64_t trace_file_bytes;   /* the file, compressed, with /meta: about an upper bound */
    double   events;             /* as the engine counts them, all ranks:
                                  * ev_gpu + ev_switch + ev_other */
    double   ev_gpu;             /* chunk arrivals at GPUs */
    double   ev_switch;          /* chunk hops through NVSwitches and switches */
    double   ev_other;           /* OP_DONE, TX_DONE, KICK */
    double   chunk_tx;           /* chunk transmissions over links (SOLE: 2 per event) */
    double   seconds;            /* simulated time, roughly (power and link bins) */
    int      nvls;               /* some collective reduces in the NVSwitches */
    uint32_t samples;            /* sample i stands for the stages [i pp / samples, (i + 1) pp / samples) */
    double   sample_events[CX_PLAN_SAMPLES];   /* per GPU of sample i's stages */
    double   sample_pending[CX_PLAN_SAMPLES];  /* events pending at once per GPU at the peak (a model) */
    const cx_run_config_t *cfg;  /* the options the plan's memory figures depend on */
} cx_run_estimate_t;

/* Size a run of w over iters iterations with cfg's options: events (from
 * the paths of the messages on cfg's topology, loaded again here), trace
 * rows and bytes at cfg's trace level.  e keeps a pointer to cfg.
 * peak_flops: unused (the run's length comes from the compute model). */
cx_status_t cx_plan_estimate(const cx_workload_t *w, uint32_t iters, const cx_run_config_t *cfg,
                             double peak_flops, cx_run_estimate_t *e, cx_err_t *err);
/* Peak memory (bytes, while it runs) of the busiest of nranks ranks: what
 * the --ranks wall-time model takes the cost of an event from. */
cx_status_t cx_plan_rank_peak(const cx_topo_t *topo, const cx_workload_t *w, const cx_run_estimate_t *e,
                              int nranks, double *peak, cx_err_t *err);
/* --dry-run: partition the job over comm's ranks and print the plan (rank
 * 0, stdout): events and peak memory per rank, trace size.  Collective. */
cx_status_t cx_plan_print(const cx_topo_t *topo, const cx_workload_t *w, const cx_gpu_type_t *gt,
                          uint32_t iters, int trace_level, const cx_run_estimate_t *e, MPI_Comm comm,
                          cx_err_t *err);

/* ---- summary (cx_run_summary.c) --------------------------------------- */

/* The figures known before the run: names, sizes, tokens, model FLOPs. */
void cx_run_summary_describe(cx_run_summary_t *s, const cx_topo_t *topo, const cx_workload_t *w,
                             const cx_gpu_type_t *gt, uint32_t iters);
/* After the run: reduce c's observations over comm into the timing figures
 * (iteration time, tokens/s, MFU, time shares).  Collective. */
void cx_run_summary_reduce(cx_run_summary_t *s, const cx_run_ctx_t *c, uint32_t iters,
                           uint64_t gpus, double peak_flops, MPI_Comm comm);

/* ---- op sources (cx_replay.c) ----------------------------------------- */

/* Point src at the run's op sources: the generator, or c->replay_dir's
 * files; each stream instance yields only its stream's ops. */
void cx_run_src_setup(cx_op_source_t *src, const cx_run_ctx_t *c);
/* Replaying: open and check (cx_replay_check) the file of every local GPU,
 * before any GPU is built. */
cx_status_t cx_run_replay_check(const cx_run_ctx_t *c, cx_err_t *err);
/* Replay files still open at the end (a stopped run): close them. */
void cx_run_src_close_all(cx_gpus_t *g);

#endif
