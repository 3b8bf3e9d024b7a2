/*
 * colossim run --scenario FILE: several jobs (cx_scenario.h) in one engine
 * on one fabric, so their chunks share ports and switches.  Each job keeps
 * what a single run has -- its workload, its own GPU executor (cx_gpus_t
 * with the job's placement and start time), its observers' context and its
 * summary -- while engine, fabric and trace are shared.  The trace's rows
 * name global GPUs; /scenario/jobs and /scenario/gpus say which job each
 * GPU ran (analysis/SCHEMA.md).
 *
 * Power: one model for the whole span of GPUs the jobs cover (GPUs between
 * them idle), fed by every job's ops by global GPU, so racks and the site
 * sum what actually runs, each job in its own phase; the site figures are
 * extrapolated (and say so) only by site GPUs / that span.
 *
 * Not yet for scenarios: --faults, --dry-run and replay directories.
 */
#define _POSIX_C_SOURCE 200809L
#include "cx_run_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cx_agree.h"
#include "cx_file.h"
#include "cx_run_kind.h"
#include "cx_scenario.h"
#include "cx_schema.h"
#include "cx_traffic.h"

#define CX_NFIELDS(_f) (sizeof(_f) / sizeof((_f)[0]))

typedef struct cx_row_job {
    uint64_t gpus;
    int64_t  start_ps;
    double   tokens_per_iteration, model_flops_per_iteration, model_flops_noncausal_per_iteration;
    double   peak_flops_per_gpu;
    uint32_t job, iterations;
} cx_row_job_t;

typedef struct cx_row_jgpu {
    uint64_t gpu, job_gpu;
    uint32_t job, pad;
} cx_row_jgpu_t;

/* The columns: src/trace/cx_schema.h. */
static const cx_trace_field_t cx_row_job_fields[]  = CX_SCHEMA_FIELDS(JOBS, cx_row_job_t);
static const cx_trace_field_t cx_row_jgpu_fields[] = CX_SCHEMA_FIELDS(JGPUS, cx_row_jgpu_t);

/* As cx_run.c: simulated time within int64 picoseconds with a margin of 4
 * for the plan's estimate. */
#define CX_SCEN_MAX_SIM_PS ((double)(INT64_C(1) << 61))

typedef struct cx_scen_run {
    const cx_run_config_t *cfg;
    MPI_Comm               comm;
    int                    rank;
    cx_topo_t             *topo;
    cx_scenario_t         *sc;
    const cx_gpu_type_t   *gt;
    cx_engine_t           *eng;
    cx_net_t              *net;
    cx_trace_t            *tr;
    cx_run_ctx_t          *ctx;    /* per job */
    cx_gpus_t            **gpus;   /* per job */
    cx_kind_run_t        **kinds;  /* per job: inference / RL programs (cx_run_kind.c), NULL for training */
    cx_trace_table_t      *t_jobs, *t_jgpus;
    double                 events;  /* the plans' events, all jobs (progress) */
    cx_power_t            *power;   /* all jobs' GPUs, NULL with --power-bin 0 */
} cx_scen_run_t;

/* Options a scenario does not take (yet): refused before the file is read. */
static cx_status_t cx_scen_check_options(const cx_run_config_t *cfg, cx_err_t *err)
{
    if (cfg->workload_path != NULL && cfg->workload_path[0] != '\0')
        return cx_err_set(err, CX_ERR_INVALID, NULL, 0, "workload", "a scenario names its jobs' workloads: "
                          "drop --workload");
    if (cfg->iterations > 0)
        return cx_err_set(err, CX_ERR_INVALID, NULL, 0, "iterations", "a scenario sets iterations per job "
                          "(jobs[].iterations): drop --iterations");
    if (cfg->faults_path != NULL)
        return cx_err_set(err, CX_ERR_INVALID, NULL, 0, "faults", "not yet with --scenario");
    if (cfg->dry_run) return cx_err_set(err, CX_ERR_INVALID, NULL, 0, "dry-run", "not yet with --scenario");
    if (cfg->trace_level >= CX_TRACE_LEVEL_LINKS && cfg->link_bin_ps <= 0)
        return cx_err_set(err, CX_ERR_RANGE, NULL, 0, "link-bin", "must be > 0");
    return CX_OK;
}

