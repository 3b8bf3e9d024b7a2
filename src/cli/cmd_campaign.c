/*
 * colossim campaign: weeks of training in seconds.  Takes the iteration
 * time from a detailed run (its --summary-json, or given), the checkpoint
 * size from the model (or given), the job's component counts from a
 * topology, and runs the Monte-Carlo of src/workload/cx_campaign.h over
 * seeds: goodput, effective training time ratio (ETTR), interruptions per
 * day, lost GPU-hours, and a checkpoint-interval sweep beside the
 * Young / Daly optimum.  Runs on rank 0 only (it needs no fabric).
 */
#define _POSIX_C_SOURCE 200809L
#include <json-c/json.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cx_campaign.h"
#include "cx_cmd.h"
#include "cx_run_internal.h"
#include "cx_util.h"

typedef struct cx_cp_opts {
    const char *summary, *slow_summary, *ckpt_summary, *topology, *workload;
    double      iteration_s;
    uint64_t    gpus;
    uint64_t    ckpt_bytes;
    double      bytes_per_param;
    double      write_gbs, read_gbs, host_copy_gbs;
    int         mode;
    int64_t     ckpt_time, interval, detect, restart, reload;
    double      planned_per_day, days;
    uint64_t    seeds, seed;
    const char *rate[CX_FC_N];
    double      hbm_stacks;
    const char *sweep;
    const char *timeline;
    int         format;
    int         help;
} cx_cp_opts_t;

#define CX_CP_RATE_OPT(_k, _name, _what)                                                                     \
    {"rate-" _name, CX_OPT_STRING, offsetof(cx_cp_opts_t, rate) + (_k) * sizeof(const char *), NULL, 0, 0, \
     NULL, "PER_H", "interruptions per " _what " per hour (default: Llama 3 Table 5, see --help)"}

