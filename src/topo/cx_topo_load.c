/*
 * Loading a topology: the hardware catalog (GPU/NIC/switch figures and link
 * latencies) and the fabric parameters, validated with file:line:field
 * errors.  Only integers and figures are kept: nothing per device.
 */
#define _POSIX_C_SOURCE 200809L
#include "cx_topo_internal.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cx_file.h"
#include "cx_log.h"
#include "cx_yaml.h"

/* Generated at configure time from topologies/ (see CMakeLists.txt). */
extern const unsigned char cx_topo_embedded_catalog[];
extern const size_t        cx_topo_embedded_catalog_len;
extern const unsigned char cx_topo_embedded_default[];
extern const size_t        cx_topo_embedded_default_len;

void cx_topo_default_yaml(const char **text_p, size_t *len_p)
{
    *text_p = (const char *)cx_topo_embedded_default;
    *len_p  = cx_topo_embedded_default_len;
}


static void cx_copy_name(char *dst, const char *src)
{
    snprintf(dst, CX_NAME_MAX, "%s", src);
}

/* --- bounds ---------------------------------------------------------------- *
 *
 * Every physical figure is bounded so that no sum or product of them the
 * model forms can overflow int64 picoseconds or bytes (cx_time_t: 2^63 ps =
 * 106 days), whatever the workload:
 *   - a latency (device or cable) is at most 1 ms = 1e9 ps; a path crosses
 *     at most 2 x 4 tiers + NIC + NVLink hops, so a path is < 1e10 ps;
 *   - a device's latency (NIC, switch, NVLink) is at least 1 ns, so every
 *     port's latency, and so the lookahead of a parallel run (the least
 *     latency of a link cut between ranks), is > 0 (0 broke the windows);
 *   - a link or NVLink bandwidth is at least 1 Gb/s: 8000 ps per byte, so a
 *     chunk or message of up to 2^40 bytes serialises in < 1e16 ps; at most
 *     1 Pb/s (well above any NVLink); 0 bandwidth divided by zero;
 *   - HBM bandwidth >= 1 GB/s and peak FLOP/s >= 1 TFLOP/s (0 gave "MFU
 *     inf%" and infinite kernels), at most 1e6 TFLOP/s;
 *   - kernel launch overhead <= 1 ms (a huge one made power binning loop).
 * What a whole run sums (iterations x ops) is bounded by the plan against
 * the same int64 range before the run starts. */
#define CX_TOPO_LAT_MAX_PS    INT64_C(1000000000)      /* 1 ms */
#define CX_TOPO_DEV_LAT_MIN_PS INT64_C(1000)           /* 1 ns */
#define CX_TOPO_BW_MIN        (1e9 / 8)                 /* 1 Gb/s, bytes/s */
#define CX_TOPO_BW_MAX        (1e15 / 8)                /* 1 Pb/s */
#define CX_TOPO_HBM_BW_MIN    1e9                       /* 1 GB/s */
#define CX_TOPO_HBM_BW_MAX    1e15                      /* 1 PB/s */
#define CX_TOPO_TFLOPS_MIN    1.0
#define CX_TOPO_TFLOPS_MAX    1e6

static cx_status_t cx_get_bw(const cx_yaml_node_t *map, const char *key, int required, double lo,
                             double hi, double *out, cx_err_t *err)
{
    double v = -1.0;
    CX_TRY(cx_yaml_get_bandwidth(map, key, required, &v, err));
    if (v < 0) return CX_OK; /* absent, optional */
    if (!(v >= lo && v <= hi)) {
        return cx_yaml_error(cx_yaml_get(map, key), CX_ERR_RANGE, err,
                             "bandwidth %g B/s is outside [%g, %g] B/s (%g Gb/s .. %g Tb/s)", v, lo, hi,
                             lo * 8e-9, hi * 8e-12);
    }
    *out = v;
    return CX_OK;
}

/* A latency in [lo, 1 ms]; lo is 1 ns for a device, 0 for a cable. */
static cx_status_t cx_get_lat(const cx_yaml_node_t *map, const char *key, int required, int64_t lo,
                              int64_t *out, cx_err_t *err)
{
    int64_t v = -1;
    CX_TRY(cx_yaml_get_time_ps(map, key, required, &v, err));
    if (v < 0) return CX_OK;
    if (v < lo || v > CX_TOPO_LAT_MAX_PS) {
        return cx_yaml_error(cx_yaml_get(map, key), CX_ERR_RANGE, err,
                             "%lld ps is outside [%lld ps, 1 ms]%s", (long long)v, (long long)lo,
                             lo > 0 ? " (a link needs some latency: it is the parallel run's lookahead)" : "");
    }
    *out = v;
    return CX_OK;
}

/* Catalog names are how topologies refer to entries: each must be unique. */
static cx_status_t cx_cat_unique(const cx_yaml_node_t *seq, size_t i, const char *base, size_t stride,
                                 cx_err_t *err)
{
    size_t j;
    for (j = 0; j < i; j++) {
        if (strcmp(base + j * stride, base + i * stride) == 0) {
            return cx_yaml_error(cx_yaml_get(seq->children[i], "name"), CX_ERR_INVALID, err,
                                 "duplicate catalog name '%s' (first at line %d)", base + i * stride,
                                 seq->children[j]->line);
        }
    }
    return CX_OK;
}

/* --- catalog --------------------------------------------------------------- */

static cx_status_t cx_cat_list(const cx_yaml_node_t *root, const char *key,
                               const cx_yaml_node_t **seq_p, cx_err_t *err)
{
    const cx_yaml_node_t *n = cx_yaml_get(root, key);
    if (n == NULL) {
        return cx_err_set(err, CX_ERR_INVALID, cx_yaml_file(root->doc), root->line, key,
                          "missing required field");
    }
    CX_TRY(cx_yaml_expect(n, CX_YAML_SEQ, err));
    if (n->n_children > CX_CAT_MAX) {
        return cx_yaml_error(n, CX_ERR_RANGE, err, "at most %d entries", CX_CAT_MAX);
    }
    *seq_p = n;
    return CX_OK;
}

/* A compute_efficiency: map, the catalog's default section (*e holds the
 * built-in figures) or a GPU entry's overrides (*e holds the defaults, and
 * the entry must say where its figures come from: `source`). */
