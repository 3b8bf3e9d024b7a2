/*
 * `colossim topo [FILE] [--ranks N] [--format text|json]`: what a fabric is.
 * Prints the summary figures of a topology (the embedded default when no
 * FILE is given) and, with --ranks, how it would be partitioned.  Pure query
 * of cx_topo: no MPI, no simulation.
 */
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "cx_cmd.h"
#include "cx_opt.h"
#include "cx_topo.h"

typedef struct {
    int64_t ranks;
    int     format;  /* 0 text, 1 json */
    int     help;
} cx_topo_cfg_t;

static const cx_opt_t cx_topo_opts[] = {
    {"ranks", CX_OPT_INT, offsetof(cx_topo_cfg_t, ranks), "0", 0, 1e9, NULL, "N",
     "also show the partition a run on N ranks uses (job on every GPU; $COLOSSIM_PARTITION)"},
    {"format", CX_OPT_ENUM, offsetof(cx_topo_cfg_t, format), "text", CX_OPT_UNBOUNDED,
     "text|json", NULL, "output format"},
    {"help", CX_OPT_FLAG, offsetof(cx_topo_cfg_t, help), NULL, CX_OPT_UNBOUNDED, NULL, NULL,
     "show this help"},
};
#define CX_TOPO_NOPTS (sizeof(cx_topo_opts) / sizeof(cx_topo_opts[0]))

typedef struct {
    int         nranks;
    const char *mode;      /* "contiguous" or "cyclic" */
    uint64_t    segments;
    uint64_t    dev_min, dev_max, w_min, w_max, cut_min, cut_max, cut_total, nb_min, nb_max;
    int64_t     lookahead_ps;
} cx_part_stats_t;

/* 1234567 -> "1,234,567" */
static const char *cx_grp(uint64_t v, char *buf, size_t len)
{
    char   tmp[32];
    size_t n, i, o = 0;
    snprintf(tmp, sizeof(tmp), "%" PRIu64, v);
    n = strlen(tmp);
    for (i = 0; i < n && o + 2 < len; i++) {
        if (i > 0 && (n - i) % 3 == 0) buf[o++] = ',';
        buf[o++] = tmp[i];
    }
    buf[o] = '\0';
    return buf;
}

/* bytes/s -> "25.6 TB/s" (decimal units) */
static const char *cx_bw(double bps, char *buf, size_t len)
{
    static const char *const u[] = {"B/s", "KB/s", "MB/s", "GB/s", "TB/s", "PB/s", "EB/s"};
    int                      i = 0;
    while (bps >= 1000.0 && i < 6) {
        bps /= 1000.0;
        i++;
    }
    snprintf(buf, len, "%.4g %s", bps, u[i]);
    return buf;
}

static const char *cx_lat(int64_t ps, char *buf, size_t len)
{
    if (ps >= 1000000) {
        snprintf(buf, len, "%.4g us", (double)ps / 1e6);
    } else {
        snprintf(buf, len, "%.4g ns", (double)ps / 1e3);
    }
    return buf;
}

/* The partition a run of a job on every GPU would use at nranks (the mode
 * $COLOSSIM_PARTITION asks for, auto by default, as `colossim run`). */
static cx_status_t cx_topo_part_stats(const cx_topo_t *t, int nranks, cx_part_stats_t *ps,
                                      cx_err_t *err)
{
    cx_topo_part_t part;
    uint64_t      *cut  = calloc((size_t)nranks, sizeof(*cut));
    uint64_t      *w    = calloc((size_t)nranks, sizeof(*w));
    int           *flag = calloc((size_t)nranks, sizeof(*flag));
    cx_status_t    st;
    int            r;
    memset(&part, 0, sizeof(part));
    if (cut == NULL || w == NULL || flag == NULL) {
        st = cx_err_set(err, CX_ERR_NOMEM, NULL, 0, NULL, "out of memory");
        goto out;
    }
    st = cx_topo_part_make_env(t, nranks, 0, &part, err);
    if (st != CX_OK) goto out;
    cx_topo_part_counts(t, &part, UINT64_MAX, cut, w);
    ps->nranks       = nranks;
    ps->mode         = cx_topo_part_mode_name(&part);
    ps->segments     = part.nseg;
    ps->lookahead_ps = part.lookahead_ps;
    ps->dev_min = ps->w_min = ps->cut_min = ps->nb_min = UINT64_MAX;
    ps->dev_max = ps->w_max = ps->cut_max = ps->cut_total = ps->nb_max = 0;
    for (r = 0; r < nranks; r++) {
        uint64_t nb;
        memset(flag, 0, (size_t)nranks * sizeof(*flag));
        nb = (uint64_t)cx_topo_part_neighbours(t, &part, r, flag);
        if (nb < ps->nb_min) ps->nb_min = nb;
        if (nb > ps->nb_max) ps->nb_max = nb;
        if (w[r] < ps->w_min) ps->w_min = w[r];
        if (w[r] > ps->w_max) ps->w_max = w[r];
        if (cut[r] < ps->cut_min) ps->cut_min = cut[r];
        if (cut[r] > ps->cut_max) ps->cut_max = cut[r];
        ps->cut_total += cut[r];
    }
    /* Devices per rank: the segments' lengths summed per owner (cut[] is
     * reused as the sum). */
    memset(cut, 0, (size_t)nranks * sizeof(*cut));
    for (r = 0; (uint64_t)r < part.nseg; r++) cut[part.seg_rank[r]] += part.seg_first[r + 1] - part.seg_first[r];
    for (r = 0; r < nranks; r++) {
        if (cut[r] < ps->dev_min) ps->dev_min = cut[r];
        if (cut[r] > ps->dev_max) ps->dev_max = cut[r];
    }
out:
    cx_topo_part_free(&part);
    free(cut);
    free(w);
    free(flag);
    return st;
}