static const cx_opt_t cx_cp_table[] = {
    {"summary", CX_OPT_STRING, offsetof(cx_cp_opts_t, summary), NULL, 0, 0, NULL, "FILE",
     "summary JSON of a detailed run (colossim run --summary-json): iteration time, GPUs, tokens"},
    {"slow-summary", CX_OPT_STRING, offsetof(cx_cp_opts_t, slow_summary), NULL, 0, 0, NULL, "FILE",
     "summary JSON of the same job with slowdowns (run --faults): the campaign trains at its iteration "
     "time; goodput is counted against --summary's"},
    {"checkpoint-summary", CX_OPT_STRING, offsetof(cx_cp_opts_t, ckpt_summary), NULL, 0, 0, NULL, "FILE",
     "summary JSON of the same job checkpointing every iteration (workload checkpoint: every: 1): "
     "the checkpoint's stall = its iteration time - --summary's"},
    {"iteration-seconds", CX_OPT_DOUBLE, offsetof(cx_cp_opts_t, iteration_s), "0", 0, 1e9, NULL, "S",
     "time per iteration (0 = from --summary)"},
    {"gpus", CX_OPT_UINT, offsetof(cx_cp_opts_t, gpus), "0", 0, 1e9, NULL, "N",
     "GPUs of the job, 0..N-1 of the topology (0 = from --summary or --workload)"},
    {"topology", CX_OPT_STRING, offsetof(cx_cp_opts_t, topology), NULL, 0, 0, NULL, "FILE",
     "topology YAML the component counts come from (default: embedded colossus1-mini)"},
    {"workload", CX_OPT_STRING, offsetof(cx_cp_opts_t, workload), NULL, 0, 0, NULL, "FILE",
     "workload YAML: checkpoint size from its parameters, GPUs and tokens per iteration"},
    {"checkpoint-bytes", CX_OPT_BYTES, offsetof(cx_cp_opts_t, ckpt_bytes), "0", 0, 1e18, NULL, "B",
     "bytes of one checkpoint, all GPUs (0 = parameters x --bytes-per-param)"},
    {"bytes-per-param", CX_OPT_DOUBLE, offsetof(cx_cp_opts_t, bytes_per_param), "14", 0.1, 1000, NULL, "B",
     "checkpoint bytes per parameter: bf16 weights 2 + fp32 master weights 4 + Adam moments 8"},
    {"storage-write-gbs", CX_OPT_DOUBLE, offsetof(cx_cp_opts_t, write_gbs), "2000", 1e-6, 1e9, NULL, "GB/S",
     "aggregate storage write bandwidth (Llama 3 section 3.3.1: Tectonic sustains 2 TB/s)"},
    {"storage-read-gbs", CX_OPT_DOUBLE, offsetof(cx_cp_opts_t, read_gbs), "2000", 1e-6, 1e9, NULL, "GB/S",
     "aggregate storage read bandwidth (reload after a restart)"},
    {"host-copy-gbs", CX_OPT_DOUBLE, offsetof(cx_cp_opts_t, host_copy_gbs), "25", 1e-6, 1e9, NULL, "GB/S",
     "async: device-to-host copy per GPU, the snapshot's stall (PCIe Gen5 x16, ~half of 64 GB/s) [U]"},
    {"checkpoint", CX_OPT_ENUM, offsetof(cx_cp_opts_t, mode), "sync", 0, 0, CX_CKPT_MODE_CHOICES, NULL,
     "sync: training stops while the checkpoint is written; async: it stops for a snapshot to host "
     "memory, which then drains to storage (durable only once drained)"},
    {"checkpoint-time", CX_OPT_TIME, offsetof(cx_cp_opts_t, ckpt_time), "0", 0, 9e18, NULL, "T",
     "stall of one checkpoint (0 = from its bytes: sync bytes / write bandwidth, async the snapshot)"},
    {"interval", CX_OPT_TIME, offsetof(cx_cp_opts_t, interval), "0", 0, 9e18, NULL, "T",
     "training time between checkpoints (0 = Daly's optimum)"},
    {"detect", CX_OPT_TIME, offsetof(cx_cp_opts_t, detect), "120s", 0, 9e18, NULL, "T",
     "from a failure until the job is known to have stopped (health checks, NCCL timeout) [U]"},
    {"restart", CX_OPT_TIME, offsetof(cx_cp_opts_t, restart), "600s", 0, 9e18, NULL, "T",
     "from detection until the job runs again on healthy nodes: reschedule, start processes, "
     "initialise NCCL [U]"},
    {"reload", CX_OPT_TIME, offsetof(cx_cp_opts_t, reload), "0", 0, 9e18, NULL, "T",
     "reading the last checkpoint back (0 = its bytes / read bandwidth)"},
    {"planned-per-day", CX_OPT_DOUBLE, offsetof(cx_cp_opts_t, planned_per_day), "0.87", 0, 1e6, NULL, "N",
     "planned interruptions per day: checkpoint, stop, restart, reload, no work lost (Llama 3: 47 in "
     "54 days)"},
    {"days", CX_OPT_DOUBLE, offsetof(cx_cp_opts_t, days), "54", 1e-3, 3650, NULL, "D", "campaign length"},
    {"seeds", CX_OPT_UINT, offsetof(cx_cp_opts_t, seeds), "1000", 1, 1e6, NULL, "N",
     "campaigns simulated (mean and spread over them)"},
    CX_CLI_OPT_SEED(cx_cp_opts_t, "random seed"),
    CX_CP_RATE_OPT(CX_FC_GPU, "gpu", "GPU"),
    CX_CP_RATE_OPT(CX_FC_HBM, "hbm", "HBM stack"),
    CX_CP_RATE_OPT(CX_FC_SOFTWARE, "software", "GPU process"),
    CX_CP_RATE_OPT(CX_FC_NIC, "nic", "NIC port"),
    CX_CP_RATE_OPT(CX_FC_HOST, "host", "server"),
    CX_CP_RATE_OPT(CX_FC_SWITCH, "switch", "switch"),
    CX_CP_RATE_OPT(CX_FC_LINK, "link", "scale-out link"),
    {"hbm-stacks", CX_OPT_DOUBLE, offsetof(cx_cp_opts_t, hbm_stacks), "0", 0, 64, NULL, "N",
     "HBM stacks per GPU (0 = from the GPU type: H100 5, H200 6, B200/GB200/GB300 8)"},
    {"sweep", CX_OPT_STRING, offsetof(cx_cp_opts_t, sweep), NULL, 0, 0, NULL, "LIST",
     "checkpoint intervals to compare, e.g. 1m,5m,30m,2h (default: 1/8 .. 8 x the optimum; \"none\")"},
    {"timeline", CX_OPT_STRING, offsetof(cx_cp_opts_t, timeline), NULL, 0, 0, NULL, "FILE",
     "write the first seed's campaign as CSV (t_hours, event, cause, kept_hours, done_hours): checkpoints, "
     "failures, restarts, planned stops; analysis/campaign_timeline.py draws it"},
    CX_CLI_OPT_FORMAT(cx_cp_opts_t, "text|json", "output format"),
    CX_CLI_OPT_HELP(cx_cp_opts_t),
};
#define CX_CP_NOPTS CX_NOPTS(cx_cp_table)
#define CX_CP_MAX_SWEEP 32

/* What a detailed run's summary JSON tells the campaign. */
typedef struct cx_cp_run {
    double   iteration_s, tokens;
    uint64_t gpus;
    char     workload[64], topology[64];
} cx_cp_run_t;

