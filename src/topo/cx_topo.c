/*
 * Arithmetic fabric: devices, ports, routes, summary and partition computed
 * from a few integers per fabric (no per-device tables).
 *
 * Clos model (per fabric, tiers 1..T).  A GPU in NVLink domain D with index
 * l in the domain has rail r = l % R and sits on leaf (D / U1) * R + r at
 * down port (D % U1) * kk + l / R, where kk = GPUs of one rail per domain and
 * U1 = domains per leaf (so a leaf group of R leaves covers U1 whole domains;
 * R = 1 when not rail-optimized).  A tier-t block (t >= 2) holds nc_t child
 * switches per plane (tier 2: nc_2 leaves; t >= 3: nc_t tier-(t-1) blocks)
 * and m_t = m_{t-1} * c_t switches (m_1 = 1): plane j (one per switch index
 * of a child block) has c_t switches, each joined to switch j of every child
 * block by w_t parallel links.  So tier 2 is a full leaf-spine bipartite per
 * pod and tier 3 is planes of the usual k-ary fat tree.
 *
 * Device ids: see cx_topo.h.  Layout level-t block = k[t] level-(t-1) blocks
 * then sw[t] switches (level 0 = domain: gpd GPUs then its NVSwitch); the
 * top level spreads its sw[T] switches between its k[T] children.
 */
#include "cx_topo_internal.h"

#include <stdlib.h>
#include <string.h>

/* --- layout ---------------------------------------------------------------- */

static uint64_t cx_top_child_off(const cx_fabric_t *f, uint64_t i)
{
    int T = f->T;
    return i * f->S[T - 1] + (i * f->sw[T]) / f->k[T];
}

/* Offset in the fabric of the level-t layout block b (t < T). */
static uint64_t cx_blk_off(const cx_fabric_t *f, int t, uint64_t b)
{
    int      T   = f->T, s;
    uint64_t per = f->cnt[t] / f->cnt[T - 1];
    uint64_t off = cx_top_child_off(f, b / per);
    uint64_t rem = b % per;
    for (s = T - 1; s > t; s--) {
        uint64_t p = f->cnt[t] / f->cnt[s - 1];
        off += (rem / p) * f->S[s - 1];
        rem %= p;
    }
    return off;
}

/* Device id (in fabric) of the tier-t switch with fabric-wide index x. */
static uint64_t cx_switch_dev(const cx_fabric_t *f, int t, uint64_t x)
{
    int T = f->T;
    if (t < T) {
        uint64_t b = x / f->sw[t];
        return cx_blk_off(f, t, b) + f->k[t] * f->S[t - 1] + x % f->sw[t];
    } else {
        uint64_t i = ((x + 1) * f->k[T] - 1) / f->sw[T];
        return cx_top_child_off(f, i) + f->S[T - 1] + (x - (i * f->sw[T]) / f->k[T]);
    }
}

static uint64_t cx_gpu_dev(const cx_fabric_t *f, uint64_t dom, uint32_t l)
{
    return cx_blk_off(f, 0, dom) + l;
}

typedef struct {
    cx_dev_kind_t kind;
    int           tier;    /* switch tier */
    uint64_t      index;   /* domain (GPU/NVSwitch) or switch index at its tier */
    uint32_t      local;   /* GPU index in domain */
} cx_dec_t;

static void cx_decode(const cx_fabric_t *f, uint64_t rel, cx_dec_t *d)
{
    int      T = f->T, s;
    uint64_t lo = 0, hi = f->k[T] - 1, r, b;
    while (lo < hi) {
        uint64_t mid = (lo + hi + 1) / 2;
        if (cx_top_child_off(f, mid) <= rel) lo = mid; else hi = mid - 1;
    }
    r = rel - cx_top_child_off(f, lo);
    if (r >= f->S[T - 1]) {
        d->kind  = CX_DEV_SWITCH;
        d->tier  = T;
        d->index = (lo * f->sw[T]) / f->k[T] + (r - f->S[T - 1]);
        d->local = 0;
        return;
    }
    b = lo;
    for (s = T - 1; s >= 1; s--) {
        if (r >= f->k[s] * f->S[s - 1]) {
            d->kind  = CX_DEV_SWITCH;
            d->tier  = s;
            d->index = b * f->sw[s] + (r - f->k[s] * f->S[s - 1]);
            d->local = 0;
            return;
        }
        b = b * f->k[s] + r / f->S[s - 1];
        r %= f->S[s - 1];
    }
    d->tier  = 0;
    d->index = b;
    d->local = (uint32_t)r;
    d->kind  = r < f->gpd ? CX_DEV_GPU : CX_DEV_NVSWITCH;
}