/* The outputs, before any work (as cx_run.c checks them). */
static cx_status_t cx_scen_check(const cx_scen_run_t *r, cx_err_t *err)
{
    const cx_run_config_t *cfg = r->cfg;
    const char           **inputs;
    char                   partial[4200];
    cx_status_t            st = CX_OK;
    uint32_t               i, n = 0;
    int                    has_out = cfg->out != NULL && cfg->out[0] != '\0';

    if (r->rank == 0) {
        inputs = calloc(3 + r->sc->n, sizeof(*inputs));
        if (inputs == NULL) return cx_err_set(err, CX_ERR_NOMEM, NULL, 0, NULL, "out of memory");
        inputs[n++] = cfg->topology_path;
        inputs[n++] = cx_topo_catalog_path(r->topo);
        inputs[n++] = cfg->scenario_path;
        for (i = 0; i < r->sc->n; i++) inputs[n++] = r->sc->jobs[i].workload_path;
        if (has_out) {
            st = cx_file_check_output(cfg->out, "out", inputs, n, CX_FILE_PROBE | CX_FILE_MPIIO, err);
            if (st == CX_OK) {
                snprintf(partial, sizeof(partial), "%s.partial", cfg->out);
                st = cx_file_check_output(partial, "out", inputs, n, 0, err);
            }
        }
        if (st == CX_OK && cfg->summary_json != NULL) {
            if (has_out && (strcmp(cfg->summary_json, cfg->out) == 0 || cx_file_same(cfg->summary_json, cfg->out)))
                st = cx_err_set(err, CX_ERR_INVALID, cfg->summary_json, 0, "summary-json", "is the trace file (--out) too");
            else
                st = cx_file_check_output(cfg->summary_json, "summary-json", inputs, n, CX_FILE_PROBE, err);
        }
        free(inputs);
    }
    return cx_agree(r->comm, st, err);
}

/* Each job's plan (cx_plan_estimate, as if it ran alone): the run must end
 * within the int64 picosecond clock (1e6 iterations of a big model
 * overflowed it), and the events sum to the progress line's total. */
static cx_status_t cx_scen_plan(cx_scen_run_t *r, cx_err_t *err)
{
    uint32_t j;
    for (j = 0; j < r->sc->n; j++) {
        const cx_scen_job_t *job = &r->sc->jobs[j];
        cx_run_estimate_t    est;
        cx_status_t          st = job->w->kind != CX_WL_TRAINING
                                      ? cx_kind_estimate(job->w, job->iterations, r->cfg, r->gt, &est, err)
                                      : cx_plan_estimate(job->w, job->iterations, r->cfg, r->gt->bf16_flops, &est, err);
        if (st != CX_OK) return st;
        if (!((double)job->start + est.seconds * 1e12 <= CX_SCEN_MAX_SIM_PS)) {
            char field[64];
            snprintf(field, sizeof(field), "scenario.jobs[%u].iterations", j);
            return cx_err_set(err, CX_ERR_RANGE, r->sc->path, job->line, field,
                              "job '%s' would run to about %.3g s of simulated time, beyond the %.0f days "
                              "colossim's int64 picosecond clock holds with margin: fewer iterations",
                              job->name, (double)job->start * 1e-12 + est.seconds,
                              CX_SCEN_MAX_SIM_PS * 1e-12 / 86400.0);
        }
        r->events += est.events;
    }
    return CX_OK;
}

static cx_time_t cx_scen_compute_time(const void *ctx, const cx_gpu_type_t *gpu, const cx_op_t *op)
{
    (void)ctx;  /* each GPU type runs at its own catalog efficiencies */
    return cx_compute_time_ps(gpu, op, NULL);
}