static cx_status_t cx_cp_read_summary(const char *path, const char *opt, cx_cp_run_t *r, cx_err_t *err)
{
    json_object *j = json_object_from_file(path), *v;
    memset(r, 0, sizeof(*r));
    if (j == NULL) return cx_err_set(err, CX_ERR_IO, path, 0, opt, "cannot read this file as JSON");
    if (!json_object_object_get_ex(j, "iteration_seconds", &v) || json_object_get_double(v) <= 0) {
        json_object_put(j);
        return cx_err_set(err, CX_ERR_INVALID, path, 0, "iteration_seconds",
                          "missing or not > 0 (a summary of colossim run --summary-json?)");
    }
    r->iteration_s = json_object_get_double(v);
    if (json_object_object_get_ex(j, "gpus", &v)) r->gpus = (uint64_t)json_object_get_int64(v);
    if (json_object_object_get_ex(j, "tokens_per_iteration", &v)) r->tokens = json_object_get_double(v);
    if (json_object_object_get_ex(j, "workload", &v))
        snprintf(r->workload, sizeof(r->workload), "%s", json_object_get_string(v));
    if (json_object_object_get_ex(j, "topology", &v))
        snprintf(r->topology, sizeof(r->topology), "%s", json_object_get_string(v));
    json_object_put(j);
    return CX_OK;
}

/* "30s,5m,2h" -> seconds. */
static cx_status_t cx_cp_parse_sweep(const char *text, double *out, int *n_p, cx_err_t *err)
{
    const char *p = text;
    int         n = 0;
    while (*p != '\0') {
        char  *end;
        double v = strtod(p, &end), mul = 1.0;
        if (end == p || !(v > 0) || !isfinite(v)) goto bad;
        if (*end == 's') end++;
        else if (*end == 'm') { mul = 60.0; end++; }
        else if (*end == 'h') { mul = 3600.0; end++; }
        if (*end != ',' && *end != '\0') goto bad;
        if (n == CX_CP_MAX_SWEEP)
            return cx_err_set(err, CX_ERR_RANGE, NULL, 0, "sweep", "at most %d intervals", CX_CP_MAX_SWEEP);
        out[n++] = v * mul;
        p        = *end == ',' ? end + 1 : end;
    }
    *n_p = n;
    return CX_OK;
bad:
    return cx_err_set(err, CX_ERR_INVALID, NULL, 0, "sweep",
                      "'%s' is not a comma-separated list of times > 0 (30s, 5m, 2h)", text);
}

static void cx_cp_stat_json(json_object *j, const char *key, const cx_stat_t *s)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "mean", json_object_new_double(s->mean));
    json_object_object_add(o, "sd", json_object_new_double(s->sd));
    json_object_object_add(o, "p5", json_object_new_double(s->p5));
    json_object_object_add(o, "p50", json_object_new_double(s->p50));
    json_object_object_add(o, "p95", json_object_new_double(s->p95));
    json_object_object_add(j, key, o);
}

static void cx_cp_print_time(char *buf, size_t len, double s)
{
    if (s < 10) snprintf(buf, len, "%.3g s", s);
    else if (s < 120) snprintf(buf, len, "%.1f s", s);
    else if (s < 7200) snprintf(buf, len, "%.1f min", s / 60.0);
    else snprintf(buf, len, "%.2f h", s / 3600.0);
}

static void cx_cp_stat_line(const char *name, const cx_stat_t *s, double scale, const char *unit)
{
    printf("  %-26s %10.4g %10.3g %10.4g %10.4g %10.4g  %s\n", name, s->mean * scale, s->sd * scale,
           s->p5 * scale, s->p50 * scale, s->p95 * scale, unit);
}

static void cx_cp_on_event(void *ctx, double t, int ev, int cls, double kept_s, double done_s)
{
    static const char *const names[] = {"checkpoint", "failure", "up", "planned", "end"};
    fprintf((FILE *)ctx, "%.6f,%s,%s,%.6f,%.6f\n", t / 3600.0, names[ev], ev == CX_CAMPAIGN_EV_FAIL ? cx_fclass_name(cls) : "",
            kept_s / 3600.0, done_s / 3600.0);
}

