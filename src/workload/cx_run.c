/*
 * colossim run: wires topology, workload generator, fabric, GPUs and trace
 * into one run, then reduces what the GPUs observed into the summary.
 *
 * This file holds the phases of a run, in order: load the inputs, plan
 * (size estimate; --dry-run stops there), build engine, fabric and GPUs,
 * run, finish (reduce the observations), write the trace.  What they use:
 * trace tables and observers in cx_run_trace.c, estimate and plan in
 * cx_plan.c, summary figures in cx_run_summary.c, op sources in cx_replay.c
 * (all declared in cx_run_internal.h).
 *
 * Order matters for "no half-written output": everything that can fail on
 * input (files, fit, trace size, output directory) is checked before the
 * trace file is opened; the trace is written as NAME.partial and renamed
 * only by a successful close.
 */
#define _POSIX_C_SOURCE 200809L
#include "cx_run_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "cx_file.h"
#include "cx_replay.h"
#include "cx_run_kind.h"
#include "cx_traffic.h"
#include "cx_agree.h"

/* ---- inputs -------------------------------------------------------------- */

cx_status_t cx_run_load_topo(const char *path, cx_topo_t **t_p, cx_err_t *err)
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

cx_status_t cx_run_load_workload(const char *path, cx_workload_t **w_p, uint32_t *iters_p,
                                 cx_err_t *err)
{
    const char *text;
    size_t      len;
    *iters_p = 0;
    if (cx_run_is_dir(path)) return cx_replay_dir_load(path, w_p, iters_p, err);
    if (path != NULL && path[0] != '\0') return cx_workload_load(w_p, path, err);
    cx_workload_default_yaml(&text, &len);
    return cx_workload_load_string(w_p, "<embedded small.yaml>", text, len, err);
}

uint32_t cx_run_domain_size(const cx_topo_t *topo)
{
    cx_fabric_info_t fi;
    cx_gpu_info_t    g0;
    cx_topo_gpu_info(topo, cx_topo_gpu_device(topo, 0), &g0);
    if (cx_topo_fabric_info(topo, g0.fabric, &fi) != CX_OK) return 1;
    return (uint32_t)fi.domain_gpus;
}

/* ---- engine and GPU callbacks ------------------------------------------- */

static cx_time_t cx_run_compute_time(const void *ctx, const cx_gpu_type_t *gpu, const cx_op_t *op)
{
    (void)ctx;  /* each GPU type runs at its own catalog efficiencies */
    return cx_compute_time_ps(gpu, op, NULL);
}

/* ---- the phases ----------------------------------------------------------- */

/* Everything one run holds.  The phases fill it in order; cx_run_release
 * frees whatever was made, so a phase that fails just returns. */
typedef struct cx_run_state {
    const cx_run_config_t *cfg;
    MPI_Comm               comm;
    int                    rank;
    cx_run_summary_t      *sum;
    cx_topo_t             *topo;
    cx_workload_t         *w;
    const cx_gpu_type_t   *gt;      /* the job's GPU type */
    uint32_t               iters;
    cx_run_estimate_t      est;
    cx_engine_t           *eng;
    cx_net_t              *net;
    cx_gpus_t             *gpus;
    cx_trace_t            *tr;
    cx_run_ctx_t           ctx;     /* observers' and op sources' context */
    cx_kind_run_t         *kind;    /* inference / RL workloads (cx_run_kind.c), else NULL */
    cx_time_t              probe_la[CX_RUN_MAX_SCALE_RANKS]; /* --ranks on a real run */
} cx_run_state_t;

/* Inference and RL workloads (cx_infer.h): the rollout's TP groups fit the
 * NVLink domains; an inference job serves its requests once (one
 * iteration), an RL job runs --iterations RL steps; not replayed or
 * dry-run planned yet. */
