/*
 * The end-of-run summary of colossim run: the figures known from the inputs
 * (names, sizes, tokens and model FLOPs per iteration), the reduction of
 * what every rank's GPUs observed into iteration time, throughput, MFU and
 * where the time went (definitions in cx_run.h), and its two renderings:
 * text for the terminal and JSON for scripts (analysis/SCHEMA.md).
 */
#include "cx_run_internal.h"
#include "cx_run_kind.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cx_run_summary_describe(cx_run_summary_t *s, const cx_topo_t *topo, const cx_workload_t *w,
                             const cx_gpu_type_t *gt, uint32_t iters)
{
    snprintf(s->gpu_type, sizeof(s->gpu_type), "%s", gt->name);
    snprintf(s->topology, sizeof(s->topology), "%s", cx_topo_name(topo));
    snprintf(s->workload, sizeof(s->workload), "%s", w->name);
    s->gpus                 = w->gpus;
    s->iterations           = iters;
    s->iterations_requested = iters;
    s->tokens_per_iteration = cx_workload_tokens_per_iteration(w);
    /* MFU as the Llama 3 paper reports it: its Table 4 rows only agree on
     * the hardware throughput achieved if causal attention counts as half
     * (at 131k tokens the full count would mean a third less throughput for
     * the same kernels); the full (PaLM) count is reported alongside. */
    s->model_flops_per_iteration           = cx_workload_model_flops_causal_per_iteration(w);
    s->model_flops_noncausal_per_iteration = cx_workload_model_flops_per_iteration(w);
    s->peak_flops_per_gpu                  = gt->bf16_flops;
}

void cx_run_summary_reduce(cx_run_summary_t *s, const cx_run_ctx_t *c, uint32_t iters,
                           uint64_t gpus, double peak_flops, MPI_Comm comm)
{
    double    loc[4] = {0, 0, 0, 0}, glob[4];
    uint64_t  k;
    cx_time_t *bmin = malloc(iters * sizeof(cx_time_t)), *emax = malloc(iters * sizeof(cx_time_t));
    cx_time_t t0, t1;
    uint64_t  ops = (uint64_t)c->ops_done, ops_all = 0;
    uint32_t  done_min = UINT32_MAX, done_all, kf;
    if (bmin == NULL || emax == NULL) cx_fatal("out of memory");
    /* A run stopped early reports only the iterations that every GPU
     * finished (the first done_all), and their time sums.  A GPU is at most
     * one iteration ahead of the slowest (its next iteration needs the
     * others' pipeline and DP traffic), so leaving out its last iteration
     * when it is ahead sums exactly the /summary/iterations rows that
     * colossim-analyze sums. */
    for (k = 0; k < c->gpu_n; k++)
        if (c->acc[k].done_iters < done_min) done_min = c->acc[k].done_iters;
    MPI_Allreduce(&done_min, &done_all, 1, MPI_UINT32_T, MPI_MIN, comm);
    for (k = 0; k < c->gpu_n; k++) {
        const cx_run_acc_t *a     = &c->acc[k];
        int                 ahead = a->done_iters > done_all;
        loc[0] += (double)(s->complete ? a->compute : a->done_compute - (ahead ? a->last_compute : 0));
        loc[1] += (double)(s->complete ? a->wait_comm : a->done_comm - (ahead ? a->last_comm : 0));
        loc[2] += (double)(s->complete ? a->wait_pp : a->done_pp - (ahead ? a->last_pp : 0));
    }
    MPI_Allreduce(loc, glob, 3, MPI_DOUBLE, MPI_SUM, comm);
    MPI_Allreduce(c->iter_begin_min, bmin, (int)iters, MPI_INT64_T, MPI_MIN, comm);
    MPI_Allreduce(c->iter_end_max, emax, (int)iters, MPI_INT64_T, MPI_MAX, comm);
    MPI_Allreduce(&ops, &ops_all, 1, MPI_UINT64_T, MPI_SUM, comm);
    s->ops = ops_all;
    /* Iterations that finished (a stopped run: on every GPU). */
    kf = s->complete ? iters : done_all;
    for (k = 0; k < iters && k < kf && emax[k] > 0 && bmin[k] != CX_TIME_MAX; k++) {
    }
    if (k == 0) {
        s->iteration_seconds = 0.0;
    } else {
        t0 = bmin[0];
        t1 = emax[k - 1];
        s->first_iteration_seconds = (double)(emax[0] - bmin[0]) * 1e-12;
        /* Steady state: from the end of the first to the end of the last
         * iteration when there are several; else the one iteration. */
        s->iteration_seconds = k >= 2 ? (double)(emax[k - 1] - emax[0]) * 1e-12 / (double)(k - 1)
                                      : s->first_iteration_seconds;
        if (t1 > t0) {
            double span = (double)(t1 - t0) * (double)gpus;
            s->compute_share      = glob[0] / span;
            s->exposed_comm_share = glob[1] / span;
            s->bubble_share       = 1.0 - s->compute_share - s->exposed_comm_share;
        }
    }
    s->iterations = (uint32_t)k;
    if (s->iteration_seconds > 0) {
        s->tokens_per_second = s->tokens_per_iteration / s->iteration_seconds;
        s->tflops_per_gpu = s->model_flops_per_iteration / s->iteration_seconds / (double)gpus * 1e-12;
        s->mfu = s->model_flops_per_iteration / (s->iteration_seconds * (double)gpus * peak_flops);
        s->mfu_noncausal = s->model_flops_noncausal_per_iteration /
                           (s->iteration_seconds * (double)gpus * peak_flops);
    }
    free(bmin);
    free(emax);
}