static cx_status_t cx_eff_parse(const cx_yaml_node_t *n, int need_source, cx_compute_catalog_t *e,
                                cx_err_t *err)
{
    static const char *const keys[] = {"gemm_bf16", "gemm_fp8", "attention", "elementwise",
                                       "optimizer", "gemm_memory", "attention_memory",
                                       "elementwise_memory", "optimizer_memory",
                                       "kernel_overhead", "source", NULL};
    double *const shares[] = {&e->gemm_bf16, &e->gemm_fp8, &e->attention, &e->elementwise,
                              &e->optimizer, &e->gemm_memory, &e->attention_memory,
                              &e->elementwise_memory, &e->optimizer_memory};
    const char *src = NULL;
    size_t      i;
    CX_TRY(cx_yaml_expect(n, CX_YAML_MAP, err));
    CX_TRY(cx_yaml_check_keys(n, keys, err));
    CX_TRY(cx_yaml_get_string(n, "source", need_source, &src, err));
    if (src != NULL && src[0] == '\0') {
        return cx_yaml_error(cx_yaml_get(n, "source"), CX_ERR_INVALID, err,
                             "say what the figures rest on (a benchmark, a paper, or [U])");
    }
    for (i = 0; i < sizeof(shares) / sizeof(shares[0]); i++) {
        CX_TRY(cx_yaml_get_double(n, keys[i], 0, 0.01, 1.0, shares[i], err));
    }
    return cx_get_lat(n, "kernel_overhead", 0, 0, &e->kernel_overhead_ps, err);
}

/* gpus: each entry's datasheet figures and its efficiencies (the catalog's
 * defaults, cat->eff, with the entry's compute_efficiency: overrides). */
static cx_status_t cx_cat_gpus(cx_catalog_t *cat, const cx_yaml_node_t *root, cx_err_t *err)
{
    static const char *const gpu_keys[] = {"name", "bf16_tflops", "fp8_tflops", "hbm",
                                           "hbm_bandwidth", "nvlink_bandwidth", "nvlink_latency",
                                           "tdp_w", "compute_efficiency", "notes", NULL};
    const cx_yaml_node_t    *seq, *effn;
    size_t                   i;
    CX_TRY(cx_cat_list(root, "gpus", &seq, err));
    for (i = 0; i < seq->n_children; i++) {
        const cx_yaml_node_t *g = seq->children[i];
        cx_gpu_type_t        *gt = &cat->gpus[i];
        const char           *name;
        double                tf = 0;
        CX_TRY(cx_yaml_check_keys(g, gpu_keys, err));
        CX_TRY(cx_yaml_get_string(g, "name", 1, &name, err));
        cx_copy_name(cat->gpu_names[i], name);
        CX_TRY(cx_cat_unique(seq, i, cat->gpu_names[0], CX_NAME_MAX, err));
        gt->name = cat->gpu_names[i];
        CX_TRY(cx_yaml_get_double(g, "bf16_tflops", 1, CX_TOPO_TFLOPS_MIN, CX_TOPO_TFLOPS_MAX, &tf, err));
        gt->bf16_flops = tf * 1e12;
        CX_TRY(cx_yaml_get_double(g, "fp8_tflops", 1, CX_TOPO_TFLOPS_MIN, CX_TOPO_TFLOPS_MAX, &tf, err));
        gt->fp8_flops = tf * 1e12;
        CX_TRY(cx_yaml_get_bytes(g, "hbm", 1, &gt->hbm_bytes, err));
        if (gt->hbm_bytes < ((uint64_t)1 << 20) || gt->hbm_bytes > ((uint64_t)1 << 50)) {
            return cx_yaml_error(cx_yaml_get(g, "hbm"), CX_ERR_RANGE, err,
                                 "%llu bytes of HBM is outside [1 MiB, 1 PiB]",
                                 (unsigned long long)gt->hbm_bytes);
        }
        CX_TRY(cx_get_bw(g, "hbm_bandwidth", 1, CX_TOPO_HBM_BW_MIN, CX_TOPO_HBM_BW_MAX, &gt->hbm_bw, err));
        CX_TRY(cx_get_bw(g, "nvlink_bandwidth", 1, CX_TOPO_BW_MIN, CX_TOPO_BW_MAX, &gt->nvlink_bw, err));
        cat->gpu_nvlink_latency_ps[i] = 250000;
        CX_TRY(cx_get_lat(g, "nvlink_latency", 0, CX_TOPO_DEV_LAT_MIN_PS, &cat->gpu_nvlink_latency_ps[i], err));
        CX_TRY(cx_yaml_get_double(g, "tdp_w", 1, 1, 1e5, &gt->tdp_w, err));
        gt->eff = cat->eff;
        effn    = cx_yaml_get(g, "compute_efficiency");
        if (effn != NULL) CX_TRY(cx_eff_parse(effn, 1, &gt->eff, err));
    }
    cat->n_gpus = (int)seq->n_children;
    return CX_OK;
}