static cx_status_t cx_run_load_kind(cx_run_state_t *r, cx_err_t *err)
{
    const cx_run_config_t *cfg = r->cfg;
    if (r->w->kind == CX_WL_TRAINING) return CX_OK;
    if (cfg->dry_run)
        return cx_err_set(err, CX_ERR_UNSUPPORTED, r->w->file, 0, "kind",
                          "--dry-run plans training workloads only (not yet inference / rl)");
    if (r->w->kind == CX_WL_INFERENCE && cfg->iterations > 1)
        return cx_err_set(err, CX_ERR_INVALID, NULL, 0, "iterations",
                          "an inference workload serves its requests once: drop --iterations");
    r->w->iterations = r->iters;
    return cx_kind_check_fit(r->w, cx_run_domain_size(r->topo), err);
}

/* Topology, workload (or replay directory) and iterations; the job must fit
 * the topology and lie in one fabric. */
static cx_status_t cx_run_load(cx_run_state_t *r, cx_err_t *err)
{
    const cx_run_config_t *cfg = r->cfg;
    uint32_t               replay_iters = 0;
    cx_gpu_info_t          a;
    cx_status_t            st;

    st = cx_run_load_topo(cfg->topology_path, &r->topo, err);
    if (st != CX_OK) return st;
    st = cx_run_load_workload(cfg->workload_path, &r->w, &replay_iters, err);
    if (st != CX_OK) return st;
    r->iters = cfg->iterations > 0 ? cfg->iterations : (r->w->iterations > 0 ? r->w->iterations : 1);
    if (replay_iters > 0) {
        if (cfg->iterations > 0 && cfg->iterations != replay_iters) {
            return cx_err_set(err, CX_ERR_INVALID, cfg->workload_path, 0, "iterations",
                              "the replay holds %u iteration(s); --iterations %u differs", replay_iters,
                              cfg->iterations);
        }
        r->iters          = replay_iters;
        r->ctx.replay_dir = cfg->workload_path;
    }
    if (cfg->trace_level >= CX_TRACE_LEVEL_LINKS && cfg->link_bin_ps <= 0)
        return cx_err_set(err, CX_ERR_RANGE, NULL, 0, "link-bin", "must be > 0");
    st = cx_workload_check_fit(r->w, cx_topo_num_gpus(r->topo), cx_run_domain_size(r->topo), err);
    if (st == CX_OK) st = cx_run_load_kind(r, err);
    if (st != CX_OK) return st;
    cx_topo_gpu_info(r->topo, cx_topo_gpu_device(r->topo, 0), &a);
    if (!cx_topo_gpus_one_fabric(r->topo, r->w->gpus)) {
        return cx_err_set(err, CX_ERR_INVALID, r->w->file, 0, "gpus",
                          "the job's %llu GPUs span two unconnected fabrics of the topology",
                          (unsigned long long)r->w->gpus);
    }
    r->gt = cx_topo_gpu_type(r->topo, a.gpu_type);
    return CX_OK;
}

/* The trace and the summary JSON, checked before any work (rank 0 looks,
 * every rank gets its verdict): not an input of the run (topology, its
 * catalog, workload, replay directory), not a directory, device or FIFO, a
 * name MPI-IO takes, in an existing directory where a file can be created.
 * Before this, --out naming the topology overwrote it, a device node was
 * replaced by a regular file, and a directory or an unwritable JSON path
 * failed only after the whole run. */