void cx_run_summary_free(cx_run_summary_t *s)
{
    free(s->jobs);
    s->jobs   = NULL;
    s->n_jobs = 0;
}

void cx_run_summary_print(const cx_run_summary_t *s, FILE *out)
{
    if (s->n_jobs > 0) {
        cx_run_scenario_print(s, out); /* --scenario */
        return;
    }
    if (s->complete) {
        fprintf(out, "run: %s on %s, %llu x %s, %u iteration(s)\n", s->workload, s->topology,
                (unsigned long long)s->gpus, s->gpu_type, s->iterations);
    } else if (s->iterations == 0) {
        /* Nothing to average: no zeros posing as results. */
        fprintf(out, "run: %s on %s, %llu x %s, stopped before iteration 1 finished (of %u)  "
                     "** INCOMPLETE: stopped early **\n",
                s->workload, s->topology, (unsigned long long)s->gpus, s->gpu_type, s->iterations_requested);
        fprintf(out, "  no results: the run stopped before any iteration finished\n"
                     "  (the job: model FLOPs %.4g and %.4g tokens per iteration)\n",
                s->model_flops_per_iteration, s->tokens_per_iteration);
        cx_engine_stats_print(&s->engine, out);
        return;
    } else {
        char cover[48];
        if (s->iterations == 1)
            snprintf(cover, sizeof(cover), "iteration 1");
        else
            snprintf(cover, sizeof(cover), "iterations 1-%u", s->iterations);
        fprintf(out, "run: %s on %s, %llu x %s, %u of %u iteration(s) finished  ** INCOMPLETE: stopped early; "
                     "the figures cover %s **\n",
                s->workload, s->topology, (unsigned long long)s->gpus, s->gpu_type, s->iterations,
                s->iterations_requested, cover);
    }
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
    cx_kind_print(s, out); /* inference / RL figures */
    if (s->has_power) cx_power_summary_print(&s->power, out); /* power hook */
    cx_engine_stats_print(&s->engine, out);
}

/* The power summary in the JSON: its fields, each under its own name (keys in
 * analysis/SCHEMA.md, /power). */
#define CX_PW_SUMMARY_JSON(X) \
    X(uint64, job_gpus) X(uint64, site_gpus) X(boolean, extrapolated) X(double, site_scale) \
    X(double, bin_seconds) X(double, mean_it_mw) X(double, peak_it_mw) X(double, mean_facility_mw) \
    X(double, peak_facility_mw) X(double, site_mean_facility_mw) X(double, site_peak_facility_mw) \
    X(double, swing_mw) X(double, site_swing_mw) X(double, max_ramp_mw_per_s) \
    X(double, site_max_ramp_mw_per_s) X(double, energy_j_per_iteration) X(double, energy_j_per_token) \
    X(double, it_energy_j_per_token) X(double, battery_cycles) X(uint64, violations) \
    X(uint64, overlap_truncated)
#define CX_PW_JSON_ADD(_type, _f) json_object_object_add(o, #_f, json_object_new_##_type(pw->_f));

/* The figures of a run that has finished an iteration, each under its own
 * name (null in the JSON when none did). */
