/*
 * colossim-analyze power FILE [--format table|json] [--size-battery] [--ramp MW/s]
 *
 * Power figures from the /power tables (SCHEMA.md, written by src/power):
 * mean and peak IT and facility MW (job and site), peak-to-trough swing per
 * iteration, largest ramp, energy per iteration and per token, battery
 * cycles, ramp / capacity violations.  --size-battery: the smallest battery
 * (MW, MWh) that lets the ramp-limited sources (turbines + grid) follow the
 * site's facility load within their ramp limit for this run:
 *   supply(t) = supply(t-dt) + clamp(load(t) - supply(t-dt), -R dt, +R dt)
 *   battery(t) = load(t) - supply(t)   (> 0 discharging)
 *   MW  = max |battery|;  usable MWh = max - min of the energy drawn
 *   (discharge / sqrt(RTE), charge x sqrt(RTE)); nameplate MWh = usable /
 *   (soc_max - soc_min).
 * R = --ramp, else /meta/power_ramp_limit_mw_per_s (committed turbines +
 * grid ramp), else a hypothetical turbine fleet sized to the site's peak
 * ramping at 20% of its rating per minute [U] (labelled in the output).
 */
#include "cxa.h"

#include <json-c/json.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int cxa_cmd_power(int argc, char **argv);


typedef struct cxa_pw_battery {
    double ramp, mw, usable_mwh, nameplate_mwh;
    int    ramp_source; /* 0 option, 1 trace, 2 hypothetical */
} cxa_pw_battery_t;

static void cxa_pw_size_battery(const double *load, const double *dt, uint64_t n, double ramp, double rte,
                                double soc_window, cxa_pw_battery_t *b)
{
    double   s, e = 0, emax = 0, emin = 0, sq = sqrt(rte > 0 ? rte : 1.0);
    uint64_t k;
    b->mw = b->usable_mwh = b->nameplate_mwh = 0;
    if (n == 0) return;
    s = load[0];
    for (k = 0; k < n; k++) {
        double d = load[k] - s, lim = ramp * dt[k], bat;
        if (d > lim) d = lim;
        if (d < -lim) d = -lim;
        s += d;
        bat = load[k] - s;
        if (fabs(bat) > b->mw) b->mw = fabs(bat);
        /* MWh drawn from the cells (positive = out). */
        e += bat > 0 ? bat * dt[k] / 3600.0 / sq : bat * dt[k] / 3600.0 * sq;
        if (e > emax) emax = e;
        if (e < emin) emin = e;
    }
    b->usable_mwh    = emax - emin;
    b->nameplate_mwh = soc_window > 0 ? b->usable_mwh / soc_window : b->usable_mwh;
}

static void cxa_pw_usage(FILE *out)
{
    fprintf(out, "usage: colossim-analyze power FILE [--format table|json] [--size-battery] [--ramp MW/s]\n"
                 "  power figures of a run (needs the /power tables: colossim run with --power-bin > 0):\n"
                 "  job and site IT / facility MW, swing per iteration, largest ramp, J per iteration and\n"
                 "  per token, battery cycles, violations.  --size-battery: smallest battery (MW, MWh)\n"
                 "  keeping the ramp-limited supply (turbines, grid) within --ramp MW/s (default: the\n"
                 "  trace's committed turbines + grid ramp limit).\n");
}

/* One power report: options, /meta figures, the bins' figures. */
typedef struct cxa_pw {
    const char  *path;
    cxa_format_t fmt;
    int          size_battery;
    double       ramp_opt;
    int64_t      job_gpus, site_gpus, extrap, bin_ps, unserved, excess, chill, trunc;
    double       scale, tokens, ramp_meta, rte, smin, smax, bat_mwh;
    char         site[64];
    double      *fac, *dt; /* per bin: site facility MW, width (s) */
    uint64_t     n;
    double       mean_it, peak_it, mean_jf, peak_jf, mean_sit, peak_sit, mean_f, peak_f, ramp, sramp, dis;
    double       swing, sswing, e_iter, e_tok, ie_tok;
} cxa_pw_t;

