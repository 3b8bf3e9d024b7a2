/*
 * faults: what was injected into a run (/faults, colossim run --faults) and
 * what the job did about each; and, for stragglers, the components that
 * behaved slowly whatever the trace says was injected:
 *
 *   - a slow GPU: its kernel time (/summary/iterations compute_ps) against
 *     the median of its server's GPUs (8 consecutive GPUs run the same
 *     pipeline stage in every layout colossim generates), flagged above
 *     1.05x; its share of the delay = the extra kernel time over the
 *     iteration time (the other GPUs wait for it at the next collective);
 *   - a degraded link (with --trace-level links): a port whose busiest bin
 *     moved well under what the busiest bins of its class moved while it
 *     carried as many bytes as they did; its share = the time its bytes took
 *     beyond its nominal bandwidth over the run's span.
 * Neither reads /faults: they find what a real job's counters would show.
 */
#define _POSIX_C_SOURCE 200809L
#include "cxa.h"

#include <errno.h>
#include <json-c/json.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef CXA_CAMPAIGN_SCRIPT
#define CXA_CAMPAIGN_SCRIPT "campaign_timeline.py"
#endif
#ifndef CXA_CAMPAIGN_SCRIPT_INSTALLED
#define CXA_CAMPAIGN_SCRIPT_INSTALLED "/usr/local/share/colossim/campaign_timeline.py"
#endif

static const char *cxa_fault_kind(unsigned k) { return cx_schema_label(CX_SCHEMA_L_FAULT_KIND, k); }
static const char *cxa_fault_action(unsigned a) { return cx_schema_label(CX_SCHEMA_L_FAULT_ACTION, a); }