static cx_status_t cx_catalog_parse(cx_catalog_t *cat, const cx_yaml_node_t *root, cx_err_t *err)
{
    static const char *const top_keys[] = {"gpus", "nics", "switches", "cables",
                                           "compute_efficiency", NULL};
    const cx_yaml_node_t    *effn;
    static const char *const nic_keys[] = {"name", "bandwidth", "latency", "notes", NULL};
    static const char *const sw_keys[]  = {"name", "radix", "port_bandwidth", "latency", "nvls", "notes",
                                           NULL};
    static const char *const cab_keys[] = {"tier1", "tier2", "tier3", "tier4", NULL};
    const cx_yaml_node_t    *seq, *cab;
    size_t                   i;
    int                      tt;

    CX_TRY(cx_yaml_check_keys(root, top_keys, err));
    /* Compute efficiencies: built-in defaults, overridden by the catalog's
     * default section, then per GPU type (cx_cat_gpus). */
    cat->eff.gemm_bf16          = 0.61;  /* as topologies/hardware.yaml */
    cat->eff.gemm_fp8           = 0.60;
    cat->eff.attention          = 0.55;
    cat->eff.elementwise        = 0.50;
    cat->eff.optimizer          = 0.50;
    cat->eff.gemm_memory        = 0.85;
    cat->eff.attention_memory   = 0.85;
    cat->eff.elementwise_memory = 0.80;
    cat->eff.optimizer_memory   = 0.75;
    cat->eff.kernel_overhead_ps = 2000000;
    effn = cx_yaml_get(root, "compute_efficiency");
    if (effn != NULL) CX_TRY(cx_eff_parse(effn, 0, &cat->eff, err));
    CX_TRY(cx_cat_gpus(cat, root, err));
    CX_TRY(cx_cat_list(root, "nics", &seq, err));
    for (i = 0; i < seq->n_children; i++) {
        const cx_yaml_node_t *g = seq->children[i];
        const char           *name;
        CX_TRY(cx_yaml_check_keys(g, nic_keys, err));
        CX_TRY(cx_yaml_get_string(g, "name", 1, &name, err));
        cx_copy_name(cat->nics[i].name, name);
        CX_TRY(cx_cat_unique(seq, i, cat->nics[0].name, sizeof(cx_cat_nic_t), err));
        CX_TRY(cx_get_bw(g, "bandwidth", 1, CX_TOPO_BW_MIN, CX_TOPO_BW_MAX, &cat->nics[i].bw, err));
        CX_TRY(cx_get_lat(g, "latency", 1, CX_TOPO_DEV_LAT_MIN_PS, &cat->nics[i].latency_ps, err));
    }
    cat->n_nics = (int)seq->n_children;
    CX_TRY(cx_cat_list(root, "switches", &seq, err));
    for (i = 0; i < seq->n_children; i++) {
        const cx_yaml_node_t *g = seq->children[i];
        const char           *name;
        int64_t               radix = 0;
        CX_TRY(cx_yaml_check_keys(g, sw_keys, err));
        CX_TRY(cx_yaml_get_string(g, "name", 1, &name, err));
        cx_copy_name(cat->switches[i].name, name);
        CX_TRY(cx_cat_unique(seq, i, cat->switches[0].name, sizeof(cx_cat_switch_t), err));
        CX_TRY(cx_yaml_get_int(g, "radix", 1, 1, CX_TOPO_MAX_ROUTE, &radix, err));
        cat->switches[i].radix = (uint32_t)radix;
        CX_TRY(cx_get_bw(g, "port_bandwidth", 1, CX_TOPO_BW_MIN, CX_TOPO_BW_MAX, &cat->switches[i].port_bw, err));
        CX_TRY(cx_get_lat(g, "latency", 1, CX_TOPO_DEV_LAT_MIN_PS, &cat->switches[i].latency_ps, err));
        cat->switches[i].nvls = 1;
        CX_TRY(cx_yaml_get_bool(g, "nvls", 0, &cat->switches[i].nvls, err));
    }
    cat->n_switches = (int)seq->n_children;
    for (tt = 0; tt <= CX_TOPO_MAX_TIERS; tt++) cat->cable_ps[tt] = 0;
    cab = cx_yaml_get(root, "cables");
    if (cab != NULL) {
        CX_TRY(cx_yaml_check_keys(cab, cab_keys, err));
        for (tt = 1; tt <= CX_TOPO_MAX_TIERS; tt++) {
            CX_TRY(cx_get_lat(cab, cab_keys[tt - 1], 0, 0, &cat->cable_ps[tt], err));
        }
    }
    return CX_OK;
}

static cx_status_t cx_catalog_load(cx_catalog_t *cat, const char *path, const char *text,
                                   size_t len, cx_err_t *err)
{
    cx_yaml_doc_t *doc;
    cx_status_t    st;
    if (path != NULL) {
        st = cx_yaml_load_file(&doc, path, err);
    } else {
        st = cx_yaml_load_string(&doc, "<embedded hardware.yaml>", text, len, err);
    }
    if (st != CX_OK) return st;
    st = cx_catalog_parse(cat, cx_yaml_root(doc), err);
    cx_yaml_free(doc);
    return st;
}

static int cx_cat_find(const cx_yaml_node_t *n, const char *name, int count, size_t stride,
                       const char *names_base)
{
    int i;
    (void)n;
    for (i = 0; i < count; i++) {
        if (strcmp(names_base + (size_t)i * stride, name) == 0) return i;
    }
    return -1;
}

static cx_status_t cx_cat_lookup(const cx_yaml_node_t *map, const char *key, int required,
                                 int count, size_t stride, const char *names_base,
                                 const char *what, int *out, cx_err_t *err)
{
    const char           *name = NULL;
    const cx_yaml_node_t *n;
    int                   i;
    char                  list[512];
    size_t                len = 0;
    CX_TRY(cx_yaml_get_string(map, key, required, &name, err));
    if (name == NULL) return CX_OK;
    n = cx_yaml_get(map, key);
    i = cx_cat_find(n, name, count, stride, names_base);
    if (i >= 0) {
        *out = i;
        return CX_OK;
    }
    list[0] = '\0';
    for (i = 0; i < count && len < sizeof(list) - 1; i++) {
        int w = snprintf(list + len, sizeof(list) - len, "%s%s", i > 0 ? ", " : "",
                         names_base + (size_t)i * stride);
        if (w < 0) break;
        len += (size_t)w;
    }
    return cx_yaml_error(n, CX_ERR_INVALID, err, "unknown %s '%s' (catalog has: %s)", what, name,
                         list);
}

/* --- fabric ---------------------------------------------------------------- */

static cx_status_t cx_fabric_gpus(cx_topo_t *t, cx_fabric_t *f, const cx_yaml_node_t *fn,
                                  uint64_t *ngpus_p, const cx_yaml_node_t **count_node_p,
                                  cx_err_t *err)
{
    static const char *const ent_keys[] = {"type", "count", NULL};
    const cx_yaml_node_t    *list = cx_yaml_get(fn, "gpus");
    const cx_catalog_t      *cat  = &t->cat;
    uint64_t                 total = 0;
    size_t                   i;

    if (list == NULL) {
        return cx_err_set(err, CX_ERR_INVALID, cx_yaml_file(fn->doc), fn->line,
                          fn->path, "missing required field 'gpus' (list of {type, count})");
    }
    CX_TRY(cx_yaml_expect(list, CX_YAML_SEQ, err));
    if (list->n_children == 0 || list->n_children > CX_CAT_MAX) {
        return cx_yaml_error(list, CX_ERR_INVALID, err, "needs 1..%d entries", CX_CAT_MAX);
    }
    *count_node_p = list;
    for (i = 0; i < list->n_children; i++) {
        const cx_yaml_node_t *e = list->children[i];
        int64_t               cnt = 0;
        int                   ty  = 0;
        CX_TRY(cx_yaml_check_keys(e, ent_keys, err));
        CX_TRY(cx_cat_lookup(e, "type", 1, cat->n_gpus, CX_NAME_MAX, cat->gpu_names[0], "GPU",
                             &ty, err));
        CX_TRY(cx_yaml_get_int(e, "count", 1, 1, (int64_t)1 << 40, &cnt, err));
        if ((uint64_t)cnt % f->gpd != 0) {
            return cx_yaml_error(cx_yaml_get(e, "count"), CX_ERR_INVALID, err,
                                 "%lld GPUs is not a whole number of NVLink domains of %u GPUs",
                                 (long long)cnt, f->gpd);
        }
        total += (uint64_t)cnt;
        f->type_idx[i]     = ty;
        f->type_end_dom[i] = total / f->gpd;
    }
    f->n_types = (int)list->n_children;
    *ngpus_p   = total;
    return CX_OK;
}

