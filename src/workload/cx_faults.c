/*
 * The faults file (cx_faults.h): parsed with the project's YAML layer
 * (strict keys, FILE:LINE: 'field' errors), every component checked against
 * the topology, random faults drawn, then each fault's consequence for the
 * job decided once, here, so the run, the trace and the analysis agree.
 */
#include "cx_faults.h"
#include "cx_schema.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The trace schema's labels (cx_schema.h); the kinds are the file's keys too. */
static const char *const cx_fault_kinds[]   = {CX_SCHEMA_FAULT_KIND_LABELS(CX_SCHEMA_LABEL_STR) NULL};
static const char *const cx_fault_actions[] = {CX_SCHEMA_FAULT_ACTION_LABELS(CX_SCHEMA_LABEL_STR)};
_Static_assert(sizeof(cx_fault_kinds) / sizeof(cx_fault_kinds[0]) == CX_FAULT_NKINDS + 1, "fault kinds");
_Static_assert(sizeof(cx_fault_actions) / sizeof(cx_fault_actions[0]) == CX_FACT_AFTER_STOP + 1, "fault actions");

const char *cx_fault_kind_name(int kind)
{
    return kind >= 0 && kind < CX_FAULT_NKINDS ? cx_fault_kinds[kind] : "?";
}

const char *cx_fault_action_name(int action)
{
    return action >= 0 && action <= CX_FACT_AFTER_STOP ? cx_fault_actions[action] : "?";
}

typedef struct cx_fl {
    cx_fault_t *f;
    size_t      n, cap;
} cx_fl_t;

/* More faults than this in one run is a typo in a rate, not an experiment. */
#define CX_FAULTS_MAX 100000

static cx_status_t cx_fl_push(cx_fl_t *l, const cx_fault_t *f, cx_err_t *err)
{
    if (l->n >= CX_FAULTS_MAX)
        return cx_err_set(err, CX_ERR_RANGE, NULL, 0, "faults", "more than %d faults in one run", CX_FAULTS_MAX);
    if (l->n == l->cap) {
        size_t      cap = l->cap ? 2 * l->cap : 16;
        cx_fault_t *nf  = realloc(l->f, cap * sizeof(*nf));
        if (nf == NULL) return cx_err_set(err, CX_ERR_NOMEM, NULL, 0, NULL, "out of memory");
        l->f   = nf;
        l->cap = cap;
    }
    l->f[l->n++] = *f;
    return CX_OK;
}

static void cx_fault_blank(cx_fault_t *f, int kind)
{
    memset(f, 0, sizeof(*f));
    f->kind      = (uint8_t)kind;
    f->gpu       = UINT64_MAX;
    f->dev       = UINT64_MAX;
    f->peer_dev  = UINT64_MAX;
    f->port      = UINT32_MAX;
    f->peer_port = UINT32_MAX;
    f->factor    = 1.0;
}

/* A link at (dev, port): both ends; the GPU end first when there is one. */
static cx_status_t cx_fault_set_link(const cx_topo_t *t, cx_fault_t *f, uint64_t dev, uint32_t port)
{
    cx_port_info_t pi;
    if (cx_topo_port(t, dev, port, &pi) != CX_OK) return CX_ERR_RANGE;
    if (cx_topo_device_kind(t, pi.peer_device) == CX_DEV_GPU && cx_topo_device_kind(t, dev) != CX_DEV_GPU) {
        f->dev       = pi.peer_device;
        f->port      = pi.peer_port;
        f->peer_dev  = dev;
        f->peer_port = port;
    } else {
        f->dev       = dev;
        f->port      = port;
        f->peer_dev  = pi.peer_device;
        f->peer_port = pi.peer_port;
    }
    if (cx_topo_device_kind(t, f->dev) == CX_DEV_GPU) {
        cx_gpu_info_t gi;
        cx_topo_gpu_info(t, f->dev, &gi);
        f->gpu = gi.gpu_index;
    }
    f->tier = (uint8_t)cx_topo_device_tier(t, f->peer_dev);
    return CX_OK;
}

/* The index-th switch of an Ethernet tier, in device order; UINT64_MAX if none. */
static uint64_t cx_faults_switch_at(const cx_topo_t *t, int tier, uint64_t index)
{
    uint64_t d, n = cx_topo_num_devices(t), k = 0;
    for (d = 0; d < n; d++) {
        if (cx_topo_device_kind(t, d) != CX_DEV_SWITCH || cx_topo_device_tier(t, d) != tier) continue;
        if (k++ == index) return d;
    }
    return UINT64_MAX;
}