/* The first seed's events as CSV, written as FILE.partial then renamed. */
static cx_status_t cx_cp_timeline(const char *path, const cx_campaign_params_t *p, const cx_campaign_counts_t *c,
                                  cx_err_t *err)
{
    cx_campaign_params_t q = *p;
    cx_campaign_seed_t   o;
    char                 tmp[4096];
    FILE                *f;
    int                  ok;
    if (p->days * 86400.0 / p->interval_s > 1e7)
        return cx_err_set(err, CX_ERR_RANGE, path, 0, "timeline",
                          "%.3g checkpoints in %g days: over 1e7 lines; lengthen --interval", p->days * 86400.0 / p->interval_s,
                          p->days);
    snprintf(tmp, sizeof(tmp), "%s.partial", path);
    f = fopen(tmp, "w");
    if (f == NULL) return cx_err_set(err, CX_ERR_IO, path, 0, "timeline", "cannot write this file");
    fprintf(f, "t_hours,event,cause,kept_hours,done_hours\n");
    q.on_event  = cx_cp_on_event;
    q.event_ctx = f;
    cx_campaign_one(&q, c, 0, &o);
    ok = !ferror(f);
    ok = (fclose(f) == 0) && ok;
    if (!ok || rename(tmp, path) != 0) {
        remove(tmp);
        return cx_err_set(err, CX_ERR_IO, path, 0, "timeline", "cannot write this file");
    }
    return CX_OK;
}

/* One campaign: the options, the inputs read, the model and its results. */
typedef struct cx_cp {
    cx_cp_opts_t         o;
    cx_cp_run_t          run, slow, ck;
    cx_topo_t           *topo;
    cx_workload_t       *w;
    cx_campaign_counts_t cnt;
    cx_campaign_params_t p;
    cx_campaign_result_t res;
    const cx_gpu_type_t *gt;
    double               params, ckpt_bytes, young, daly, wall_s;
    double               sweep[CX_CP_MAX_SWEEP], sweep_ettr[CX_CP_MAX_SWEEP], sweep_good[CX_CP_MAX_SWEEP],
                         sweep_lost[CX_CP_MAX_SWEEP];
    int                  n_sweep, best;
} cx_cp_t;

static void cx_cp_help(void)
{
    double rates[CX_FC_N], ref_ev[CX_FC_N], ref_n[CX_FC_N];
    int    k;
    printf("usage: colossim campaign [--summary RUN.json | --iteration-seconds S] [--topology FILE]\n"
           "                         [--workload FILE] [options]\n\n"
           "Monte-Carlo of a training campaign of days: the job trains at a per-iteration time from\n"
           "a detailed run, checkpoints every --interval, and is interrupted by failures drawn from\n"
           "per-component rates x the job's component counts in the topology, plus planned stops.\n"
           "Each failure costs the work since the last durable checkpoint, then detection, restart\n"
           "and reload.  Prints mean and spread over seeds of goodput, ETTR (training time kept /\n"
           "wall time), interruptions per day and lost GPU-hours, and a checkpoint-interval sweep\n"
           "beside the Young / Daly optimum.\n\n"
           "Default rates per component per hour: Llama 3 405B's Table 5 (419 unexpected\n"
           "interruptions in 54 days on 16,384 H100), each cause divided by the count of its\n"
           "component in that job:\n");
    cx_campaign_rates_default(rates);
    cx_campaign_ref(ref_ev, ref_n);
    for (k = 0; k < CX_FC_N; k++) {
        printf("  %-9s %9.3e /h = %5.1f / (%6.0f x 1296 h)   %s\n", cx_fclass_name(k), rates[k], ref_ev[k], ref_n[k],
               cx_fclass_causes(k));
    }
    printf("\n");
    cx_opt_help(stdout, cx_cp_table, CX_CP_NOPTS);
}

/* Inputs: the detailed runs, the workload, the topology; iteration time, GPUs, component counts. */
static cx_status_t cx_cp_inputs(cx_cp_t *C, cx_err_t *err)
{
    const cx_cp_opts_t *o = &C->o;
    cx_gpu_info_t       g0;
    uint32_t            wl_iters = 0;
    if (o->summary != NULL) CX_TRY(cx_cp_read_summary(o->summary, "summary", &C->run, err));
    if (o->slow_summary != NULL) CX_TRY(cx_cp_read_summary(o->slow_summary, "slow-summary", &C->slow, err));
    if (o->ckpt_summary != NULL) CX_TRY(cx_cp_read_summary(o->ckpt_summary, "checkpoint-summary", &C->ck, err));
    if (o->workload != NULL) {
        CX_TRY(cx_run_load_workload(o->workload, &C->w, &wl_iters, err));
        cx_workload_params(C->w, &C->params, NULL);
    }
    CX_TRY(cx_run_load_topo(o->topology, &C->topo, err));
    memset(&C->p, 0, sizeof(C->p));
    C->p.healthy_iteration_s = o->iteration_s > 0 ? o->iteration_s : C->run.iteration_s;
    C->p.iteration_s         = C->slow.iteration_s > 0 ? C->slow.iteration_s : C->p.healthy_iteration_s;
    if (!(C->p.iteration_s > 0))
        return cx_err_set(err, CX_ERR_INVALID, NULL, 0, "iteration-seconds",
                          "give the iteration time: --summary RUN.json (colossim run --summary-json) or "
                          "--iteration-seconds");
    C->cnt.gpus = o->gpus > 0 ? o->gpus : C->run.gpus > 0 ? C->run.gpus : C->w != NULL ? C->w->gpus : 0;
    if (C->cnt.gpus == 0)
        return cx_err_set(err, CX_ERR_INVALID, NULL, 0, "gpus", "give the job's size: --gpus, --summary or --workload");
    if (C->w != NULL && C->w->gpus != C->cnt.gpus)
        return cx_err_set(err, CX_ERR_INVALID, o->workload, 0, "gpus", "the workload has %llu GPUs, the job %llu",
                          (unsigned long long)C->w->gpus, (unsigned long long)C->cnt.gpus);
    CX_TRY(cx_campaign_count(C->topo, C->cnt.gpus, o->hbm_stacks, &C->cnt, err));
    cx_topo_gpu_info(C->topo, cx_topo_gpu_device(C->topo, 0), &g0);
    C->gt                     = cx_topo_gpu_type(C->topo, g0.gpu_type);
    C->p.tokens_per_iteration = C->run.tokens > 0 ? C->run.tokens
                                : C->w != NULL    ? cx_workload_tokens_per_iteration(C->w)
                                                  : 0;
    return CX_OK;
}

