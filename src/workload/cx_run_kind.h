/*
 * Running the inference and RL workload kinds (cx_infer.h) inside `colossim
 * run` and scenarios: the per-stream op sources, an observer that wraps
 * cx_run_observe to time steps and RL phases, the plan's rough size, and
 * the summary figures (TTFT / TPOT, RL step split).  Internal to the
 * workload module (cx_run.c, cx_run_scenario.c, cx_run_summary.c).
 */
#ifndef CX_RUN_KIND_H
#define CX_RUN_KIND_H

#include "cx_run_internal.h"

typedef struct cx_kind_run cx_kind_run_t;

/* After c is set up (its job, local GPUs): the step tables of the instances
 * this rank's GPUs belong to.  start: when the job starts. */
cx_status_t cx_kind_run_create(cx_kind_run_t **k_p, cx_run_ctx_t *c, cx_time_t start, cx_err_t *err);
void        cx_kind_run_destroy(cx_kind_run_t *k);
/* Point gcfg's source and observer at k. */
void        cx_kind_run_hook(cx_kind_run_t *k, cx_gpu_config_t *gcfg);
/* After cx_run_summary_reduce: the kind's figures (collective). */
void        cx_kind_run_reduce(cx_kind_run_t *k, cx_run_summary_t *s, double peak_flops, MPI_Comm comm);

/* Figures known before the run (cx_run_summary_describe for these kinds). */
void        cx_kind_describe(cx_run_summary_t *s, const cx_workload_t *w);
/* A rough plan: ops, events, simulated seconds, trace bytes. */
cx_status_t cx_kind_estimate(const cx_workload_t *w, uint32_t iters, const cx_run_config_t *cfg,
                             const cx_gpu_type_t *gt, cx_run_estimate_t *e, cx_err_t *err);
/* The topology's NVLink domains must hold the rollout's TP groups too. */
cx_status_t cx_kind_check_fit(const cx_workload_t *w, uint32_t gpus_per_domain, cx_err_t *err);

/* Summary lines and JSON object of the kind (NULL for training). */
void        cx_kind_print(const cx_run_summary_t *s, FILE *out);
struct json_object;
struct json_object *cx_kind_json(const cx_run_summary_t *s);

#endif