/* Job j's context: its GPUs on this rank, as job indices [gpu_lo, gpu_lo +
 * gpu_n); indices in that range that live elsewhere count as done (so the
 * summary's minimum over finished iterations skips them). */
static cx_status_t cx_scen_ctx(cx_scen_run_t *r, uint32_t j, cx_err_t *err)
{
    const cx_scen_job_t *job = &r->sc->jobs[j];
    cx_run_ctx_t        *c   = &r->ctx[j];
    uint64_t             d, lo = UINT64_MAX, hi = 0, k;

    c->w           = job->w;
    c->iterations  = job->iterations;
    c->level       = r->cfg->trace_level;
    c->place       = job->place;
    c->place_block = job->block;
    for (k = 0; k < job->n_blocks; k++) {
        uint64_t g;
        for (g = 0; g < job->block && k * job->block + g < job->w->gpus; g++) {
            d = cx_topo_gpu_device(r->topo, job->place[k] + g);
            if (cx_net_local_dev(r->net, d) == NULL) continue;
            if (k * job->block + g < lo) lo = k * job->block + g;
            if (k * job->block + g > hi) hi = k * job->block + g;
        }
    }
    CX_TRY(cx_run_ctx_alloc(c, lo, hi, err));
    /* GPUs in lo..hi on other ranks: nothing to wait for here. */
    for (k = 0; k < c->gpu_n; k++) {
        d = cx_topo_gpu_device(r->topo, cx_scen_global(job, c->gpu_lo + k));
        if (cx_net_local_dev(r->net, d) == NULL) c->acc[k].done_iters = UINT32_MAX;
    }
    return CX_OK;
}

static cx_status_t cx_scen_build(cx_scen_run_t *r, cx_err_t *err)
{
    cx_engine_config_t tmpl;
    int64_t            la = 0;
    uint32_t           j;
    cx_status_t        st;

    r->ctx  = calloc(r->sc->n, sizeof(cx_run_ctx_t));
    r->gpus = calloc(r->sc->n, sizeof(cx_gpus_t *));
    r->kinds = calloc(r->sc->n, sizeof(cx_kind_run_t *));
    if (r->ctx == NULL || r->gpus == NULL || r->kinds == NULL) return cx_err_set(err, CX_ERR_NOMEM, NULL, 0, NULL, "out of memory");
    memset(&tmpl, 0, sizeof(tmpl));
    tmpl.seed             = r->cfg->seed;
    tmpl.progress_seconds = r->cfg->progress_seconds;
    tmpl.progress_label   = "run";
    tmpl.progress_work_total = (int64_t)r->events;
    /* Job 0's context holds the trace tables every job appends to. */
    tmpl.window_pending   = cx_run_trace_pending;
    tmpl.window_hook      = cx_run_trace_flush;
    tmpl.window_ctx       = &r->ctx[0];
    tmpl.window_threshold = r->cfg->trace_buffer_bytes > 0 ? r->cfg->trace_buffer_bytes : CX_RUN_FLUSH_BYTES;
    st = cx_net_engine_create(&r->eng, r->topo, r->sc->span_gpus, r->comm, &tmpl, &la, err);
    if (st != CX_OK) return st;
    st = cx_net_create(&r->net, r->eng, r->topo, &r->cfg->net, &cx_gpu_entity_type, cx_gpu_on_recv,
                       cx_gpu_on_txdone, err);
    if (st != CX_OK) return st;
    for (j = 0; j < r->sc->n && st == CX_OK; j++) st = cx_scen_ctx(r, j, err);
    if (st == CX_OK && r->cfg->power_bin_ps > 0) {
        /* This rank's GPUs of the span, by global index: the range from the
         * first to the last (others' GPUs inside it record nothing here). */
        cx_power_config_t pc;
        uint64_t          g, d, lo = UINT64_MAX, hi = 0;
        for (g = 0; g < r->sc->span_gpus; g++) {
            d = cx_topo_gpu_device(r->topo, g);
            if (cx_net_local_dev(r->net, d) == NULL) continue;
            if (g < lo) lo = g;
            hi = g + 1;
        }
        pc.bin_ps   = r->cfg->power_bin_ps;
        pc.job_gpus = r->sc->span_gpus;
        st = cx_power_create(&r->power, r->topo, &pc, lo == UINT64_MAX ? 0 : lo, lo == UINT64_MAX ? 0 : hi - lo, err);
        for (j = 0; j < r->sc->n && st == CX_OK; j++) r->ctx[j].power = r->power;
    }
    return st;
}

