/*
 * A training run: a workload's op streams (generator) executed by the GPU
 * entities across the fabric model, with the per-op observations reduced to
 * the figures people quote (iteration time, tokens/s, TFLOPs/GPU, MFU, and
 * where the time went) and written to the HDF5 trace.
 *
 * Time accounting, per GPU, over the run (averaged over GPUs):
 *   compute       time the compute stream spent in kernels
 *   exposed comm  time the compute stream was blocked in a WAIT on a
 *                 TP/CP/EP (stream 1) or DP (stream 2) communication op
 *   bubble        the rest: waiting for pipeline neighbours (WAITs on the PP
 *                 stream) and idle time before/after the GPU's work
 * The three shares add up to 1.
 */
#ifndef CX_RUN_H
#define CX_RUN_H

#include "cx_gpu.h"
#include "cx_power.h"   /* power model (src/power) */
#include "cx_workload.h"
#include "cx_scale.h"

#define CX_RUN_MAX_SCALE_RANKS 32

typedef enum { CX_TRACE_LEVEL_SUMMARY = 0, CX_TRACE_LEVEL_OPS, CX_TRACE_LEVEL_LINKS,
               CX_TRACE_LEVEL_CHUNKS } cx_trace_level_t;
#define CX_TRACE_LEVEL_CHOICES "summary|ops|links|chunks"

typedef struct cx_run_config {
    const char      *topology_path;   /* NULL: embedded colossus1-mini */
    const char      *workload_path;   /* NULL: embedded small; a directory made by
                                       * `colossim gen`: replay its op files */
    uint32_t         iterations;      /* 0: the workload's */
    const char      *out;             /* trace path; NULL or "" = no trace */
    const char      *summary_json;    /* the caller writes the summary there (NULL = none); checked
                                       * up front with out, so neither fails after the run */
    int              trace_level;     /* cx_trace_level_t */
    double           trace_max_gb;    /* refuse a run whose trace would exceed this (0 = no limit) */
    uint64_t         trace_buffer_bytes; /* rows a rank buffers before every rank appends its
                                          * rows to the file (0 = CX_RUN_FLUSH_BYTES) */
    int64_t          link_bin_ps;     /* trace level links: bin width */
    int64_t          power_bin_ps;    /* power model bin width; 0 = no power model */
    cx_net_config_t  net;
    cx_coll_params_t coll;
    uint64_t         seed;
    double           progress_seconds;
    int              dry_run;
    int              scale_ranks[CX_RUN_MAX_SCALE_RANKS]; /* --dry-run --ranks: model the wall time */
    int              n_scale_ranks;
    cx_scale_params_t scale;
    const char      *options_text;    /* effective options, stored in /meta */
    const char      *command_line;
    const char      *faults_path;     /* --faults: a faults file (cx_faults.h); NULL = none */
    const char      *scenario_path;   /* --scenario: several jobs on the fabric (cx_scenario.h,
                                       * cx_run_scenario.c); NULL = one job */
} cx_run_config_t;

/* Figures of an inference job (workload kind inference; cx_infer.h).  The
 * run's "iteration" is serving all requests: iteration time = makespan. */
typedef struct cx_run_infer_summary {
    uint64_t requests, steps, prompt_tokens, output_tokens;
    double   makespan_seconds;
    double   output_tokens_per_second, total_tokens_per_second;
    double   ttft_p50, ttft_p99, ttft_mean;   /* seconds, time to first token (from the job's start) */
    double   tpot_p50, tpot_p99, tpot_mean;   /* seconds, time per output token after the first */
} cx_run_infer_summary_t;

/* Figures of an RL job (kind rl): per RL step, in steady state (steps 2..n
 * when there are several); step = end of step i - end of step i - 1 (end =
 * the trainer's iteration and its weight broadcast done).  sync: the
 * phases are consecutive stretches of the step's critical path -- rollout
 * (first generation op to the last one's end), reward (to the last reward's
 * end), samples (to the trainer holding them all), train (to the training
 * iteration's end), weight_sync (to the broadcast's end) -- and other = the
 * rest (the gap before generation starts), so they add up to the step.
 * async: each phase's own extent over the GPUs doing it (they overlap:
 * other < 0), samples = how long the trainer waited for them. */