static cx_status_t cx_run_check_outputs(const cx_run_state_t *r, cx_err_t *err)
{
    const cx_run_config_t *cfg = r->cfg;
    const char            *inputs[5];
    char                   partial[4200], wl[4200], rp[4200];
    cx_status_t            st = CX_OK;
    int                    has_out = cfg->out != NULL && cfg->out[0] != '\0';

    if (r->rank == 0) {
        inputs[0] = cfg->topology_path;
        inputs[1] = cx_topo_catalog_path(r->topo);
        inputs[2] = cfg->workload_path;
        inputs[3] = NULL;
        inputs[4] = NULL;
        if (r->ctx.replay_dir != NULL) {
            snprintf(wl, sizeof(wl), "%s/workload.yaml", r->ctx.replay_dir);
            snprintf(rp, sizeof(rp), "%s/replay.yaml", r->ctx.replay_dir);
            inputs[3] = wl;
            inputs[4] = rp;
        }
        if (has_out) {
            st = cx_file_check_output(cfg->out, "out", inputs, 5, CX_FILE_PROBE | CX_FILE_MPIIO, err);
            if (st == CX_OK) {
                snprintf(partial, sizeof(partial), "%s.partial", cfg->out);
                st = cx_file_check_output(partial, "out", inputs, 5, 0, err);
            }
        }
        if (st == CX_OK && cfg->summary_json != NULL) {
            if (has_out && (strcmp(cfg->summary_json, cfg->out) == 0 || cx_file_same(cfg->summary_json, cfg->out))) {
                st = cx_err_set(err, CX_ERR_INVALID, cfg->summary_json, 0, "summary-json",
                                "is the trace file (--out) too");
            } else {
                st = cx_file_check_output(cfg->summary_json, "summary-json", inputs, 5, CX_FILE_PROBE, err);
            }
        }
    }
    return cx_agree(r->comm, st, err);
}

/* Size the run, and the summary's figures known before it runs. */
static cx_status_t cx_run_plan(cx_run_state_t *r, cx_err_t *err)
{
    cx_status_t st = r->w->kind != CX_WL_TRAINING ? cx_kind_estimate(r->w, r->iters, r->cfg, r->gt, &r->est, err)
                                                  : cx_plan_estimate(r->w, r->iters, r->cfg, r->gt->bf16_flops, &r->est, err);
    if (st != CX_OK) return st;
    r->sum->trace_bytes_estimate = r->est.trace_bytes;
    cx_run_summary_describe(r->sum, r->topo, r->w, r->gt, r->iters);
    if (r->w->kind != CX_WL_TRAINING) cx_kind_describe(r->sum, r->w);
    /* Faults: checked against the topology, the job and the plan's length. */
    st = cx_run_faults_load(&r->ctx, r->cfg->faults_path, r->topo, r->w->gpus, r->est.seconds, r->cfg->seed, err);
    if (st != CX_OK) return st;
    r->sum->faults        = r->ctx.faults != NULL ? r->ctx.faults->n : 0;
    r->sum->fault_stop_ps = -1;
    return CX_OK;
}

/* What the whole run adds up to, from the plan, bounded before it starts:
 * simulated time within int64 picoseconds with a margin of 4 for the
 * estimate (2^61 ps = 27 days: 1e6 iterations of a big model overflowed and
 * aborted with "event scheduled in the past"), and the power model's bins
 * (--power-bin 1ps wanted 2e11 bins and ran out of memory, deaf to
 * SIGTERM). */
#define CX_RUN_MAX_SIM_PS     ((double)(INT64_C(1) << 61))
#define CX_RUN_MAX_POWER_BINS 1e7

static cx_status_t cx_run_check_totals(cx_run_state_t *r, cx_err_t *err)
{
    const cx_run_config_t *cfg = r->cfg;
    double                 ps  = r->est.seconds * 1e12;
    if (!(ps <= CX_RUN_MAX_SIM_PS)) {
        return cx_err_set(err, CX_ERR_RANGE, r->w->file, 0, cfg->iterations > 0 ? "iterations" : "model",
                          "the run would simulate about %.3g s (%.0f days) of training, beyond the %.0f days "
                          "colossim's int64 picosecond clock holds with margin: fewer iterations or a "
                          "smaller model", r->est.seconds, r->est.seconds / 86400.0, CX_RUN_MAX_SIM_PS * 1e-12 / 86400.0);
    }
    if (cfg->power_bin_ps > 0 && ps / (double)cfg->power_bin_ps > CX_RUN_MAX_POWER_BINS) {
        return cx_err_set(err, CX_ERR_RANGE, NULL, 0, "power-bin",
                          "%lld ps bins over about %.3g s simulated make %.3g power bins, over %.0e: use "
                          "--power-bin %.0fus or more (or 0 for no power model)", (long long)cfg->power_bin_ps,
                          r->est.seconds, ps / (double)cfg->power_bin_ps, CX_RUN_MAX_POWER_BINS,
                          ceil(ps / CX_RUN_MAX_POWER_BINS / 1e6));
    }
    return CX_OK;
}