static cx_status_t cx_faults_entry(const cx_yaml_node_t *e, const cx_topo_t *t, cx_time_t end_ps, cx_fl_t *l,
                                   cx_err_t *err)
{
    static const char *const keys[] = {"kind", "at", "gpu", "device", "port", "tier", "index", "factor", NULL};
    cx_fault_t  f;
    int         kind = 0;
    int64_t     at = 0, gpu = -1, dev = -1, port = -1, tier = -1, index = -1;
    double      factor = 1.0;
    cx_status_t st;
    uint64_t    ngpus = cx_topo_num_gpus(t), ndev = cx_topo_num_devices(t);

    if ((st = cx_yaml_expect(e, CX_YAML_MAP, err)) != CX_OK) return st;
    if ((st = cx_yaml_check_keys(e, keys, err)) != CX_OK) return st;
    if ((st = cx_yaml_get_enum(e, "kind", 1, cx_fault_kinds, &kind, err)) != CX_OK) return st;
    if ((st = cx_yaml_get_time_ps(e, "at", 0, &at, err)) != CX_OK) return st;
    if (at < 0) return cx_yaml_error(cx_yaml_get(e, "at"), CX_ERR_RANGE, err, "must be >= 0");
    if (at > end_ps) {
        return cx_yaml_error(cx_yaml_get(e, "at"), CX_ERR_RANGE, err,
                             "%.6g s is past the end of the run (about %.6g s by the plan)",
                             cx_time_to_s(at), cx_time_to_s(end_ps));
    }
    if ((st = cx_yaml_get_int(e, "gpu", 0, 0, INT64_MAX, &gpu, err)) != CX_OK) return st;
    if ((st = cx_yaml_get_int(e, "device", 0, 0, INT64_MAX, &dev, err)) != CX_OK) return st;
    if ((st = cx_yaml_get_int(e, "port", 0, 0, INT32_MAX, &port, err)) != CX_OK) return st;
    if ((st = cx_yaml_get_int(e, "tier", 0, 1, CX_TOPO_MAX_TIERS, &tier, err)) != CX_OK) return st;
    if ((st = cx_yaml_get_int(e, "index", 0, 0, INT64_MAX, &index, err)) != CX_OK) return st;
    if (kind == CX_FAULT_GPU_SLOW) {
        if ((st = cx_yaml_get_double(e, "factor", 1, 1.0, 1000.0, &factor, err)) != CX_OK) return st;
    } else if (kind == CX_FAULT_LINK_DEGRADED) {
        if ((st = cx_yaml_get_double(e, "factor", 1, 1e-3, 1.0, &factor, err)) != CX_OK) return st;
    } else if (cx_yaml_get(e, "factor") != NULL) {
        return cx_yaml_error(cx_yaml_get(e, "factor"), CX_ERR_INVALID, err, "only gpu_slow and link_degraded take a factor");
    }
    if (gpu >= 0 && (uint64_t)gpu >= ngpus) {
        return cx_yaml_error(cx_yaml_get(e, "gpu"), CX_ERR_RANGE, err, "GPU %lld does not exist (the topology has %llu)",
                             (long long)gpu, (unsigned long long)ngpus);
    }
    if (dev >= 0 && (uint64_t)dev >= ndev) {
        return cx_yaml_error(cx_yaml_get(e, "device"), CX_ERR_RANGE, err,
                             "device %lld does not exist (the topology has %llu)", (long long)dev,
                             (unsigned long long)ndev);
    }
    if (tier >= 0 || index >= 0) {
        uint64_t d;
        if (tier < 0 || index < 0 || dev >= 0) {
            return cx_yaml_error(e, CX_ERR_INVALID, err, "a switch is 'device: ID' or 'tier: T' with 'index: I'");
        }
        d = cx_faults_switch_at(t, (int)tier, (uint64_t)index);
        if (d == UINT64_MAX) {
            return cx_yaml_error(cx_yaml_get(e, "index"), CX_ERR_RANGE, err, "tier %lld has no switch %lld",
                                 (long long)tier, (long long)index);
        }
        dev = (int64_t)d;
    }
    cx_fault_blank(&f, kind);
    f.at     = at;
    f.factor = factor;
    f.line   = e->line;
    switch (kind) {
    case CX_FAULT_GPU_SLOW:
    case CX_FAULT_GPU_FAIL:
    case CX_FAULT_NIC_DOWN:
        if (gpu < 0 || dev >= 0 || port >= 0) {
            return cx_yaml_error(e, CX_ERR_INVALID, err, "%s names a GPU: 'gpu: N' (and no device or port)",
                                 cx_fault_kinds[kind]);
        }
        f.gpu = (uint64_t)gpu;
        f.dev = cx_topo_gpu_device(t, f.gpu);
        if (kind == CX_FAULT_NIC_DOWN) {
            cx_gpu_info_t gi;
            int           p;
            cx_topo_gpu_info(t, f.dev, &gi);
            if (gi.n_nic_ports < 1) return cx_yaml_error(cx_yaml_get(e, "gpu"), CX_ERR_INVALID, err, "GPU %lld has no NIC", (long long)gpu);
            for (p = 0; p < gi.n_nic_ports; p++) {
                cx_fault_set_link(t, &f, f.dev, (uint32_t)(gi.nic_port + p));
                if ((st = cx_fl_push(l, &f, err)) != CX_OK) return st;
            }
            return CX_OK;
        }
        break;
    case CX_FAULT_LINK_DEGRADED:
    case CX_FAULT_LINK_DOWN:
        if (gpu >= 0 && dev < 0 && port < 0) {
            cx_gpu_info_t gi;
            uint64_t      gd = cx_topo_gpu_device(t, (uint64_t)gpu);
            cx_topo_gpu_info(t, gd, &gi);
            if (gi.n_nic_ports < 1) return cx_yaml_error(cx_yaml_get(e, "gpu"), CX_ERR_INVALID, err, "GPU %lld has no NIC link", (long long)gpu);
            cx_fault_set_link(t, &f, gd, (uint32_t)gi.nic_port);
        } else if (gpu < 0 && dev >= 0 && port >= 0) {
            uint32_t np = cx_topo_num_ports(t, (uint64_t)dev);
            if ((uint64_t)port >= np) {
                return cx_yaml_error(cx_yaml_get(e, "port"), CX_ERR_RANGE, err,
                                     "device %lld has no port %lld (it has %u)", (long long)dev, (long long)port, np);
            }
            cx_fault_set_link(t, &f, (uint64_t)dev, (uint32_t)port);
        } else {
            return cx_yaml_error(e, CX_ERR_INVALID, err,
                                 "a link is 'gpu: N' (its NIC link) or 'device: ID' with 'port: P'");
        }
        break;
    case CX_FAULT_SWITCH_DOWN:
        if (dev < 0 || gpu >= 0 || port >= 0) {
            return cx_yaml_error(e, CX_ERR_INVALID, err, "switch_down names a switch: 'device: ID' or 'tier' + 'index'");
        }
        if (cx_topo_device_kind(t, (uint64_t)dev) != CX_DEV_SWITCH) {
            return cx_yaml_error(cx_yaml_get(e, "device") != NULL ? cx_yaml_get(e, "device") : e, CX_ERR_INVALID, err,
                                 "device %lld is not an Ethernet switch", (long long)dev);
        }
        f.dev  = (uint64_t)dev;
        f.tier = (uint8_t)cx_topo_device_tier(t, f.dev);
        break;
    }
    return cx_fl_push(l, &f, err);
}

