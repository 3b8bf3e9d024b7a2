/*
 * Faults in the timing engine: degraded ports serialize slower, down ports
 * carry nothing and routing steers around them.
 *
 * Steering: a port is skipped when it is down, and, for an up port, when
 * the destination cannot be reached from its far end any more (a down link
 * further on, e.g. the one link from a spine down to the destination's
 * leaf).  Up/down routing only ever descends through the destination's
 * ancestors, so that can only happen when the destination's leaf lies below
 * the lower end of a down switch-to-switch link: such leaves are listed
 * once (the "affected" leaves), and only routes toward them pay for the
 * reachability walk, whose answers are kept per (device, leaf, epoch) in a
 * small table (epoch = how many down faults have started).
 */
#include "cx_net_faults.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define CX_NF_MEMO 8192

typedef struct cx_nf_aff {
    uint64_t  leaf;
    cx_time_t since;
} cx_nf_aff_t;

typedef struct cx_nf_memo {
    uint64_t dev, leaf;
    uint32_t epoch;
    uint8_t  valid, val;
    uint16_t pad;
} cx_nf_memo_t;

struct cx_net_faults {
    const cx_topo_t *topo;
    cx_net_fault_t  *f;        /* sorted by (dev, port, at) */
    cx_time_t       *extra;    /* per entry: extra serialization (first entry of a port) */
    size_t           n;
    cx_time_t       *down_at;  /* sorted start times of down entries */
    size_t           n_down;
    cx_nf_aff_t     *aff;      /* sorted by leaf */
    size_t           n_aff;
    cx_nf_memo_t    *memo;
};

static int cx_nf_cmp(const void *a, const void *b)
{
    const cx_net_fault_t *x = a, *y = b;
    if (x->dev != y->dev) return x->dev < y->dev ? -1 : 1;
    if (x->port != y->port) return x->port < y->port ? -1 : 1;
    return x->at < y->at ? -1 : x->at > y->at;
}

static int cx_nf_time_cmp(const void *a, const void *b)
{
    cx_time_t x = *(const cx_time_t *)a, y = *(const cx_time_t *)b;
    return x < y ? -1 : x > y;
}

static int cx_nf_aff_cmp(const void *a, const void *b)
{
    const cx_nf_aff_t *x = a, *y = b;
    if (x->leaf != y->leaf) return x->leaf < y->leaf ? -1 : 1;
    return x->since < y->since ? -1 : x->since > y->since;
}

/* First entry of (dev, port), or n. */
static size_t cx_nf_find(const cx_net_faults_t *nf, uint64_t dev, uint32_t port)
{
    size_t lo = 0, hi = nf->n;
    while (lo < hi) {
        size_t m = (lo + hi) / 2;
        if (nf->f[m].dev < dev || (nf->f[m].dev == dev && nf->f[m].port < port)) lo = m + 1;
        else hi = m;
    }
    return lo < nf->n && nf->f[lo].dev == dev && nf->f[lo].port == port ? lo : nf->n;
}

static int cx_nf_down(const cx_net_faults_t *nf, uint64_t dev, uint32_t port, cx_time_t now)
{
    size_t i = cx_nf_find(nf, dev, port);
    for (; i < nf->n && nf->f[i].dev == dev && nf->f[i].port == port && nf->f[i].at <= now; i++) {
        if (nf->f[i].down) return 1;
    }
    return 0;
}

int cx_net_faults_hits(const cx_net_faults_t *nf, uint64_t dev, uint32_t port)
{
    return nf != NULL && cx_nf_find(nf, dev, port) < nf->n;
}

cx_time_t cx_net_faults_ser(cx_net_faults_t *nf, uint64_t dev, uint32_t port, cx_time_t ser, cx_time_t now)
{
    size_t    i0 = cx_nf_find(nf, dev, port), i;
    double    factor = 1.0;
    cx_time_t out;
    for (i = i0; i < nf->n && nf->f[i].dev == dev && nf->f[i].port == port && nf->f[i].at <= now; i++) {
        if (!nf->f[i].down) factor *= nf->f[i].factor;
    }
    if (factor >= 1.0 || i0 == nf->n) return ser;
    out = (cx_time_t)llround((double)ser / factor);
    nf->extra[i0] += out - ser;
    return out;
}

cx_time_t cx_net_faults_extra(const cx_net_faults_t *nf, uint64_t dev, uint32_t port)
{
    size_t i;
    if (nf == NULL) return 0;
    i = cx_nf_find(nf, dev, port);
    return i < nf->n ? nf->extra[i] : 0;
}