/* Refuse a trace over --trace-max-gb; say where the trace goes. */
static cx_status_t cx_run_check_trace_size(cx_run_state_t *r, cx_err_t *err)
{
    const cx_run_config_t *cfg = r->cfg;
    if (cfg->trace_max_gb > 0 && (double)r->est.trace_bytes > cfg->trace_max_gb * 1e9) {
        return cx_err_set(err, CX_ERR_RANGE, NULL, 0, "trace-max-gb",
                          "the trace would take about %.2f GB at level %s, over the limit of %.2f GB "
                          "(lower --trace-level or raise --trace-max-gb)",
                          (double)r->est.trace_bytes / 1e9,
                          cx_run_level_name(cfg->trace_level),
                          cfg->trace_max_gb);
    }
    if (r->rank == 0 && cfg->out != NULL && cfg->out[0] != '\0') {
        fprintf(stderr, "colossim: %s on %s: %llu GPUs, trace %s (about %.1f MB before compression)\n",
                r->w->name, cx_topo_name(r->topo), (unsigned long long)r->w->gpus, cfg->out,
                (double)r->est.trace_bytes / 1e6);
    }
    return CX_OK;
}

/* Engine and fabric (each rank builds what it owns), and the observers'
 * context: this rank's GPUs and their accumulators. */
static cx_status_t cx_run_build(cx_run_state_t *r, cx_err_t *err)
{
    cx_run_ctx_t      *c = &r->ctx;
    cx_engine_config_t tmpl;
    int64_t            la = 0;
    uint64_t           d, lo = UINT64_MAX, hi = 0;
    uint32_t           i;
    cx_status_t        st;

    memset(&tmpl, 0, sizeof(tmpl));
    tmpl.seed                = r->cfg->seed;
    tmpl.progress_seconds    = r->cfg->progress_seconds;
    tmpl.progress_label      = "run";
    /* Events, not ops: a step's events come late (the DP collectives), and
     * the plan counts events to within a few per cent. */
    tmpl.progress_work_total = (int64_t)r->est.events;
    tmpl.window_pending      = cx_run_trace_pending;
    tmpl.window_hook         = cx_run_trace_flush;
    tmpl.window_ctx          = c;
    tmpl.window_threshold    = r->cfg->trace_buffer_bytes > 0 ? r->cfg->trace_buffer_bytes : CX_RUN_FLUSH_BYTES;
    if (cx_run_faults_stop(c) != CX_TIME_MAX) tmpl.end_time = cx_run_faults_stop(c); /* the job stops there */
    /* --ranks on a one-rank run: count each rank count's windows. */
    for (i = 0; i < (uint32_t)r->cfg->n_scale_ranks; i++) {
        st = cx_scale_lookahead(r->topo, r->w->gpus, r->cfg->scale_ranks[i], &r->probe_la[i], err);
        if (st != CX_OK) return st;
    }
    tmpl.probe_lookahead = r->probe_la;
    tmpl.n_probes        = r->cfg->n_scale_ranks;
    st = cx_net_engine_create(&r->eng, r->topo, r->w->gpus, r->comm, &tmpl, &la, err);
    if (st != CX_OK) return st;
    st = cx_net_create(&r->net, r->eng, r->topo, &r->cfg->net, &cx_gpu_entity_type, cx_gpu_on_recv,
                       cx_gpu_on_txdone, err);
    if (st != CX_OK) return st;
    st = cx_run_faults_net(c, r->net, err);
    if (st != CX_OK) return st;

    c->w          = r->w;
    c->iterations = r->iters;
    c->level      = r->cfg->trace_level;
    for (d = 0; d < cx_net_local_count(r->net); d++) {
        cx_gpu_info_t gi;
        uint64_t      dev = cx_net_local_dev_at(r->net, d)->dev;
        if (cx_topo_device_kind(r->topo, dev) != CX_DEV_GPU) continue;
        cx_topo_gpu_info(r->topo, dev, &gi);
        if (gi.gpu_index >= r->w->gpus) continue;
        if (gi.gpu_index < lo) lo = gi.gpu_index;
        if (gi.gpu_index > hi) hi = gi.gpu_index;
    }
    st = cx_run_ctx_alloc(c, lo, hi, err);
    /* GPUs in lo..hi on other ranks (a cyclic partition): nothing to wait
     * for here, as in a scenario. */
    for (d = 0; d < c->gpu_n && st == CX_OK; d++) {
        if (cx_net_local_dev(r->net, cx_topo_gpu_device(r->topo, c->gpu_lo + d)) == NULL) {
            c->acc[d].done_iters = UINT32_MAX;
        }
    }
    return st;
}