static const cx_fabric_t *cx_fabric_of(const cx_topo_t *t, uint64_t dev)
{
    int i;
    for (i = t->n_fabrics - 1; i > 0; i--) {
        if (dev >= t->fab[i].base) return &t->fab[i];
    }
    return &t->fab[0];
}

/* --- queries --------------------------------------------------------------- */

const char *cx_topo_name(const cx_topo_t *t) { return t->name; }
uint64_t cx_topo_num_devices(const cx_topo_t *t) { return t->ndev; }
uint64_t cx_topo_num_gpus(const cx_topo_t *t) { return t->ngpus; }
int cx_topo_num_fabrics(const cx_topo_t *t) { return t->n_fabrics; }
int cx_topo_num_gpu_types(const cx_topo_t *t) { return t->cat.n_gpus; }
const cx_compute_catalog_t *cx_topo_compute_efficiency(const cx_topo_t *t) { return &t->cat.eff; }

const char *cx_topo_fabric_name(const cx_topo_t *t, int fabric)
{
    return (fabric >= 0 && fabric < t->n_fabrics) ? t->fab[fabric].name : NULL;
}

const cx_gpu_type_t *cx_topo_gpu_type(const cx_topo_t *t, int type)
{
    return (type >= 0 && type < t->cat.n_gpus) ? &t->cat.gpus[type] : NULL;
}

cx_dev_kind_t cx_topo_device_kind(const cx_topo_t *t, uint64_t dev)
{
    const cx_fabric_t *f = cx_fabric_of(t, dev);
    cx_dec_t           d;
    cx_decode(f, dev - f->base, &d);
    return d.kind;
}

int cx_topo_device_tier(const cx_topo_t *t, uint64_t dev)
{
    const cx_fabric_t *f = cx_fabric_of(t, dev);
    cx_dec_t           d;
    cx_decode(f, dev - f->base, &d);
    return d.kind == CX_DEV_SWITCH ? d.tier : 0;
}

static uint32_t cx_ports_of(const cx_fabric_t *f, const cx_dec_t *d)
{
    switch (d->kind) {
    case CX_DEV_GPU:      return f->ns + 1;
    case CX_DEV_NVSWITCH: return f->gpd;
    case CX_DEV_SWITCH:   return f->tier[d->tier].down + f->tier[d->tier].up;
    }
    return 0;
}

uint32_t cx_topo_num_ports(const cx_topo_t *t, uint64_t dev)
{
    const cx_fabric_t *f = cx_fabric_of(t, dev);
    cx_dec_t           d;
    if (dev >= t->ndev) return 0;
    cx_decode(f, dev - f->base, &d);
    return cx_ports_of(f, &d);
}

static void cx_leaf_of_gpu(const cx_fabric_t *f, uint64_t dom, uint32_t l, uint64_t *leaf_p,
                           uint32_t *port_p)
{
    *leaf_p = (dom / f->U1) * f->R + l % f->R;
    *port_p = (uint32_t)((dom % f->U1) * f->kk + l / f->R);
}