static cx_status_t cx_scen_open_trace(cx_scen_run_t *r, cx_err_t *err)
{
    cx_status_t st;
    uint32_t    j;
    if (r->cfg->out == NULL || r->cfg->out[0] == '\0') return CX_OK;
    st = cx_trace_open(&r->tr, r->comm, r->cfg->out, err);
    if (st == CX_OK) st = cx_run_trace_define(r->tr, r->cfg, r->net, &r->ctx[0], err);
    if (st == CX_OK)
        st = cx_trace_table_define(r->tr, CX_SCHEMA_T_JOBS, cx_row_job_fields, CX_NFIELDS(cx_row_job_fields),
                                   sizeof(cx_row_job_t), CX_SCHEMA_W_JOBS, &r->t_jobs, err);
    if (st == CX_OK)
        st = cx_trace_table_define(r->tr, CX_SCHEMA_T_JGPUS, cx_row_jgpu_fields, CX_NFIELDS(cx_row_jgpu_fields),
                                   sizeof(cx_row_jgpu_t), CX_SCHEMA_W_JGPUS, &r->t_jgpus, err);
    for (j = 1; j < r->sc->n; j++) {
        r->ctx[j].t_ops  = r->ctx[0].t_ops;
        r->ctx[j].t_iter = r->ctx[0].t_iter;
        r->ctx[j].t_coll = r->ctx[0].t_coll;
        r->ctx[j].t_bins = r->ctx[0].t_bins;
        r->ctx[j].t_ports = r->ctx[0].t_ports;
        r->ctx[j].t_hops = r->ctx[0].t_hops;
        r->ctx[j].bin_ps = r->ctx[0].bin_ps;
    }
    return st;
}

static cx_status_t cx_scen_build_gpus(cx_scen_run_t *r, cx_err_t *err)
{
    uint32_t    j;
    cx_status_t st = CX_OK;
    for (j = 0; j < r->sc->n && st == CX_OK; j++) {
        const cx_scen_job_t *job = &r->sc->jobs[j];
        cx_gpu_config_t      gcfg;
        memset(&gcfg, 0, sizeof(gcfg));
        cx_run_src_setup(&gcfg.source, &r->ctx[j]);
        gcfg.compute_time = cx_scen_compute_time;
        gcfg.compute_ctx  = &r->ctx[j];
        gcfg.coll         = r->cfg->coll;
        gcfg.observer     = cx_run_observe;
        gcfg.observer_ctx = &r->ctx[j];
        gcfg.job_gpus     = job->w->gpus;
        gcfg.place        = job->place;
        gcfg.place_block  = job->block;
        gcfg.start        = job->start;
        if (job->w->kind != CX_WL_TRAINING) {
            st = cx_kind_run_create(&r->kinds[j], &r->ctx[j], job->start, err);
            if (st != CX_OK) break;
            cx_kind_run_hook(r->kinds[j], &gcfg);
        }
        st = cx_gpus_create(&r->gpus[j], r->eng, r->net, &gcfg, err);
    }
    return cx_agree(r->comm, st, err);
}