/* Options; CXA_EXIT_OK, or the exit code after the usage. */
static int cxa_pw_args(int argc, char **argv, cxa_pw_t *p)
{
    const char *fmt_s = "table";
    int         i;
    for (i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            cxa_pw_usage(stdout);
            return -1;
        } else if (strcmp(argv[i], "--size-battery") == 0) {
            p->size_battery = 1;
        } else if ((strcmp(argv[i], "--format") == 0 || strcmp(argv[i], "--ramp") == 0) && i + 1 < argc) {
            if (argv[i][2] == 'f') {
                fmt_s = argv[++i];
            } else {
                char *end;
                p->ramp_opt = strtod(argv[++i], &end);
                if (*end != '\0' || p->ramp_opt <= 0) {
                    cxa_error(NULL, "power: --ramp takes MW/s > 0");
                    return CXA_EXIT_USAGE;
                }
            }
        } else if (strncmp(argv[i], "--format=", 9) == 0) {
            fmt_s = argv[i] + 9;
        } else if (argv[i][0] == '-' || p->path != NULL) {
            cxa_error(NULL, "power: unexpected argument '%s'", argv[i]);
            cxa_pw_usage(stderr);
            return CXA_EXIT_USAGE;
        } else {
            p->path = argv[i];
        }
    }
    if (p->path == NULL) {
        cxa_error(NULL, "power: missing FILE (a colossim trace with /power)");
        cxa_pw_usage(stderr);
        return CXA_EXIT_USAGE;
    }
    if (cxa_parse_format(fmt_s, &p->fmt) != 0 || p->fmt == CXA_FMT_CSV) {
        cxa_error(NULL, "power: --format table|json");
        return CXA_EXIT_USAGE;
    }
    return CXA_EXIT_OK;
}

static void cxa_pw_meta(const cxa_file_t *f, cxa_pw_t *p)
{
    cxa_meta_i64(f, "power_job_gpus", &p->job_gpus);
    cxa_meta_i64(f, "power_site_gpus", &p->site_gpus);
    cxa_meta_i64(f, "power_extrapolated", &p->extrap);
    cxa_meta_i64(f, "power_bin_ps", &p->bin_ps);
    cxa_meta_i64(f, "power_unserved_bins", &p->unserved);
    cxa_meta_i64(f, "power_excess_bins", &p->excess);
    cxa_meta_i64(f, "power_chiller_bins", &p->chill);
    cxa_meta_i64(f, "power_overlap_truncated", &p->trunc);
    cxa_meta_f64(f, "power_site_scale", &p->scale);
    cxa_meta_f64(f, "power_tokens_per_iteration", &p->tokens);
    cxa_meta_f64(f, "power_ramp_limit_mw_per_s", &p->ramp_meta);
    cxa_meta_f64(f, "power_battery_rte", &p->rte);
    cxa_meta_f64(f, "power_battery_soc_min", &p->smin);
    cxa_meta_f64(f, "power_battery_soc_max", &p->smax);
    cxa_meta_f64(f, "power_battery_mwh", &p->bat_mwh);
    cxa_meta_str(f, "power_site", p->site, sizeof(p->site));
}