static cx_status_t cx_port_of(const cx_fabric_t *f, const cx_dec_t *d, uint32_t p,
                              cx_port_info_t *pi)
{
    if (p >= cx_ports_of(f, d)) return CX_ERR_RANGE;
    switch (d->kind) {
    case CX_DEV_GPU:
        if (f->ns != 0 && p == 0) {
            pi->peer_device = f->base + cx_blk_off(f, 0, d->index) + f->gpd;
            pi->peer_port   = d->local;
            pi->role        = CX_PORT_NVLINK;
            pi->bandwidth   = f->nvl_bw;
            pi->latency_ps  = f->lat_nvl_gpu;
        } else {
            uint64_t leaf;
            uint32_t lp;
            cx_leaf_of_gpu(f, d->index, d->local, &leaf, &lp);
            pi->peer_device = f->base + cx_switch_dev(f, 1, leaf);
            pi->peer_port   = lp;
            pi->role        = CX_PORT_NIC;
            pi->bandwidth   = f->tier[1].bw_below;
            pi->latency_ps  = f->lat_nic;
        }
        return CX_OK;
    case CX_DEV_NVSWITCH:
        pi->peer_device = f->base + cx_gpu_dev(f, d->index, p);
        pi->peer_port   = 0;
        pi->role        = CX_PORT_NVLINK;
        pi->bandwidth   = f->nvl_bw;
        pi->latency_ps  = f->lat_nvl_sw;
        return CX_OK;
    case CX_DEV_SWITCH: {
        int              tt  = d->tier;
        const cx_tier_t *ti  = &f->tier[tt];
        uint64_t         B   = d->index / ti->m, idx = d->index % ti->m;
        if (p < ti->down) {
            pi->role       = CX_PORT_DOWN;
            pi->bandwidth  = ti->bw_below;
            pi->latency_ps = ti->lat_down;
            if (tt == 1) {
                uint64_t g   = d->index / f->R;
                uint32_t r   = (uint32_t)(d->index % f->R);
                uint64_t dom = g * f->U1 + p / f->kk;
                uint32_t l   = (p % f->kk) * f->R + r;
                pi->peer_device = f->base + cx_gpu_dev(f, dom, l);
                pi->peer_port   = f->ns;
            } else {
                uint64_t         cpos = p / ti->w, x = p % ti->w;
                uint64_t         j = idx / ti->c, k = idx % ti->c;
                const cx_tier_t *ch = &f->tier[tt - 1];
                uint64_t         child = (B * ti->nc + cpos) * ch->m + j;
                pi->peer_device = f->base + cx_switch_dev(f, tt - 1, child);
                pi->peer_port   = (uint32_t)(ch->down + k * ti->w + x);
            }
        } else {
            const cx_tier_t *pa = &f->tier[tt + 1];
            uint64_t         u  = p - ti->down;
            uint64_t         kp = u / pa->w, x = u % pa->w;
            uint64_t         Bp = B / pa->nc, cpos = B % pa->nc;
            uint64_t         par = Bp * pa->m + idx * pa->c + kp;
            pi->role        = CX_PORT_UP;
            pi->bandwidth   = pa->bw_below;
            pi->latency_ps  = ti->lat_up;
            pi->peer_device = f->base + cx_switch_dev(f, tt + 1, par);
            pi->peer_port   = (uint32_t)(cpos * pa->w + x);
        }
        return CX_OK;
    }
    }
    return CX_ERR_INTERNAL;
}

cx_status_t cx_topo_port(const cx_topo_t *t, uint64_t dev, uint32_t port, cx_port_info_t *info_p)
{
    const cx_fabric_t *f;
    cx_dec_t           d;
    if (dev >= t->ndev) return CX_ERR_RANGE;
    f = cx_fabric_of(t, dev);
    cx_decode(f, dev - f->base, &d);
    return cx_port_of(f, &d, port, info_p);
}

static int cx_type_of_dom(const cx_fabric_t *f, uint64_t dom)
{
    int i;
    for (i = 0; i < f->n_types; i++) {
        if (dom < f->type_end_dom[i]) return f->type_idx[i];
    }
    return f->type_idx[f->n_types - 1];
}

uint64_t cx_topo_gpu_device(const cx_topo_t *t, uint64_t gpu)
{
    int i;
    for (i = t->n_fabrics - 1; i >= 0; i--) {
        const cx_fabric_t *f = &t->fab[i];
        if (gpu >= f->gpu_base) {
            uint64_t g = gpu - f->gpu_base;
            return f->base + cx_gpu_dev(f, g / f->gpd, (uint32_t)(g % f->gpd));
        }
    }
    return UINT64_MAX;
}

cx_status_t cx_topo_gpu_info(const cx_topo_t *t, uint64_t dev, cx_gpu_info_t *info_p)
{
    const cx_fabric_t *f;
    cx_dec_t           d;
    uint64_t           g;
    if (dev >= t->ndev) return CX_ERR_RANGE;
    f = cx_fabric_of(t, dev);
    cx_decode(f, dev - f->base, &d);
    if (d.kind != CX_DEV_GPU) return CX_ERR_INVALID;
    g                     = d.index * f->gpd + d.local;
    info_p->gpu_type      = cx_type_of_dom(f, d.index);
    info_p->fabric        = (int)(f - t->fab);
    info_p->gpu_index     = f->gpu_base + g;
    info_p->server        = f->server_base + g / f->gps;
    info_p->local         = (int)(g % f->gps);
    info_p->domain        = f->dom_base + d.index;
    info_p->domain_local  = (int)d.local;
    info_p->rail          = (int)(d.local % f->R);
    info_p->nvlink_port   = f->ns != 0 ? 0 : -1;
    info_p->nic_port      = (int)f->ns;
    info_p->n_nic_ports   = 1;
    return CX_OK;
}

int cx_topo_domain_nvls(const cx_topo_t *t, uint64_t domain)
{
    int i;
    for (i = t->n_fabrics - 1; i >= 0; i--) {
        const cx_fabric_t *f = &t->fab[i];
        if (domain >= f->dom_base) {
            if (f->ns == 0 || domain - f->dom_base >= f->ndom || f->nvswitch_type < 0) return 0;
            return t->cat.switches[f->nvswitch_type].nvls;
        }
    }
    return 0;
}