/* server: and nvlink: (GPUs per server and per NVLink domain, the NVSwitch);
 * *nvsw_p: the NVSwitch's catalog index, -1 for none. */
static cx_status_t cx_fabric_server(const cx_catalog_t *cat, cx_fabric_t *f, const cx_yaml_node_t *fn,
                                    int *nvsw_p, cx_err_t *err)
{
    static const char *const srv_keys[] = {"gpus", "per_rack", "cpu_nics", "cpu_nic", NULL};
    static const char *const nvl_keys[] = {"domain_gpus", "switch", "latency", NULL};
    const cx_yaml_node_t    *srv = cx_yaml_get(fn, "server"), *nvl = cx_yaml_get(fn, "nvlink");
    int64_t                  v;
    int                      nvsw = -1;

    if (srv == NULL) {
        return cx_err_set(err, CX_ERR_INVALID, cx_yaml_file(fn->doc), fn->line, fn->path,
                          "missing required field 'server'");
    }
    CX_TRY(cx_yaml_check_keys(srv, srv_keys, err));
    CX_TRY(cx_yaml_get_int(srv, "gpus", 1, 1, 1024, &v, err));
    f->gps = (uint32_t)v;
    v      = 1;
    CX_TRY(cx_yaml_get_int(srv, "per_rack", 0, 1, 1024, &v, err));
    f->per_rack = (uint32_t)v;
    v           = 0;
    CX_TRY(cx_yaml_get_int(srv, "cpu_nics", 0, 0, 64, &v, err));
    f->cpu_nics = (uint32_t)v;

    f->gpd = f->gps;
    if (nvl != NULL) {
        CX_TRY(cx_yaml_check_keys(nvl, nvl_keys, err));
        v = f->gps;
        CX_TRY(cx_yaml_get_int(nvl, "domain_gpus", 0, 1, CX_TOPO_MAX_ROUTE, &v, err));
        f->gpd = (uint32_t)v;
        if (f->gpd % f->gps != 0) {
            return cx_yaml_error(cx_yaml_get(nvl, "domain_gpus"), CX_ERR_INVALID, err,
                                 "an NVLink domain must hold whole servers (%u GPUs each)", f->gps);
        }
        CX_TRY(cx_cat_lookup(nvl, "switch", 0, cat->n_switches, sizeof(cx_cat_switch_t),
                             cat->switches[0].name, "switch", &nvsw, err));
    }
    f->ns = f->gpd > 1 ? 1 : 0;
    if (f->ns != 0 && nvsw < 0) {
        return cx_err_set(err, CX_ERR_INVALID, cx_yaml_file(fn->doc), fn->line, fn->path,
                          "nvlink.switch is required (NVLink domain of %u GPUs)", f->gpd);
    }
    if (f->ns != 0 && f->gpd > cat->switches[nvsw].radix) {
        return cx_yaml_error(cx_yaml_get(nvl, "domain_gpus"), CX_ERR_INVALID, err,
                             "%u GPUs exceed the %u ports of %s", f->gpd,
                             cat->switches[nvsw].radix, cat->switches[nvsw].name);
    }
    f->nvswitch_type = nvsw;
    *nvsw_p          = nvsw;
    return CX_OK;
}

/* Tier 1, the leaf: 'down' ports (whole NVLink domains), room for 'up'. */
static cx_status_t cx_fabric_leaf(cx_fabric_t *f, cx_tier_t *ti, const cx_yaml_node_t *tn,
                                  const cx_cat_switch_t *sw, cx_err_t *err)
{
    int64_t v, up = 0;
    if (cx_yaml_get(tn, "group") != NULL || cx_yaml_get(tn, "parallel_links") != NULL) {
        return cx_yaml_error(tn, CX_ERR_INVALID, err,
                             "tier 1 (leaf) takes 'down', not 'group'/'parallel_links'");
    }
    CX_TRY(cx_yaml_get_int(tn, "down", 1, 1, CX_TOPO_MAX_ROUTE, &v, err));
    ti->down = (uint32_t)v;
    if (ti->down % f->kk != 0) {
        return cx_yaml_error(cx_yaml_get(tn, "down"), CX_ERR_INVALID, err,
                             "a leaf must serve whole NVLink domains: %u ports is not a "
                             "multiple of %u (domain GPUs / rails)", ti->down, f->kk);
    }
    /* catch an over-radix leaf before the divisibility checks of later passes */
    CX_TRY(cx_yaml_get_int(tn, "up", 0, 1, CX_TOPO_MAX_ROUTE, &up, err));
    if ((int64_t)ti->down + up > (int64_t)ti->radix) {
        return cx_yaml_error(tn, CX_ERR_INVALID, err,
                             "tier 1 switch needs %lld ports (%u down + %lld up) but "
                             "%s has radix %u", (long long)ti->down + up, ti->down,
                             (long long)up, sw->name, ti->radix);
    }
    f->U1              = ti->down / f->kk;
    ti->m              = 1;
    ti->w              = 1;
    ti->leaves_per_blk = 1;
    return CX_OK;
}

/* First pass over tier tt: switch, radix, latencies, down (leaf) or parallel
 * links, bandwidth below. */