/* Means, peaks, ramps and battery discharge over the /power/site bins. */
static int cxa_pw_bins(cxa_pw_t *p, const cxa_table_t *ts, const void *rows)
{
    const cxa_col_t *c_w = cxa_col(ts, "width_ps"), *c_jit = cxa_col(ts, "job_it_mw"),
                    *c_jf = cxa_col(ts, "job_facility_mw"), *c_sit = cxa_col(ts, "site_it_mw"),
                    *c_f = cxa_col(ts, "facility_mw"), *c_b = cxa_col(ts, "battery_mw"), *c_st = cxa_col(ts, "start_ps");
    double   secs = 0, *jit_s;
    uint64_t k, n = p->n = ts->rows;
    p->fac = calloc(n + 1, sizeof(double));
    p->dt  = calloc(n + 1, sizeof(double));
    /* Rows come in bin order from rank 0, but sort-free code must not rely on it: index by start. */
    jit_s = calloc(n + 1, sizeof(double));
    if (p->fac == NULL || p->dt == NULL || jit_s == NULL) {
        cxa_error(NULL, "out of memory");
        free(jit_s);
        return CXA_EXIT_FILE;
    }
    for (k = 0; k < n; k++) {
        const void *r  = cxa_row(ts, rows, k);
        uint64_t    bi = p->bin_ps > 0 ? (uint64_t)(cxa_get_i64(c_st, r) / p->bin_ps) : k;
        double      w  = (double)cxa_get_i64(c_w, r) * 1e-12;
        double      jv = cxa_get_f64(c_jit, r), jf = cxa_get_f64(c_jf, r), sv = cxa_get_f64(c_sit, r),
                    fv = cxa_get_f64(c_f, r), bv = cxa_get_f64(c_b, r);
        if (bi >= n) bi = n - 1;
        p->fac[bi] = fv;
        p->dt[bi]  = w;
        jit_s[bi]  = jv;
        secs += w;
        p->mean_it += jv * w;
        p->mean_jf += jf * w;
        p->mean_sit += sv * w;
        p->mean_f += fv * w;
        if (jv > p->peak_it) p->peak_it = jv;
        if (jf > p->peak_jf) p->peak_jf = jf;
        if (sv > p->peak_sit) p->peak_sit = sv;
        if (fv > p->peak_f) p->peak_f = fv;
        if (bv > 0) p->dis += bv * w / 3600.0;
    }
    for (k = 1; k < n; k++) {
        double w = p->dt[k - 1] > 0 ? (double)p->bin_ps * 1e-12 : 1;
        double r1 = fabs(jit_s[k] - jit_s[k - 1]) / w, r2 = fabs(p->fac[k] - p->fac[k - 1]) / w;
        if (r1 > p->ramp) p->ramp = r1;
        if (r2 > p->sramp) p->sramp = r2;
    }
    free(jit_s);
    if (secs > 0) {
        p->mean_it /= secs;
        p->mean_jf /= secs;
        p->mean_sit /= secs;
        p->mean_f /= secs;
    }
    return CXA_EXIT_OK;
}