uint64_t cx_topo_domain_nvswitch(const cx_topo_t *t, uint64_t domain)
{
    int i;
    for (i = t->n_fabrics - 1; i >= 0; i--) {
        const cx_fabric_t *f = &t->fab[i];
        if (domain >= f->dom_base) {
            if (f->ns == 0 || domain - f->dom_base >= f->ndom) return UINT64_MAX;
            return f->base + cx_blk_off(f, 0, domain - f->dom_base) + f->gpd;
        }
    }
    return UINT64_MAX;
}

/* --- routing --------------------------------------------------------------- */

cx_status_t cx_topo_route(const cx_topo_t *t, uint64_t dev, int in_port, uint64_t dst_gpu,
                          uint32_t *out_ports, uint32_t *n_p)
{
    const cx_fabric_t *f, *fd;
    cx_dec_t           d, dd;
    uint64_t           dleaf;
    uint32_t           dport, i;

    (void)in_port;
    *n_p = 0;
    if (dev >= t->ndev || dst_gpu >= t->ndev) return CX_ERR_RANGE;
    f  = cx_fabric_of(t, dev);
    fd = cx_fabric_of(t, dst_gpu);
    if (f != fd) return CX_ERR_NOT_FOUND;
    cx_decode(fd, dst_gpu - fd->base, &dd);
    if (dd.kind != CX_DEV_GPU) return CX_ERR_INVALID;
    if (dev == dst_gpu) return CX_OK;
    cx_decode(f, dev - f->base, &d);
    switch (d.kind) {
    case CX_DEV_GPU:
        out_ports[0] = (f->ns != 0 && d.index == dd.index) ? 0 : f->ns;
        *n_p         = 1;
        return CX_OK;
    case CX_DEV_NVSWITCH:
        if (d.index != dd.index) return CX_ERR_NOT_FOUND;
        out_ports[0] = dd.local;
        *n_p         = 1;
        return CX_OK;
    case CX_DEV_SWITCH: {
        const cx_tier_t *ti = &f->tier[d.tier];
        uint64_t         B  = d.index / ti->m;
        cx_leaf_of_gpu(f, dd.index, dd.local, &dleaf, &dport);
        if (dleaf / ti->leaves_per_blk == B) {
            if (d.tier == 1) {
                out_ports[0] = dport;
                *n_p         = 1;
            } else {
                uint64_t cpos = (dleaf / f->tier[d.tier - 1].leaves_per_blk) % ti->nc;
                for (i = 0; i < ti->w; i++) out_ports[i] = (uint32_t)(cpos * ti->w + i);
                *n_p = ti->w;
            }
            return CX_OK;
        }
        if (ti->up == 0) return CX_ERR_INTERNAL;
        for (i = 0; i < ti->up; i++) out_ports[i] = ti->down + i;
        *n_p = ti->up;
        return CX_OK;
    }
    }
    return CX_ERR_INTERNAL;
}

/* Latency of the up/down path whose top is tier `top`. */
static int64_t cx_path_latency(const cx_fabric_t *f, int top)
{
    int64_t lat = f->lat_nic;
    int     s;
    for (s = 1; s < top; s++) lat += f->tier[s].lat_up;
    for (s = top; s >= 1; s--) lat += f->tier[s].lat_down;
    return lat;
}

cx_status_t cx_topo_gpu_distance(const cx_topo_t *t, uint64_t src_gpu, uint64_t dst_gpu,
                                 int *hops_p, int64_t *latency_ps_p)
{
    const cx_fabric_t *f, *fd;
    cx_dec_t           a, b;
    uint64_t           la, lb;
    uint32_t           pa, pb;
    int                s;

    if (src_gpu >= t->ndev || dst_gpu >= t->ndev) return CX_ERR_RANGE;
    f  = cx_fabric_of(t, src_gpu);
    fd = cx_fabric_of(t, dst_gpu);
    if (f != fd) return CX_ERR_NOT_FOUND;
    cx_decode(f, src_gpu - f->base, &a);
    cx_decode(f, dst_gpu - f->base, &b);
    if (a.kind != CX_DEV_GPU || b.kind != CX_DEV_GPU) return CX_ERR_INVALID;
    if (src_gpu == dst_gpu) {
        *hops_p       = 0;
        *latency_ps_p = 0;
        return CX_OK;
    }
    if (f->ns != 0 && a.index == b.index) {
        *hops_p       = 2;
        *latency_ps_p = f->lat_nvl_gpu + f->lat_nvl_sw;
        return CX_OK;
    }
    cx_leaf_of_gpu(f, a.index, a.local, &la, &pa);
    cx_leaf_of_gpu(f, b.index, b.local, &lb, &pb);
    for (s = 1; s < f->T; s++) {
        if (la / f->tier[s].leaves_per_blk == lb / f->tier[s].leaves_per_blk) break;
    }
    *hops_p       = 2 * s;
    *latency_ps_p = cx_path_latency(f, s);
    return CX_OK;
}