static cx_status_t cx_fabric_tier(const cx_catalog_t *cat, cx_fabric_t *f, const cx_yaml_node_t *tn, int tt,
                                  int nic, cx_err_t *err)
{
    static const char *const tier_keys[] = {"name", "switch", "radix", "down", "group", "up",
                                            "oversubscription", "parallel_links",
                                            "link_bandwidth", "cable_latency", "switch_latency",
                                            NULL};
    cx_tier_t             *ti = &f->tier[tt];
    const cx_cat_switch_t *sw;
    double                 bw;
    int64_t                v;

    CX_TRY(cx_yaml_check_keys(tn, tier_keys, err));
    CX_TRY(cx_cat_lookup(tn, "switch", 1, cat->n_switches, sizeof(cx_cat_switch_t),
                         cat->switches[0].name, "switch", &ti->sw_type, err));
    sw = &cat->switches[ti->sw_type];
    v  = sw->radix;
    CX_TRY(cx_yaml_get_int(tn, "radix", 0, 1, CX_TOPO_MAX_ROUTE, &v, err));
    ti->radix  = (uint32_t)v;
    ti->sw_lat = sw->latency_ps;
    CX_TRY(cx_get_lat(tn, "switch_latency", 0, CX_TOPO_DEV_LAT_MIN_PS, &ti->sw_lat, err));
    ti->cable_below = cat->cable_ps[tt];
    CX_TRY(cx_get_lat(tn, "cable_latency", 0, 0, &ti->cable_below, err));
    if (tt == 1) {
        bw = fmin(cat->nics[nic].bw, sw->port_bw);
        CX_TRY(cx_fabric_leaf(f, ti, tn, sw, err));
    } else {
        bw = fmin(cat->switches[f->tier[tt - 1].sw_type].port_bw, sw->port_bw);
        if (cx_yaml_get(tn, "down") != NULL) {
            return cx_yaml_error(cx_yaml_get(tn, "down"), CX_ERR_INVALID, err,
                                 "only tier 1 takes 'down'; tier %d uses 'group' "
                                 "(children per block) x 'parallel_links'", tt);
        }
        v = 1;
        CX_TRY(cx_yaml_get_int(tn, "parallel_links", 0, 1, CX_TOPO_MAX_ROUTE, &v, err));
        ti->w = (uint32_t)v;
    }
    CX_TRY(cx_get_bw(tn, "link_bandwidth", 0, CX_TOPO_BW_MIN, CX_TOPO_BW_MAX, &bw, err));
    ti->bw_below = bw;
    return CX_OK;
}

/* Second pass over tier tt >= 2: its group (children per block; the top tier
 * joins them all), down ports and blocks. */
static cx_status_t cx_fabric_group(cx_fabric_t *f, const cx_yaml_node_t *tn, int tt, cx_err_t *err)
{
    cx_tier_t            *ti = &f->tier[tt];
    const cx_tier_t      *ch = &f->tier[tt - 1];
    const cx_yaml_node_t *gn = cx_yaml_get(tn, "group");
    int64_t               g  = 0;

    if (tt < f->T) {
        CX_TRY(cx_yaml_get_int(tn, "group", 1, 1, CX_TOPO_MAX_ROUTE, &g, err));
    } else {
        g = (int64_t)ch->nblk;
        if (gn != NULL) {
            int64_t gg = 0;
            CX_TRY(cx_yaml_get_int(tn, "group", 1, 1, CX_TOPO_MAX_ROUTE, &gg, err));
            if (gg != g) {
                return cx_yaml_error(gn, CX_ERR_INVALID, err,
                                     "the top tier joins all %lld tier-%d blocks; group %lld "
                                     "does not match the GPU count", (long long)g, tt - 1,
                                     (long long)gg);
            }
        }
    }
    ti->nc = (uint64_t)g;
    if (ch->nblk % ti->nc != 0) {
        return cx_yaml_error(gn != NULL ? gn : tn, CX_ERR_INVALID, err,
                             "%llu tier-%d blocks do not divide into groups of %llu",
                             (unsigned long long)ch->nblk, tt - 1, (unsigned long long)ti->nc);
    }
    if (tt == 2 && ti->nc % f->R != 0) {
        return cx_yaml_error(gn != NULL ? gn : tn, CX_ERR_INVALID, err,
                             "a pod must hold whole leaf groups: %llu leaves is not a "
                             "multiple of %u rails", (unsigned long long)ti->nc, f->R);
    }
    if ((uint64_t)ti->w * ti->nc > CX_TOPO_MAX_ROUTE) {
        return cx_yaml_error(tn, CX_ERR_RANGE, err, "%llu down ports exceed the limit of %d",
                             (unsigned long long)(ti->w * ti->nc), CX_TOPO_MAX_ROUTE);
    }
    ti->down           = (uint32_t)(ti->w * ti->nc);
    ti->nblk           = ch->nblk / ti->nc;
    ti->leaves_per_blk = ch->leaves_per_blk * ti->nc;
    return CX_OK;
}

/* Third pass over tier tt: uplinks (none at the top), the planes of the
 * tier above, the radix check. */
static cx_status_t cx_fabric_uplinks(const cx_catalog_t *cat, cx_fabric_t *f, const cx_yaml_node_t *tn, int tt,
                                     cx_err_t *err)
{
    cx_tier_t *ti = &f->tier[tt];
    double     os = 0.0;
    int64_t    v  = -1;
    if (tt == f->T) {
        if (cx_yaml_get(tn, "up") != NULL || cx_yaml_get(tn, "oversubscription") != NULL) {
            return cx_yaml_error(tn, CX_ERR_INVALID, err,
                                 "the top tier has no uplinks ('up'/'oversubscription')");
        }
        ti->up = 0;
    } else {
        cx_tier_t *pa = &f->tier[tt + 1];
        CX_TRY(cx_yaml_get_int(tn, "up", 0, 1, CX_TOPO_MAX_ROUTE, &v, err));
        CX_TRY(cx_yaml_get_double(tn, "oversubscription", 0, 0.01, 1000.0, &os, err));
        if (v < 0 && os == 0.0) {
            return cx_yaml_error(tn, CX_ERR_INVALID, err,
                                 "tier %d needs 'up' (uplinks per switch) or "
                                 "'oversubscription' (down:up bandwidth)", tt);
        }
        if (v < 0) {
            v = llround((double)ti->down * ti->bw_below / (os * pa->bw_below));
            if (v < 1) v = 1;
        }
        ti->up = (uint32_t)v;
        if (ti->up % pa->w != 0) {
            return cx_yaml_error(tn, CX_ERR_INVALID, err,
                                 "%u uplinks do not divide into bundles of %u parallel links "
                                 "(tiers[%d].parallel_links)", ti->up, pa->w, tt);
        }
        pa->c = ti->up / pa->w;
        pa->m = ti->m * pa->c;
    }
    if (ti->down + ti->up > ti->radix) {
        return cx_yaml_error(tn, CX_ERR_INVALID, err,
                             "tier %d switch needs %u ports (%u down + %u up) but %s has "
                             "radix %u", tt, ti->down + ti->up, ti->down, ti->up,
                             cat->switches[ti->sw_type].name, ti->radix);
    }
    return CX_OK;
}

/* Port latencies (transmitter's forwarding latency + the cable) and the
 * layout blocks, once every tier is known. */