/* ---- random faults -------------------------------------------------------- */

/* Scale-out links a random link fault can hit: the job's GPUs' NIC links,
 * then every switch's up links in the job's fabric (k-th of them). */
static void cx_faults_link_at(const cx_topo_t *t, uint64_t job_gpus, uint64_t k, cx_fault_t *f)
{
    cx_gpu_info_t    gi;
    cx_fabric_info_t fi;
    uint64_t         d;
    cx_topo_gpu_info(t, cx_topo_gpu_device(t, 0), &gi);
    if (k < job_gpus * (uint64_t)gi.n_nic_ports) {
        uint64_t g = k / (uint64_t)gi.n_nic_ports, gd = cx_topo_gpu_device(t, g);
        cx_gpu_info_t gg;
        cx_topo_gpu_info(t, gd, &gg);
        cx_fault_set_link(t, f, gd, (uint32_t)(gg.nic_port + (int)(k % (uint64_t)gi.n_nic_ports)));
        return;
    }
    k -= job_gpus * (uint64_t)gi.n_nic_ports;
    cx_topo_fabric_info(t, gi.fabric, &fi);
    for (d = fi.first_device; d < fi.first_device + fi.n_devices; d++) {
        uint32_t p, np;
        if (cx_topo_device_kind(t, d) != CX_DEV_SWITCH) continue;
        np = cx_topo_num_ports(t, d);
        for (p = 0; p < np; p++) {
            cx_port_info_t pi;
            if (cx_topo_port(t, d, p, &pi) != CX_OK || pi.role != CX_PORT_UP) continue;
            if (k-- == 0) {
                cx_fault_set_link(t, f, d, p);
                return;
            }
        }
    }
}