int cxa_cmd_faults(int argc, char **argv)
{
    static const char *const need[] = {"at_ps", "kind", "action", "gpu", "dev", "port", "peer_dev", "peer_port",
                                       "factor", NULL};
    cxa_args_t   a;
    cxa_format_t fmt;
    cxa_file_t   f;
    cxa_table_t  t;
    void        *buf;
    uint64_t     r;
    json_object *arr = NULL;
    const cxa_col_t *c_at, *c_k, *c_a, *c_g, *c_d, *c_p, *c_pd, *c_pp, *c_f, *c_r, *c_t;

    if (cxa_parse_args("faults", argc, argv, &a, "format") != 0) return CXA_EXIT_USAGE;
    if (a.help || a.npos != 1) {
        return cxa_usage_print(&a, "usage: colossim-analyze faults FILE [--format table|json]\n"
                               "  the faults injected into the run (colossim run --faults): when, what they hit,\n"
                               "  and what the job did (slowed, degraded, rerouted, job stopped, ...).\n");
    }
    if (cxa_parse_format(a.format, &fmt) != 0 || fmt == CXA_FMT_CSV) {
        cxa_error(NULL, "faults: --format table|json");
        return CXA_EXIT_USAGE;
    }
    if (cxa_open(&f, a.pos[0]) != 0) return CXA_EXIT_FILE;
    if (cxa_require(&f, CXA_T_FAULTS, "no /faults table: the run had no --faults") != 0) return CXA_EXIT_USAGE;
    if ((buf = cxa_table_load(&f, CXA_T_FAULTS, CXA_LOAD_REQUIRED, need, &t)) == NULL) {
        cxa_close(&f);
        return CXA_EXIT_FILE;
    }
    c_at = cxa_col(&t, "at_ps");
    c_k  = cxa_col(&t, "kind");
    c_a  = cxa_col(&t, "action");
    c_g  = cxa_col(&t, "gpu");
    c_d  = cxa_col(&t, "dev");
    c_p  = cxa_col(&t, "port");
    c_pd = cxa_col(&t, "peer_dev");
    c_pp = cxa_col(&t, "peer_port");
    c_f  = cxa_col(&t, "factor");
    c_r  = cxa_col(&t, "random");
    c_t  = cxa_col(&t, "tier");
    if (fmt == CXA_FMT_JSON) arr = json_object_new_array();
    else printf("faults in %s: %llu\n  %12s  %-13s  %-34s %-12s %s\n", f.path, (unsigned long long)t.rows, "at (ms)",
                "kind", "hit", "factor", "what the job did");
    for (r = 0; r < t.rows; r++) {
        const void *row = cxa_row(&t, buf, r);
        unsigned    k = (unsigned)cxa_get_u64(c_k, row), act = (unsigned)cxa_get_u64(c_a, row);
        uint64_t    g = cxa_get_u64(c_g, row), d = cxa_get_u64(c_d, row), pd = cxa_get_u64(c_pd, row);
        uint64_t    p = cxa_get_u64(c_p, row), pp = cxa_get_u64(c_pp, row);
        double      at = (double)cxa_get_i64(c_at, row) * 1e-9, fac = cxa_get_f64(c_f, row);
        int         rnd = c_r != NULL && cxa_get_u64(c_r, row) != 0;
        char        hit[96];
        if (k <= 1) snprintf(hit, sizeof(hit), "GPU %llu", (unsigned long long)g);
        else if (k == 5)
            snprintf(hit, sizeof(hit), "switch %llu (tier %llu)", (unsigned long long)d,
                     (unsigned long long)(c_t ? cxa_get_u64(c_t, row) : 0));
        else if (g != UINT64_MAX)
            snprintf(hit, sizeof(hit), "GPU %llu's link %llu:%llu-%llu:%llu", (unsigned long long)g,
                     (unsigned long long)d, (unsigned long long)p, (unsigned long long)pd, (unsigned long long)pp);
        else
            snprintf(hit, sizeof(hit), "link %llu:%llu-%llu:%llu", (unsigned long long)d, (unsigned long long)p,
                     (unsigned long long)pd, (unsigned long long)pp);
        if (arr != NULL) {
            json_object *o = json_object_new_object();
            json_object_object_add(o, "at_seconds", json_object_new_double(at * 1e-3));
            json_object_object_add(o, "kind", json_object_new_string(cxa_fault_kind(k)));
            json_object_object_add(o, "action", json_object_new_string(cxa_fault_action(act)));
            if (g != UINT64_MAX) json_object_object_add(o, "gpu", json_object_new_uint64(g));
            json_object_object_add(o, "device", json_object_new_uint64(d));
            if (k >= 2 && k <= 4) {
                json_object_object_add(o, "port", json_object_new_uint64(p));
                json_object_object_add(o, "peer_device", json_object_new_uint64(pd));
                json_object_object_add(o, "peer_port", json_object_new_uint64(pp));
            }
            json_object_object_add(o, "factor", json_object_new_double(fac));
            json_object_object_add(o, "random", json_object_new_boolean(rnd));
            json_object_array_add(arr, o);
        } else {
            char fs[24] = "";
            if (k == 0 || k == 2) snprintf(fs, sizeof(fs), "%.3g", fac);
            printf("  %12.6f  %-13s  %-34s %-12s %s%s\n", at, cxa_fault_kind(k), hit, fs, cxa_fault_action(act),
                   rnd ? " [random]" : "");
        }
    }
    if (arr != NULL) {
        json_object *j = json_object_new_object();
        json_object_object_add(j, "file", json_object_new_string(f.path));
        json_object_object_add(j, "faults", arr);
        printf("%s\n", json_object_to_json_string_ext(j, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(j);
    }
    free(buf);
    cxa_table_close(&t);
    cxa_close(&f);
    return CXA_EXIT_OK;
}

/* ---- suspects for stragglers ----------------------------------------------- */

static int cxa_cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static int cxa_cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Slow GPUs: per GPU the kernel time summed over iterations against the
 * median of its server's (8-GPU block). */
static int cxa_suspect_gpus(const cxa_file_t *f, FILE *out, json_object *jarr)
{
    static const char *const need[] = {"gpu", "iteration", "begin_ps", "end_ps", "compute_ps", NULL};
    cxa_table_t      t;
    void            *buf;
    int64_t         *comp, ng = 0, span_lo = INT64_MAX, span_hi = INT64_MIN, iters = 0;
    uint64_t         r, g, maxg = 0;
    const cxa_col_t *c_g, *c_i, *c_b, *c_e, *c_c;
    int              found = 0;
    if ((buf = cxa_table_load(f, CXA_T_ITER, 0, need, &t)) == NULL) return 0;
    c_g = cxa_col(&t, "gpu");
    c_i = cxa_col(&t, "iteration");
    c_b = cxa_col(&t, "begin_ps");
    c_e = cxa_col(&t, "end_ps");
    c_c = cxa_col(&t, "compute_ps");
    for (r = 0; r < t.rows; r++) {
        const void *row = cxa_row(&t, buf, r);
        uint64_t    gi = cxa_get_u64(c_g, row), it = cxa_get_u64(c_i, row);
        if (gi < t.rows && gi > maxg) maxg = gi; /* GPUs <= rows: a corrupt 2^64 - 1 overflowed comp[] */
        if ((int64_t)it + 1 > iters) iters = (int64_t)it + 1;
        if (cxa_get_i64(c_b, row) < span_lo) span_lo = cxa_get_i64(c_b, row);
        if (cxa_get_i64(c_e, row) > span_hi) span_hi = cxa_get_i64(c_e, row);
    }
    ng   = t.rows > 0 ? (int64_t)maxg + 1 : 0;
    comp = calloc((size_t)(ng > 0 ? ng : 1), sizeof(int64_t));
    if (comp == NULL) goto out;
    for (r = 0; r < t.rows; r++) {
        const void *row = cxa_row(&t, buf, r);
        uint64_t    gi  = cxa_get_u64(c_g, row);
        if (gi < (uint64_t)ng) comp[gi] += cxa_get_i64(c_c, row);
    }
    for (g = 0; g < (uint64_t)ng; g++) {
        int64_t  peers[8], med, extra;
        uint64_t b = g / 8 * 8, n = 0, h;
        double   iter_ps = iters > 0 ? (double)(span_hi - span_lo) / (double)iters : 0;
        for (h = b; h < b + 8 && h < (uint64_t)ng; h++) peers[n++] = comp[h];
        if (n < 3) continue;
        qsort(peers, n, sizeof(int64_t), cxa_cmp_i64);
        med = peers[n / 2];
        if (med <= 0 || (double)comp[g] < 1.05 * (double)med) continue;
        extra = (comp[g] - med) / (iters > 0 ? iters : 1);
        found++;
        if (out != NULL) {
            fprintf(out, "  GPU %-8llu kernels %.2fx its server's median: +%.3f ms per iteration = %.1f%% of the "
                         "iteration time\n",
                    (unsigned long long)g, (double)comp[g] / (double)med, (double)extra * 1e-9,
                    iter_ps > 0 ? 100.0 * (double)extra / iter_ps : 0.0);
        }
        if (jarr != NULL) {
            json_object *o = json_object_new_object();
            json_object_object_add(o, "component", json_object_new_string("gpu"));
            json_object_object_add(o, "gpu", json_object_new_uint64(g));
            json_object_object_add(o, "kernel_ratio", json_object_new_double((double)comp[g] / (double)med));
            json_object_object_add(o, "extra_seconds_per_iteration", json_object_new_double((double)extra * 1e-12));
            json_object_object_add(o, "share_of_iteration", json_object_new_double(iter_ps > 0 ? (double)extra / iter_ps : 0));
            json_object_array_add(jarr, o);
        }
    }
    free(comp);
out:
    free(buf);
    cxa_table_close(&t);
    return found;
}

typedef struct cxa_sport {
    uint64_t dev, peer_dev, bytes, peak;
    uint32_t port, peer_port;
    unsigned cls;
    double   bw;
} cxa_sport_t;

static int cxa_sport_cmp(const void *a, const void *b)
{
    const cxa_sport_t *x = a, *y = b;
    if (x->dev != y->dev) return x->dev < y->dev ? -1 : 1;
    return x->port < y->port ? -1 : x->port > y->port;
}

/* Degraded links: a port that carried as much as its class's busy ports
 * but whose busiest bin moved well under theirs. */
static int cxa_suspect_links(const cxa_file_t *f, FILE *out, json_object *jarr)
{
    static const char *const needp[] = {"dev", "port", "peer_dev", "peer_port", "bytes", "bandwidth", "cls", NULL};
    static const char *const needb[] = {"dev", "port", "bytes", NULL};
    cxa_table_t  tp, tb;
    void        *bp = NULL, *bb = NULL;
    cxa_sport_t *ps = NULL;
    uint64_t     n = 0, r;
    int64_t      bin_ps = 0, span = 0;
    unsigned     cls;
    int          found = 0;
    if (!cxa_exists(f, CXA_T_PORTS) || !cxa_exists(f, CXA_T_BINS)) return 0;
    if (cxa_meta_i64(f, "link_bin_ps", &bin_ps) != 0 || cxa_bin_ps_ok(bin_ps) == 0) return 0;
    if (cxa_table_open(f, CXA_T_PORTS, 0, &tp) != 0) return 0;
    if (cxa_table_open(f, CXA_T_BINS, 0, &tb) != 0) {
        cxa_table_close(&tp);
        return 0;
    }
    if (cxa_need_cols(&tp, needp) != 0 || cxa_need_cols(&tb, needb) != 0) goto out;
    if ((bp = cxa_table_read_all(&tp)) == NULL || (bb = cxa_table_read_all(&tb)) == NULL) goto out;
    ps = calloc(tp.rows > 0 ? tp.rows : 1, sizeof(*ps));
    if (ps == NULL) goto out;
    for (r = 0; r < tp.rows; r++) {
        const void *row = cxa_row(&tp, bp, r);
        cxa_sport_t *p  = &ps[n];
        p->dev       = cxa_get_u64(cxa_col(&tp, "dev"), row);
        p->port      = (uint32_t)cxa_get_u64(cxa_col(&tp, "port"), row);
        p->peer_dev  = cxa_get_u64(cxa_col(&tp, "peer_dev"), row);
        p->peer_port = (uint32_t)cxa_get_u64(cxa_col(&tp, "peer_port"), row);
        p->bytes     = cxa_get_u64(cxa_col(&tp, "bytes"), row);
        p->bw        = cxa_get_f64(cxa_col(&tp, "bandwidth"), row);
        p->cls       = (unsigned)cxa_get_u64(cxa_col(&tp, "cls"), row);
        if (p->bytes > 0 && p->bw > 0) n++;
    }
    qsort(ps, n, sizeof(*ps), cxa_sport_cmp);
    {
        const cxa_col_t *c_d = cxa_col(&tb, "dev"), *c_p = cxa_col(&tb, "port"), *c_b = cxa_col(&tb, "bytes");
        const cxa_col_t *c_s = cxa_col(&tb, "start_ps");
        int64_t          lo = INT64_MAX, hi = INT64_MIN;
        for (r = 0; r < tb.rows; r++) {
            const void *row = cxa_row(&tb, bb, r);
            cxa_sport_t key, *p;
            key.dev  = cxa_get_u64(c_d, row);
            key.port = (uint32_t)cxa_get_u64(c_p, row);
            p        = bsearch(&key, ps, n, sizeof(*ps), cxa_sport_cmp);
            if (p != NULL && cxa_get_u64(c_b, row) > p->peak) p->peak = cxa_get_u64(c_b, row);
            if (c_s != NULL) {
                int64_t s = cxa_get_i64(c_s, row);
                if (s < lo) lo = s;
                if (s + bin_ps > hi) hi = s + bin_ps;
            }
        }
        span = hi > lo ? hi - lo : 0;
    }
    for (cls = 0; cls < 6; cls++) {
        double  *rate = malloc((n > 0 ? n : 1) * sizeof(double)), *byt = malloc((n > 0 ? n : 1) * sizeof(double));
        uint64_t m = 0, i;
        double   mrate, mbytes;
        if (rate == NULL || byt == NULL) {
            free(rate);
            free(byt);
            break;
        }
        for (i = 0; i < n; i++) {
            if (ps[i].cls != cls) continue;
            rate[m] = (double)ps[i].peak / ((double)bin_ps * 1e-12) / ps[i].bw;
            byt[m]  = (double)ps[i].bytes;
            m++;
        }
        if (m >= 4) {
            qsort(rate, m, sizeof(double), cxa_cmp_dbl);
            qsort(byt, m, sizeof(double), cxa_cmp_dbl);
            mrate  = rate[(m * 3) / 4];   /* the busy ports' peak share of line rate */
            mbytes = byt[m / 2];
            for (i = 0; i < n; i++) {
                double r_i, extra;
                if (ps[i].cls != cls) continue;
                r_i = (double)ps[i].peak / ((double)bin_ps * 1e-12) / ps[i].bw;
                if ((double)ps[i].bytes < 0.5 * mbytes || r_i >= 0.7 * mrate || r_i <= 0) continue;
                /* Time its bytes took at the rate it reached, beyond its line rate. */
                extra = (double)ps[i].bytes / (r_i * ps[i].bw) - (double)ps[i].bytes / ps[i].bw;
                found++;
                if (out != NULL) {
                    fprintf(out, "  link %llu:%u -> %llu:%u (%s) moved at most %.0f%% of line rate (its class: %.0f%%): "
                                 "+%.3f ms over the run = %.1f%% of it\n",
                            (unsigned long long)ps[i].dev, ps[i].port, (unsigned long long)ps[i].peer_dev,
                            ps[i].peer_port, cxa_link_class_name(cls), 100.0 * r_i, 100.0 * mrate, extra * 1e3,
                            span > 0 ? 100.0 * extra / ((double)span * 1e-12) : 0.0);
                }
                if (jarr != NULL) {
                    json_object *o = json_object_new_object();
                    json_object_object_add(o, "component", json_object_new_string("link"));
                    json_object_object_add(o, "device", json_object_new_uint64(ps[i].dev));
                    json_object_object_add(o, "port", json_object_new_uint64(ps[i].port));
                    json_object_object_add(o, "peer_device", json_object_new_uint64(ps[i].peer_dev));
                    json_object_object_add(o, "peer_port", json_object_new_uint64(ps[i].peer_port));
                    json_object_object_add(o, "peak_share_of_line_rate", json_object_new_double(r_i));
                    json_object_object_add(o, "class_peak_share", json_object_new_double(mrate));
                    json_object_object_add(o, "extra_seconds", json_object_new_double(extra));
                    json_object_object_add(o, "share_of_run",
                                           json_object_new_double(span > 0 ? extra / ((double)span * 1e-12) : 0.0));
                    json_object_array_add(jarr, o);
                }
            }
        }
        free(rate);
        free(byt);
    }
out:
    free(ps);
    free(bp);
    free(bb);
    cxa_table_close(&tb);
    cxa_table_close(&tp);
    return found;
}

void cxa_strag_suspects(const cxa_file_t *f, FILE *out, json_object *jobj)
{
    json_object *arr = jobj != NULL ? json_object_new_array() : NULL;
    int          n;
    if (out != NULL) fprintf(out, "suspects: components slower than their peers (kernel time per GPU%s)\n",
                             cxa_exists(f, CXA_T_BINS) ? "; link rates" : "; link rates need --trace-level links");
    n = cxa_suspect_gpus(f, out, arr);
    n += cxa_suspect_links(f, out, arr);
    if (out != NULL && n == 0) fprintf(out, "  none\n");
    if (jobj != NULL) json_object_object_add(jobj, "suspects", arr);
}

/* ---- plot of a campaign timeline ---------------------------------------------- */

int cxa_is_campaign_csv(const char *path)
{
    char  head[32] = "";
    FILE *f;
    size_t n = strlen(path);
    if (n < 4 || strcmp(path + n - 4, ".csv") != 0) return 0;
    f = fopen(path, "r");
    if (f == NULL) return 0;
    if (fgets(head, sizeof(head), f) == NULL) head[0] = '\0';
    fclose(f);
    return strncmp(head, "t_hours,event", 13) == 0;
}

int cxa_plot_campaign(const char *csv, const char *outdir)
{
    const char *py = getenv("COLOSSIM_PYTHON"), *script = CXA_CAMPAIGN_SCRIPT;
    char        png[4096];
    struct stat st;
    char       *args[8];
    if (stat(script, &st) != 0) script = CXA_CAMPAIGN_SCRIPT_INSTALLED;
    if (stat(script, &st) != 0) {
        cxa_error(NULL, "plot: cannot find campaign_timeline.py (looked at %s and %s)", CXA_CAMPAIGN_SCRIPT,
                  CXA_CAMPAIGN_SCRIPT_INSTALLED);
        return CXA_EXIT_USAGE;
    }
    if (mkdir(outdir, 0755) != 0 && errno != EEXIST) {
        cxa_error(outdir, "cannot create this directory: %s", strerror(errno));
        return CXA_EXIT_USAGE;
    }
    snprintf(png, sizeof(png), "%s/campaign_timeline.png", outdir);
    if (py == NULL || py[0] == '\0') py = "/usr/bin/python3";
    args[0] = (char *)py;
    args[1] = (char *)script;
    args[2] = (char *)csv;
    args[3] = (char *)"--out";
    args[4] = png;
    args[5] = NULL;
    fflush(stdout);
    fflush(stderr);
    execv(py, args);
    cxa_error(NULL, "plot: cannot run %s: %s (set COLOSSIM_PYTHON)", py, strerror(errno));
    return CXA_EXIT_USAGE;
}