/* The leaf (first NIC port's switch) of a GPU device; UINT64_MAX if none. */
static uint64_t cx_nf_leaf(const cx_topo_t *t, uint64_t gpu_dev)
{
    cx_gpu_info_t  gi;
    cx_port_info_t pi;
    if (cx_topo_gpu_info(t, gpu_dev, &gi) != CX_OK || gi.n_nic_ports < 1) return UINT64_MAX;
    if (cx_topo_port(t, gpu_dev, (uint32_t)gi.nic_port, &pi) != CX_OK) return UINT64_MAX;
    return pi.peer_device;
}

static int cx_nf_affected(const cx_net_faults_t *nf, uint64_t leaf, cx_time_t now)
{
    size_t lo = 0, hi = nf->n_aff;
    while (lo < hi) {
        size_t m = (lo + hi) / 2;
        if (nf->aff[m].leaf < leaf) lo = m + 1;
        else hi = m;
    }
    return lo < nf->n_aff && nf->aff[lo].leaf == leaf && nf->aff[lo].since <= now;
}

static uint32_t cx_nf_epoch(const cx_net_faults_t *nf, cx_time_t now)
{
    size_t lo = 0, hi = nf->n_down;
    while (lo < hi) {
        size_t m = (lo + hi) / 2;
        if (nf->down_at[m] <= now) lo = m + 1;
        else hi = m;
    }
    return (uint32_t)lo;
}

/* Can a chunk at device x reach GPU dst (whose leaf is `leaf`) at `now`? */
static int cx_nf_reach(cx_net_faults_t *nf, uint64_t x, uint64_t dst, uint64_t leaf, uint32_t epoch, cx_time_t now,
                       int depth)
{
    uint32_t      ports[CX_TOPO_MAX_ROUTE], n = 0, i;
    cx_dev_kind_t k;
    cx_nf_memo_t *m;
    int           ok = 0;
    if (x == dst) return 1;
    k = cx_topo_device_kind(nf->topo, x);
    if (k == CX_DEV_GPU) return 0;
    if (k == CX_DEV_NVSWITCH) return 1;
    if (depth > 2 * CX_TOPO_MAX_TIERS + 2) return 0;
    m = &nf->memo[cx_mix64(x * 0x9E3779B97F4A7C15ULL ^ cx_mix64(leaf + epoch)) & (CX_NF_MEMO - 1)];
    if (m->valid && m->dev == x && m->leaf == leaf && m->epoch == epoch) return m->val;
    if (cx_topo_route(nf->topo, x, -1, dst, ports, &n) != CX_OK) return 0;
    for (i = 0; i < n && !ok; i++) {
        cx_port_info_t pi;
        if (cx_nf_down(nf, x, ports[i], now)) continue;
        if (cx_topo_port(nf->topo, x, ports[i], &pi) != CX_OK) continue;
        ok = cx_nf_reach(nf, pi.peer_device, dst, leaf, epoch, now, depth + 1);
    }
    m->dev   = x;
    m->leaf  = leaf;
    m->epoch = epoch;
    m->valid = 1;
    m->val   = (uint8_t)ok;
    return ok;
}

uint32_t cx_net_faults_filter(cx_net_faults_t *nf, const cx_net_dev_t *d, uint64_t dst_dev, uint32_t *ports,
                              uint32_t n, cx_time_t now)
{
    uint32_t i, m = 0, keep[CX_TOPO_MAX_ROUTE];
    uint64_t leaf = UINT64_MAX;
    uint32_t epoch;
    int      aff;
    if (n <= 1 || nf->n_down == 0 || now < nf->down_at[0]) return n;
    epoch = cx_nf_epoch(nf, now);
    if (nf->n_aff > 0) leaf = cx_nf_leaf(nf->topo, dst_dev);
    aff = leaf != UINT64_MAX && cx_nf_affected(nf, leaf, now);
    for (i = 0; i < n; i++) {
        uint32_t p = ports[i];
        if (d->ports[p].fault && cx_nf_down(nf, d->dev, p, now)) continue;
        if (aff && d->ports[p].role == CX_PORT_UP &&
            !cx_nf_reach(nf, d->ports[p].peer_dev, dst_dev, leaf, epoch, now, 1))
            continue;
        keep[m++] = p;
    }
    if (m == 0 || m == n) return n;
    memcpy(ports, keep, m * sizeof(uint32_t));
    return m;
}