/* --- summary --------------------------------------------------------------- */

void cx_topo_summary(const cx_topo_t *t, cx_topo_summary_t *s)
{
    int i, tt;
    memset(s, 0, sizeof(*s));
    s->min_latency_ps = INT64_MAX;
    for (i = 0; i < t->n_fabrics; i++) {
        const cx_fabric_t *f = &t->fab[i];
        uint64_t           servers = f->ngpus / f->gps;
        double             bis     = (double)f->ngpus / 2.0 * f->tier[1].bw_below;
        int                dtop;
        int64_t            lmin;
        uint64_t           dom;
        s->gpus += f->ngpus;
        s->servers += servers;
        s->racks += (servers + f->per_rack - 1) / f->per_rack;
        s->nvlink_domains += f->ndom;
        s->cpu_nics += servers * f->cpu_nics;
        for (dom = 0; dom < f->ndom;) {
            int      k;
            uint64_t end = f->ndom;
            for (k = 0; k < f->n_types; k++) {
                if (dom < f->type_end_dom[k]) {
                    end = f->type_end_dom[k];
                    if (f->type_idx[k] < 16) s->gpus_by_type[f->type_idx[k]] += (end - dom) * f->gpd;
                    break;
                }
            }
            dom = end;
        }
        s->nvswitches += f->ndom * f->ns;
        s->nvlinks += f->ns != 0 ? f->ngpus : 0;
        s->fabric_links += f->ngpus;
        for (tt = 1; tt <= f->T; tt++) {
            const cx_tier_t *ti = &f->tier[tt];
            uint64_t         n  = ti->nblk * ti->m;
            s->switches_by_tier[tt] += n;
            s->switches += n;
            s->fabric_links += n * ti->up;
            if (tt < f->T) {
                double up_bw = (double)n * ti->up * f->tier[tt + 1].bw_below;
                double os    = ((double)ti->down * ti->bw_below) /
                               ((double)ti->up * f->tier[tt + 1].bw_below);
                if (up_bw / 2.0 < bis) bis = up_bw / 2.0;
                if (os > s->oversubscription[tt]) s->oversubscription[tt] = os;
            }
        }
        s->bisection_bw += bis;
        if (f->T > s->tiers) s->tiers = f->T;
        if (i == 0 || f->tier[1].bw_below < s->injection_bw) s->injection_bw = f->tier[1].bw_below;
        if (f->ns != 0 && (s->nvlink_bw == 0.0 || f->nvl_bw < s->nvlink_bw)) s->nvlink_bw = f->nvl_bw;
        /* farthest pair: LCA at the lowest tier whose one block spans all leaves */
        for (dtop = 1; dtop < f->T; dtop++) {
            if (f->tier[dtop].leaves_per_blk >= f->nleaves) break;
        }
        if (f->ngpus > 1 && !(f->ndom == 1 && f->ns != 0)) {
            if (2 * dtop > s->diameter_hops) s->diameter_hops = 2 * dtop;
            if (cx_path_latency(f, dtop) > s->max_latency_ps) s->max_latency_ps = cx_path_latency(f, dtop);
        } else if (f->ngpus > 1 && s->diameter_hops < 2) {
            s->diameter_hops = 2;
        }
        if (f->ns != 0) {
            lmin = f->lat_nvl_gpu + f->lat_nvl_sw;
        } else {
            lmin = cx_path_latency(f, 1);
        }
        if (f->ngpus > 1 && lmin < s->min_latency_ps) s->min_latency_ps = lmin;
        if (f->ns != 0 && f->ndom == 1 && lmin > s->max_latency_ps) s->max_latency_ps = lmin;
    }
    if (s->min_latency_ps == INT64_MAX) s->min_latency_ps = 0;
    s->devices = t->ndev;
    s->links   = s->nvlinks + s->fabric_links;
}

/* --- partition ------------------------------------------------------------- */

#define CX_W_GPU      4
#define CX_W_NVSWITCH 4
#define CX_W_SWITCH   1

/* Contiguous ranges balanced by weight (cx_topo.h, cx_topo_part_make):
 * first[0..nranks], and the least latency of a cut link.  1 <= nranks <=
 * NVLink domains (checked by the caller). */