static cx_status_t cx_faults_random(const cx_yaml_node_t *r, const cx_topo_t *t, uint64_t job_gpus, cx_time_t end_ps,
                                    uint64_t seed, cx_fl_t *l, cx_err_t *err)
{
    static const char *const keys[] = {"seed", "over", "gpu_slow", "gpu_fail", "link_degraded", "link_down",
                                       "nic_down", "switch_down", "slow_factor", "degraded_factor", NULL};
    double           rate[CX_FAULT_NKINDS], slow = 1.5, degraded = 0.5, comps[CX_FAULT_NKINDS];
    int64_t          over = end_ps, s = (int64_t)(seed & INT64_MAX);
    uint64_t         switches = 0, uplinks = 0, d;
    cx_gpu_info_t    gi;
    cx_fabric_info_t fi;
    cx_status_t      st;
    int              k;

    if ((st = cx_yaml_expect(r, CX_YAML_MAP, err)) != CX_OK) return st;
    if ((st = cx_yaml_check_keys(r, keys, err)) != CX_OK) return st;
    if ((st = cx_yaml_get_int(r, "seed", 0, 0, INT64_MAX, &s, err)) != CX_OK) return st;
    if ((st = cx_yaml_get_time_ps(r, "over", 0, &over, err)) != CX_OK) return st;
    if (over <= 0 || over > end_ps) {
        return cx_yaml_error(cx_yaml_get(r, "over"), CX_ERR_RANGE, err,
                             "the window must be > 0 and end by the end of the run (about %.6g s by the plan)",
                             cx_time_to_s(end_ps));
    }
    for (k = 0; k < CX_FAULT_NKINDS; k++) {
        rate[k] = 0.0;
        if ((st = cx_yaml_get_double(r, cx_fault_kinds[k], 0, 0.0, 1e12, &rate[k], err)) != CX_OK) return st;
    }
    if ((st = cx_yaml_get_double(r, "slow_factor", 0, 1.0, 1000.0, &slow, err)) != CX_OK) return st;
    if ((st = cx_yaml_get_double(r, "degraded_factor", 0, 1e-3, 1.0, &degraded, err)) != CX_OK) return st;

    cx_topo_gpu_info(t, cx_topo_gpu_device(t, 0), &gi);
    cx_topo_fabric_info(t, gi.fabric, &fi);
    for (d = fi.first_device; d < fi.first_device + fi.n_devices; d++) {
        uint32_t p, np;
        if (cx_topo_device_kind(t, d) != CX_DEV_SWITCH) continue;
        switches++;
        np = cx_topo_num_ports(t, d);
        for (p = 0; p < np; p++) {
            cx_port_info_t pi;
            if (cx_topo_port(t, d, p, &pi) == CX_OK && pi.role == CX_PORT_UP) uplinks++;
        }
    }
    comps[CX_FAULT_GPU_SLOW] = comps[CX_FAULT_GPU_FAIL] = comps[CX_FAULT_NIC_DOWN] = (double)job_gpus;
    comps[CX_FAULT_LINK_DEGRADED] = comps[CX_FAULT_LINK_DOWN] =
        (double)(job_gpus * (uint64_t)gi.n_nic_ports + uplinks);
    comps[CX_FAULT_SWITCH_DOWN] = (double)switches;
    for (k = 0; k < CX_FAULT_NKINDS; k++) {
        double   lam = rate[k] * comps[k] / 3600.0, tt = 0.0; /* per second, all components */
        cx_rng_t rng;
        if (!(lam > 0)) continue;
        if (lam * cx_time_to_s(over) > (double)CX_FAULTS_MAX) {
            return cx_yaml_error(cx_yaml_get(r, cx_fault_kinds[k]), CX_ERR_RANGE, err,
                                 "%g per hour x %.0f components over %.6g s is about %.3g faults; at most %d",
                                 rate[k], comps[k], cx_time_to_s(over), lam * cx_time_to_s(over), CX_FAULTS_MAX);
        }
        cx_rng_init(&rng, (uint64_t)s, UINT64_C(0xFA0170) + (uint64_t)k);
        for (;;) {
            cx_fault_t f;
            uint64_t   c;
            tt += cx_rng_exp(&rng, 1.0 / lam);
            if (tt * 1e12 >= (double)over) break;
            c = cx_rng_below(&rng, (uint64_t)comps[k]);
            cx_fault_blank(&f, k);
            f.at     = (cx_time_t)(tt * 1e12);
            f.random = 1;
            f.line   = r->line;
            switch (k) {
            case CX_FAULT_GPU_SLOW:
            case CX_FAULT_GPU_FAIL:
                f.gpu    = c;
                f.dev    = cx_topo_gpu_device(t, c);
                f.factor = k == CX_FAULT_GPU_SLOW ? slow : 1.0;
                break;
            case CX_FAULT_NIC_DOWN: {
                cx_gpu_info_t gg;
                f.dev = cx_topo_gpu_device(t, c);
                cx_topo_gpu_info(t, f.dev, &gg);
                cx_fault_set_link(t, &f, f.dev, (uint32_t)gg.nic_port);
                break;
            }
            case CX_FAULT_LINK_DEGRADED:
            case CX_FAULT_LINK_DOWN:
                cx_faults_link_at(t, job_gpus, c, &f);
                f.factor = k == CX_FAULT_LINK_DEGRADED ? degraded : 1.0;
                break;
            case CX_FAULT_SWITCH_DOWN: {
                uint64_t n = 0;
                for (d = fi.first_device; d < fi.first_device + fi.n_devices; d++) {
                    if (cx_topo_device_kind(t, d) == CX_DEV_SWITCH && n++ == c) break;
                }
                f.dev  = d;
                f.tier = (uint8_t)cx_topo_device_tier(t, d);
                break;
            }
            }
            if ((st = cx_fl_push(l, &f, err)) != CX_OK) return st;
        }
    }
    return CX_OK;
}