typedef struct cx_run_rl_summary {
    uint32_t steps, staleness;
    int      async;
    double   step_seconds, rollout_seconds, reward_seconds, samples_seconds, train_seconds, sync_seconds,
             other_seconds;
    uint64_t weights_bytes;   /* one broadcast */
} cx_run_rl_summary_t;

typedef struct cx_run_summary {
    int       kind;                  /* cx_wl_kind_t: which of infer / rl below is filled */
    cx_run_infer_summary_t infer;
    cx_run_rl_summary_t    rl;
    uint64_t  gpus;
    uint32_t  iterations;            /* iterations that finished (all of them unless stopped early) */
    uint32_t  iterations_requested;
    double    iteration_seconds;      /* figures below: 0 when no iteration finished */
    double    tokens_per_iteration;
    double    tokens_per_second;
    double    model_flops_per_iteration;          /* causal attention counted as half (Llama 3) */
    double    model_flops_noncausal_per_iteration; /* attention in full (PaLM / Megatron-LM) */
    double    tflops_per_gpu;
    double    mfu;
    double    mfu_noncausal;         /* MFU with attention counted in full */
    double    peak_flops_per_gpu;    /* dense BF16 of the job's GPU type */
    double    compute_share, exposed_comm_share, bubble_share;
    double    first_iteration_seconds;
    int       complete;              /* 0: stopped early (signal) */
    uint64_t  ops;
    uint64_t  trace_bytes_estimate;
    uint64_t  trace_flushes;         /* times the trace tables were appended to during the run */
    cx_engine_stats_t engine;
    char      gpu_type[32];
    char      topology[64];
    char      workload[64];
    int       has_power;             /* power model ran (src/power) */
    cx_power_summary_t power;
    uint64_t  faults;                /* --faults: faults injected */
    int64_t   fault_stop_ps;         /* the job stopped at this fault (-1: it did not) */
    char      fault_stop[96];        /* which */
    /* --scenario: the figures above are the total (GPUs, tokens/s, TFLOPs/GPU
     * and MFU of all jobs; no iteration time), jobs[0..n_jobs) each job's
     * (workload = the job's name); free jobs with cx_run_summary_free. */
    uint32_t  n_jobs;
    struct cx_run_summary *jobs;
    double    start_seconds;         /* a scenario's job: when it started */
} cx_run_summary_t;

/* Free what a summary owns (a scenario's per-job summaries). */
void cx_run_summary_free(cx_run_summary_t *s);

/* Collective over comm.  Bad input: CX_ERR_* with file:line:field in err and
 * nothing written.  A run stopped by a signal returns CX_OK with
 * summary->complete == 0 (the trace, if any, is flagged incomplete). */
cx_status_t cx_run(const cx_run_config_t *cfg, MPI_Comm comm, cx_run_summary_t *summary,
                   cx_err_t *err);

/* `colossim gen`: write every GPU's program of a job to DIR as replay files
 * (DIR/gpu-NNNNNN.ops, the format of cx_replay.h) plus DIR/workload.yaml (the
 * job) and DIR/replay.yaml (iterations, GPUs).  Collective: each rank writes
 * the GPUs of its share.  *n_files_p = files written by all ranks. */
cx_status_t cx_gen_write_dir(const char *topology_path, const char *workload_path, uint32_t iterations,
                             const char *dir, MPI_Comm comm, uint64_t *n_files_p, cx_err_t *err);

/* Print the end-of-run summary (rank 0). */
void cx_run_summary_print(const cx_run_summary_t *s, FILE *out);
/* Write the summary as JSON (keys documented in analysis/SCHEMA.md). */
cx_status_t cx_run_summary_write_json(const cx_run_summary_t *s, const char *path, cx_err_t *err);

#endif