static void cx_topo_partition_job(const cx_topo_t *t, int nranks, uint64_t job_gpus, uint64_t *first,
                                  int64_t *lookahead_ps)
{
    uint64_t total = 0, cum = 0, dev, units_left = 0;
    int      r = 0, i;
    int64_t  la = INT64_MAX;

    for (i = 0; i < t->n_fabrics; i++) {
        const cx_fabric_t *f = &t->fab[i];
        uint64_t           nsw = f->ndev - f->ndom * (f->gpd + f->ns), dm;
        /* Domains whose GPUs run no job weigh as one switch: they hold
         * entities but see no events. */
        for (dm = 0; dm < f->ndom; dm++) {
            total += f->gpu_base + dm * f->gpd < job_gpus ? CX_W_GPU * f->gpd + CX_W_NVSWITCH * f->ns
                                                          : CX_W_SWITCH;
        }
        total += CX_W_SWITCH * nsw;
        units_left += f->ndom + nsw;
    }
    first[0] = 0;
    /* Walk units (a domain, or one switch) in device order; cut after a unit
     * when the rank has reached its share of the weight, or when the units
     * left are just enough to give every remaining rank one. */
    for (dev = 0; dev < t->ndev;) {
        const cx_fabric_t *f = cx_fabric_of(t, dev);
        cx_dec_t           d;
        uint64_t           len, w;
        cx_decode(f, dev - f->base, &d);
        if (d.kind == CX_DEV_SWITCH) {
            len = 1;
            w   = CX_W_SWITCH;
        } else {
            len = f->gpd + f->ns;
            w   = f->gpu_base + d.index * f->gpd < job_gpus ? CX_W_GPU * f->gpd + CX_W_NVSWITCH * f->ns
                                                           : CX_W_SWITCH;
        }
        /* Cut before this unit when that lands closer to the target. */
        if (r < nranks - 1 && dev > first[r]) {
            uint64_t target = (total * (uint64_t)(r + 1)) / (uint64_t)nranks;
            if (cum < target && cum + w > target && target - cum < cum + w - target) {
                first[++r] = dev;
            }
        }
        cum += w;
        dev += len;
        units_left--;
        if (r < nranks - 1) {
            uint64_t target = (total * (uint64_t)(r + 1)) / (uint64_t)nranks;
            if (cum >= target || units_left <= (uint64_t)(nranks - 1 - r)) {
                first[++r] = dev;
            }
        }
    }
    while (r < nranks - 1) first[++r] = t->ndev; /* cannot happen with nranks <= domains */
    first[nranks] = t->ndev;

    for (r = 0; r < nranks; r++) {
        for (dev = first[r]; dev < first[r + 1]; dev++) {
            const cx_fabric_t *f = cx_fabric_of(t, dev);
            cx_dec_t           d;
            uint32_t           p, np;
            cx_decode(f, dev - f->base, &d);
            np = cx_ports_of(f, &d);
            for (p = 0; p < np; p++) {
                cx_port_info_t pi;
                if (cx_port_of(f, &d, p, &pi) != CX_OK) continue;
                if (pi.peer_device >= first[r] && pi.peer_device < first[r + 1]) continue;
                if (pi.latency_ps < la) la = pi.latency_ps;
            }
        }
    }
    *lookahead_ps = la;
}

int cx_topo_gpus_one_fabric(const cx_topo_t *t, uint64_t n)
{
    cx_gpu_info_t a, b;
    if (n == 0 || n > cx_topo_num_gpus(t)) return 0;
    cx_topo_gpu_info(t, cx_topo_gpu_device(t, 0), &a);
    cx_topo_gpu_info(t, cx_topo_gpu_device(t, n - 1), &b);
    return a.fabric == b.fabric;
}

cx_status_t cx_topo_fabric_info(const cx_topo_t *t, int fabric, cx_fabric_info_t *fi)
{
    const cx_fabric_t *f;
    int                tt;
    if (fabric < 0 || fabric >= t->n_fabrics) return CX_ERR_RANGE;
    f = &t->fab[fabric];
    memset(fi, 0, sizeof(*fi));
    fi->name           = f->name;
    fi->first_device   = f->base;
    fi->n_devices      = f->ndev;
    fi->gpus           = f->ngpus;
    fi->domains        = f->ndom;
    fi->tiers          = f->T;
    fi->rail_optimized = f->rail_optimized;
    fi->rails          = (int)f->R;
    fi->server_gpus    = (int)f->gps;
    fi->domain_gpus    = (int)f->gpd;
    for (tt = 1; tt <= f->T; tt++) {
        fi->switches_by_tier[tt] = f->tier[tt].nblk * f->tier[tt].m;
        fi->down_ports[tt]       = f->tier[tt].down;
        fi->up_ports[tt]         = f->tier[tt].up;
    }
    return CX_OK;
}

/* --- partition by segments (contiguous or cyclic) -------------------------- */

#define CX_PART_CLASSES (CX_TOPO_MAX_TIERS + 3)