/* ---- consequences ------------------------------------------------------------ */

static int cx_fault_cmp(const void *a, const void *b)
{
    const cx_fault_t *x = a, *y = b;
    if (x->at != y->at) return x->at < y->at ? -1 : 1;
    if (x->kind != y->kind) return x->kind < y->kind ? -1 : 1;
    if (x->dev != y->dev) return x->dev < y->dev ? -1 : 1;
    if (x->port != y->port) return x->port < y->port ? -1 : 1;
    return x->line < y->line ? -1 : x->line > y->line;
}

static int cx_fault_action(const cx_topo_t *t, uint64_t job_gpus, const cx_fault_t *f)
{
    cx_gpu_info_t gi;
    switch (f->kind) {
    case CX_FAULT_GPU_SLOW: return f->gpu < job_gpus ? CX_FACT_SLOWED : CX_FACT_NONE;
    case CX_FAULT_GPU_FAIL: return f->gpu < job_gpus ? CX_FACT_STOPPED : CX_FACT_NONE;
    case CX_FAULT_LINK_DEGRADED: return CX_FACT_DEGRADED;
    case CX_FAULT_NIC_DOWN:
    case CX_FAULT_LINK_DOWN:
        if (cx_topo_device_kind(t, f->dev) != CX_DEV_GPU) return CX_FACT_REROUTED;
        if (f->gpu >= job_gpus) return CX_FACT_NONE;
        cx_topo_gpu_info(t, f->dev, &gi);
        /* Its NVLink, or its only NIC: the GPU is cut off. */
        return (int)f->port == gi.nvlink_port || gi.n_nic_ports <= 1 ? CX_FACT_STOPPED : CX_FACT_REROUTED;
    case CX_FAULT_SWITCH_DOWN: {
        uint32_t p, np = cx_topo_num_ports(t, f->dev);
        for (p = 0; p < np; p++) {
            cx_port_info_t pi;
            if (cx_topo_port(t, f->dev, p, &pi) != CX_OK || cx_topo_device_kind(t, pi.peer_device) != CX_DEV_GPU)
                continue;
            cx_topo_gpu_info(t, pi.peer_device, &gi);
            if (gi.gpu_index < job_gpus && gi.n_nic_ports <= 1) return CX_FACT_STOPPED;
        }
        return CX_FACT_REROUTED;
    }
    }
    return CX_FACT_NONE;
}