#define CX_SUMMARY_FIGS(X)                                                                             \
    X(iteration_seconds) X(tokens_per_second) X(tflops_per_gpu) X(mfu) X(mfu_noncausal) X(compute_share) \
    X(exposed_comm_share) X(bubble_share)

/* The summary's JSON object (without a scenario's jobs). */
static json_object *cx_run_summary_json(const cx_run_summary_t *s)
{
    json_object *j = json_object_new_object();
    char         dig[24];
    snprintf(dig, sizeof(dig), "%016llx", (unsigned long long)s->engine.digest);
    json_object_object_add(j, "workload", json_object_new_string(s->workload));
    json_object_object_add(j, "topology", json_object_new_string(s->topology));
    json_object_object_add(j, "gpu_type", json_object_new_string(s->gpu_type));
    json_object_object_add(j, "gpus", json_object_new_uint64(s->gpus));
    json_object_object_add(j, "iterations", json_object_new_int((int)s->iterations));
    json_object_object_add(j, "iterations_requested", json_object_new_int((int)s->iterations_requested));
    json_object_object_add(j, "complete", json_object_new_boolean(s->complete));
    json_object_object_add(j, "stopped", json_object_new_boolean(!s->complete));
    /* No iteration finished: the figures are null, not zeros. */
#define CX_J_FIG(_f) json_object_object_add(j, #_f, s->iterations > 0 ? json_object_new_double(s->_f) : NULL);
    CX_SUMMARY_FIGS(CX_J_FIG)
    json_object_object_add(j, "tokens_per_iteration", json_object_new_double(s->tokens_per_iteration));
    json_object_object_add(j, "model_flops_per_iteration", json_object_new_double(s->model_flops_per_iteration));
    CX_J_FIG(first_iteration_seconds)
#undef CX_J_FIG
    json_object_object_add(j, "ops", json_object_new_uint64(s->ops));
    json_object_object_add(j, "ranks", json_object_new_int(s->engine.ranks));
    json_object_object_add(j, "events", json_object_new_uint64(s->engine.events));
    json_object_object_add(j, "wall_seconds", json_object_new_double(s->engine.wall_seconds));
    json_object_object_add(j, "digest", json_object_new_string(dig));
    if (s->kind != CX_WL_TRAINING && s->iterations > 0) /* inference / RL figures (cx_run_kind.c) */
        json_object_object_add(j, s->kind == CX_WL_RL ? "rl" : "inference", cx_kind_json(s));
    if (s->faults > 0) { /* --faults (cx_run_faults.c) */
        json_object_object_add(j, "faults", json_object_new_uint64(s->faults));
        json_object_object_add(j, "fault_stop_seconds",
                               s->fault_stop_ps >= 0 ? json_object_new_double(cx_time_to_s(s->fault_stop_ps)) : NULL);
        json_object_object_add(j, "fault_stop", s->fault_stop_ps >= 0 ? json_object_new_string(s->fault_stop) : NULL);
    }
    if (s->has_power && s->iterations > 0) { /* power hook: keys documented in analysis/SCHEMA.md (/power) */
        const cx_power_summary_t *pw = &s->power;
        json_object *o = json_object_new_object();
        CX_PW_SUMMARY_JSON(CX_PW_JSON_ADD)
        json_object_object_add(j, "power", o);
    }
    return j;
}

cx_status_t cx_run_summary_write_json(const cx_run_summary_t *s, const char *path, cx_err_t *err)
{
    json_object *j = cx_run_summary_json(s);
    char         tmp[4096];
    FILE        *f;
    int          ok;
    uint32_t     k;
    if (s->n_jobs > 0) {
        /* --scenario: the total's figures (no iteration time), and each job's. */
        json_object *a = json_object_new_array();
        json_object_object_add(j, "tokens_per_second", json_object_new_double(s->tokens_per_second));
        json_object_object_add(j, "tflops_per_gpu", json_object_new_double(s->tflops_per_gpu));
        json_object_object_add(j, "mfu", json_object_new_double(s->mfu));
        for (k = 0; k < s->n_jobs; k++) {
            json_object *o = cx_run_summary_json(&s->jobs[k]);
            json_object_object_add(o, "job", json_object_new_int((int)k));
            json_object_object_add(o, "start_seconds", json_object_new_double(s->jobs[k].start_seconds));
            json_object_array_add(a, o);
        }
        json_object_object_add(j, "jobs", a);
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
