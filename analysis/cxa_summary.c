/*
 * summary and diff: the run's figures recomputed from /summary/iterations
 * and the /meta constants, with exactly the definitions of
 * src/workload/cx_run_summary.c:
 *   k           = iterations 0..k-1 that every GPU finished (a row per GPU)
 *   iteration   = (max end[k-1] - max end[0]) / (k-1)    for k >= 2
 *               =  max end[0]   - min begin[0]           for k == 1
 *   shares      = sum over rows of compute_ps (exposed_comm_ps) /
 *                 (gpus * (max end[k-1] - min begin[0]))
 *   bubble      = 1 - compute - exposed
 *   tokens/s    = tokens_per_iteration / iteration
 *   TFLOPs/GPU  = model_flops_per_iteration / iteration / gpus * 1e-12
 *   MFU         = model_flops_per_iteration / (iteration * gpus * peak)
 * Sums are exact int64 picoseconds, converted to double as the run does, so
 * a complete run's figures match its --summary-json to the last bit; a run
 * stopped early reports the iterations that finished (those with rows) on
 * both sides.  With no iteration finished there is nothing to report: the
 * figures are left out of the table and are null in JSON, empty in CSV.
 */
#define _POSIX_C_SOURCE 200809L
#include "cxa.h"

#include <json-c/json.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* A scenario trace: job's constants from /scenario/jobs and its GPUs from
 * /scenario/gpus (*in_p[gpu] = 1, *n_in_p entries).  job < 0: refuse a
 * scenario trace (its /meta constants are no one job's). */
static int cxa_summary_job(const cxa_file_t *f, cxa_summary_t *s, long job, unsigned char **in_p, uint64_t *n_in_p)
{
    cxa_table_t      t;
    void            *buf;
    const cxa_col_t *c;
    uint64_t         i, njobs, max_gpu = 0;
    int              found = 0;
    *in_p   = NULL;
    *n_in_p = 0;
    if (cxa_table_open(f, "/scenario/jobs", 0, &t) != 0) {
        if (job < 0) return CXA_EXIT_OK;
        cxa_error(f->path, "--job %ld: not a scenario trace (no /scenario/jobs; colossim run --scenario makes one)", job);
        return CXA_EXIT_FILE;
    }
    njobs = t.rows;
    if (job < 0 || (uint64_t)job >= njobs) {
        cxa_table_close(&t);
        cxa_error(f->path, "%s: the trace holds a scenario of %llu job(s): pick one with --job 0..%llu",
                  job < 0 ? "summary" : "--job out of range", (unsigned long long)njobs,
                  (unsigned long long)(njobs > 0 ? njobs - 1 : 0));
        return CXA_EXIT_USAGE;
    }
    buf = cxa_table_read_all(&t);
    c   = cxa_col(&t, "job");
    for (i = 0; buf != NULL && c != NULL && i < t.rows; i++) {
        const void *r = cxa_row(&t, buf, i);
        if (cxa_get_u64(c, r) != (uint64_t)job) continue;
        s->gpus                                = cxa_get_u64(cxa_col(&t, "gpus"), r);
        s->tokens_per_iteration                = cxa_get_f64(cxa_col(&t, "tokens_per_iteration"), r);
        s->model_flops_per_iteration           = cxa_get_f64(cxa_col(&t, "model_flops_per_iteration"), r);
        s->model_flops_noncausal_per_iteration = cxa_get_f64(cxa_col(&t, "model_flops_noncausal_per_iteration"), r);
        s->peak_flops_per_gpu                  = cxa_get_f64(cxa_col(&t, "peak_flops_per_gpu"), r);
        snprintf(s->workload + strlen(s->workload), sizeof(s->workload) - strlen(s->workload), " job %ld", job);
        found = 1;
    }
    free(buf);
    cxa_table_close(&t);
    if (!found || cxa_table_open(f, "/scenario/gpus", 1, &t) != 0) {
        cxa_error(f->path, "/scenario tables do not describe job %ld", job);
        return CXA_EXIT_FILE;
    }
    buf = cxa_table_read_all(&t);
    if (buf == NULL) {
        cxa_table_close(&t);
        return CXA_EXIT_FILE;
    }
    c = cxa_col(&t, "gpu");
    for (i = 0; i < t.rows; i++) {
        uint64_t g = cxa_get_u64(c, cxa_row(&t, buf, i));
        if (g > max_gpu) max_gpu = g;
    }
    *in_p = calloc(max_gpu + 1, 1);
    if (*in_p == NULL) {
        free(buf);
        cxa_table_close(&t);
        cxa_error(f->path, "out of memory");
        return CXA_EXIT_FILE;
    }
    *n_in_p = max_gpu + 1;
    for (i = 0; i < t.rows; i++) {
        const void *r = cxa_row(&t, buf, i);
        if (cxa_get_u64(cxa_col(&t, "job"), r) == (uint64_t)job) (*in_p)[cxa_get_u64(c, r)] = 1;
    }
    free(buf);
    cxa_table_close(&t);
    return CXA_EXIT_OK;
}

int cxa_summary_compute(const cxa_file_t *f, cxa_summary_t *s)
{
    return cxa_summary_compute_job(f, s, -1);
}

/* The /meta figures of a summary; CXA_EXIT_OK or CXA_EXIT_FILE after one error. */
static int cxa_summary_meta(const cxa_file_t *f, cxa_summary_t *s)
{
    static const char *const consts[] = {"tokens_per_iteration", "model_flops_per_iteration", "peak_flops_per_gpu"};
    double                  *dst[3];
    int64_t                  v;
    int                      j;
    memset(s, 0, sizeof(*s));
    cxa_meta_str(f, "workload", s->workload, sizeof(s->workload));
    cxa_meta_str(f, "topology", s->topology, sizeof(s->topology));
    cxa_meta_str(f, "gpu_type", s->gpu_type, sizeof(s->gpu_type));
    if (cxa_meta_i64(f, "complete", &v) != 0) {
        cxa_error(f->path, "/meta has no 'complete' attribute: trace not closed by colossim");
        return CXA_EXIT_FILE;
    }
    s->complete = v != 0;
    if (cxa_meta_i64(f, "ranks", &s->ranks) != 0) s->ranks = 0;
    if (cxa_meta_i64(f, "trace_level", &s->trace_level) != 0) s->trace_level = -1;
    if (cxa_meta_i64(f, "iterations", &v) == 0) s->iterations_meta = (uint32_t)v;
    if (cxa_meta_i64(f, "iterations_requested", &v) == 0) s->iterations_requested = (uint32_t)v;
    dst[0] = &s->tokens_per_iteration;
    dst[1] = &s->model_flops_per_iteration;
    dst[2] = &s->peak_flops_per_gpu;
    for (j = 0; j < 3; j++) {
        if (cxa_meta_f64(f, consts[j], dst[j]) != 0) {
            cxa_error(f->path, "/meta has no '%s' attribute: not a trace of 'colossim run'", consts[j]);
            return CXA_EXIT_FILE;
        }
    }
    /* Optional: the full-attention (PaLM) convention (older traces lack it). */
    if (cxa_meta_f64(f, "model_flops_noncausal_per_iteration", &s->model_flops_noncausal_per_iteration) != 0)
        s->model_flops_noncausal_per_iteration = 0.0;
    return CXA_EXIT_OK;
}

/* The rows of the summary: the job's GPUs only (in != NULL). */
typedef struct cxa_srows {
    cxa_table_t          t;
    void                *buf;
    const cxa_col_t     *c_gpu, *c_it, *c_b, *c_e, *c_c, *c_x, *c_p;
    const unsigned char *in;
    uint64_t             n_in;
} cxa_srows_t;

static int cxa_srows_skip(const cxa_srows_t *R, uint64_t g) { return R->in != NULL && (g >= R->n_in || !R->in[g]); }

/* The highest GPU and iteration of the rows, and the GPU count; refuses an
 * iteration over 1e6 (a corrupt iteration 2^32 - 1 had arrays of 2^32
 * entries filled: 32 GB, minutes).  CXA_EXIT_OK or CXA_EXIT_FILE. */
static int cxa_summary_scan(const cxa_file_t *f, cxa_summary_t *s, const cxa_srows_t *R, uint32_t *max_it)
{
    uint64_t i, max_gpu = 0;
    int64_t  v;
    for (i = 0; i < R->t.rows; i++) {
        const void *r  = cxa_row(&R->t, R->buf, i);
        uint64_t    g  = cxa_get_u64(R->c_gpu, r);
        uint64_t    it = cxa_get_u64(R->c_it, r);
        if (cxa_srows_skip(R, g)) continue;
        if (it >= 1000000) {
            cxa_error(f->path, "/summary/iterations row %llu: iteration %llu is over 1000000, the most a run "
                      "has: a corrupt trace", (unsigned long long)i, (unsigned long long)it);
            return CXA_EXIT_FILE;
        }
        if (g > max_gpu) max_gpu = g;
        if (it > *max_it) *max_it = (uint32_t)it;
    }
    if (R->in != NULL)
        ; /* the job's, from /scenario/jobs */
    else if (cxa_meta_i64(f, "gpus", &v) == 0 && v > 0)
        s->gpus = (uint64_t)v;
    else
        s->gpus = R->t.rows > 0 ? max_gpu + 1 : 0;
    return CXA_EXIT_OK;
}

/* Iteration, span, shares and straggler time from the finished iterations
 * (bmin/emax/emin per iteration); the time sums saturate. */
static void cxa_summary_figures(cxa_summary_t *s, const cxa_srows_t *R, const int64_t *bmin, const int64_t *emax,
                                const int64_t *emin, uint32_t k)
{
    int64_t  sum_c = 0, sum_x = 0, sum_p = 0, t0, t1;
    double   strag = 0.0;
    uint64_t i;
    for (i = 0; i < R->t.rows; i++) {
        const void *r  = cxa_row(&R->t, R->buf, i);
        uint32_t    it = (uint32_t)cxa_get_u64(R->c_it, r);
        if (it >= k || cxa_srows_skip(R, cxa_get_u64(R->c_gpu, r))) continue;
        cxa_sat_add(&sum_c, cxa_get_i64(R->c_c, r));
        cxa_sat_add(&sum_x, cxa_get_i64(R->c_x, r));
        if (R->c_p != NULL) cxa_sat_add(&sum_p, cxa_get_i64(R->c_p, r));
    }
    s->iterations = k;
    if (k == 0) return;
    t0                         = bmin[0];
    t1                         = emax[k - 1];
    s->first_iteration_seconds = (double)(emax[0] - bmin[0]) * 1e-12;
    s->iteration_seconds = k >= 2 ? (double)(emax[k - 1] - emax[0]) * 1e-12 / (double)(k - 1)
                                  : s->first_iteration_seconds;
    s->span_seconds = (double)(t1 - t0) * 1e-12;
    if (t1 > t0 && s->gpus > 0) {
        double span = (double)(t1 - t0) * (double)s->gpus;
        s->compute_share      = (double)sum_c / span;
        s->exposed_comm_share = (double)sum_x / span;
        s->bubble_share       = 1.0 - s->compute_share - s->exposed_comm_share;
        s->pp_wait_share      = (double)sum_p / span;
    }
    for (i = 0; i < k; i++) strag += (double)(emax[i] - emin[i]) * 1e-12;
    s->straggler_seconds = strag / (double)k;
}

/* Per iteration the first begin and the first and last end; the iterations
 * every GPU finished (a stopped run has fewer).  CXA_EXIT_OK or CXA_EXIT_FILE. */
static int cxa_summary_iters(const cxa_file_t *f, cxa_summary_t *s, const cxa_srows_t *R, uint32_t max_it)
{
    int64_t  *bmin = malloc(((size_t)max_it + 1) * sizeof(int64_t));
    int64_t  *emax = malloc(((size_t)max_it + 1) * sizeof(int64_t));
    int64_t  *emin = malloc(((size_t)max_it + 1) * sizeof(int64_t));
    uint64_t *cnt  = calloc((size_t)max_it + 1, sizeof(uint64_t)), i;
    uint32_t  k;
    int       rc = CXA_EXIT_OK;
    if (bmin == NULL || emax == NULL || emin == NULL || cnt == NULL) {
        cxa_error(f->path, "out of memory");
        rc = CXA_EXIT_FILE;
        goto out;
    }
    for (i = 0; i <= max_it; i++) {
        bmin[i] = INT64_MAX;
        emax[i] = INT64_MIN;
        emin[i] = INT64_MAX;
    }
    for (i = 0; i < R->t.rows; i++) {
        const void *r  = cxa_row(&R->t, R->buf, i);
        uint32_t    it = (uint32_t)cxa_get_u64(R->c_it, r);
        int64_t     b = cxa_get_i64(R->c_b, r), e = cxa_get_i64(R->c_e, r);
        if (cxa_srows_skip(R, cxa_get_u64(R->c_gpu, r))) continue;
        if (b < bmin[it]) bmin[it] = b;
        if (e > emax[it]) emax[it] = e;
        if (e < emin[it]) emin[it] = e;
        cnt[it]++;
    }
    for (k = 0; k <= max_it && emax[k] != INT64_MIN && cnt[k] >= s->gpus; k++) {
    }
    cxa_summary_figures(s, R, bmin, emax, emin, k);
out:
    free(cnt);
    free(bmin);
    free(emax);
    free(emin);
    return rc;
}

int cxa_summary_compute_job(const cxa_file_t *f, cxa_summary_t *s, long job)
{
    static const char *const need[] = {"gpu", "iteration", "begin_ps", "end_ps", "compute_ps", "exposed_comm_ps", NULL};
    unsigned char *in = NULL; /* a scenario's job: its GPUs */
    cxa_srows_t    R;
    uint32_t       max_it = 0;
    int            rc     = cxa_summary_meta(f, s);
    if (rc != CXA_EXIT_OK) return rc;
    memset(&R, 0, sizeof(R));
    rc = cxa_summary_job(f, s, job, &in, &R.n_in);
    if (rc != CXA_EXIT_OK) return rc;
    R.in  = in;
    R.buf = cxa_table_load(f, CXA_T_ITER, CXA_LOAD_REQUIRED, need, &R.t);
    if (R.buf == NULL) {
        free(in);
        return CXA_EXIT_FILE;
    }
    R.c_gpu = cxa_col(&R.t, "gpu");
    R.c_it  = cxa_col(&R.t, "iteration");
    R.c_b   = cxa_col(&R.t, "begin_ps");
    R.c_e   = cxa_col(&R.t, "end_ps");
    R.c_c   = cxa_col(&R.t, "compute_ps");
    R.c_x   = cxa_col(&R.t, "exposed_comm_ps");
    R.c_p   = cxa_col(&R.t, "pp_wait_ps");
    s->rows = R.t.rows;
    rc      = cxa_summary_scan(f, s, &R, &max_it);
    if (rc == CXA_EXIT_OK && R.t.rows > 0) rc = cxa_summary_iters(f, s, &R, max_it);
    if (rc == CXA_EXIT_OK && s->iteration_seconds > 0 && s->gpus > 0) {
        s->tokens_per_second = s->tokens_per_iteration / s->iteration_seconds;
        s->tflops_per_gpu    = s->model_flops_per_iteration / s->iteration_seconds / (double)s->gpus * 1e-12;
        if (s->peak_flops_per_gpu > 0) {
            s->mfu = s->model_flops_per_iteration / (s->iteration_seconds * (double)s->gpus * s->peak_flops_per_gpu);
            s->mfu_noncausal = s->model_flops_noncausal_per_iteration /
                               (s->iteration_seconds * (double)s->gpus * s->peak_flops_per_gpu);
        }
    }
    free(R.buf);
    free(in);
    cxa_table_close(&R.t);
    return rc;
}

/* The figures as (key, value) pairs, in output order. */
typedef struct cxa_kv {
    const char *key;
    double      v;
    int         is_int;
    int         absent; /* a figure of finished iterations, and none finished */
} cxa_kv_t;

static int cxa_summary_kv(const cxa_summary_t *s, cxa_kv_t *kv)
{
    int n = 0, first_fig;
#define KV(_k, _v, _i) do { kv[n].key = (_k); kv[n].v = (double)(_v); kv[n].is_int = (_i); kv[n].absent = 0; n++; } while (0)
    KV("gpus", s->gpus, 1);
    KV("iterations", s->iterations, 1);
    first_fig = n;
    KV("iteration_seconds", s->iteration_seconds, 0);
    KV("tokens_per_second", s->tokens_per_second, 0);
    KV("tflops_per_gpu", s->tflops_per_gpu, 0);
    KV("mfu", s->mfu, 0);
    KV("mfu_noncausal", s->mfu_noncausal, 0);
    KV("compute_share", s->compute_share, 0);
    KV("exposed_comm_share", s->exposed_comm_share, 0);
    KV("bubble_share", s->bubble_share, 0);
    KV("pp_wait_share", s->pp_wait_share, 0);
    if (s->iterations == 0)
        for (int i = first_fig; i < n; i++) kv[i].absent = 1;
    KV("tokens_per_iteration", s->tokens_per_iteration, 0);
    KV("model_flops_per_iteration", s->model_flops_per_iteration, 0);
    KV("peak_flops_per_gpu", s->peak_flops_per_gpu, 0);
    first_fig = n;
    KV("first_iteration_seconds", s->first_iteration_seconds, 0);
    KV("span_seconds", s->span_seconds, 0);
    KV("straggler_seconds", s->straggler_seconds, 0);
    if (s->iterations == 0)
        for (int i = first_fig; i < n; i++) kv[i].absent = 1;
#undef KV
    return n;
}

static void cxa_summary_print_table(const cxa_file_t *f, const cxa_summary_t *s, FILE *out)
{
    if (!s->complete && s->iterations == 0)
        fprintf(out, "INCOMPLETE: run stopped early (/meta/complete = 0) before any iteration finished\n");
    else if (!s->complete)
        fprintf(out, "INCOMPLETE: run stopped early (/meta/complete = 0); figures cover the %u "
                     "iteration(s) that finished\n", s->iterations);
    fprintf(out, "trace: %s (%lld rank(s), trace level %lld)\n", f->path, (long long)s->ranks,
            (long long)s->trace_level);
    if (s->iterations == 0) {
        fprintf(out, "run: %s on %s, %llu x %s, stopped before iteration 1 finished%s\n", s->workload,
                s->topology, (unsigned long long)s->gpus, s->gpu_type,
                s->complete ? "" : "  ** INCOMPLETE: stopped early **");
        fprintf(out, "  no results: the run stopped before any iteration finished\n"
                     "  (the job: model FLOPs %.4g and %.4g tokens per iteration)\n",
                s->model_flops_per_iteration, s->tokens_per_iteration);
        return;
    }
    if (!s->complete && s->iterations_requested > 0)
        fprintf(out, "run: %s on %s, %llu x %s, %u of %u iteration(s) finished  ** INCOMPLETE: stopped early **\n",
                s->workload, s->topology, (unsigned long long)s->gpus, s->gpu_type, s->iterations,
                s->iterations_requested);
    else
        fprintf(out, "run: %s on %s, %llu x %s, %u iteration(s)%s\n", s->workload, s->topology,
                (unsigned long long)s->gpus, s->gpu_type, s->iterations,
                s->complete ? "" : "  ** INCOMPLETE: stopped early **");
    fprintf(out, "  iteration time     %.4f s%s\n", s->iteration_seconds,
            s->iterations >= 2 ? " (steady state, after the first)" : "");
    fprintf(out, "  first iteration    %.4f s\n", s->first_iteration_seconds);
    fprintf(out, "  tokens/s           %.4g  (%.4g tokens per iteration)\n", s->tokens_per_second,
            s->tokens_per_iteration);
    fprintf(out, "  TFLOPs/GPU         %.1f  (model FLOPs %.4g per iteration)\n", s->tflops_per_gpu,
            s->model_flops_per_iteration);
    if (s->model_flops_noncausal_per_iteration > 0) {
        fprintf(out, "  MFU                %.1f%%  (of %.0f TFLOPs dense BF16; %.1f%% counting attention in full)\n",
                100.0 * s->mfu, s->peak_flops_per_gpu * 1e-12, 100.0 * s->mfu_noncausal);
    } else {
        fprintf(out, "  MFU                %.1f%%  (of %.0f TFLOPs dense BF16)\n", 100.0 * s->mfu,
                s->peak_flops_per_gpu * 1e-12);
    }
    fprintf(out, "  time breakdown     compute %.1f%%, exposed communication %.1f%%, pipeline bubble %.1f%%\n",
            100.0 * s->compute_share, 100.0 * s->exposed_comm_share, 100.0 * s->bubble_share);
    fprintf(out, "                     (of which waiting on pipeline send/recv %.1f%%)\n",
            100.0 * s->pp_wait_share);
    fprintf(out, "  straggler spread   %.3f ms mean (last GPU end - first GPU end per iteration)\n",
            s->straggler_seconds * 1e3);
}

static json_object *cxa_summary_json(const cxa_file_t *f, const cxa_summary_t *s)
{
    json_object *j = json_object_new_object();
    cxa_kv_t     kv[32];
    int          n = cxa_summary_kv(s, kv), i;
    json_object_object_add(j, "file", json_object_new_string(f->path));
    json_object_object_add(j, "workload", json_object_new_string(s->workload));
    json_object_object_add(j, "topology", json_object_new_string(s->topology));
    json_object_object_add(j, "gpu_type", json_object_new_string(s->gpu_type));
    json_object_object_add(j, "complete", json_object_new_boolean(s->complete));
    json_object_object_add(j, "ranks", json_object_new_int64(s->ranks));
    for (i = 0; i < n; i++)
        json_object_object_add(j, kv[i].key, kv[i].absent   ? NULL
                                             : kv[i].is_int ? json_object_new_int64((int64_t)kv[i].v)
                                                            : json_object_new_double(kv[i].v));
    return j;
}

static void cxa_print_json(json_object *j, FILE *out)
{
    fprintf(out, "%s\n", json_object_to_json_string_ext(j, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
}

int cxa_cmd_summary(int argc, char **argv)
{
    cxa_args_t    a;
    cxa_format_t  fmt;
    cxa_file_t    f;
    cxa_summary_t s;
    int           rc;
    long          job = -1;
    if (cxa_parse_args("summary", argc, argv, &a, "format job") != 0) return CXA_EXIT_USAGE;
    if (a.job != NULL) {
        char *end;
        job = strtol(a.job, &end, 10);
        if (a.job[0] < '0' || a.job[0] > '9' || *end != '\0') {
            cxa_error(NULL, "summary: --job takes a job index (0, 1, ...), not '%s'", a.job);
            return CXA_EXIT_USAGE;
        }
    }
    if (a.help || a.npos != 1) {
        cxa_usage_error("summary", &a, 0, NULL);
        return cxa_usage_print(&a, "usage: colossim-analyze summary FILE [--format table|json|csv] [--job N]\n"
                               "  iteration time, tokens/s, TFLOPs/GPU, MFU and the compute / exposed comm / bubble\n"
                               "  shares, recomputed from /summary/iterations and the /meta constants.\n"
                               "  --job N: job N of a scenario trace (colossim run --scenario), its GPUs only.\n");
    }
    if (cxa_parse_format(a.format, &fmt) != 0) return CXA_EXIT_USAGE;
    if (cxa_open(&f, a.pos[0]) != 0) return CXA_EXIT_FILE;
    rc = cxa_summary_compute_job(&f, &s, job);
    if (rc != CXA_EXIT_OK) {
        cxa_close(&f);
        return rc;
    }
    if (!s.complete) fprintf(stderr, "colossim-analyze: %s: INCOMPLETE: run stopped early\n", f.path);
    if (s.iterations == 0) cxa_warn(f.path, "no iteration finished: no figures to report");
    if (fmt == CXA_FMT_TABLE) {
        cxa_summary_print_table(&f, &s, stdout);
    } else if (fmt == CXA_FMT_JSON) {
        json_object *j = cxa_summary_json(&f, &s);
        cxa_print_json(j, stdout);
        json_object_put(j);
    } else {
        cxa_kv_t kv[32];
        int      n = cxa_summary_kv(&s, kv), i;
        printf("file,workload,topology,gpu_type,complete");
        for (i = 0; i < n; i++) printf(",%s", kv[i].key);
        printf("\n\"%s\",%s,%s,%s,%d", f.path, s.workload, s.topology, s.gpu_type, s.complete);
        for (i = 0; i < n; i++) {
            if (kv[i].absent)
                printf(",");
            else
                printf(kv[i].is_int ? ",%.0f" : ",%.17g", kv[i].v);
        }
        printf("\n");
    }
    cxa_close(&f);
    return CXA_EXIT_OK;
}

int cxa_cmd_diff(int argc, char **argv)
{
    cxa_args_t    a;
    cxa_format_t  fmt;
    cxa_file_t    f[2];
    cxa_summary_t s[2];
    cxa_kv_t      kv[2][32];
    cxa_cfgdiff_t cd;
    int           n, i, rc;
    if (cxa_parse_args("diff", argc, argv, &a, "format") != 0) return CXA_EXIT_USAGE;
    if (a.help || a.npos != 2) {
        if (!a.help) cxa_error(NULL, "diff: %s", a.npos < 2 ? "needs two traces, A and B" : "two traces only, A and B");
        return cxa_usage_print(&a, "usage: colossim-analyze diff A B [--format table|json|csv]\n"
                               "  first what differs in the two runs' configurations (topology, workload, GPUs,\n"
                               "  every option such as routing, algo or chunk size, and the lines of the stored\n"
                               "  topology and workload YAML only one side has); then collective time per class\n"
                               "  and per phase; then the summary figures side by side with B/A ratios.\n");
    }
    if (cxa_parse_format(a.format, &fmt) != 0) return CXA_EXIT_USAGE;
    for (i = 0; i < 2; i++) {
        if (cxa_open(&f[i], a.pos[i]) != 0) {
            if (i == 1) cxa_close(&f[0]);
            return CXA_EXIT_FILE;
        }
        rc = cxa_summary_compute(&f[i], &s[i]);
        if (rc != CXA_EXIT_OK) {
            cxa_close(&f[i]);
            if (i == 1) cxa_close(&f[0]);
            return rc;
        }
        if (!s[i].complete) fprintf(stderr, "colossim-analyze: %s: INCOMPLETE: run stopped early\n", f[i].path);
    }
    n = cxa_summary_kv(&s[0], kv[0]);
    cxa_summary_kv(&s[1], kv[1]);
    cxa_config_diff(&f[0], &f[1], &cd);
    if (fmt == CXA_FMT_JSON) {
        json_object *j = json_object_new_object(), *fig = json_object_new_object();
        json_object_object_add(j, "config", cxa_config_diff_json(&cd));
        cxa_coll_diff(&f[0], &f[1], NULL, j);
        json_object_object_add(j, "a", cxa_summary_json(&f[0], &s[0]));
        json_object_object_add(j, "b", cxa_summary_json(&f[1], &s[1]));
        for (i = 0; i < n; i++) {
            double r = kv[0][i].v != 0 && !kv[0][i].absent && !kv[1][i].absent ? kv[1][i].v / kv[0][i].v : NAN;
            json_object_object_add(fig, kv[0][i].key, isfinite(r) ? json_object_new_double(r) : NULL);
        }
        json_object_object_add(j, "ratio_b_over_a", fig);
        cxa_print_json(j, stdout);
        json_object_put(j);
    } else if (fmt == CXA_FMT_CSV) {
        size_t c;
        printf("figure,a,b,ratio_b_over_a\n");
        /* Configuration first: "config:KEY" rows, values as text, no ratio. */
        for (c = 0; c < cd.n; c++) {
            json_object *ja = json_object_new_string(cd.items[c].a), *jb = json_object_new_string(cd.items[c].b);
            printf("\"config:%s\",%s,%s,\n", cd.items[c].key, json_object_to_json_string(ja), json_object_to_json_string(jb));
            json_object_put(ja);
            json_object_put(jb);
        }
        for (i = 0; i < n; i++) {
            double r = kv[0][i].v != 0 && !kv[0][i].absent && !kv[1][i].absent ? kv[1][i].v / kv[0][i].v : NAN;
            if (kv[0][i].absent || kv[1][i].absent) {
                printf("%s,", kv[0][i].key);
                if (!kv[0][i].absent) printf("%.17g", kv[0][i].v);
                printf(",");
                if (!kv[1][i].absent) printf("%.17g", kv[1][i].v);
                printf(",\n");
                continue;
            }
            printf("%s,%.17g,%.17g,%.17g\n", kv[0][i].key, kv[0][i].v, kv[1][i].v, r);
        }
    } else {
        printf("A: %s  (%s on %s, %s%s)\n", f[0].path, s[0].workload, s[0].topology, s[0].gpu_type,
               s[0].complete ? "" : ", INCOMPLETE: run stopped early");
        printf("B: %s  (%s on %s, %s%s)\n", f[1].path, s[1].workload, s[1].topology, s[1].gpu_type,
               s[1].complete ? "" : ", INCOMPLETE: run stopped early");
        cxa_config_diff_print(&cd, stdout);
        cxa_coll_diff(&f[0], &f[1], stdout, NULL);
        printf("summary figures:\n");
        printf("%-28s %16s %16s %10s\n", "figure", "A", "B", "B/A");
        for (i = 0; i < n; i++) {
            double r = kv[0][i].v != 0 && !kv[0][i].absent && !kv[1][i].absent ? kv[1][i].v / kv[0][i].v : NAN;
            char   ra[32], va[32], vb[32];
            if (isfinite(r))
                snprintf(ra, sizeof(ra), "%.4f", r);
            else
                snprintf(ra, sizeof(ra), "-");
            snprintf(va, sizeof(va), kv[0][i].absent ? "-" : "%.6g", kv[0][i].v);
            snprintf(vb, sizeof(vb), kv[1][i].absent ? "-" : "%.6g", kv[1][i].v);
            printf("%-28s %16s %16s %10s\n", kv[0][i].key, va, vb, ra);
        }
    }
    cxa_config_diff_free(&cd);
    cxa_close(&f[0]);
    cxa_close(&f[1]);
    return CXA_EXIT_OK;
}