cx_status_t cx_faults_load(cx_faults_t **fs_p, const char *path, const cx_topo_t *topo, uint64_t job_gpus,
                           cx_time_t end_ps, uint64_t seed, cx_err_t *err)
{
    static const char *const keys[] = {"name", "faults", "random", NULL};
    cx_yaml_doc_t        *doc = NULL;
    const cx_yaml_node_t *root, *list, *rnd;
    cx_fl_t               l = {NULL, 0, 0};
    cx_faults_t          *fs;
    cx_status_t           st;
    size_t                i;

    st = cx_yaml_load_file(&doc, path, err);
    if (st != CX_OK) return st;
    root = cx_yaml_root(doc);
    if (root == NULL) {
        st = cx_err_set(err, CX_ERR_INVALID, path, 1, "faults", "empty file: expected a 'faults:' list");
        goto out;
    }
    if ((st = cx_yaml_expect(root, CX_YAML_MAP, err)) != CX_OK) goto out;
    if ((st = cx_yaml_check_keys(root, keys, err)) != CX_OK) goto out;
    list = cx_yaml_get(root, "faults");
    rnd  = cx_yaml_get(root, "random");
    if (list == NULL && rnd == NULL) {
        st = cx_yaml_error(root, CX_ERR_INVALID, err, "expected a 'faults:' list and/or a 'random:' section");
        goto out;
    }
    if (list != NULL) {
        if ((st = cx_yaml_expect(list, CX_YAML_SEQ, err)) != CX_OK) goto out;
        for (i = 0; i < list->n_children; i++) {
            if ((st = cx_faults_entry(list->children[i], topo, end_ps, &l, err)) != CX_OK) goto out;
        }
    }
    if (rnd != NULL && (st = cx_faults_random(rnd, topo, job_gpus, end_ps, seed, &l, err)) != CX_OK) goto out;
    fs = calloc(1, sizeof(*fs));
    if (fs == NULL) {
        st = cx_err_set(err, CX_ERR_NOMEM, NULL, 0, NULL, "out of memory");
        goto out;
    }
    if (l.n > 1) qsort(l.f, l.n, sizeof(*l.f), cx_fault_cmp);
    fs->f       = l.f;
    fs->n       = l.n;
    fs->stop_at = CX_TIME_MAX;
    snprintf(fs->path, sizeof(fs->path), "%s", path);
    l.f = NULL;
    for (i = 0; i < fs->n; i++) {
        cx_fault_t *f = &fs->f[i];
        f->action     = (uint8_t)cx_fault_action(topo, job_gpus, f);
        if (fs->stop_at != CX_TIME_MAX && f->at > fs->stop_at) f->action = CX_FACT_AFTER_STOP;
        if (f->action == CX_FACT_STOPPED && fs->stop_at == CX_TIME_MAX) {
            fs->stop_at    = f->at;
            fs->stop_index = i;
        }
    }
    *fs_p = fs;
out:
    free(l.f);
    cx_yaml_free(doc);
    return st;
}

void cx_faults_destroy(cx_faults_t *fs)
{
    if (fs == NULL) return;
    free(fs->f);
    free(fs);
}

void cx_faults_print(const cx_faults_t *fs, FILE *out)
{
    size_t i;
    fprintf(out, "faults: %zu from %s%s\n", fs->n, fs->path,
            fs->stop_at != CX_TIME_MAX ? "" : " (none stops the job)");
    for (i = 0; i < fs->n; i++) {
        const cx_fault_t *f = &fs->f[i];
        fprintf(out, "  %10.6f s  %-13s ", cx_time_to_s(f->at), cx_fault_kind_name(f->kind));
        if (f->kind == CX_FAULT_GPU_SLOW || f->kind == CX_FAULT_GPU_FAIL) {
            fprintf(out, "GPU %llu", (unsigned long long)f->gpu);
        } else if (f->kind == CX_FAULT_SWITCH_DOWN) {
            fprintf(out, "switch %llu (tier %u)", (unsigned long long)f->dev, f->tier);
        } else {
            fprintf(out, "link %llu:%u - %llu:%u", (unsigned long long)f->dev, f->port,
                    (unsigned long long)f->peer_dev, f->peer_port);
            if (f->gpu != UINT64_MAX) fprintf(out, " (GPU %llu's)", (unsigned long long)f->gpu);
        }
        if (f->kind == CX_FAULT_GPU_SLOW) fprintf(out, " x%.3g time", f->factor);
        if (f->kind == CX_FAULT_LINK_DEGRADED) fprintf(out, " x%.3g bandwidth", f->factor);
        fprintf(out, "  -> %s%s\n", cx_fault_action_name(f->action), f->random ? " [random]" : "");
    }
}