/* The unit of the cyclic partition starting at dev, its length, and its
 * class within its fabric: 0 a leaf block (or, in a one-tier fabric, a
 * domain) running the job, 1 one without it, 2 + tier a switch outside the
 * leaf blocks. */
static uint64_t cx_part_unit(const cx_topo_t *t, uint64_t dev, uint64_t job_gpus, int *cls)
{
    const cx_fabric_t *f = cx_fabric_of(t, dev);
    cx_dec_t           d;
    cx_decode(f, dev - f->base, &d);
    if (d.kind == CX_DEV_SWITCH) {
        *cls = (int)(f - t->fab) * CX_PART_CLASSES + 2 + d.tier;
        return 1;
    }
    /* A domain's first device: units are whole, so d.index starts a leaf
     * block where the fabric has them (k[1] domains, then the leaves). */
    *cls = (int)(f - t->fab) * CX_PART_CLASSES + (f->gpu_base + d.index * f->gpd < job_gpus ? 0 : 1);
    return f->T >= 2 ? f->S[1] : f->S[0];
}

int cx_topo_part_owner(const cx_topo_part_t *p, uint64_t dev)
{
    uint64_t lo = 0, hi = p->nseg - 1;
    while (lo < hi) {
        uint64_t mid = (lo + hi + 1) / 2;
        if (p->seg_first[mid] <= dev) lo = mid; else hi = mid - 1;
    }
    return p->seg_rank[lo];
}

void cx_topo_part_free(cx_topo_part_t *p)
{
    free(p->seg_first);
    free(p->seg_rank);
    p->seg_first = NULL;
    p->seg_rank  = NULL;
    p->nseg      = 0;
}

static cx_status_t cx_part_alloc(cx_topo_part_t *p, uint64_t nseg, cx_err_t *err)
{
    p->seg_first = malloc((size_t)(nseg + 1) * sizeof(uint64_t));
    p->seg_rank  = malloc((size_t)(nseg > 0 ? nseg : 1) * sizeof(int));
    if (p->seg_first == NULL || p->seg_rank == NULL) {
        cx_topo_part_free(p);
        return cx_err_set(err, CX_ERR_NOMEM, NULL, 0, NULL, "out of memory for the partition");
    }
    return CX_OK;
}

/* Deal the units round robin, one count per class; nseg and the segments
 * when seg_rank is set (a first pass only counts). */
static uint64_t cx_part_deal(const cx_topo_t *t, int nranks, uint64_t job_gpus, cx_topo_part_t *p,
                             uint64_t *job_units)
{
    uint64_t next[CX_TOPO_MAX_FABRICS * CX_PART_CLASSES];
    uint64_t dev, n = 0;
    int      last = -1;
    memset(next, 0, sizeof(next));
    *job_units = 0;
    for (dev = 0; dev < t->ndev;) {
        int      cls, r;
        uint64_t len = cx_part_unit(t, dev, job_gpus, &cls);
        r            = (int)(next[cls]++ % (uint64_t)nranks);
        if (cls % CX_PART_CLASSES == 0) (*job_units)++;
        if (r != last) {
            if (p->seg_rank != NULL) {
                p->seg_first[n] = dev;
                p->seg_rank[n]  = r;
            }
            n++;
            last = r;
        }
        dev += len;
    }
    if (p->seg_rank != NULL) p->seg_first[n] = t->ndev;
    return n;
}

static void cx_part_lookahead(const cx_topo_t *t, cx_topo_part_t *p)
{
    uint64_t k, dev;
    p->lookahead_ps = INT64_MAX;
    for (k = 0; k < p->nseg; k++) {
        for (dev = p->seg_first[k]; dev < p->seg_first[k + 1]; dev++) {
            uint32_t q, np = cx_topo_num_ports(t, dev);
            for (q = 0; q < np; q++) {
                cx_port_info_t pi;
                if (cx_topo_port(t, dev, q, &pi) != CX_OK) continue;
                if (pi.latency_ps < p->lookahead_ps && cx_topo_part_owner(p, pi.peer_device) != p->seg_rank[k]) {
                    p->lookahead_ps = pi.latency_ps;
                }
            }
        }
    }
}