/* /power/iterations: one line (table) or object (into jit) each; swing and energy per iteration. */
static void cxa_pw_iters(cxa_pw_t *p, const cxa_file_t *f, json_object *jit)
{
    static const char *const icols[] = {"iteration", "swing_mw", "max_ramp_mw_per_s", "facility_energy_j",
                                        "it_energy_j", "peak_it_mw", "trough_it_mw", "site_swing_mw", NULL};
    cxa_table_t ti;
    void       *irows;
    double      se = 0, sie = 0;
    uint64_t    k, niter = 0;
    if ((irows = cxa_table_load(f, CXA_T_PW_ITER, 0, icols, &ti)) != NULL) {
        const cxa_col_t *c_i = cxa_col(&ti, "iteration"), *c_s = cxa_col(&ti, "swing_mw"),
                        *c_r = cxa_col(&ti, "max_ramp_mw_per_s"), *c_e = cxa_col(&ti, "facility_energy_j"),
                        *c_ie = cxa_col(&ti, "it_energy_j"), *c_p = cxa_col(&ti, "peak_it_mw"),
                        *c_t = cxa_col(&ti, "trough_it_mw"), *c_ss = cxa_col(&ti, "site_swing_mw");
        if (p->fmt == CXA_FMT_TABLE && ti.rows > 0)
            printf("%-9s %10s %10s %10s %12s %14s %14s\n", "iteration", "peak MW", "trough MW", "swing MW",
                   "ramp MW/s", "facility J", "site swing MW");
        for (k = 0; k < ti.rows; k++) {
            const void *r = cxa_row(&ti, irows, k);
            double      sw = cxa_get_f64(c_s, r), ssw = cxa_get_f64(c_ss, r);
            if (sw > p->swing) p->swing = sw;
            if (ssw > p->sswing) p->sswing = ssw;
            /* Steady state: iterations after the first when there are several. */
            if (ti.rows == 1 || cxa_get_u64(c_i, r) > 0) {
                se += cxa_get_f64(c_e, r);
                sie += cxa_get_f64(c_ie, r);
                niter++;
            }
            if (p->fmt == CXA_FMT_TABLE) {
                printf("%-9llu %10.4f %10.4f %10.4f %12.4g %14.6g %14.4f\n",
                       (unsigned long long)cxa_get_u64(c_i, r), cxa_get_f64(c_p, r), cxa_get_f64(c_t, r), sw,
                       cxa_get_f64(c_r, r), cxa_get_f64(c_e, r), ssw);
            } else {
                json_object *o = json_object_new_object();
                json_object_object_add(o, "iteration", json_object_new_uint64(cxa_get_u64(c_i, r)));
                json_object_object_add(o, "peak_it_mw", json_object_new_double(cxa_get_f64(c_p, r)));
                json_object_object_add(o, "trough_it_mw", json_object_new_double(cxa_get_f64(c_t, r)));
                json_object_object_add(o, "swing_mw", json_object_new_double(sw));
                json_object_object_add(o, "max_ramp_mw_per_s", json_object_new_double(cxa_get_f64(c_r, r)));
                json_object_object_add(o, "facility_energy_j", json_object_new_double(cxa_get_f64(c_e, r)));
                json_object_object_add(o, "it_energy_j", json_object_new_double(cxa_get_f64(c_ie, r)));
                json_object_object_add(o, "site_swing_mw", json_object_new_double(ssw));
                json_object_array_add(jit, o);
            }
        }
        if (niter > 0) {
            p->e_iter = se / (double)niter;
            if (p->tokens > 0) {
                p->e_tok  = p->e_iter / p->tokens;
                p->ie_tok = sie / (double)niter / p->tokens;
            }
        }
        free(irows);
    }
    cxa_table_close(&ti);
}

/* --size-battery: the ramp and where it comes from, then the battery. */
static const char *cxa_pw_battery(const cxa_pw_t *p, cxa_pw_battery_t *bs)
{
    memset(bs, 0, sizeof(*bs));
    if (p->size_battery) {
        if (p->ramp_opt > 0) {
            bs->ramp        = p->ramp_opt;
            bs->ramp_source = 0;
        } else if (p->ramp_meta > 0) {
            bs->ramp        = p->ramp_meta;
            bs->ramp_source = 1;
        } else {
            bs->ramp        = p->peak_f * 0.20 / 60.0;
            bs->ramp_source = 2;
        }
        cxa_pw_size_battery(p->fac, p->dt, p->n, bs->ramp, p->rte, p->smax - p->smin, bs);
    }
    return bs->ramp_source == 0   ? "--ramp"
           : bs->ramp_source == 1 ? "the site's committed turbines + grid (trace)"
                                  : "HYPOTHETICAL turbines sized to the site peak, 20%/min [U]";
}