cx_status_t cx_run_ctx_alloc(cx_run_ctx_t *c, uint64_t lo, uint64_t hi, cx_err_t *err)
{
    uint32_t i;
    c->gpu_lo         = lo == UINT64_MAX ? 0 : lo;
    c->gpu_n          = lo == UINT64_MAX ? 0 : hi - lo + 1;
    c->acc            = calloc(c->gpu_n > 0 ? c->gpu_n : 1, sizeof(cx_run_acc_t));
    c->iter_begin_min = malloc(c->iterations * sizeof(cx_time_t));
    c->iter_end_max   = malloc(c->iterations * sizeof(cx_time_t));
    if (c->acc == NULL || c->iter_begin_min == NULL || c->iter_end_max == NULL)
        return cx_err_set(err, CX_ERR_NOMEM, NULL, 0, NULL, "out of memory");
    for (i = 0; i < c->iterations; i++) {
        c->iter_begin_min[i] = CX_TIME_MAX;
        c->iter_end_max[i]   = 0;
    }
    return CX_OK;
}

/* The trace file is opened only now that the input is known good.  With no
 * trace the tables stay NULL and the observer drops its rows. */
static cx_status_t cx_run_open_trace(cx_run_state_t *r, cx_err_t *err)
{
    cx_status_t st;
    if (r->cfg->out == NULL || r->cfg->out[0] == '\0') return CX_OK;
    st = cx_trace_open(&r->tr, r->comm, r->cfg->out, err);
    if (st != CX_OK) return st;
    cx_trace_set_progress(r->tr, r->cfg->progress_seconds); /* a slow disk: progress while writing */
    st = cx_run_trace_define(r->tr, r->cfg, r->net, &r->ctx, err);
    if (st == CX_OK) st = cx_run_faults_trace(r->tr, &r->ctx, r->rank, err);
    return st;
}

/* Each local GPU keeps one replay file open per stream: raise the open-file
 * limit, or refuse on every rank if one rank cannot. */
static cx_status_t cx_run_replay_file_limit(const cx_run_state_t *r, cx_err_t *err)
{
    struct rlimit rl;
    uint64_t      need = 64, i;
    int           bad = 0;
    /* This rank's job GPUs (a cyclic partition spreads them over the span). */
    for (i = 0; i < r->ctx.gpu_n; i++) {
        if (r->ctx.acc[i].done_iters != UINT32_MAX) need += CX_NUM_STREAMS;
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < need) {
        rl.rlim_cur = need <= rl.rlim_max ? need : rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        bad = rl.rlim_cur < need;
    }
    if (cx_agree_any(r->comm, bad)) {
        return cx_err_set(err, CX_ERR_RANGE, r->cfg->workload_path, 0, NULL,
                          "replaying needs %llu open files per rank (4 per GPU); raise 'ulimit -n' "
                          "or use more ranks", (unsigned long long)need);
    }
    return CX_OK;
}