cx_status_t cx_topo_part_make(const cx_topo_t *t, int nranks, uint64_t job_gpus, int mode, cx_topo_part_t *p,
                              cx_err_t *err)
{
    uint64_t    job_units = 0, nseg;
    int         r;
    memset(p, 0, sizeof(*p));
    p->nranks       = nranks;
    p->lookahead_ps = INT64_MAX;
    if (nranks < 1 || (uint64_t)nranks > t->ndom) {
        return cx_err_set(err, CX_ERR_INVALID, NULL, 0, "ranks",
                          "%d ranks for %llu NVLink domains: need 1..%llu (a domain never "
                          "straddles ranks)", nranks, (unsigned long long)t->ndom,
                          (unsigned long long)t->ndom);
    }
    if (mode != CX_PART_CONTIGUOUS && nranks > 1) {
        nseg = cx_part_deal(t, nranks, job_gpus, p, &job_units);
        if (mode == CX_PART_CYCLIC ||
            (nranks <= CX_PART_CYCLIC_MAX_RANKS && job_units >= 2 * (uint64_t)nranks)) {
            CX_TRY(cx_part_alloc(p, nseg, err));
            p->nseg   = cx_part_deal(t, nranks, job_gpus, p, &job_units);
            p->cyclic = 1;
            cx_part_lookahead(t, p);
            return CX_OK;
        }
    }
    CX_TRY(cx_part_alloc(p, (uint64_t)nranks, err));
    cx_topo_partition_job(t, nranks, job_gpus, p->seg_first, &p->lookahead_ps);
    p->nseg = (uint64_t)nranks;
    for (r = 0; r < nranks; r++) p->seg_rank[r] = r;
    return CX_OK;
}

cx_status_t cx_topo_part_make_env(const cx_topo_t *t, int nranks, uint64_t job_gpus, cx_topo_part_t *p,
                                  cx_err_t *err)
{
    const char *env  = getenv("COLOSSIM_PARTITION");
    int         mode = CX_PART_AUTO;
    memset(p, 0, sizeof(*p));
    if (env != NULL && *env != '\0' && strcmp(env, "auto") != 0) {
        if (strcmp(env, "contiguous") == 0) mode = CX_PART_CONTIGUOUS;
        else if (strcmp(env, "cyclic") == 0) mode = CX_PART_CYCLIC;
        else {
            return cx_err_set(err, CX_ERR_RANGE, NULL, 0, "COLOSSIM_PARTITION",
                              "'%s' is not contiguous, cyclic or auto", env);
        }
    }
    return cx_topo_part_make(t, nranks, job_gpus > 0 ? job_gpus : UINT64_MAX, mode, p, err);
}

const char *cx_topo_part_mode_name(const cx_topo_part_t *p) { return p->cyclic ? "cyclic" : "contiguous"; }

int cx_topo_part_neighbours(const cx_topo_t *t, const cx_topo_part_t *p, int rank, int *flag)
{
    uint64_t k, dev;
    int      n = 0;
    for (k = 0; k < p->nseg; k++) {
        if (p->seg_rank[k] != rank) continue;
        for (dev = p->seg_first[k]; dev < p->seg_first[k + 1]; dev++) {
            uint32_t q, np = cx_topo_num_ports(t, dev);
            for (q = 0; q < np; q++) {
                cx_port_info_t pi;
                int            o;
                if (cx_topo_port(t, dev, q, &pi) != CX_OK) continue;
                o = cx_topo_part_owner(p, pi.peer_device);
                if (o != rank && !flag[o]) {
                    flag[o] = 1;
                    n++;
                }
            }
        }
    }
    return n;
}

void cx_topo_part_counts(const cx_topo_t *t, const cx_topo_part_t *p, uint64_t job_gpus, uint64_t *cut_links,
                        uint64_t *weight)
{
    uint64_t k, dev;
    if (cut_links != NULL) memset(cut_links, 0, (size_t)p->nranks * sizeof(*cut_links));
    if (weight != NULL) memset(weight, 0, (size_t)p->nranks * sizeof(*weight));
    for (k = 0; k < p->nseg; k++) {
        int r = p->seg_rank[k];
        for (dev = p->seg_first[k]; dev < p->seg_first[k + 1]; dev++) {
            const cx_fabric_t *f = cx_fabric_of(t, dev);
            cx_dec_t           d;
            uint32_t           q, np;
            cx_decode(f, dev - f->base, &d);
            if (weight != NULL) {
                /* A domain weighs once, at its first device. */
                if (d.kind == CX_DEV_SWITCH) weight[r] += CX_W_SWITCH;
                else if (d.local == 0) {
                    weight[r] += f->gpu_base + d.index * f->gpd < job_gpus ? CX_W_GPU * f->gpd + CX_W_NVSWITCH * f->ns
                                                                          : CX_W_SWITCH;
                }
            }
            if (cut_links == NULL) continue;
            np = cx_ports_of(f, &d);
            for (q = 0; q < np; q++) {
                cx_port_info_t pi;
                if (cx_port_of(f, &d, q, &pi) != CX_OK) continue;
                if (cx_topo_part_owner(p, pi.peer_device) != r) cut_links[r]++;
            }
        }
    }
}