static void cxa_pw_print_table(const cxa_pw_t *p)
{
    const char      *ex  = p->extrap ? "  [EXTRAPOLATED]" : "";
    double           cyc = p->bat_mwh > 0 ? p->dis / p->bat_mwh : 0;
    cxa_pw_battery_t bs;
    const char      *rs = cxa_pw_battery(p, &bs);
    printf("power: %s, job %lld GPUs, site %s %lld GPUs%s\n", p->path, (long long)p->job_gpus, p->site,
           (long long)p->site_gpus, p->extrap ? "" : " (the job is the whole site)");
    if (p->extrap)
        printf("  site figures are EXTRAPOLATED: job x %.4g (every site GPU runs this job in lockstep)\n", p->scale);
    printf("  job IT             mean %10.4f MW  peak %10.4f MW\n", p->mean_it, p->peak_it);
    printf("  job facility       mean %10.4f MW  peak %10.4f MW\n", p->mean_jf, p->peak_jf);
    printf("  site IT            mean %10.4f MW  peak %10.4f MW%s\n", p->mean_sit, p->peak_sit, ex);
    printf("  site facility      mean %10.4f MW  peak %10.4f MW%s\n", p->mean_f, p->peak_f, ex);
    printf("  swing              %.4f MW job IT, %.4f MW site facility%s (max over iterations)\n", p->swing,
           p->sswing, ex);
    printf("  largest ramp       %.4g MW/s job IT, %.4g MW/s site facility%s (%.3g ms bins)\n", p->ramp, p->sramp,
           ex, (double)p->bin_ps * 1e-9);
    printf("  energy             %.6g J per iteration, %.6g J per token (job facility; IT %.6g J/token)\n",
           p->e_iter, p->e_tok, p->ie_tok);
    printf("  battery            %.4g equivalent full cycles (%.4g MWh discharged)%s\n", cyc, p->dis, ex);
    printf("  violations         %lld bin(s) unserved (capacity), %lld bin(s) excess (ramp-down/min load), "
           "%lld bin(s) over chiller capacity%s\n",
           (long long)p->unserved, (long long)p->excess, (long long)p->chill, ex);
    if (p->trunc > 0) printf("  note               %lld GPU-state overlaps approximate\n", (long long)p->trunc);
    if (p->size_battery) {
        printf("  size-battery       %.4g MW, %.4g MWh usable, %.4g MWh nameplate (SoC %.2f..%.2f, RTE %.2f)\n"
               "                     keeps the ramp-limited supply within %.4g MW/s (%s)%s\n",
               bs.mw, bs.usable_mwh, bs.nameplate_mwh, p->smin, p->smax, p->rte, bs.ramp, rs, ex);
    }
}