/* Failure model: rates (defaults or --rate-*), planned stops, days, seeds. */
static cx_status_t cx_cp_failures(cx_cp_t *C, cx_err_t *err)
{
    int k;
    cx_campaign_rates_default(C->p.rate_per_hour);
    for (k = 0; k < CX_FC_N; k++) {
        char name[32];
        if (C->o.rate[k] == NULL) continue;
        snprintf(name, sizeof(name), "rate-%s", cx_fclass_name(k));
        if (cx_parse_double(C->o.rate[k], &C->p.rate_per_hour[k]) != CX_OK || C->p.rate_per_hour[k] < 0)
            return cx_err_set(err, CX_ERR_RANGE, NULL, 0, name, "'%s' is not a rate >= 0 per component per hour",
                              C->o.rate[k]);
    }
    C->p.planned_per_day = C->o.planned_per_day;
    C->p.days            = C->o.days;
    C->p.seeds           = C->o.seeds;
    C->p.seed            = C->o.seed;
    C->p.mode            = C->o.mode;
    return CX_OK;
}

/* Checkpoint cost: stall, drain, detection, restart, reload. */
static cx_status_t cx_cp_checkpoint(cx_cp_t *C, cx_err_t *err)
{
    const cx_cp_opts_t   *o = &C->o;
    cx_campaign_params_t *p = &C->p;
    double                ckpt_bytes;
    ckpt_bytes = C->ckpt_bytes = o->ckpt_bytes > 0 ? (double)o->ckpt_bytes : C->params * o->bytes_per_param;
    if (!(ckpt_bytes > 0) && o->ckpt_time == 0)
        return cx_err_set(err, CX_ERR_INVALID, NULL, 0, "checkpoint-bytes",
                          "give the checkpoint size: --workload (from its parameters), --checkpoint-bytes or "
                          "--checkpoint-time");
    if (o->mode == CX_CKPT_SYNC) {
        /* Through host memory: no faster than the host copy either. */
        p->ckpt_stall_s = o->ckpt_time > 0 ? cx_time_to_s(o->ckpt_time)
                                           : fmax(ckpt_bytes / (o->write_gbs * 1e9),
                                                  ckpt_bytes / (double)C->cnt.gpus / (o->host_copy_gbs * 1e9));
        p->ckpt_drain_s = 0;
    } else {
        p->ckpt_stall_s = o->ckpt_time > 0 ? cx_time_to_s(o->ckpt_time)
                                           : ckpt_bytes / (double)C->cnt.gpus / (o->host_copy_gbs * 1e9);
        p->ckpt_drain_s = ckpt_bytes / (o->write_gbs * 1e9);
    }
    if (o->ckpt_summary != NULL && o->ckpt_time == 0) {
        /* What the detailed run says a checkpoint costs the iteration. */
        if (!(C->ck.iteration_s > p->healthy_iteration_s))
            return cx_err_set(err, CX_ERR_INVALID, o->ckpt_summary, 0, "checkpoint-summary",
                              "its iteration (%.6g s) is not longer than --summary's (%.6g s): not the same job "
                              "checkpointing every iteration?", C->ck.iteration_s, p->healthy_iteration_s);
        p->ckpt_stall_s = C->ck.iteration_s - p->healthy_iteration_s;
    }
    p->detect_s  = cx_time_to_s(o->detect);
    p->restart_s = cx_time_to_s(o->restart);
    p->reload_s  = o->reload > 0 ? cx_time_to_s(o->reload) : ckpt_bytes / (o->read_gbs * 1e9);
    return CX_OK;
}