/* The power model (src/power) and the GPUs, which start their programs. */
static cx_status_t cx_run_build_gpus(cx_run_state_t *r, cx_err_t *err)
{
    cx_gpu_config_t gcfg;
    cx_status_t     st;

    /* Power hook: binned GPU state -> rack / site power (src/power). */
    if (r->cfg->power_bin_ps > 0) {
        cx_power_config_t pc;
        pc.bin_ps   = r->cfg->power_bin_ps;
        pc.job_gpus = r->w->gpus;
        st = cx_power_create(&r->ctx.power, r->topo, &pc, r->ctx.gpu_lo, r->ctx.gpu_n, err);
        if (st != CX_OK) return st;
    }

    memset(&gcfg, 0, sizeof(gcfg));
    cx_run_src_setup(&gcfg.source, &r->ctx);
    gcfg.compute_time = cx_run_compute_time;
    gcfg.compute_ctx  = &r->ctx;
    gcfg.coll         = r->cfg->coll;
    gcfg.observer     = cx_run_observe;
    gcfg.observer_ctx = &r->ctx;
    gcfg.job_gpus     = r->w->gpus;
    gcfg.slow         = r->ctx.slow;
    gcfg.n_slow       = r->ctx.n_slow;
    if (r->ctx.replay_dir != NULL) {
        st = cx_run_replay_file_limit(r, err);
        if (st != CX_OK) return st;
    }
    st = cx_run_replay_check(&r->ctx, err); /* every op of every local file, before the run */
    if (st == CX_OK && r->w->kind != CX_WL_TRAINING) { /* inference / RL programs (cx_run_kind.c) */
        st = cx_kind_run_create(&r->kind, &r->ctx, 0, err);
        if (st == CX_OK) cx_kind_run_hook(r->kind, &gcfg);
    }
    if (st == CX_OK) st = cx_gpus_create(&r->gpus, r->eng, r->net, &gcfg, err);
    return cx_agree(r->comm, st, err);
}

/* Run to the end or a stop signal; then the port table, and the check that
 * every program finished. */
static cx_status_t cx_run_execute(cx_run_state_t *r, cx_err_t *err)
{
    cx_run_summary_t *sum = r->sum;
    cx_status_t       st  = cx_engine_run(r->eng, err);
    if (st != CX_OK) return st;
    if (r->ctx.flush_err.status != CX_OK) {
        /* The trace is poisoned: cx_trace_close removes the partial file. */
        *err = r->ctx.flush_err;
        return r->ctx.flush_err.status;
    }
    sum->engine   = *cx_engine_stats(r->eng);
    sum->complete = !sum->engine.stopped;
    sum->trace_flushes = r->ctx.flushes;
    if (r->ctx.t_bins != NULL) cx_run_trace_ports(&r->ctx, r->net);

    if (sum->complete) {
        char     why[256];
        uint64_t stuck = cx_gpus_unfinished(r->gpus, why, sizeof(why)), stuck_all;
        MPI_Allreduce(&stuck, &stuck_all, 1, MPI_UINT64_T, MPI_SUM, r->comm);
        if (stuck_all > 0 && cx_run_faults_stop(&r->ctx) != CX_TIME_MAX) {
            /* An injected fault stopped the job (the engine's end time). */
            const cx_fault_t *f = &r->ctx.faults->f[r->ctx.faults->stop_index];
            sum->fault_stop_ps  = f->at;
            snprintf(sum->fault_stop, sizeof(sum->fault_stop), "%s of %s %llu", cx_fault_kind_name(f->kind),
                     f->kind == CX_FAULT_SWITCH_DOWN ? "switch" : f->gpu != UINT64_MAX ? "GPU" : "device",
                     (unsigned long long)(f->gpu != UINT64_MAX ? f->gpu : f->dev));
        } else if (stuck_all > 0) {
            /* A program that cannot finish is a generator/executor bug. */
            char msg[300];
            snprintf(msg, sizeof(msg), "%s", why);
            cx_fatal("%llu GPUs did not finish their programs (deadlock): %s",
                     (unsigned long long)stuck_all, stuck > 0 ? msg : "(on another rank)");
        }
    }
    return CX_OK;
}