static cx_status_t cx_fabric_layout(const cx_catalog_t *cat, cx_fabric_t *f, const cx_yaml_node_t *fn, int nic,
                                    cx_err_t *err)
{
    int tt, T = f->T;
    for (tt = 1; tt <= T; tt++) {
        cx_tier_t *ti = &f->tier[tt];
        ti->lat_down  = ti->sw_lat + ti->cable_below;
        ti->lat_up    = tt < T ? ti->sw_lat + f->tier[tt + 1].cable_below : 0;
    }
    f->lat_nic = cat->nics[nic].latency_ps + f->tier[1].cable_below;

    f->S[0]  = f->gpd + f->ns;
    f->k[1]  = f->U1;
    f->sw[1] = f->R;
    for (tt = 2; tt <= T; tt++) {
        f->k[tt]  = tt == 2 ? f->tier[2].nc / f->R : f->tier[tt].nc;
        f->sw[tt] = f->tier[tt].m;
    }
    if (T == 1) f->k[1] = f->ndom;
    for (tt = 1; tt < T; tt++) f->S[tt] = f->k[tt] * f->S[tt - 1] + f->sw[tt];
    f->cnt[T] = 1;
    for (tt = T; tt >= 1; tt--) f->cnt[tt - 1] = f->cnt[tt] * f->k[tt];
    if (f->cnt[0] != f->ndom) {
        return cx_yaml_error(fn, CX_ERR_INTERNAL, err, "layout does not cover the domains");
    }
    f->ndev = f->k[T] * f->S[T - 1] + f->sw[T];
    return CX_OK;
}

static cx_status_t cx_fabric_parse(cx_topo_t *t, cx_fabric_t *f, const cx_yaml_node_t *fn,
                                   cx_err_t *err)
{
    static const char *const fab_keys[] = {"name", "description", "gpus", "server", "nvlink",
                                           "nic", "rail_optimized", "rails", "tiers", NULL};
    const cx_catalog_t      *cat = &t->cat;
    const cx_yaml_node_t    *nvl, *tiers, *gpus_node = NULL;
    const char              *name = "fabric";
    int64_t                  v;
    int                      tt, nic = 0, nvsw = -1;
    uint64_t                 ngpus = 0;

    CX_TRY(cx_yaml_check_keys(fn, fab_keys, err));
    CX_TRY(cx_yaml_get_string(fn, "name", 0, &name, err));
    cx_copy_name(f->name, name);
    CX_TRY(cx_fabric_server(cat, f, fn, &nvsw, err));
    CX_TRY(cx_fabric_gpus(t, f, fn, &ngpus, &gpus_node, err));
    f->ngpus = ngpus;
    f->ndom  = ngpus / f->gpd;

    CX_TRY(cx_cat_lookup(fn, "nic", 1, cat->n_nics, sizeof(cx_cat_nic_t), cat->nics[0].name, "NIC",
                         &nic, err));
    f->nic_type = nic;

    f->rail_optimized = 0;
    CX_TRY(cx_yaml_get_bool(fn, "rail_optimized", 0, &f->rail_optimized, err));
    v = f->rail_optimized ? f->gps : 1;
    CX_TRY(cx_yaml_get_int(fn, "rails", 0, 1, 1024, &v, err));
    f->R = (uint32_t)v;
    if (!f->rail_optimized) f->R = 1;
    if (f->gpd % f->R != 0) {
        return cx_yaml_error(cx_yaml_get(fn, "rails"), CX_ERR_INVALID, err,
                             "%u rails do not divide the NVLink domain of %u GPUs", f->R, f->gpd);
    }
    f->kk = f->gpd / f->R;

    /* NVLink figures: the domain's GPU type (first listed) sets the bandwidth. */
    f->nvl_bw      = cat->gpus[f->type_idx[0]].nvlink_bw;
    f->lat_nvl_gpu = cat->gpu_nvlink_latency_ps[f->type_idx[0]];
    f->lat_nvl_sw  = nvsw >= 0 ? cat->switches[nvsw].latency_ps : 0;
    nvl            = cx_yaml_get(fn, "nvlink");
    if (nvl != NULL) CX_TRY(cx_get_lat(nvl, "latency", 0, CX_TOPO_DEV_LAT_MIN_PS, &f->lat_nvl_sw, err));

    tiers = cx_yaml_get(fn, "tiers");
    if (tiers == NULL) {
        return cx_err_set(err, CX_ERR_INVALID, cx_yaml_file(fn->doc), fn->line, fn->path,
                          "missing required field 'tiers'");
    }
    CX_TRY(cx_yaml_expect(tiers, CX_YAML_SEQ, err));
    if (tiers->n_children < 1 || tiers->n_children > CX_TOPO_MAX_TIERS) {
        return cx_yaml_error(tiers, CX_ERR_INVALID, err, "needs 1..%d tiers", CX_TOPO_MAX_TIERS);
    }
    f->T = (int)tiers->n_children;
    for (tt = 1; tt <= f->T; tt++) CX_TRY(cx_fabric_tier(cat, f, tiers->children[tt - 1], tt, nic, err));

    /* Leaves. */
    if (f->ndom % f->U1 != 0) {
        return cx_yaml_error(gpus_node, CX_ERR_INVALID, err,
                             "%llu NVLink domains do not fill whole leaf groups of %u domains "
                             "(tiers[0].down / (domain GPUs / rails))",
                             (unsigned long long)f->ndom, f->U1);
    }
    f->nleaves = f->ndom / f->U1 * f->R;
    if (f->T == 1 && f->nleaves != 1) {
        return cx_yaml_error(tiers, CX_ERR_INVALID, err,
                             "one tier connects only one leaf, but this fabric needs %llu",
                             (unsigned long long)f->nleaves);
    }
    f->tier[1].nblk = f->nleaves;
    for (tt = 2; tt <= f->T; tt++) CX_TRY(cx_fabric_group(f, tiers->children[tt - 1], tt, err));
    for (tt = 1; tt <= f->T; tt++) CX_TRY(cx_fabric_uplinks(cat, f, tiers->children[tt - 1], tt, err));
    return cx_fabric_layout(cat, f, fn, nic, err);
}

/* --- site: (power and facility, src/power/cx_power.h) ---------------------- */

const cx_site_t *cx_topo_site(const cx_topo_t *t) { return &t->site; }
uint32_t cx_topo_fabric_servers_per_rack(const cx_topo_t *t, int fabric)
{
    return fabric >= 0 && fabric < t->n_fabrics ? t->fab[fabric].per_rack : 0;
}
uint32_t cx_topo_fabric_cpu_nics(const cx_topo_t *t, int fabric)
{
    return fabric >= 0 && fabric < t->n_fabrics ? t->fab[fabric].cpu_nics : 0;
}