/* Rank 0: the /scenario rows. */
static void cx_scen_trace_rows(cx_scen_run_t *r, const cx_run_summary_t *jobs)
{
    uint32_t j;
    uint64_t g;
    if (r->tr == NULL || r->rank != 0) return;
    for (j = 0; j < r->sc->n; j++) {
        const cx_scen_job_t *job = &r->sc->jobs[j];
        cx_row_job_t         row;
        memset(&row, 0, sizeof(row));
        row.job                                 = j;
        row.gpus                                = job->w->gpus;
        row.iterations                          = job->iterations;
        row.start_ps                            = job->start;
        row.tokens_per_iteration                = jobs[j].tokens_per_iteration;
        row.model_flops_per_iteration           = jobs[j].model_flops_per_iteration;
        row.model_flops_noncausal_per_iteration = jobs[j].model_flops_noncausal_per_iteration;
        row.peak_flops_per_gpu                  = jobs[j].peak_flops_per_gpu;
        cx_trace_table_append(r->t_jobs, &row, 1);
        for (g = 0; g < job->w->gpus; g++) {
            cx_row_jgpu_t gr;
            memset(&gr, 0, sizeof(gr));
            gr.gpu     = cx_scen_global(job, g);
            gr.job     = j;
            gr.job_gpu = g;
            cx_trace_table_append(r->t_jgpus, &gr, 1);
        }
    }
}

/* The total: GPUs, tokens/s and model FLOP/s summed over the jobs; MFU of
 * them all; the span from the first start to the last iteration's end. */
static void cx_scen_total(cx_run_summary_t *sum, const cx_run_summary_t *jobs, uint32_t n, const cx_scenario_t *sc,
                          const cx_topo_t *topo)
{
    double   flops_s = 0, peak = 0;
    uint32_t j;
    snprintf(sum->workload, sizeof(sum->workload), "%s", sc->name);
    snprintf(sum->topology, sizeof(sum->topology), "%s", cx_topo_name(topo));
    snprintf(sum->gpu_type, sizeof(sum->gpu_type), "%s", n > 0 ? jobs[0].gpu_type : "");
    sum->complete = 1;
    for (j = 0; j < n; j++) {
        sum->gpus += jobs[j].gpus;
        sum->tokens_per_second += jobs[j].tokens_per_second;
        sum->ops += jobs[j].ops;
        if (jobs[j].iteration_seconds > 0) flops_s += jobs[j].model_flops_per_iteration / jobs[j].iteration_seconds;
        peak += (double)jobs[j].gpus * jobs[j].peak_flops_per_gpu;
        if (!jobs[j].complete) sum->complete = 0;
    }
    sum->peak_flops_per_gpu = sum->gpus > 0 ? peak / (double)sum->gpus : 0;
    sum->tflops_per_gpu     = sum->gpus > 0 ? flops_s / (double)sum->gpus * 1e-12 : 0;
    sum->mfu                = peak > 0 ? flops_s / peak : 0;
}

void cx_run_scenario_print(const cx_run_summary_t *s, FILE *out)
{
    uint32_t j;
    fprintf(out, "scenario: %s on %s, %u job(s), %llu x %s%s\n", s->workload, s->topology, s->n_jobs,
            (unsigned long long)s->gpus, s->gpu_type, s->complete ? "" : "  ** INCOMPLETE: stopped early **");
    fprintf(out, "  %-3s %-16s %6s %9s %4s %12s %10s %8s %6s %22s\n", "job", "name", "GPUs", "start s", "it",
            "iteration s", "tokens/s", "TFLOPs", "MFU", "compute/exposed/bubble");
    for (j = 0; j < s->n_jobs; j++) {
        const cx_run_summary_t *q = &s->jobs[j];
        if (q->iterations == 0) { /* stopped early: no zeros posing as results */
            fprintf(out, "  %-3u %-16.16s %6llu %9.4f %4u  stopped before iteration 1 finished\n", j, q->workload,
                    (unsigned long long)q->gpus, q->start_seconds, 0u);
            continue;
        }
        fprintf(out, "  %-3u %-16.16s %6llu %9.4f %4u %12.4f %10.4g %8.1f %5.1f%% %6.1f/%5.1f/%5.1f%%\n", j,
                q->workload, (unsigned long long)q->gpus, q->start_seconds,
                q->iterations, q->iteration_seconds, q->tokens_per_second, q->tflops_per_gpu, 100.0 * q->mfu,
                100.0 * q->compute_share, 100.0 * q->exposed_comm_share, 100.0 * q->bubble_share);
        cx_kind_print(q, out); /* an inference / RL job's own figures */
    }
    fprintf(out, "  all %-16s %6llu %9s %4s %12s %10.4g %8.1f %5.1f%%\n", "", (unsigned long long)s->gpus, "", "",
            "", s->tokens_per_second, s->tflops_per_gpu, 100.0 * s->mfu);
    if (s->has_power) cx_power_summary_print(&s->power, out);
    cx_engine_stats_print(&s->engine, out);
}