static void cx_topo_print_text(FILE *out, const cx_topo_t *t, const cx_topo_summary_t *s,
                               const cx_part_stats_t *ps)
{
    char a[64], b[64], c[64];
    int  i, tt;

    fprintf(out, "topology           %s\n", cx_topo_name(t));
    fprintf(out, "GPUs               %s", cx_grp(s->gpus, a, sizeof(a)));
    for (i = 0; i < cx_topo_num_gpu_types(t) && i < 16; i++) {
        if (s->gpus_by_type[i] != 0) {
            fprintf(out, "  %s %s", cx_topo_gpu_type(t, i)->name,
                    cx_grp(s->gpus_by_type[i], b, sizeof(b)));
        }
    }
    fprintf(out, "\n");
    fprintf(out, "servers            %s\n", cx_grp(s->servers, a, sizeof(a)));
    fprintf(out, "racks              %s\n", cx_grp(s->racks, a, sizeof(a)));
    fprintf(out, "NVLink domains     %s\n", cx_grp(s->nvlink_domains, a, sizeof(a)));
    fprintf(out, "CPU NICs           %s (not on the GPU fabric)\n", cx_grp(s->cpu_nics, a, sizeof(a)));
    fprintf(out, "switches           %s", cx_grp(s->switches, a, sizeof(a)));
    for (tt = 1; tt <= s->tiers; tt++) {
        fprintf(out, "%stier %d: %s", tt == 1 ? "  (" : ", ", tt,
                cx_grp(s->switches_by_tier[tt], b, sizeof(b)));
    }
    fprintf(out, ")\n");
    fprintf(out, "NVSwitch devices   %s\n", cx_grp(s->nvswitches, a, sizeof(a)));
    fprintf(out, "devices            %s\n", cx_grp(s->devices, a, sizeof(a)));
    fprintf(out, "links              %s  (NVLink %s, scale-out %s)\n",
            cx_grp(s->links, a, sizeof(a)), cx_grp(s->nvlinks, b, sizeof(b)),
            cx_grp(s->fabric_links, c, sizeof(c)));
    fprintf(out, "injection per GPU  %s (%.4g Gb/s)\n", cx_bw(s->injection_bw, a, sizeof(a)),
            s->injection_bw * 8 / 1e9);
    fprintf(out, "NVLink per GPU     %s\n", cx_bw(s->nvlink_bw, a, sizeof(a)));
    fprintf(out, "bisection          %s (%.4g Tb/s)\n", cx_bw(s->bisection_bw, a, sizeof(a)),
            s->bisection_bw * 8 / 1e12);
    fprintf(out, "oversubscription  ");
    for (tt = 1; tt < s->tiers; tt++) {
        fprintf(out, " tier %d %.3g:1%s", tt, s->oversubscription[tt], tt + 1 < s->tiers ? "," : "");
    }
    fprintf(out, "%s\n", s->tiers <= 1 ? " none" : "");
    fprintf(out, "diameter           %d hops\n", s->diameter_hops);
    fprintf(out, "latency            min %s, farthest pair %s\n",
            cx_lat(s->min_latency_ps, a, sizeof(a)), cx_lat(s->max_latency_ps, b, sizeof(b)));
    for (i = 0; i < cx_topo_num_fabrics(t); i++) {
        cx_fabric_info_t fi;
        if (cx_topo_fabric_info(t, i, &fi) != CX_OK) continue;
        fprintf(out, "fabric %-11s %s GPUs, %d GPUs/server, %d GPUs/NVLink domain, %d tiers, ",
                fi.name, cx_grp(fi.gpus, a, sizeof(a)), fi.server_gpus, fi.domain_gpus, fi.tiers);
        if (fi.rail_optimized) {
            fprintf(out, "rail-optimized (%d rails)\n", fi.rails);
        } else {
            fprintf(out, "not rail-optimized\n");
        }
        for (tt = 1; tt <= fi.tiers; tt++) {
            fprintf(out, "  tier %d           %s switches, %u down + %u up ports\n", tt,
                    cx_grp(fi.switches_by_tier[tt], a, sizeof(a)), fi.down_ports[tt],
                    fi.up_ports[tt]);
        }
    }
    if (ps != NULL) {
        if (strcmp(ps->mode, "cyclic") == 0) {
            fprintf(out, "partition          %d ranks, cyclic: leaf blocks dealt round robin (%s segments)\n",
                    ps->nranks, cx_grp(ps->segments, a, sizeof(a)));
        } else {
            fprintf(out, "partition          %d ranks, %s ranges\n", ps->nranks, ps->mode);
        }
        fprintf(out, "  devices/rank     min %s, max %s\n", cx_grp(ps->dev_min, a, sizeof(a)),
                cx_grp(ps->dev_max, b, sizeof(b)));
        fprintf(out, "  weight/rank      min %s, max %s\n", cx_grp(ps->w_min, a, sizeof(a)),
                cx_grp(ps->w_max, b, sizeof(b)));
        fprintf(out, "  cut links/rank   min %s, max %s (total %s)\n",
                cx_grp(ps->cut_min, a, sizeof(a)), cx_grp(ps->cut_max, b, sizeof(b)),
                cx_grp(ps->cut_total, c, sizeof(c)));
        fprintf(out, "  neighbours/rank  min %s, max %s\n", cx_grp(ps->nb_min, a, sizeof(a)),
                cx_grp(ps->nb_max, b, sizeof(b)));
        if (ps->lookahead_ps == INT64_MAX) {
            fprintf(out, "  lookahead        none (no cut links)\n");
        } else {
            fprintf(out, "  lookahead        %s\n", cx_lat(ps->lookahead_ps, a, sizeof(a)));
        }
    }
}