/* The site: section's numbers (all optional, -1 = not given): its sub-map,
 * key, bounds and field, in file order; a sub-map takes exactly these keys
 * (turbines also 'units', dispatch its two times, both parsed apart). */
typedef struct cx_site_num {
    const char *sub, *key;
    double      lo, hi;
    size_t      off;
} cx_site_num_t;

#define CX_SITE_NUM(_sub, _key, _lo, _hi, _f) {_sub, _key, _lo, _hi, offsetof(cx_site_t, _f)}
static const cx_site_num_t cx_site_nums[] = {
    CX_SITE_NUM("gpu_power", "compute", 0.0, 2.0, gpu_compute),
    CX_SITE_NUM("gpu_power", "memory", 0.0, 2.0, gpu_memory),
    CX_SITE_NUM("gpu_power", "comm", 0.0, 2.0, gpu_comm),
    CX_SITE_NUM("gpu_power", "idle", 0.0, 2.0, gpu_idle),
    CX_SITE_NUM("gpu_power", "floor", 0.0, 2.0, gpu_floor),
    CX_SITE_NUM("it", "nic_w", 0.0, 1e4, nic_w),
    CX_SITE_NUM("it", "switch_w", 0.0, 1e5, switch_w),
    CX_SITE_NUM("it", "nvswitch_w_per_gpu", 0.0, 1e4, nvswitch_w_per_gpu),
    CX_SITE_NUM("it", "cpu_w_per_server", 0.0, 1e5, cpu_w_per_server),
    CX_SITE_NUM("it", "other_w_per_server", 0.0, 1e5, other_w_per_server),
    CX_SITE_NUM("it", "rack_w", 0.0, 1e6, rack_w),
    CX_SITE_NUM("cooling", "cop", 0.1, 100.0, cooling_cop),
    CX_SITE_NUM("cooling", "pue", 1.0, 5.0, pue),
    CX_SITE_NUM("cooling", "chillers_mw", 0.0, 1e6, chillers_mw),
    CX_SITE_NUM("cooling", "distribution_loss", 0.0, 0.5, distribution_loss),
    CX_SITE_NUM("grid", "mw", 0.0, 1e6, grid_mw),
    CX_SITE_NUM("grid", "ramp_mw_per_s", 0.0, 1e9, grid_ramp_mw_per_s),
    CX_SITE_NUM("turbines", "mw_each", 0.0, 1e4, turbine_mw_each),
    CX_SITE_NUM("turbines", "ramp_mw_per_s_each", 0.0, 1e6, turbine_ramp_mw_per_s_each),
    CX_SITE_NUM("turbines", "min_load", 0.0, 1.0, turbine_min_load),
    CX_SITE_NUM("battery", "mw", 0.0, 1e6, battery_mw),
    CX_SITE_NUM("battery", "mwh", 0.0, 1e7, battery_mwh),
    CX_SITE_NUM("battery", "round_trip_efficiency", 0.01, 1.0, battery_rte),
    CX_SITE_NUM("battery", "soc_min", 0.0, 1.0, battery_soc_min),
    CX_SITE_NUM("battery", "soc_max", 0.0, 1.0, battery_soc_max),
    CX_SITE_NUM("battery", "soc_initial", 0.0, 1.0, battery_soc_initial),
};
#undef CX_SITE_NUM
#define CX_SITE_NNUMS (sizeof(cx_site_nums) / sizeof(cx_site_nums[0]))

/* Optional sub-map `sub` of site: with the keys of its numbers (after
 * `first`, when not NULL), its numbers read into s; *sub_p NULL when absent. */
static cx_status_t cx_site_sub(cx_site_t *s, const cx_yaml_node_t *site, const char *sub, const char *first,
                               const cx_yaml_node_t **sub_p, cx_err_t *err)
{
    const cx_yaml_node_t *n = cx_yaml_get(site, sub);
    const char           *keys[CX_SITE_NNUMS + 2];
    size_t                i, k = 0;
    *sub_p = NULL;
    if (n == NULL) return CX_OK;
    if (first != NULL) keys[k++] = first;
    for (i = 0; i < CX_SITE_NNUMS; i++)
        if (strcmp(cx_site_nums[i].sub, sub) == 0) keys[k++] = cx_site_nums[i].key;
    keys[k] = NULL;
    CX_TRY(cx_yaml_expect(n, CX_YAML_MAP, err));
    CX_TRY(cx_yaml_check_keys(n, keys, err));
    *sub_p = n;
    if (first != NULL) CX_TRY(cx_yaml_get_int(n, first, 0, 0, 100000, &s->turbine_units, err));
    for (i = 0; i < CX_SITE_NNUMS; i++) {
        const cx_site_num_t *f = &cx_site_nums[i];
        if (strcmp(f->sub, sub) == 0)
            CX_TRY(cx_yaml_get_double(n, f->key, 0, f->lo, f->hi, (double *)((char *)s + f->off), err));
    }
    return CX_OK;
}

static cx_status_t cx_site_parse(cx_site_t *s, const cx_yaml_node_t *root, cx_err_t *err)
{
    static const char *const site_keys[] = {"name", "gpus", "gpu_power", "it", "cooling", "grid",
                                            "turbines", "battery", "dispatch", "notes", NULL};
    static const char *const dis_keys[]  = {"smoothing", "recharge", NULL};
    const cx_yaml_node_t *n = cx_yaml_get(root, "site"), *m;
    const char           *name = NULL;
    int64_t               v;
    size_t                i;

    memset(s, 0, sizeof(*s));
    for (i = 0; i < CX_SITE_NNUMS; i++) *(double *)((char *)s + cx_site_nums[i].off) = -1.0;
    s->smoothing_s   = -1.0;
    s->recharge_s    = -1.0;
    s->turbine_units = -1;
    if (n == NULL) return CX_OK;
    CX_TRY(cx_yaml_expect(n, CX_YAML_MAP, err));
    CX_TRY(cx_yaml_check_keys(n, site_keys, err));
    s->given = 1;
    CX_TRY(cx_yaml_get_string(n, "name", 0, &name, err));
    snprintf(s->name, sizeof(s->name), "%s", name != NULL ? name : "");
    v = 0;
    CX_TRY(cx_yaml_get_int(n, "gpus", 0, 0, INT64_C(1) << 40, &v, err));
    s->gpus = (uint64_t)v;
    CX_TRY(cx_site_sub(s, n, "gpu_power", NULL, &m, err));
    CX_TRY(cx_site_sub(s, n, "it", NULL, &m, err));
    CX_TRY(cx_site_sub(s, n, "cooling", NULL, &m, err));
    if (m != NULL && cx_yaml_get(m, "cop") != NULL && cx_yaml_get(m, "pue") != NULL) {
        return cx_yaml_error(cx_yaml_get(m, "pue"), CX_ERR_INVALID, err, "give either cop or pue, not both");
    }
    CX_TRY(cx_site_sub(s, n, "grid", NULL, &m, err));
    CX_TRY(cx_site_sub(s, n, "turbines", "units", &m, err));
    CX_TRY(cx_site_sub(s, n, "battery", NULL, &m, err));
    if (s->battery_soc_min >= 0 && s->battery_soc_max >= 0 && s->battery_soc_min >= s->battery_soc_max) {
        return cx_yaml_error(cx_yaml_get(m, "soc_max"), CX_ERR_INVALID, err, "must be above soc_min");
    }
    m = cx_yaml_get(n, "dispatch");
    if (m != NULL) {
        int64_t ps = -1;
        CX_TRY(cx_yaml_expect(m, CX_YAML_MAP, err));
        CX_TRY(cx_yaml_check_keys(m, dis_keys, err));
        CX_TRY(cx_yaml_get_time_ps(m, "smoothing", 0, &ps, err));
        if (ps >= 0) s->smoothing_s = (double)ps * 1e-12;
        ps = -1;
        CX_TRY(cx_yaml_get_time_ps(m, "recharge", 0, &ps, err));
        if (ps >= 0) s->recharge_s = (double)ps * 1e-12;
    }
    return CX_OK;
}