/* Leaves below switch s (s itself if a leaf), each added with `since`. */
static cx_status_t cx_nf_add_leaves(cx_net_faults_t *nf, uint64_t s, cx_time_t since, size_t *cap, int depth)
{
    uint32_t p, np;
    if (cx_topo_device_kind(nf->topo, s) != CX_DEV_SWITCH || depth > CX_TOPO_MAX_TIERS) return CX_OK;
    if (cx_topo_device_tier(nf->topo, s) == 1) {
        if (nf->n_aff == *cap) {
            size_t       c  = *cap ? 2 * *cap : 64;
            cx_nf_aff_t *na = realloc(nf->aff, c * sizeof(*na));
            if (na == NULL) return CX_ERR_NOMEM;
            nf->aff = na;
            *cap    = c;
        }
        nf->aff[nf->n_aff].leaf  = s;
        nf->aff[nf->n_aff].since = since;
        nf->n_aff++;
        return CX_OK;
    }
    np = cx_topo_num_ports(nf->topo, s);
    for (p = 0; p < np; p++) {
        cx_port_info_t pi;
        if (cx_topo_port(nf->topo, s, p, &pi) != CX_OK || pi.role != CX_PORT_DOWN) continue;
        /* Parallel links to one child: add it once (its first port). */
        if (p > 0) {
            cx_port_info_t prev;
            if (cx_topo_port(nf->topo, s, p - 1, &prev) == CX_OK && prev.role == CX_PORT_DOWN &&
                prev.peer_device == pi.peer_device)
                continue;
        }
        if (cx_nf_add_leaves(nf, pi.peer_device, since, cap, depth + 1) != CX_OK) return CX_ERR_NOMEM;
    }
    return CX_OK;
}

void cx_net_faults_destroy(cx_net_faults_t *nf)
{
    if (nf == NULL) return;
    free(nf->f);
    free(nf->extra);
    free(nf->down_at);
    free(nf->aff);
    free(nf->memo);
    free(nf);
}

cx_status_t cx_net_faults_create(cx_net_faults_t **nf_p, const cx_topo_t *topo, const cx_net_fault_t *f, size_t n,
                                 cx_err_t *err)
{
    cx_net_faults_t *nf = calloc(1, sizeof(*nf));
    size_t           i, cap = 0, k;
    if (nf == NULL) return cx_err_set(err, CX_ERR_NOMEM, NULL, 0, NULL, "out of memory");
    nf->topo    = topo;
    nf->n       = n;
    nf->f       = malloc((n > 0 ? n : 1) * sizeof(*nf->f));
    nf->extra   = calloc(n > 0 ? n : 1, sizeof(*nf->extra));
    nf->down_at = malloc((n > 0 ? n : 1) * sizeof(*nf->down_at));
    nf->memo    = calloc(CX_NF_MEMO, sizeof(*nf->memo));
    if (nf->f == NULL || nf->extra == NULL || nf->down_at == NULL || nf->memo == NULL) goto nomem;
    for (i = 0; i < n; i++) {
        if (f[i].dev >= cx_topo_num_devices(topo) || f[i].port >= cx_topo_num_ports(topo, f[i].dev) ||
            f[i].at < 0 || (!f[i].down && !(f[i].factor > 0 && f[i].factor <= 1.0))) {
            cx_net_faults_destroy(nf);
            return cx_err_set(err, CX_ERR_INVALID, NULL, 0, "faults",
                              "fault %zu: device %llu port %u at %lld ps (factor %g) is not a valid fault", i,
                              (unsigned long long)f[i].dev, f[i].port, (long long)f[i].at, f[i].factor);
        }
        nf->f[i] = f[i];
    }
    if (n > 1) qsort(nf->f, n, sizeof(*nf->f), cx_nf_cmp);
    for (i = 0; i < n; i++) {
        cx_port_info_t pi;
        if (!nf->f[i].down) continue;
        nf->down_at[nf->n_down++] = nf->f[i].at;
        /* A down link between two switches: leaves below its lower end. */
        if (cx_topo_device_kind(topo, nf->f[i].dev) != CX_DEV_SWITCH ||
            cx_topo_port(topo, nf->f[i].dev, nf->f[i].port, &pi) != CX_OK ||
            cx_topo_device_kind(topo, pi.peer_device) != CX_DEV_SWITCH)
            continue;
        if (cx_nf_add_leaves(nf, pi.role == CX_PORT_UP ? nf->f[i].dev : pi.peer_device, nf->f[i].at, &cap, 0) != CX_OK)
            goto nomem;
    }
    if (nf->n_down > 1) qsort(nf->down_at, nf->n_down, sizeof(cx_time_t), cx_nf_time_cmp);
    if (nf->n_aff > 1) qsort(nf->aff, nf->n_aff, sizeof(*nf->aff), cx_nf_aff_cmp);
    /* One entry per leaf: the earliest. */
    for (i = 0, k = 0; i < nf->n_aff; i++) {
        if (k > 0 && nf->aff[k - 1].leaf == nf->aff[i].leaf) continue;
        nf->aff[k++] = nf->aff[i];
    }
    nf->n_aff = k;
    *nf_p     = nf;
    return CX_OK;
nomem:
    cx_net_faults_destroy(nf);
    return cx_err_set(err, CX_ERR_NOMEM, NULL, 0, NULL, "out of memory");
}