/* Reduce the observations into the summary, and the power model's. */
static cx_status_t cx_run_finish(cx_run_state_t *r, cx_err_t *err)
{
    cx_run_summary_t *sum = r->sum;
    cx_status_t       st;
    cx_run_summary_reduce(sum, &r->ctx, r->iters, r->w->gpus, r->gt->bf16_flops, r->comm);
    if (r->kind != NULL) cx_kind_run_reduce(r->kind, sum, r->gt->bf16_flops, r->comm);

    /* Power hook: reduce the power bins, /power tables, power summary. */
    if (r->ctx.power != NULL) {
        st = cx_power_finish(r->ctx.power, r->comm, r->tr, sum->tokens_per_iteration, sum->iterations,
                             &sum->power, err);
        if (st != CX_OK) return st;
        sum->has_power = 1;
    }
    return CX_OK;
}

/* /meta, then close: the trace gets its final name. */
static cx_status_t cx_run_write(cx_run_state_t *r, cx_err_t *err)
{
    cx_status_t st;
    if (r->tr == NULL) return CX_OK;
    st = cx_run_trace_write_meta(r->tr, r->cfg, r->sum, r->rank, err);
    if (st != CX_OK) return st;
    st    = cx_trace_close(r->tr, r->sum->complete, err);
    r->tr = NULL;
    return st;
}

static void cx_run_release(cx_run_state_t *r)
{
    if (r->tr != NULL) cx_trace_abort(r->tr);
    free(r->ctx.acc);
    free(r->ctx.iter_begin_min);
    free(r->ctx.iter_end_max);
    cx_power_destroy(r->ctx.power); /* power hook */
    cx_run_faults_release(&r->ctx);
    if (r->gpus != NULL && r->ctx.replay_dir != NULL) cx_run_src_close_all(r->gpus);
    cx_gpus_destroy(r->gpus);
    cx_kind_run_destroy(r->kind);
    cx_net_destroy(r->net);
    cx_engine_destroy(r->eng);
    cx_workload_destroy(r->w);
    cx_topo_destroy(r->topo);
}

/* ---- the run --------------------------------------------------------------- */

/* --dry-run --ranks: the wall-time model at each rank count.  Every rank
 * computes (so every rank agrees on errors); rank 0 prints. */
static cx_status_t cx_run_scale_model(cx_run_state_t *r, cx_err_t *err)
{
    const cx_run_config_t *cfg = r->cfg;
    double                 mem[CX_RUN_MAX_SCALE_RANKS];
    cx_status_t            st = CX_OK;
    int                    i;
    for (i = 0; i < cfg->n_scale_ranks && st == CX_OK; i++) {
        st = cx_plan_rank_peak(r->topo, r->w, &r->est, cfg->scale_ranks[i], &mem[i], err);
    }
    if (st != CX_OK) return st;
    return cx_scale_print(r->rank == 0 ? stdout : NULL, r->topo, r->w->gpus, r->est.events,
                          r->est.seconds * CX_SCALE_BUSY, cfg->scale_ranks, mem, cfg->n_scale_ranks, &cfg->scale,
                          err);
}

