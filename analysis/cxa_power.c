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

int cxa_cmd_power(int argc, char **argv)
{
    const char      *path = NULL, *fmt_s = "table";
    cxa_format_t     fmt  = CXA_FMT_TABLE;
    int              size_battery = 0, i, rc = CXA_EXIT_OK;
    double           ramp_opt = -1;
    cxa_file_t       f;
    cxa_table_t      ts, ti;
    void            *rows = NULL, *irows = NULL;
    double          *fac = NULL, *dt = NULL;
    uint64_t         n, k;
    int64_t          job_gpus = 0, site_gpus = 0, extrap = 0, bin_ps = 0, unserved = 0, excess = 0, chill = 0,
                     trunc = 0;
    double           scale = 1, tokens = 0, ramp_meta = 0, rte = 0.92, smin = 0.05, smax = 0.95, bat_mwh = 0;
    char             site[64] = "";
    static const char *const scols[] = {"start_ps", "width_ps", "job_it_mw", "job_facility_mw", "site_it_mw",
                                        "cooling_mw", "facility_mw", "grid_mw", "turbines_mw", "battery_mw",
                                        "battery_soc", "unserved_mw", "excess_mw", NULL};

    for (i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            cxa_pw_usage(stdout);
            return CXA_EXIT_OK;
        } else if (strcmp(argv[i], "--size-battery") == 0) {
            size_battery = 1;
        } else if ((strcmp(argv[i], "--format") == 0 || strcmp(argv[i], "--ramp") == 0) && i + 1 < argc) {
            if (argv[i][2] == 'f') {
                fmt_s = argv[++i];
            } else {
                char *end;
                ramp_opt = strtod(argv[++i], &end);
                if (*end != '\0' || ramp_opt <= 0) {
                    cxa_error(NULL, "power: --ramp takes MW/s > 0");
                    return CXA_EXIT_USAGE;
                }
            }
        } else if (strncmp(argv[i], "--format=", 9) == 0) {
            fmt_s = argv[i] + 9;
        } else if (argv[i][0] == '-' || path != NULL) {
            cxa_error(NULL, "power: unexpected argument '%s'", argv[i]);
            cxa_pw_usage(stderr);
            return CXA_EXIT_USAGE;
        } else {
            path = argv[i];
        }
    }
    if (path == NULL) {
        cxa_error(NULL, "power: missing FILE (a colossim trace with /power)");
        cxa_pw_usage(stderr);
        return CXA_EXIT_USAGE;
    }
    if (cxa_parse_format(fmt_s, &fmt) != 0 || fmt == CXA_FMT_CSV) {
        cxa_error(NULL, "power: --format table|json");
        return CXA_EXIT_USAGE;
    }
    if (cxa_open(&f, path) != 0) return CXA_EXIT_FILE;
    if (!cxa_exists(&f, CXA_T_PW_SITE)) {
        cxa_error(path, "no /power tables (run colossim run with --power-bin > 0)");
        cxa_close(&f);
        return CXA_EXIT_USAGE;
    }
    if (cxa_table_open(&f, CXA_T_PW_SITE, 1, &ts) != 0) {
        cxa_close(&f);
        return CXA_EXIT_FILE;
    }
    if (cxa_need_cols(&ts, scols) != 0 || (rows = cxa_table_read_all(&ts)) == NULL) {
        cxa_table_close(&ts);
        cxa_close(&f);
        return CXA_EXIT_FILE;
    }
    cxa_meta_i64(&f, "power_job_gpus", &job_gpus);
    cxa_meta_i64(&f, "power_site_gpus", &site_gpus);
    cxa_meta_i64(&f, "power_extrapolated", &extrap);
    cxa_meta_i64(&f, "power_bin_ps", &bin_ps);
    cxa_meta_i64(&f, "power_unserved_bins", &unserved);
    cxa_meta_i64(&f, "power_excess_bins", &excess);
    cxa_meta_i64(&f, "power_chiller_bins", &chill);
    cxa_meta_i64(&f, "power_overlap_truncated", &trunc);
    cxa_meta_f64(&f, "power_site_scale", &scale);
    cxa_meta_f64(&f, "power_tokens_per_iteration", &tokens);
    cxa_meta_f64(&f, "power_ramp_limit_mw_per_s", &ramp_meta);
    cxa_meta_f64(&f, "power_battery_rte", &rte);
    cxa_meta_f64(&f, "power_battery_soc_min", &smin);
    cxa_meta_f64(&f, "power_battery_soc_max", &smax);
    cxa_meta_f64(&f, "power_battery_mwh", &bat_mwh);
    cxa_meta_str(&f, "power_site", site, sizeof(site));

    n   = ts.rows;
    fac = calloc(n + 1, sizeof(double));
    dt  = calloc(n + 1, sizeof(double));
    {
        const cxa_col_t *c_w = cxa_col(&ts, "width_ps"), *c_jit = cxa_col(&ts, "job_it_mw"),
                        *c_jf = cxa_col(&ts, "job_facility_mw"), *c_sit = cxa_col(&ts, "site_it_mw"),
                        *c_f = cxa_col(&ts, "facility_mw"), *c_b = cxa_col(&ts, "battery_mw"),
                        *c_st = cxa_col(&ts, "start_ps");
        double mean_it = 0, peak_it = 0, mean_jf = 0, peak_jf = 0, mean_sit = 0, peak_sit = 0, mean_f = 0,
               peak_f = 0, secs = 0, ramp = 0, sramp = 0, dis = 0, swing = 0, sswing = 0, e_iter = 0,
               e_tok = 0, ie_tok = 0;
        uint64_t niter = 0;
        json_object *j = NULL, *jit = NULL;
        /* Rows come in bin order from rank 0, but sort-free code must not
         * rely on it: index by start. */
        double *jit_s = calloc(n + 1, sizeof(double));
        if (fac == NULL || dt == NULL || jit_s == NULL) {
            cxa_error(NULL, "out of memory");
            free(jit_s);
            rc = CXA_EXIT_FILE;
            goto out;
        }
        for (k = 0; k < n; k++) {
            const void *r  = cxa_row(&ts, rows, k);
            uint64_t    bi = bin_ps > 0 ? (uint64_t)(cxa_get_i64(c_st, r) / bin_ps) : k;
            double      w  = (double)cxa_get_i64(c_w, r) * 1e-12;
            double      jv = cxa_get_f64(c_jit, r), jf = cxa_get_f64(c_jf, r), sv = cxa_get_f64(c_sit, r),
                        fv = cxa_get_f64(c_f, r), bv = cxa_get_f64(c_b, r);
            if (bi >= n) bi = n - 1;
            fac[bi]   = fv;
            dt[bi]    = w;
            jit_s[bi] = jv;
            secs += w;
            mean_it += jv * w;
            mean_jf += jf * w;
            mean_sit += sv * w;
            mean_f += fv * w;
            if (jv > peak_it) peak_it = jv;
            if (jf > peak_jf) peak_jf = jf;
            if (sv > peak_sit) peak_sit = sv;
            if (fv > peak_f) peak_f = fv;
            if (bv > 0) dis += bv * w / 3600.0;
        }
        for (k = 1; k < n; k++) {
            double w = dt[k - 1] > 0 ? (double)bin_ps * 1e-12 : 1;
            double r1 = fabs(jit_s[k] - jit_s[k - 1]) / w, r2 = fabs(fac[k] - fac[k - 1]) / w;
            if (r1 > ramp) ramp = r1;
            if (r2 > sramp) sramp = r2;
        }
        free(jit_s);
        if (secs > 0) {
            mean_it /= secs;
            mean_jf /= secs;
            mean_sit /= secs;
            mean_f /= secs;
        }
        /* Iterations. */
        if (fmt == CXA_FMT_JSON) {
            j   = json_object_new_object();
            jit = json_object_new_array();
        }
        if (cxa_exists(&f, CXA_T_PW_ITER) && cxa_table_open(&f, CXA_T_PW_ITER, 0, &ti) == 0) {
            static const char *const icols[] = {"iteration", "swing_mw", "max_ramp_mw_per_s", "facility_energy_j",
                                                "it_energy_j", "peak_it_mw", "trough_it_mw", "site_swing_mw", NULL};
            if (cxa_need_cols(&ti, icols) == 0 && (irows = cxa_table_read_all(&ti)) != NULL) {
                const cxa_col_t *c_i = cxa_col(&ti, "iteration"), *c_s = cxa_col(&ti, "swing_mw"),
                                *c_r = cxa_col(&ti, "max_ramp_mw_per_s"), *c_e = cxa_col(&ti, "facility_energy_j"),
                                *c_ie = cxa_col(&ti, "it_energy_j"), *c_p = cxa_col(&ti, "peak_it_mw"),
                                *c_t = cxa_col(&ti, "trough_it_mw"), *c_ss = cxa_col(&ti, "site_swing_mw");
                double se = 0, sie = 0;
                if (fmt == CXA_FMT_TABLE && ti.rows > 0)
                    printf("%-9s %10s %10s %10s %12s %14s %14s\n", "iteration", "peak MW", "trough MW", "swing MW",
                           "ramp MW/s", "facility J", "site swing MW");
                for (k = 0; k < ti.rows; k++) {
                    const void *r = cxa_row(&ti, irows, k);
                    double      sw = cxa_get_f64(c_s, r), ssw = cxa_get_f64(c_ss, r);
                    if (sw > swing) swing = sw;
                    if (ssw > sswing) sswing = ssw;
                    /* Steady state: iterations after the first when there are several. */
                    if (ti.rows == 1 || cxa_get_u64(c_i, r) > 0) {
                        se += cxa_get_f64(c_e, r);
                        sie += cxa_get_f64(c_ie, r);
                        niter++;
                    }
                    if (fmt == CXA_FMT_TABLE) {
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
                    e_iter = se / (double)niter;
                    if (tokens > 0) {
                        e_tok  = e_iter / tokens;
                        ie_tok = sie / (double)niter / tokens;
                    }
                }
            }
            cxa_table_close(&ti);
        }
        {
            double           cyc = bat_mwh > 0 ? dis / bat_mwh : 0;
            cxa_pw_battery_t bs;
            const char      *rs;
            memset(&bs, 0, sizeof(bs));
            if (size_battery) {
                if (ramp_opt > 0) {
                    bs.ramp = ramp_opt;
                    bs.ramp_source = 0;
                } else if (ramp_meta > 0) {
                    bs.ramp = ramp_meta;
                    bs.ramp_source = 1;
                } else {
                    bs.ramp = peak_f * 0.20 / 60.0;
                    bs.ramp_source = 2;
                }
                cxa_pw_size_battery(fac, dt, n, bs.ramp, rte, smax - smin, &bs);
            }
            rs = bs.ramp_source == 0 ? "--ramp" : bs.ramp_source == 1 ? "the site's committed turbines + grid (trace)"
                                                                        : "HYPOTHETICAL turbines sized to the site peak, 20%/min [U]";
            if (fmt == CXA_FMT_TABLE) {
                const char *ex = extrap ? "  [EXTRAPOLATED]" : "";
                printf("power: %s, job %lld GPUs, site %s %lld GPUs%s\n", path, (long long)job_gpus, site,
                       (long long)site_gpus,
                       extrap ? "" : " (the job is the whole site)");
                if (extrap)
                    printf("  site figures are EXTRAPOLATED: job x %.4g (every site GPU runs this job in lockstep)\n", scale);
                printf("  job IT             mean %10.4f MW  peak %10.4f MW\n", mean_it, peak_it);
                printf("  job facility       mean %10.4f MW  peak %10.4f MW\n", mean_jf, peak_jf);
                printf("  site IT            mean %10.4f MW  peak %10.4f MW%s\n", mean_sit, peak_sit, ex);
                printf("  site facility      mean %10.4f MW  peak %10.4f MW%s\n", mean_f, peak_f, ex);
                printf("  swing              %.4f MW job IT, %.4f MW site facility%s (max over iterations)\n", swing,
                       sswing, ex);
                printf("  largest ramp       %.4g MW/s job IT, %.4g MW/s site facility%s (%.3g ms bins)\n", ramp,
                       sramp, ex, (double)bin_ps * 1e-9);
                printf("  energy             %.6g J per iteration, %.6g J per token (job facility; IT %.6g J/token)\n",
                       e_iter, e_tok, ie_tok);
                printf("  battery            %.4g equivalent full cycles (%.4g MWh discharged)%s\n", cyc, dis, ex);
                printf("  violations         %lld bin(s) unserved (capacity), %lld bin(s) excess (ramp-down/min load), "
                       "%lld bin(s) over chiller capacity%s\n",
                       (long long)unserved, (long long)excess, (long long)chill, ex);
                if (trunc > 0) printf("  note               %lld GPU-state overlaps approximate\n", (long long)trunc);
                if (size_battery) {
                    printf("  size-battery       %.4g MW, %.4g MWh usable, %.4g MWh nameplate (SoC %.2f..%.2f, RTE %.2f)\n"
                           "                     keeps the ramp-limited supply within %.4g MW/s (%s)%s\n",
                           bs.mw, bs.usable_mwh, bs.nameplate_mwh, smin, smax, rte, bs.ramp, rs, ex);
                }
            } else {
                json_object_object_add(j, "file", json_object_new_string(path));
                json_object_object_add(j, "site", json_object_new_string(site));
                json_object_object_add(j, "job_gpus", json_object_new_int64(job_gpus));
                json_object_object_add(j, "site_gpus", json_object_new_int64(site_gpus));
                json_object_object_add(j, "extrapolated", json_object_new_boolean((int)extrap));
                json_object_object_add(j, "site_scale", json_object_new_double(scale));
                json_object_object_add(j, "bin_seconds", json_object_new_double((double)bin_ps * 1e-12));
                json_object_object_add(j, "mean_it_mw", json_object_new_double(mean_it));
                json_object_object_add(j, "peak_it_mw", json_object_new_double(peak_it));
                json_object_object_add(j, "mean_facility_mw", json_object_new_double(mean_jf));
                json_object_object_add(j, "peak_facility_mw", json_object_new_double(peak_jf));
                json_object_object_add(j, "site_mean_it_mw", json_object_new_double(mean_sit));
                json_object_object_add(j, "site_peak_it_mw", json_object_new_double(peak_sit));
                json_object_object_add(j, "site_mean_facility_mw", json_object_new_double(mean_f));
                json_object_object_add(j, "site_peak_facility_mw", json_object_new_double(peak_f));
                json_object_object_add(j, "swing_mw", json_object_new_double(swing));
                json_object_object_add(j, "site_swing_mw", json_object_new_double(sswing));
                json_object_object_add(j, "max_ramp_mw_per_s", json_object_new_double(ramp));
                json_object_object_add(j, "site_max_ramp_mw_per_s", json_object_new_double(sramp));
                json_object_object_add(j, "energy_j_per_iteration", json_object_new_double(e_iter));
                json_object_object_add(j, "energy_j_per_token", json_object_new_double(e_tok));
                json_object_object_add(j, "it_energy_j_per_token", json_object_new_double(ie_tok));
                json_object_object_add(j, "battery_cycles", json_object_new_double(cyc));
                json_object_object_add(j, "battery_discharged_mwh", json_object_new_double(dis));
                json_object_object_add(j, "unserved_bins", json_object_new_int64(unserved));
                json_object_object_add(j, "excess_bins", json_object_new_int64(excess));
                json_object_object_add(j, "chiller_bins", json_object_new_int64(chill));
                json_object_object_add(j, "overlap_truncated", json_object_new_int64(trunc));
                json_object_object_add(j, "iterations", jit);
                if (size_battery) {
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
                jit = NULL;
            }
        }
        if (jit != NULL) json_object_put(jit);
    }
out:
    free(rows);
    free(irows);
    free(fac);
    free(dt);
    cxa_table_close(&ts);
    cxa_close(&f);
    return rc;
}