static cx_status_t cx_topo_parse(cx_topo_t *t, const cx_yaml_node_t *root, const char *file,
                                 cx_err_t *err)
{
    static const char *const top_keys[] = {"name", "description", "catalog", "fabrics",
                                           "site" /* power: cx_site_parse */, NULL};
    const cx_yaml_node_t    *fabs;
    const char              *name = NULL, *catalog = NULL;
    char                     cpath[1024];
    cx_status_t              st;
    size_t                   i;
    struct stat              sb;

    CX_TRY(cx_yaml_expect(root, CX_YAML_MAP, err));
    CX_TRY(cx_yaml_check_keys(root, top_keys, err));
    CX_TRY(cx_yaml_get_string(root, "name", 0, &name, err));
    cx_copy_name(t->name, name != NULL ? name : "topology");
    CX_TRY(cx_yaml_get_string(root, "catalog", 0, &catalog, err));
    CX_TRY(cx_site_parse(&t->site, root, err));

    /* Catalog: relative to the topology file; the embedded copy when absent. */
    cpath[0] = '\0';
    if (catalog != NULL && file != NULL && file[0] != '<') {
        const char *slash = strrchr(file, '/');
        if (catalog[0] == '/' || slash == NULL) {
            snprintf(cpath, sizeof(cpath), "%s", catalog);
        } else {
            snprintf(cpath, sizeof(cpath), "%.*s/%s", (int)(slash - file), file, catalog);
        }
        /* A copied topology without its catalog still loads, but says so. */
        if (stat(cpath, &sb) != 0 && errno == ENOENT) {
            if (cx_log_rank() == 0) {
                const cx_yaml_node_t *cn = cx_yaml_get(root, "catalog");
                fprintf(stderr, "colossim: warning: %s:%d: 'catalog': %s not found; using the embedded "
                                "copy of topologies/hardware.yaml (built into this binary)\n",
                        file, cn != NULL ? cn->line : 0, cpath);
            }
            cpath[0] = '\0';
        }
    }
    snprintf(t->catalog_path, sizeof(t->catalog_path), "%s", cpath);
    if (cpath[0] != '\0') {
        st = cx_catalog_load(&t->cat, cpath, NULL, 0, err);
    } else {
        st = cx_catalog_load(&t->cat, NULL, (const char *)cx_topo_embedded_catalog,
                             cx_topo_embedded_catalog_len,
                             err);
    }
    if (st != CX_OK) return st;

    fabs = cx_yaml_get(root, "fabrics");
    if (fabs == NULL) {
        return cx_err_set(err, CX_ERR_INVALID, file, root->line, "fabrics",
                          "missing required field");
    }
    CX_TRY(cx_yaml_expect(fabs, CX_YAML_SEQ, err));
    if (fabs->n_children < 1 || fabs->n_children > CX_TOPO_MAX_FABRICS) {
        return cx_yaml_error(fabs, CX_ERR_INVALID, err, "needs 1..%d fabrics", CX_TOPO_MAX_FABRICS);
    }
    for (i = 0; i < fabs->n_children; i++) {
        cx_fabric_t *f = &t->fab[i];
        CX_TRY(cx_fabric_parse(t, f, fabs->children[i], err));
        f->base        = t->ndev;
        f->gpu_base    = t->ngpus;
        f->dom_base    = t->ndom;
        f->server_base = i == 0 ? 0 : t->fab[i - 1].server_base + t->fab[i - 1].ngpus / t->fab[i - 1].gps;
        t->ndev += f->ndev;
        t->ngpus += f->ngpus;
        t->ndom += f->ndom;
    }
    t->n_fabrics = (int)fabs->n_children;
    return CX_OK;
}

cx_status_t cx_topo_load_string(cx_topo_t **topo_p, const char *name, const char *text,
                                size_t len, cx_err_t *err)
{
    cx_yaml_doc_t *doc;
    cx_topo_t     *t;
    cx_status_t    st;

    st = cx_yaml_load_string(&doc, name, text, len, err);
    if (st != CX_OK) return st;
    t = calloc(1, sizeof(*t));
    if (t == NULL) {
        cx_yaml_free(doc);
        return cx_err_set(err, CX_ERR_NOMEM, name, 0, NULL, "out of memory");
    }
    st = cx_topo_parse(t, cx_yaml_root(doc), name, err);
    cx_yaml_free(doc);
    if (st != CX_OK) {
        free(t);
        return st;
    }
    *topo_p = t;
    return CX_OK;
}

cx_status_t cx_topo_load(cx_topo_t **topo_p, const char *path, cx_err_t *err)
{
    char       *buf;
    size_t      len;
    cx_status_t st = cx_file_read_all(path, "topology file", CX_YAML_MAX_FILE_BYTES, &buf, &len, err);
    if (st != CX_OK) return st;
    st = cx_topo_load_string(topo_p, path, buf, len, err);
    free(buf);
    return st;
}

const char *cx_topo_catalog_path(const cx_topo_t *t) { return t->catalog_path; }

void cx_topo_destroy(cx_topo_t *topo)
{
    free(topo);
}