/* The optimum interval, the interval run, the sweep's intervals; then the
 * main campaign, the sweep and the timeline. */
static cx_status_t cx_cp_simulate(cx_cp_t *C, cx_err_t *err)
{
    cx_campaign_params_t *p = &C->p;
    struct timespec       t0, t1;
    int                   k;
    {
        double lam  = cx_campaign_total_rate(p, &C->cnt) + p->planned_per_day / 24.0;
        double mtbf = lam > 0 ? 3600.0 / lam : 1e12;
        C->young    = cx_campaign_young(p->ckpt_stall_s, mtbf);
        C->daly     = cx_campaign_daly(p->ckpt_stall_s, mtbf);
    }
    p->interval_s = C->o.interval > 0 ? cx_time_to_s(C->o.interval) : (C->daly > 1.0 ? C->daly : 1.0);
    if (p->mode == CX_CKPT_ASYNC && C->o.interval == 0 && p->interval_s < p->ckpt_drain_s) p->interval_s = p->ckpt_drain_s;
    if (C->o.sweep != NULL && strcmp(C->o.sweep, "none") != 0) {
        CX_TRY(cx_cp_parse_sweep(C->o.sweep, C->sweep, &C->n_sweep, err));
    } else if (C->o.sweep == NULL) {
        static const double f[] = {0.125, 0.25, 0.5, 0.71, 1.0, 1.41, 2.0, 4.0, 8.0};
        for (k = 0; k < (int)(sizeof(f) / sizeof(f[0])); k++)
            C->sweep[C->n_sweep++] = (C->daly > 1.0 ? C->daly : 1.0) * f[k];
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CX_TRY(cx_campaign_run(p, &C->cnt, &C->res, err));
    for (k = 0; k < C->n_sweep; k++) {
        cx_campaign_params_t q = *p;
        cx_campaign_result_t rr;
        q.interval_s = C->sweep[k];
        CX_TRY(cx_campaign_run(&q, &C->cnt, &rr, err));
        C->sweep_ettr[k] = rr.ettr.mean;
        C->sweep_good[k] = rr.goodput.mean;
        C->sweep_lost[k] = rr.lost_gpu_hours.mean;
        if (C->best < 0 || C->sweep_ettr[k] > C->sweep_ettr[C->best]) C->best = k;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (C->o.timeline != NULL) CX_TRY(cx_cp_timeline(C->o.timeline, p, &C->cnt, err));
    C->wall_s = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    return CX_OK;
}

static void cx_cp_print_json(const cx_cp_t *C)
{
    const cx_campaign_params_t *p   = &C->p;
    const cx_campaign_result_t *res = &C->res;
    json_object *j = json_object_new_object(), *comp = json_object_new_object(), *sw = json_object_new_array();
    int          k;
    json_object_object_add(j, "workload", json_object_new_string(C->w != NULL ? C->w->name : C->run.workload));
    json_object_object_add(j, "topology", json_object_new_string(cx_topo_name(C->topo)));
    json_object_object_add(j, "gpu_type", json_object_new_string(C->gt->name));
    json_object_object_add(j, "gpus", json_object_new_uint64(C->cnt.gpus));
    json_object_object_add(j, "days", json_object_new_double(p->days));
    json_object_object_add(j, "seeds", json_object_new_uint64(p->seeds));
    json_object_object_add(j, "seed", json_object_new_uint64(p->seed));
    json_object_object_add(j, "iteration_seconds", json_object_new_double(p->iteration_s));
    json_object_object_add(j, "healthy_iteration_seconds", json_object_new_double(p->healthy_iteration_s));
    json_object_object_add(j, "checkpoint", json_object_new_string(p->mode == CX_CKPT_SYNC ? "sync" : "async"));
    json_object_object_add(j, "checkpoint_bytes", json_object_new_double(C->ckpt_bytes));
    json_object_object_add(j, "checkpoint_stall_seconds", json_object_new_double(p->ckpt_stall_s));
    json_object_object_add(j, "checkpoint_drain_seconds", json_object_new_double(p->ckpt_drain_s));
    json_object_object_add(j, "detect_seconds", json_object_new_double(p->detect_s));
    json_object_object_add(j, "restart_seconds", json_object_new_double(p->restart_s));
    json_object_object_add(j, "reload_seconds", json_object_new_double(p->reload_s));
    json_object_object_add(j, "planned_per_day_rate", json_object_new_double(p->planned_per_day));
    json_object_object_add(j, "interval_seconds", json_object_new_double(p->interval_s));
    json_object_object_add(j, "young_seconds", json_object_new_double(C->young));
    json_object_object_add(j, "daly_seconds", json_object_new_double(C->daly));
    json_object_object_add(j, "expected_interruptions_per_day", json_object_new_double(res->rate_per_hour * 24.0));
    json_object_object_add(j, "mtbf_seconds", json_object_new_double(res->mtbf_s));
    for (k = 0; k < CX_FC_N; k++) {
        json_object *c = json_object_new_object();
        json_object_object_add(c, "count", json_object_new_double(C->cnt.n[k]));
        json_object_object_add(c, "rate_per_hour", json_object_new_double(p->rate_per_hour[k]));
        json_object_object_add(c, "expected_per_day", json_object_new_double(p->rate_per_hour[k] * C->cnt.n[k] * 24.0));
        json_object_object_add(c, "simulated_per_day", json_object_new_double(res->by_class_per_day[k]));
        json_object_object_add(comp, cx_fclass_name(k), c);
    }
    json_object_object_add(j, "components", comp);
    cx_cp_stat_json(j, "goodput", &res->goodput);
    cx_cp_stat_json(j, "ettr", &res->ettr);
    cx_cp_stat_json(j, "interruptions_per_day", &res->interruptions_per_day);
    cx_cp_stat_json(j, "planned_per_day", &res->planned_per_day);
    cx_cp_stat_json(j, "lost_gpu_hours", &res->lost_gpu_hours);
    cx_cp_stat_json(j, "lost_work_gpu_hours", &res->lost_work_gpu_hours);
    cx_cp_stat_json(j, "downtime_gpu_hours", &res->downtime_gpu_hours);
    cx_cp_stat_json(j, "checkpoint_gpu_hours", &res->ckpt_gpu_hours);
    if (p->tokens_per_iteration > 0) {
        json_object_object_add(j, "goodput_tokens_per_second",
                               json_object_new_double(res->goodput.mean * p->tokens_per_iteration /
                                                      p->healthy_iteration_s));
    }
    for (k = 0; k < C->n_sweep; k++) {
        json_object *s = json_object_new_object();
        json_object_object_add(s, "interval_seconds", json_object_new_double(C->sweep[k]));
        json_object_object_add(s, "ettr", json_object_new_double(C->sweep_ettr[k]));
        json_object_object_add(s, "goodput", json_object_new_double(C->sweep_good[k]));
        json_object_object_add(s, "lost_gpu_hours", json_object_new_double(C->sweep_lost[k]));
        json_object_array_add(sw, s);
    }
    json_object_object_add(j, "sweep", sw);
    json_object_object_add(j, "wall_seconds", json_object_new_double(C->wall_s));
    printf("%s\n", json_object_to_json_string_ext(j, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(j);
}

/* Text: the job, checkpoint and interruption costs, the failure model and the interval. */
static void cx_cp_print_model(const cx_cp_t *C)
{
    const cx_campaign_params_t *p = &C->p;
    char                        a[32], b[32], c[32];
    int                         k;
    printf("campaign: %s on %s, %llu x %s, %.1f days, %llu seeds, %s checkpoints\n",
           C->w != NULL ? C->w->name : C->run.workload[0] ? C->run.workload : "job", cx_topo_name(C->topo),
           (unsigned long long)C->cnt.gpus, C->gt->name, p->days, (unsigned long long)p->seeds,
           p->mode == CX_CKPT_SYNC ? "sync" : "async");
    printf("  iteration          %.4g s%s", p->iteration_s,
           C->o.slow_summary != NULL ? " (with slowdowns)" : C->o.summary != NULL ? " (from the summary)" : "");
    if (p->iteration_s != p->healthy_iteration_s) printf(", healthy %.4g s", p->healthy_iteration_s);
    printf("\n");
    cx_cp_print_time(a, sizeof(a), p->ckpt_stall_s);
    cx_cp_print_time(b, sizeof(b), p->reload_s);
    printf("  checkpoint         %.3g TB: stall %s%s%s", C->ckpt_bytes / 1e12, a,
           p->mode == CX_CKPT_SYNC ? " (written while training waits)" : " (snapshot to host memory)",
           C->o.ckpt_summary != NULL && C->o.ckpt_time == 0 ? ", from the detailed run" : "");
    if (p->mode == CX_CKPT_ASYNC) {
        cx_cp_print_time(c, sizeof(c), p->ckpt_drain_s);
        printf(", drain %s", c);
    }
    printf(", reload %s\n", b);
    cx_cp_print_time(a, sizeof(a), p->detect_s);
    cx_cp_print_time(b, sizeof(b), p->restart_s);
    printf("  per interruption   detect %s, restart %s, then reload; planned stops %.2f/day\n", a, b,
           p->planned_per_day);
    printf("  failure model      component     count   rate/h each   expected/day  simulated/day\n");
    for (k = 0; k < CX_FC_N; k++) {
        printf("                     %-9s %10.0f   %11.3e   %12.3f  %13.3f\n", cx_fclass_name(k), C->cnt.n[k],
               p->rate_per_hour[k], p->rate_per_hour[k] * C->cnt.n[k] * 24.0, C->res.by_class_per_day[k]);
    }
    cx_cp_print_time(a, sizeof(a), C->res.mtbf_s);
    printf("                     total                                 %12.3f  %13.3f  (MTBF %s)\n",
           C->res.rate_per_hour * 24.0, C->res.interruptions_per_day.mean, a);
    cx_cp_print_time(a, sizeof(a), p->interval_s);
    cx_cp_print_time(b, sizeof(b), C->young);
    cx_cp_print_time(c, sizeof(c), C->daly);
    printf("  interval           %s (%s; Young %s, Daly %s, over all interruptions incl. planned)\n", a,
           C->o.interval > 0 ? "given" : "Daly's optimum", b, c);
}

/* Text: the figures over seeds and the interval sweep. */
static void cx_cp_print_results(const cx_cp_t *C)
{
    const cx_campaign_params_t *p   = &C->p;
    const cx_campaign_result_t *res = &C->res;
    char                        d[32];
    int                         k;
    printf("\n  %-26s %10s %10s %10s %10s %10s\n", "over seeds", "mean", "sd", "p5", "p50", "p95");
    cx_cp_stat_line("goodput", &res->goodput, 100.0, "% of healthy throughput");
    cx_cp_stat_line("ETTR", &res->ettr, 100.0, "% of wall time training kept");
    cx_cp_stat_line("interruptions/day", &res->interruptions_per_day, 1.0, "unexpected");
    cx_cp_stat_line("planned/day", &res->planned_per_day, 1.0, "");
    cx_cp_stat_line("lost GPU-hours", &res->lost_gpu_hours, 1.0, "wall x GPUs - kept");
    cx_cp_stat_line("  rolled back", &res->lost_work_gpu_hours, 1.0, "work since the last checkpoint");
    cx_cp_stat_line("  down", &res->downtime_gpu_hours, 1.0, "detection, restart, reload");
    cx_cp_stat_line("  checkpointing", &res->ckpt_gpu_hours, 1.0, "stalls");
    if (p->tokens_per_iteration > 0) {
        printf("  goodput tokens/s           %10.4g  (healthy %.4g)\n",
               res->goodput.mean * p->tokens_per_iteration / p->healthy_iteration_s,
               p->tokens_per_iteration / p->healthy_iteration_s);
    }
    if (C->n_sweep > 0) {
        printf("\n  interval sweep (same seeds)   interval      ETTR   goodput  lost GPU-h\n");
        for (k = 0; k < C->n_sweep; k++) {
            cx_cp_print_time(d, sizeof(d), C->sweep[k]);
            printf("                               %8s  %7.2f%%  %7.2f%%  %10.4g%s\n", d, 100.0 * C->sweep_ettr[k],
                   100.0 * C->sweep_good[k], C->sweep_lost[k], k == C->best ? "  <- best" : "");
        }
    }
    printf("\n  %llu campaigns x %d intervals in %.2f s\n", (unsigned long long)p->seeds, C->n_sweep + 1, C->wall_s);
}

static int cx_campaign_cli(int argc, char **argv)
{
    cx_cp_t    *C = calloc(1, sizeof(*C));
    cx_err_t    err;
    cx_status_t st;
    int         rc;

    cx_err_clear(&err);
    if (C == NULL) {
        cx_err_set(&err, CX_ERR_NOMEM, NULL, 0, NULL, "out of memory");
        cx_err_print(&err);
        return 1;
    }
    C->best = -1;
    rc = cx_cli_options(cx_cp_table, CX_CP_NOPTS, argc, argv, &C->o, NULL); /* its help: cx_cp_help */
    if (rc != CX_CLI_GO) {
        free(C);
        return rc;
    }
    if (C->o.help) {
        cx_cp_help();
        free(C);
        return 0;
    }
    st = cx_cp_inputs(C, &err);
    if (st == CX_OK) st = cx_cp_failures(C, &err);
    if (st == CX_OK) st = cx_cp_checkpoint(C, &err);
    if (st == CX_OK) st = cx_cp_simulate(C, &err);
    if (st != CX_OK) {
        cx_err_print(&err);
        rc = 1;
    } else {
        if (C->o.format == 1) {
            cx_cp_print_json(C);
        } else {
            cx_cp_print_model(C);
            cx_cp_print_results(C);
        }
        rc = 0;
    }
    cx_workload_destroy(C->w);
    cx_topo_destroy(C->topo);
    free(C);
    return rc;
}

int cx_cmd_campaign(int argc, char **argv)
{
    if (cx_cli_rank() != 0) return 0;
    return cx_campaign_cli(argc, argv);
}