cx_status_t cx_run_scenario(const cx_run_config_t *cfg, MPI_Comm comm, cx_run_summary_t *sum, cx_err_t *err)
{
    cx_scen_run_t     r;
    cx_run_summary_t *jobs = NULL;
    cx_status_t       st;
    uint32_t          j;

    memset(&r, 0, sizeof(r));
    r.cfg  = cfg;
    r.comm = comm;
    MPI_Comm_rank(comm, &r.rank);
    st = cx_scen_check_options(cfg, err);
    if (st == CX_OK) st = cx_run_load_topo(cfg->topology_path, &r.topo, err);
    if (st == CX_OK) st = cx_scenario_load(&r.sc, cfg->scenario_path, r.topo, err);
    if (st == CX_OK) st = cx_scen_check(&r, err);
    if (st == CX_OK) {
        cx_gpu_info_t a;
        cx_topo_gpu_info(r.topo, cx_topo_gpu_device(r.topo, 0), &a);
        r.gt = cx_topo_gpu_type(r.topo, a.gpu_type);
        st   = cx_scen_plan(&r, err);
    }
    if (st == CX_OK) {
        jobs = calloc(r.sc->n, sizeof(*jobs));
        if (jobs == NULL) st = cx_err_set(err, CX_ERR_NOMEM, NULL, 0, NULL, "out of memory");
    }
    if (st == CX_OK) st = cx_scen_build(&r, err);
    if (st == CX_OK) {
        for (j = 0; j < r.sc->n; j++) {
            cx_run_summary_describe(&jobs[j], r.topo, r.sc->jobs[j].w, r.gt, r.sc->jobs[j].iterations);
            if (r.sc->jobs[j].w->kind != CX_WL_TRAINING) cx_kind_describe(&jobs[j], r.sc->jobs[j].w);
            snprintf(jobs[j].workload, sizeof(jobs[j].workload), "%s", r.sc->jobs[j].name);
        }
        if (r.rank == 0 && cfg->out != NULL && cfg->out[0] != '\0')
            fprintf(stderr, "colossim: scenario %s on %s: %u jobs, %llu GPUs, trace %s\n", r.sc->name,
                    cx_topo_name(r.topo), r.sc->n, (unsigned long long)r.sc->gpus, cfg->out);
        st = cx_scen_open_trace(&r, err);
    }
    if (st == CX_OK) st = cx_scen_build_gpus(&r, err);
    if (st == CX_OK) st = cx_engine_run(r.eng, err);
    if (st == CX_OK && r.ctx[0].flush_err.status != CX_OK) {
        *err = r.ctx[0].flush_err;
        st   = err->status;
    }
    if (st == CX_OK) {
        const cx_engine_stats_t *es = cx_engine_stats(r.eng);
        uint64_t                 stuck = 0, stuck_all = 0;
        char                     why[256];
        for (j = 0; j < r.sc->n; j++) stuck += cx_gpus_unfinished(r.gpus[j], why, sizeof(why));
        MPI_Allreduce(&stuck, &stuck_all, 1, MPI_UINT64_T, MPI_SUM, comm);
        if (!es->stopped && stuck_all > 0)
            cx_fatal("%llu GPUs did not finish their programs (deadlock)", (unsigned long long)stuck_all);
        if (r.ctx[0].t_bins != NULL) cx_run_trace_ports(&r.ctx[0], r.net);
        sum->n_jobs = r.sc->n;
        for (j = 0; j < r.sc->n; j++) {
            jobs[j].complete = !es->stopped;
            cx_run_summary_reduce(&jobs[j], &r.ctx[j], r.sc->jobs[j].iterations, r.sc->jobs[j].w->gpus,
                                  r.gt->bf16_flops, comm);
            if (r.kinds[j] != NULL) cx_kind_run_reduce(r.kinds[j], &jobs[j], r.gt->bf16_flops, comm);
            jobs[j].engine           = *es;
            jobs[j].start_seconds    = (double)r.sc->jobs[j].start * 1e-12;
        }
        cx_scen_total(sum, jobs, r.sc->n, r.sc, r.topo);
        sum->engine               = *es;
        sum->iterations           = 0;
        sum->trace_flushes        = r.ctx[0].flushes;
        sum->jobs                 = jobs;
        jobs                      = NULL;
        cx_scen_trace_rows(&r, sum->jobs);
    }
    if (st == CX_OK && r.power != NULL) {
        /* Every job's GPU states per rack and site; J/token over all jobs' tokens. */
        double   tokens = 0;
        uint32_t iters  = 0;
        for (j = 0; j < r.sc->n; j++) {
            tokens += sum->jobs[j].tokens_per_iteration;
            if (r.sc->jobs[j].iterations > iters) iters = r.sc->jobs[j].iterations;
        }
        st = cx_power_finish(r.power, comm, r.tr, tokens, iters, &sum->power, err);
        if (st == CX_OK) sum->has_power = 1;
    }
    if (st == CX_OK && r.tr != NULL) {
        cx_run_config_t mc = *cfg;
        mc.workload_path   = cfg->scenario_path; /* /meta/workload_yaml holds the scenario */
        st = cx_run_trace_write_meta(r.tr, &mc, sum, r.rank, err);
        if (st == CX_OK) st = cx_trace_meta_set_int64(r.tr, "jobs", (int64_t)r.sc->n, err);
        /* Each job's workload file as given (rank 0 reads; every rank makes the call). */
        for (j = 0; st == CX_OK && j < r.sc->n; j++) {
            char  name[64];
            char *text = r.rank == 0 ? cx_run_slurp(r.sc->jobs[j].workload_path) : NULL;
            snprintf(name, sizeof(name), "job%u_workload_yaml", j);
            st = cx_trace_meta_set_text(r.tr, name, text != NULL ? text : "", "application/yaml", err);
            free(text);
        }
        if (st == CX_OK) st = cx_trace_close(r.tr, sum->complete, err);
        r.tr = NULL;
    }
    if (r.tr != NULL) cx_trace_abort(r.tr);
    if (st != CX_OK && sum->jobs != NULL) {
        free(sum->jobs);
        sum->jobs   = NULL;
        sum->n_jobs = 0;
    }
    free(jobs);
    if (r.gpus != NULL)
        for (j = 0; j < r.sc->n; j++) cx_gpus_destroy(r.gpus[j]);
    if (r.kinds != NULL)
        for (j = 0; j < r.sc->n; j++) cx_kind_run_destroy(r.kinds[j]);
    free(r.kinds);
    if (r.ctx != NULL)
        for (j = 0; j < r.sc->n; j++) {
            free(r.ctx[j].acc);
            free(r.ctx[j].iter_begin_min);
            free(r.ctx[j].iter_end_max);
        }
    free(r.ctx);
    free(r.gpus);
    cx_power_destroy(r.power);
    cx_net_destroy(r.net);
    cx_engine_destroy(r.eng);
    cx_scenario_destroy(r.sc);
    cx_topo_destroy(r.topo);
    return st;
}