/* --ranks on a one-rank run: the model with this run's events, its cost per
 * event (the model's memory slope kept) and each rank count's windows as
 * counted. */
static cx_status_t cx_run_scale_measured(cx_run_state_t *r, cx_err_t *err)
{
    const cx_run_config_t   *cfg = r->cfg;
    const cx_engine_stats_t *es  = cx_engine_stats(r->eng);
    cx_scale_params_t        p   = cfg->scale;
    double                   mem[CX_RUN_MAX_SCALE_RANKS], win[CX_RUN_MAX_SCALE_RANKS];
    double                   mib = (double)es->peak_rss_max / 1048576.0, ns;
    cx_status_t              st  = CX_OK;
    int                      i;
    if (es->stopped || es->events == 0) return CX_OK;
    for (i = 0; i < cfg->n_scale_ranks && st == CX_OK; i++) {
        st     = cx_plan_rank_peak(r->topo, r->w, &r->est, cfg->scale_ranks[i], &mem[i], err);
        win[i] = (double)es->probe_windows[i];
    }
    if (st != CX_OK) return st;
    ns         = es->wall_seconds * 1e9 / (double)es->events;
    p.event_ns = fmax(1.0, ns - p.event_ns_doubling * fmax(0.0, log2(mib / CX_SCALE_CACHE_MIB)));
    p.windows  = win;
    p.measured = 1;
    return cx_scale_print(r->rank == 0 ? stdout : NULL, r->topo, r->w->gpus, (double)es->events,
                          r->est.seconds * CX_SCALE_BUSY, cfg->scale_ranks, mem, cfg->n_scale_ranks, &p, err);
}

/* The phases of a run after its plan, in order; the first that fails ends it. */
typedef cx_status_t (*cx_run_phase_t)(cx_run_state_t *r, cx_err_t *err);

cx_status_t cx_run(const cx_run_config_t *cfg, MPI_Comm comm, cx_run_summary_t *sum, cx_err_t *err)
{
    static const cx_run_phase_t phases[] = {cx_run_check_totals, cx_run_check_trace_size, cx_run_build,
                                            cx_run_open_trace,   cx_run_build_gpus,       cx_run_execute,
                                            cx_run_finish,       cx_run_write};
    cx_run_state_t r;
    cx_status_t    st;
    size_t         i;

    memset(sum, 0, sizeof(*sum));
    memset(&r, 0, sizeof(r));
    r.cfg  = cfg;
    r.comm = comm;
    r.sum  = sum;
    MPI_Comm_rank(comm, &r.rank);
    if (cfg->scenario_path != NULL && cfg->faults_path != NULL && cfg->faults_path[0] != '\0') {
        return cx_err_set(err, CX_ERR_UNSUPPORTED, cfg->faults_path, 0, "faults",
                          "--faults with --scenario is not supported yet (faults apply to one job)");
    }
    if (cfg->scenario_path != NULL) return cx_run_scenario(cfg, comm, sum, err); /* several jobs */

    st = cx_run_load(&r, err);
    if (st != CX_OK) goto out;
    if (!cfg->dry_run) {
        st = cx_run_check_outputs(&r, err);
        if (st != CX_OK) goto out;
    }
    st = cx_run_plan(&r, err);
    if (st != CX_OK) goto out;
    if (cfg->dry_run) {
        st = cx_plan_print(r.topo, r.w, r.gt, r.iters, cfg->trace_level, &r.est, comm, err);
        if (st == CX_OK && cfg->n_scale_ranks > 0) st = cx_run_scale_model(&r, err);
        goto out;
    }
    for (i = 0; i < sizeof(phases) / sizeof(phases[0]) && st == CX_OK; i++) st = phases[i](&r, err);
    if (st == CX_OK && cfg->n_scale_ranks > 0) st = cx_run_scale_measured(&r, err);
out:
    cx_run_release(&r);
    return st;
}