static void cx_json_u64(json_object *o, const char *k, uint64_t v)
{
    json_object_object_add(o, k, json_object_new_int64((int64_t)v));
}

static void cx_topo_print_json(FILE *out, const cx_topo_t *t, const cx_topo_summary_t *s,
                               const cx_part_stats_t *ps)
{
    json_object *o = json_object_new_object(), *bt = json_object_new_object();
    json_object *st = json_object_new_array(), *os = json_object_new_array();
    json_object *fabs = json_object_new_array();
    int          i, tt;

    json_object_object_add(o, "name", json_object_new_string(cx_topo_name(t)));
    cx_json_u64(o, "gpus", s->gpus);
    for (i = 0; i < cx_topo_num_gpu_types(t) && i < 16; i++) {
        if (s->gpus_by_type[i] != 0) cx_json_u64(bt, cx_topo_gpu_type(t, i)->name, s->gpus_by_type[i]);
    }
    json_object_object_add(o, "gpus_by_type", bt);
    cx_json_u64(o, "servers", s->servers);
    cx_json_u64(o, "racks", s->racks);
    cx_json_u64(o, "nvlink_domains", s->nvlink_domains);
    cx_json_u64(o, "cpu_nics", s->cpu_nics);
    cx_json_u64(o, "switches", s->switches);
    for (tt = 1; tt <= s->tiers; tt++) {
        json_object_array_add(st, json_object_new_int64((int64_t)s->switches_by_tier[tt]));
    }
    json_object_object_add(o, "switches_by_tier", st);
    cx_json_u64(o, "nvswitches", s->nvswitches);
    cx_json_u64(o, "devices", s->devices);
    cx_json_u64(o, "links", s->links);
    cx_json_u64(o, "nvlinks", s->nvlinks);
    cx_json_u64(o, "scaleout_links", s->fabric_links);
    json_object_object_add(o, "injection_bytes_per_s", json_object_new_double(s->injection_bw));
    json_object_object_add(o, "nvlink_bytes_per_s", json_object_new_double(s->nvlink_bw));
    json_object_object_add(o, "bisection_bytes_per_s", json_object_new_double(s->bisection_bw));
    for (tt = 1; tt < s->tiers; tt++) {
        json_object_array_add(os, json_object_new_double(s->oversubscription[tt]));
    }
    json_object_object_add(o, "oversubscription", os);
    json_object_object_add(o, "tiers", json_object_new_int(s->tiers));
    json_object_object_add(o, "diameter_hops", json_object_new_int(s->diameter_hops));
    json_object_object_add(o, "min_latency_ps", json_object_new_int64(s->min_latency_ps));
    json_object_object_add(o, "max_latency_ps", json_object_new_int64(s->max_latency_ps));
    for (i = 0; i < cx_topo_num_fabrics(t); i++) {
        cx_fabric_info_t fi;
        json_object     *f, *sw;
        if (cx_topo_fabric_info(t, i, &fi) != CX_OK) continue;
        f  = json_object_new_object();
        sw = json_object_new_array();
        json_object_object_add(f, "name", json_object_new_string(fi.name));
        cx_json_u64(f, "gpus", fi.gpus);
        cx_json_u64(f, "first_device", fi.first_device);
        cx_json_u64(f, "devices", fi.n_devices);
        json_object_object_add(f, "server_gpus", json_object_new_int(fi.server_gpus));
        json_object_object_add(f, "domain_gpus", json_object_new_int(fi.domain_gpus));
        json_object_object_add(f, "rail_optimized", json_object_new_boolean(fi.rail_optimized));
        json_object_object_add(f, "rails", json_object_new_int(fi.rails));
        for (tt = 1; tt <= fi.tiers; tt++) {
            json_object *ti = json_object_new_object();
            cx_json_u64(ti, "switches", fi.switches_by_tier[tt]);
            cx_json_u64(ti, "down_ports", fi.down_ports[tt]);
            cx_json_u64(ti, "up_ports", fi.up_ports[tt]);
            json_object_array_add(sw, ti);
        }
        json_object_object_add(f, "tiers", sw);
        json_object_array_add(fabs, f);
    }
    json_object_object_add(o, "fabrics", fabs);
    if (ps != NULL) {
        json_object *p = json_object_new_object();
        json_object_object_add(p, "ranks", json_object_new_int(ps->nranks));
        json_object_object_add(p, "mode", json_object_new_string(ps->mode));
        cx_json_u64(p, "segments", ps->segments);
        cx_json_u64(p, "devices_min", ps->dev_min);
        cx_json_u64(p, "devices_max", ps->dev_max);
        cx_json_u64(p, "weight_min", ps->w_min);
        cx_json_u64(p, "weight_max", ps->w_max);
        cx_json_u64(p, "cut_links_min", ps->cut_min);
        cx_json_u64(p, "cut_links_max", ps->cut_max);
        cx_json_u64(p, "cut_links_total", ps->cut_total);
        cx_json_u64(p, "neighbours_min", ps->nb_min);
        cx_json_u64(p, "neighbours_max", ps->nb_max);
        json_object_object_add(p, "lookahead_ps", ps->lookahead_ps == INT64_MAX
                                                      ? NULL
                                                      : json_object_new_int64(ps->lookahead_ps));
        json_object_object_add(o, "partition", p);
    }
    fprintf(out, "%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
                                                              JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(o);
}

int cx_cmd_topo(int argc, char **argv)
{
    cx_topo_cfg_t     cfg;
    cx_err_t          err;
    const char       *pos[1] = {NULL};
    int               npos   = 0;
    cx_topo_t        *t      = NULL;
    cx_topo_summary_t s;
    cx_part_stats_t   ps;
    cx_status_t       st;

    cx_err_clear(&err);
    if (cx_opt_defaults(cx_topo_opts, CX_TOPO_NOPTS, &cfg, &err) != CX_OK ||
        cx_opt_parse(cx_topo_opts, CX_TOPO_NOPTS, argc, argv, &cfg, pos, 1, &npos, &err) != CX_OK) {
        cx_err_print(&err);
        return 2;
    }
    if (cfg.help) {
        printf("usage: colossim topo [FILE] [--ranks N] [--format text|json]\n"
               "Summarise a topology (default: the embedded colossus1-mini).\n\n");
        cx_opt_help(stdout, cx_topo_opts, CX_TOPO_NOPTS);
        return 0;
    }
    if (npos == 1) {
        st = cx_topo_load(&t, pos[0], &err);
    } else {
        const char *text;
        size_t      len;
        cx_topo_default_yaml(&text, &len);
        st = cx_topo_load_string(&t, "<embedded colossus1-mini.yaml>", text, len, &err);
    }
    if (st != CX_OK) {
        cx_err_print(&err);
        return 1;
    }
    cx_topo_summary(t, &s);
    if (cfg.ranks > 0) {
        st = cx_topo_part_stats(t, (int)cfg.ranks, &ps, &err);
        if (st != CX_OK) {
            cx_err_print(&err);
            cx_topo_destroy(t);
            return 1;
        }
    }
    if (cfg.format == 1) {
        cx_topo_print_json(stdout, t, &s, cfg.ranks > 0 ? &ps : NULL);
    } else {
        cx_topo_print_text(stdout, t, &s, cfg.ranks > 0 ? &ps : NULL);
    }
    cx_topo_destroy(t);
    return 0;
}