static void cxa_pw_print_json(const cxa_pw_t *p, json_object *jit)
{
    json_object     *j = json_object_new_object();
    cxa_pw_battery_t bs;
    const char      *rs = cxa_pw_battery(p, &bs);
    json_object_object_add(j, "file", json_object_new_string(p->path));
    json_object_object_add(j, "site", json_object_new_string(p->site));
    json_object_object_add(j, "job_gpus", json_object_new_int64(p->job_gpus));
    json_object_object_add(j, "site_gpus", json_object_new_int64(p->site_gpus));
    json_object_object_add(j, "extrapolated", json_object_new_boolean((int)p->extrap));
    json_object_object_add(j, "site_scale", json_object_new_double(p->scale));
    json_object_object_add(j, "bin_seconds", json_object_new_double((double)p->bin_ps * 1e-12));
    json_object_object_add(j, "mean_it_mw", json_object_new_double(p->mean_it));
    json_object_object_add(j, "peak_it_mw", json_object_new_double(p->peak_it));
    json_object_object_add(j, "mean_facility_mw", json_object_new_double(p->mean_jf));
    json_object_object_add(j, "peak_facility_mw", json_object_new_double(p->peak_jf));
    json_object_object_add(j, "site_mean_it_mw", json_object_new_double(p->mean_sit));
    json_object_object_add(j, "site_peak_it_mw", json_object_new_double(p->peak_sit));
    json_object_object_add(j, "site_mean_facility_mw", json_object_new_double(p->mean_f));
    json_object_object_add(j, "site_peak_facility_mw", json_object_new_double(p->peak_f));
    json_object_object_add(j, "swing_mw", json_object_new_double(p->swing));
    json_object_object_add(j, "site_swing_mw", json_object_new_double(p->sswing));
    json_object_object_add(j, "max_ramp_mw_per_s", json_object_new_double(p->ramp));
    json_object_object_add(j, "site_max_ramp_mw_per_s", json_object_new_double(p->sramp));
    json_object_object_add(j, "energy_j_per_iteration", json_object_new_double(p->e_iter));
    json_object_object_add(j, "energy_j_per_token", json_object_new_double(p->e_tok));
    json_object_object_add(j, "it_energy_j_per_token", json_object_new_double(p->ie_tok));
    json_object_object_add(j, "battery_cycles", json_object_new_double(p->bat_mwh > 0 ? p->dis / p->bat_mwh : 0));
    json_object_object_add(j, "battery_discharged_mwh", json_object_new_double(p->dis));
    json_object_object_add(j, "unserved_bins", json_object_new_int64(p->unserved));
    json_object_object_add(j, "excess_bins", json_object_new_int64(p->excess));
    json_object_object_add(j, "chiller_bins", json_object_new_int64(p->chill));
    json_object_object_add(j, "overlap_truncated", json_object_new_int64(p->trunc));
    json_object_object_add(j, "iterations", jit);
    if (p->size_battery) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "ramp_mw_per_s", json_object_new_double(bs.ramp));
        json_object_object_add(o, "ramp_source", json_object_new_string(rs));
        json_object_object_add(o, "mw", json_object_new_double(bs.mw));
        json_object_object_add(o, "usable_mwh", json_object_new_double(bs.usable_mwh));
        json_object_object_add(o, "nameplate_mwh", json_object_new_double(bs.nameplate_mwh));
        json_object_object_add(j, "size_battery", o);
    }
    printf("%s\n", json_object_to_json_string_ext(j, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(j);
}

int cxa_cmd_power(int argc, char **argv)
{
    static const char *const scols[] = {"start_ps", "width_ps", "job_it_mw", "job_facility_mw", "site_it_mw",
                                        "cooling_mw", "facility_mw", "grid_mw", "turbines_mw", "battery_mw",
                                        "battery_soc", "unserved_mw", "excess_mw", NULL};
    cxa_pw_t    p;
    cxa_file_t  f;
    cxa_table_t ts;
    void       *rows;
    int         rc;

    memset(&p, 0, sizeof(p));
    p.ramp_opt = -1;
    p.scale    = 1;
    p.rte      = 0.92;
    p.smin     = 0.05;
    p.smax     = 0.95;
    rc         = cxa_pw_args(argc, argv, &p);
    if (rc != CXA_EXIT_OK) return rc < 0 ? CXA_EXIT_OK : rc;
    if (cxa_open(&f, p.path) != 0) return CXA_EXIT_FILE;
    if (cxa_require(&f, CXA_T_PW_SITE, "no /power tables (run colossim run with --power-bin > 0)") != 0)
        return CXA_EXIT_USAGE;
    rows = cxa_table_load(&f, CXA_T_PW_SITE, CXA_LOAD_REQUIRED, scols, &ts);
    if (rows == NULL) {
        cxa_close(&f);
        return CXA_EXIT_FILE;
    }
    cxa_pw_meta(&f, &p);
    rc = cxa_pw_bins(&p, &ts, rows);
    if (rc == CXA_EXIT_OK) {
        json_object *jit = p.fmt == CXA_FMT_JSON ? json_object_new_array() : NULL;
        cxa_pw_iters(&p, &f, jit);
        if (p.fmt == CXA_FMT_TABLE)
            cxa_pw_print_table(&p);
        else
            cxa_pw_print_json(&p, jit);
    }
    free(rows);
    free(p.fac);
    free(p.dt);
    cxa_table_close(&ts);
    cxa_close(&f);
    return rc;
}
