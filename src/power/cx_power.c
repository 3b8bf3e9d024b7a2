/*
 * Power binning: per-GPU state intervals -> integer busy picoseconds per
 * (bin, rack, state) -> exact MPI reduction -> rack / job / site power,
 * dispatch, /power tables and the power summary.  See cx_power.h.
 */
#define _POSIX_C_SOURCE 200809L
#include "cx_power.h"

#include "cx_agree.h"
#include "cx_file.h"
#include "cx_schema.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct cx_iv {
    cx_time_t s, e;
} cx_iv_t;

/* Sorted, disjoint interval list of at most CX_POWER_RING entries. */
typedef struct cx_ivlist {
    cx_iv_t   v[CX_POWER_RING];
    uint32_t  n;
    cx_time_t dropped_end;    /* latest end of an interval dropped when full */
} cx_ivlist_t;

typedef struct cx_pw_gpu {
    cx_ivlist_t c;   /* compute-stream kernels (compute- or memory-bound) */
    cx_ivlist_t k;   /* communication, union over streams */
} cx_pw_gpu_t;

/* States accumulated per bin and rack (idle is the rest). */
#define CX_PW_ACC 3

struct cx_power {
    const cx_topo_t  *topo;
    cx_power_config_t cfg;
    cx_power_params_t par;
    uint64_t          gpu_lo, gpu_n;          /* local job GPUs */
    uint64_t          rack0;                  /* rack id (fabric servers / per_rack) of job GPU 0 */
    uint64_t          n_racks;                /* job racks */
    uint64_t          lrack_lo, n_lracks;     /* local racks: [lrack_lo, lrack_lo + n_lracks) */
    uint32_t         *gpu_rack;               /* local GPU -> job rack */
    cx_pw_gpu_t      *g;
    int64_t          *acc;                    /* [bin][local rack][CX_PW_ACC] */
    uint64_t          cap_bins;
    cx_time_t         t_end;
    cx_time_t        *it_begin, *it_end;      /* per iteration: min begin, max end (local) */
    uint32_t          cap_iters, n_iters;
    uint64_t          truncated;
    int               oom;
};

static uint64_t cx_pw_rack_of(const cx_topo_t *topo, uint64_t gpu, uint32_t per_rack)
{
    cx_gpu_info_t gi;
    cx_topo_gpu_info(topo, cx_topo_gpu_device(topo, gpu), &gi);
    return gi.server / (per_rack > 0 ? per_rack : 1);
}

cx_status_t cx_power_create(cx_power_t **p_p, const cx_topo_t *topo, const cx_power_config_t *cfg,
                            uint64_t local_gpu_lo, uint64_t local_gpu_n, cx_err_t *err)
{
    cx_power_t   *p;
    cx_gpu_info_t gi;
    uint64_t      i, hi;
    uint32_t      per_rack;

    if (cfg->bin_ps <= 0) return cx_err_set(err, CX_ERR_RANGE, NULL, 0, "power-bin", "must be > 0");
    if (cfg->job_gpus == 0 || cfg->job_gpus > cx_topo_num_gpus(topo))
        return cx_err_set(err, CX_ERR_RANGE, NULL, 0, "gpus", "job GPUs out of range for the power model");
    p = calloc(1, sizeof(*p));
    if (p == NULL) return cx_err_set(err, CX_ERR_NOMEM, NULL, 0, NULL, "out of memory");
    p->topo = topo;
    p->cfg  = *cfg;
    cx_topo_gpu_info(topo, cx_topo_gpu_device(topo, 0), &gi);
    cx_power_params_init(&p->par, topo, gi.fabric);
    per_rack   = p->par.servers_per_rack;
    p->rack0   = cx_pw_rack_of(topo, 0, per_rack);
    p->n_racks = cx_pw_rack_of(topo, cfg->job_gpus - 1, per_rack) - p->rack0 + 1;
    /* Local job GPUs. */
    hi = local_gpu_lo + local_gpu_n;
    if (hi > cfg->job_gpus) hi = cfg->job_gpus;
    p->gpu_lo = local_gpu_lo;
    p->gpu_n  = hi > local_gpu_lo ? hi - local_gpu_lo : 0;
    p->g        = calloc(p->gpu_n > 0 ? p->gpu_n : 1, sizeof(cx_pw_gpu_t));
    p->gpu_rack = calloc(p->gpu_n > 0 ? p->gpu_n : 1, sizeof(uint32_t));
    if (p->g == NULL || p->gpu_rack == NULL) {
        cx_power_destroy(p);
        return cx_err_set(err, CX_ERR_NOMEM, NULL, 0, NULL, "out of memory");
    }
    for (i = 0; i < p->gpu_n; i++) {
        p->gpu_rack[i] = (uint32_t)(cx_pw_rack_of(topo, p->gpu_lo + i, per_rack) - p->rack0);
    }
    if (p->gpu_n > 0) {
        p->lrack_lo = p->gpu_rack[0];
        p->n_lracks = (uint64_t)p->gpu_rack[p->gpu_n - 1] - p->lrack_lo + 1;
    }
    *p_p = p;
    return CX_OK;
}

void cx_power_destroy(cx_power_t *p)
{
    if (p == NULL) return;
    free(p->g);
    free(p->gpu_rack);
    free(p->acc);
    free(p->it_begin);
    free(p->it_end);
    free(p);
}

/* Make room for bins [0, nb). */
static int cx_pw_grow(cx_power_t *p, uint64_t nb)
{
    uint64_t ncap;
    int64_t *a;
    size_t   row = (size_t)p->n_lracks * CX_PW_ACC;
    if (nb <= p->cap_bins) return 0;
    ncap = p->cap_bins > 0 ? p->cap_bins : 256;
    while (ncap < nb) ncap *= 2;
    a = realloc(p->acc, (size_t)ncap * row * sizeof(int64_t));
    if (a == NULL) {
        p->oom = 1;
        return -1;
    }
    memset(a + (size_t)p->cap_bins * row, 0, (size_t)(ncap - p->cap_bins) * row * sizeof(int64_t));
    p->acc      = a;
    p->cap_bins = ncap;
    return 0;
}

/* Add sign x [a, b) to (local rack lr, state st) bins. */
static void cx_pw_add(cx_power_t *p, uint64_t lr, int st, cx_time_t a, cx_time_t b, int sign)
{
    cx_time_t w = p->cfg.bin_ps;
    uint64_t  k, k0, k1;
    if (b <= a) return;
    k0 = (uint64_t)(a / w);
    k1 = (uint64_t)((b - 1) / w);
    if (cx_pw_grow(p, k1 + 1) != 0) return;
    for (k = k0; k <= k1; k++) {
        cx_time_t lo = (cx_time_t)k * w, hi = lo + w;
        cx_time_t d  = (b < hi ? b : hi) - (a > lo ? a : lo);
        p->acc[((size_t)k * p->n_lracks + lr) * CX_PW_ACC + (size_t)st] += sign * d;
    }
}

/* Insert [s, e) into a sorted disjoint list, merging; the oldest interval is
 * dropped when full. */
static void cx_ivlist_insert(cx_ivlist_t *l, cx_time_t s, cx_time_t e)
{
    uint32_t i = 0, j, n = l->n;
    while (i < n && l->v[i].e < s) i++;          /* v[i] is the first that may touch */
    j = i;
    while (j < n && l->v[j].s <= e) {             /* v[i..j) overlap or touch [s, e) */
        if (l->v[j].s < s) s = l->v[j].s;
        if (l->v[j].e > e) e = l->v[j].e;
        j++;
    }
    if (j > i) {                                  /* replace v[i..j) by one */
        l->v[i].s = s;
        l->v[i].e = e;
        memmove(&l->v[i + 1], &l->v[j], (size_t)(n - j) * sizeof(cx_iv_t));
        l->n = n - (j - i) + 1;
        return;
    }
    if (n == CX_POWER_RING) {                     /* full: drop the oldest */
        if (i == 0) {                             /* older than everything kept */
            if (e > l->dropped_end) l->dropped_end = e;
            return;
        }
        if (l->v[0].e > l->dropped_end) l->dropped_end = l->v[0].e;
        memmove(&l->v[0], &l->v[1], (size_t)(n - 1) * sizeof(cx_iv_t));
        n--;
        i--;
    }
    memmove(&l->v[i + 1], &l->v[i], (size_t)(n - i) * sizeof(cx_iv_t));
    l->v[i].s = s;
    l->v[i].e = e;
    l->n      = n + 1;
}

static void cx_pw_iter(cx_power_t *p, uint32_t it, cx_time_t b, cx_time_t e)
{
    if (it >= p->cap_iters) {
        uint32_t   ncap = p->cap_iters > 0 ? p->cap_iters : 16, i;
        cx_time_t *nb, *ne;
        while (ncap <= it) ncap *= 2;
        nb = realloc(p->it_begin, ncap * sizeof(cx_time_t));
        if (nb == NULL) {
            p->oom = 1;
            return;
        }
        p->it_begin = nb;
        ne          = realloc(p->it_end, ncap * sizeof(cx_time_t));
        if (ne == NULL) {
            p->oom = 1;
            return;
        }
        p->it_end = ne;
        for (i = p->cap_iters; i < ncap; i++) {
            p->it_begin[i] = CX_TIME_MAX;
            p->it_end[i]   = -1;
        }
        p->cap_iters = ncap;
    }
    if (it + 1 > p->n_iters) p->n_iters = it + 1;
    if (b >= 0 && b < p->it_begin[it]) p->it_begin[it] = b;
    if (e >= 0 && e > p->it_end[it]) p->it_end[it] = e;
}

void cx_power_observe(cx_power_t *p, const cx_op_record_t *rec)
{
    const cx_op_t *op = &rec->op;
    cx_pw_gpu_t   *g;
    uint64_t       lr, li;
    cx_time_t      s = rec->start, e = rec->end;
    int            st;

    if (p == NULL || rec->gpu < p->gpu_lo || rec->gpu - p->gpu_lo >= p->gpu_n) return;
    li = rec->gpu - p->gpu_lo;
    if (op->kind == CX_OP_ITER_BEGIN) {
        cx_pw_iter(p, op->iteration, s, -1);
        return;
    }
    if (op->kind == CX_OP_ITER_END) {
        cx_pw_iter(p, op->iteration, -1, e);
        return;
    }
    if (e <= s) return;
    if (op->kind == CX_OP_COMPUTE) {
        st = (op->cls == CX_CLS_GEMM || op->cls == CX_CLS_ATTENTION) ? CX_PW_COMPUTE : CX_PW_MEMORY;
    } else if (op->kind == CX_OP_SEND || op->kind == CX_OP_RECV || op->kind == CX_OP_COLLECTIVE) {
        st = CX_PW_COMM;
    } else {
        return;
    }
    if (e > p->t_end) p->t_end = e;
    g  = &p->g[li];
    /* An op reaching back before intervals dropped from a full list may
     * overlap them unseen: counted, the summary says "approximate". */
    if (s < g->k.dropped_end || (st == CX_PW_COMM && s < g->c.dropped_end)) p->truncated++;
    lr = p->gpu_rack[li] - p->lrack_lo;
    if (st != CX_PW_COMM) {
        uint32_t i;
        /* Kernel time counts in full; communication it covers stops being
         * "communicating only". */
        cx_pw_add(p, lr, st, s, e, 1);
        for (i = 0; i < g->k.n; i++) {
            cx_time_t a = g->k.v[i].s > s ? g->k.v[i].s : s, b = g->k.v[i].e < e ? g->k.v[i].e : e;
            if (a < b) cx_pw_add(p, lr, CX_PW_COMM, a, b, -1);
        }
        cx_ivlist_insert(&g->c, s, e);
    } else {
        /* [s, e) minus the union of known communication and kernels. */
        cx_iv_t  tmp[2 * CX_POWER_RING];
        uint32_t n = 0, i = 0, j = 0;
        cx_time_t t = s;
        while (i < g->c.n || j < g->k.n) {         /* merge two sorted lists */
            const cx_iv_t *x;
            if (j >= g->k.n || (i < g->c.n && g->c.v[i].s <= g->k.v[j].s))
                x = &g->c.v[i++];
            else
                x = &g->k.v[j++];
            if (x->e > s && x->s < e) tmp[n++] = *x;
        }
        for (i = 0; i < n && t < e; i++) {
            if (tmp[i].s > t) cx_pw_add(p, lr, CX_PW_COMM, t, tmp[i].s < e ? tmp[i].s : e, 1);
            if (tmp[i].e > t) t = tmp[i].e;
        }
        if (t < e) cx_pw_add(p, lr, CX_PW_COMM, t, e, 1);
        cx_ivlist_insert(&g->k, s, e);
    }
}

/* ---- finish ------------------------------------------------------------- */

typedef struct cx_row_pw_rack {
    uint32_t rack;
    uint32_t gpus;
    int64_t  start_ps;
    double   it_w, gpu_w;
    float    compute_share, memory_share, comm_share, idle_share;
} cx_row_pw_rack_t;

static const cx_trace_field_t cx_row_pw_rack_fields[] = CX_SCHEMA_FIELDS(PW_RACKS, cx_row_pw_rack_t);

typedef struct cx_row_pw_site {
    int64_t start_ps;
    int64_t width_ps;
    double  job_it_mw, job_facility_mw, site_it_mw, cooling_mw, facility_mw;
    double  grid_mw, turbines_mw, battery_mw, battery_soc, unserved_mw, excess_mw;
    uint8_t extrapolated;
    uint8_t pad[7];
} cx_row_pw_site_t;

static const cx_trace_field_t cx_row_pw_site_fields[] = CX_SCHEMA_FIELDS(PW_SITE, cx_row_pw_site_t);

typedef struct cx_row_pw_iter {
    uint32_t iteration;
    uint32_t pad;
    int64_t  begin_ps, end_ps;
    double   peak_it_mw, trough_it_mw, swing_mw, max_ramp_mw_per_s;
    double   it_energy_j, facility_energy_j;
    double   site_swing_mw;
} cx_row_pw_iter_t;

static const cx_trace_field_t cx_row_pw_iter_fields[] = CX_SCHEMA_FIELDS(PW_ITER, cx_row_pw_iter_t);

#define CX_NF(_f) (sizeof(_f) / sizeof((_f)[0]))

/* Energy (J) of a per-bin power series (MW) over [a, b) ps. */
static double cx_pw_energy(const double *mw, uint64_t nb, cx_time_t w, cx_time_t t_end, cx_time_t a, cx_time_t b)
{
    double   e = 0;
    uint64_t k;
    if (b > t_end) b = t_end;
    if (a < 0) a = 0;
    for (k = (uint64_t)(a / w); k < nb && (cx_time_t)k * w < b; k++) {
        cx_time_t lo = (cx_time_t)k * w, hi = lo + w;
        cx_time_t d  = (b < hi ? b : hi) - (a > lo ? a : lo);
        if (d > 0) e += mw[k] * 1e6 * (double)d * 1e-12;
    }
    return e;
}

static void cx_pw_params_print_to(FILE *out, const void *par)
{
    cx_power_params_print(par, out);
}

/* cx_power_finish's state: the reduced integers and the figures every rank computes from them. */
typedef struct cx_pw_fin {
    cx_power_t              *p;
    const cx_power_params_t *par;
    MPI_Comm                 comm;
    int                      rank;
    cx_time_t                w, t_end;
    uint64_t                 nb, nr, trunc;
    uint32_t                 ni;
    int64_t                 *tot;
    uint32_t                *rack_gpus;
    double                  *job_it, *job_fac, *site_it, *site_cool, *site_fac, *site_heat, *disp;
    cx_time_t               *ib, *ie;
    double                   scale, switch_w, pst[CX_PW_NSTATES];
    cx_power_dispatch_t      d;
    cx_trace_table_t        *t_rack, *t_site, *t_iter;
} cx_pw_fin_t;

/* Bins and iterations over all ranks, and the arrays; every rank fails alike when one is out of memory. */
static cx_status_t cx_pw_fin_alloc(cx_pw_fin_t *F, uint32_t iterations, cx_err_t *err)
{
    cx_power_t *p   = F->p;
    int         oom = p->oom;
    uint64_t    nb, nr = F->nr;
    cx_status_t st;
    MPI_Allreduce(&p->t_end, &F->t_end, 1, MPI_INT64_T, MPI_MAX, F->comm);
    MPI_Allreduce(&p->truncated, &F->trunc, 1, MPI_UINT64_T, MPI_SUM, F->comm);
    MPI_Allreduce(&p->n_iters, &F->ni, 1, MPI_UINT32_T, MPI_MAX, F->comm);
    if (F->ni < iterations) F->ni = iterations;
    nb = F->nb = F->t_end > 0 ? (uint64_t)((F->t_end + F->w - 1) / F->w) : 0;
    if (cx_pw_grow(p, nb > 0 ? nb : 1) != 0) oom = 1;
    if (F->ni > 0) cx_pw_iter(p, F->ni - 1, -1, -1);
    F->tot       = calloc((size_t)(nb > 0 ? nb : 1) * nr * CX_PW_ACC, sizeof(int64_t));
    F->rack_gpus = calloc(nr, sizeof(uint32_t));
    F->job_it    = calloc(nb + 1, sizeof(double));
    F->job_fac   = calloc(nb + 1, sizeof(double));
    F->site_it   = calloc(nb + 1, sizeof(double));
    F->site_cool = calloc(nb + 1, sizeof(double));
    F->site_fac  = calloc(nb + 1, sizeof(double));
    F->site_heat = calloc(nb + 1, sizeof(double));
    F->disp      = calloc(6 * (nb + 1), sizeof(double));
    F->ib        = malloc((F->ni + 1) * sizeof(cx_time_t));
    F->ie        = malloc((F->ni + 1) * sizeof(cx_time_t));
    if (F->tot == NULL || F->rack_gpus == NULL || F->job_it == NULL || F->job_fac == NULL || F->site_it == NULL ||
        F->site_cool == NULL || F->site_fac == NULL || F->site_heat == NULL || F->disp == NULL || F->ib == NULL ||
        F->ie == NULL || p->oom)
        oom = 1;
    st = oom ? cx_err_set(err, CX_ERR_NOMEM, NULL, 0, "power-bin",
                          "out of memory for %llu power bins x %llu racks (use a wider --power-bin)",
                          (unsigned long long)nb, (unsigned long long)nr)
             : CX_OK;
    return cx_agree(F->comm, st, err);
}

/* Exact reduction: local racks into the job-wide array, integer sum; iteration bounds min / max. */
static void cx_pw_fin_reduce(cx_pw_fin_t *F)
{
    cx_power_t *p = F->p;
    uint64_t    k, nr = F->nr;
    uint32_t    i;
    for (k = 0; k < F->nb; k++) {
        memcpy(F->tot + ((size_t)k * nr + p->lrack_lo) * CX_PW_ACC, p->acc + (size_t)k * p->n_lracks * CX_PW_ACC,
               (size_t)p->n_lracks * CX_PW_ACC * sizeof(int64_t));
    }
    if (F->nb > 0) {
        /* In slices below 2^31 elements. */
        size_t n = (size_t)F->nb * nr * CX_PW_ACC, off = 0;
        while (off < n) {
            size_t c = n - off < ((size_t)1 << 30) ? n - off : ((size_t)1 << 30);
            MPI_Allreduce(MPI_IN_PLACE, F->tot + off, (int)c, MPI_INT64_T, MPI_SUM, F->comm);
            off += c;
        }
    }
    for (i = 0; i < F->ni; i++) {
        F->ib[i] = i < p->cap_iters ? p->it_begin[i] : CX_TIME_MAX;
        F->ie[i] = i < p->cap_iters ? p->it_end[i] : -1;
    }
    if (F->ni > 0) {
        MPI_Allreduce(MPI_IN_PLACE, F->ib, (int)F->ni, MPI_INT64_T, MPI_MIN, F->comm);
        MPI_Allreduce(MPI_IN_PLACE, F->ie, (int)F->ni, MPI_INT64_T, MPI_MAX, F->comm);
    }
}

/* From here every rank computes the same figures from the same integers:
 * GPUs per rack, W per GPU state, switches, site scale. */
static void cx_pw_fin_setup(cx_pw_fin_t *F, cx_power_summary_t *sum)
{
    const cx_power_params_t *par = F->par;
    cx_power_t              *p   = F->p;
    cx_topo_summary_t        ts;
    uint64_t                 k;
    int                      i;
    for (k = 0; k < p->cfg.job_gpus; k++) {
        uint64_t rk = cx_pw_rack_of(p->topo, k, par->servers_per_rack) - p->rack0;
        if (rk < F->nr) F->rack_gpus[rk]++;
    }
    for (i = 0; i < CX_PW_NSTATES; i++) {
        double s  = par->gpu_share[i] > par->gpu_floor ? par->gpu_share[i] : par->gpu_floor;
        F->pst[i] = s * par->tdp_w;
    }
    cx_topo_summary(p->topo, &ts);
    /* Ethernet switches at the job's share of the topology's GPUs. */
    F->switch_w = (double)ts.switches * par->switch_w * (double)p->cfg.job_gpus / (double)cx_topo_num_gpus(p->topo);
    F->scale    = (double)par->site_gpus / (double)p->cfg.job_gpus;
    sum->job_gpus          = p->cfg.job_gpus;
    sum->site_gpus         = par->site_gpus;
    sum->site_scale        = F->scale;
    sum->extrapolated      = par->site_gpus != p->cfg.job_gpus;
    sum->bin_seconds       = (double)F->w * 1e-12;
    sum->overlap_truncated = F->trunc;
}

static cx_status_t cx_pw_fin_tables(cx_pw_fin_t *F, cx_trace_t *tr, cx_err_t *err)
{
    cx_status_t st;
    if (tr == NULL) return CX_OK;
    st = cx_trace_table_define(tr, CX_SCHEMA_T_PW_RACKS, cx_row_pw_rack_fields, CX_NF(cx_row_pw_rack_fields),
                               sizeof(cx_row_pw_rack_t), CX_SCHEMA_W_PW_RACKS, &F->t_rack, err);
    if (st == CX_OK)
        st = cx_trace_table_define(tr, CX_SCHEMA_T_PW_SITE, cx_row_pw_site_fields, CX_NF(cx_row_pw_site_fields),
                                   sizeof(cx_row_pw_site_t), CX_SCHEMA_W_PW_SITE, &F->t_site, err);
    if (st == CX_OK)
        st = cx_trace_table_define(tr, CX_SCHEMA_T_PW_ITER, cx_row_pw_iter_fields, CX_NF(cx_row_pw_iter_fields),
                                   sizeof(cx_row_pw_iter_t), CX_SCHEMA_W_PW_ITER, &F->t_iter, err);
    return st;
}

/* Per bin: rack IT power (and its /power/racks rows), job and site power. */
static void cx_pw_fin_bins(cx_pw_fin_t *F)
{
    const cx_power_params_t *par = F->par;
    uint64_t                 k, r, nr = F->nr;
    for (k = 0; k < F->nb; k++) {
        cx_time_t lo = (cx_time_t)k * F->w, wid = (lo + F->w < F->t_end ? F->w : F->t_end - lo);
        double    it_w = F->switch_w;
        for (r = 0; r < nr; r++) {
            const int64_t *a = F->tot + ((size_t)k * nr + r) * CX_PW_ACC;
            double  gt = (double)wid * F->rack_gpus[r];
            double  idle = gt - (double)a[0] - (double)a[1] - (double)a[2];
            double  gpu_w, rw;
            if (idle < 0) idle = 0;
            gpu_w = ((double)a[0] * F->pst[CX_PW_COMPUTE] + (double)a[1] * F->pst[CX_PW_MEMORY] +
                     (double)a[2] * F->pst[CX_PW_COMM] + idle * F->pst[CX_PW_IDLE]) / (double)wid;
            rw = gpu_w + cx_power_rack_static_w(par, F->rack_gpus[r]);
            it_w += rw;
            if (F->t_rack != NULL && F->rank == 0) {
                cx_row_pw_rack_t row;
                memset(&row, 0, sizeof(row));
                row.rack          = (uint32_t)r;
                row.gpus          = F->rack_gpus[r];
                row.start_ps      = lo;
                row.it_w          = rw;
                row.gpu_w         = gpu_w;
                row.compute_share = (float)((double)a[0] / gt);
                row.memory_share  = (float)((double)a[1] / gt);
                row.comm_share    = (float)((double)a[2] / gt);
                row.idle_share    = (float)(idle / gt);
                cx_trace_table_append(F->t_rack, &row, 1);
            }
        }
        F->job_it[k]    = it_w * 1e-6;
        F->job_fac[k]   = cx_power_facility_mw(par, F->job_it[k], NULL);
        F->site_it[k]   = F->job_it[k] * F->scale;
        F->site_fac[k]  = cx_power_facility_mw(par, F->site_it[k], &F->site_cool[k]);
        F->site_heat[k] = F->site_it[k] * (1.0 + par->distribution_loss);
    }
}

/* The supply dispatch over the bins and the /power/site rows. */
static void cx_pw_fin_site(cx_pw_fin_t *F, const cx_power_summary_t *sum)
{
    uint64_t k, nb = F->nb;
    F->d.grid     = F->disp;
    F->d.turbines = F->disp + (nb + 1);
    F->d.battery  = F->disp + 2 * (nb + 1);
    F->d.soc      = F->disp + 3 * (nb + 1);
    F->d.unserved = F->disp + 4 * (nb + 1);
    F->d.excess   = F->disp + 5 * (nb + 1);
    cx_power_dispatch_run(F->par, F->site_fac, F->site_heat, nb, (double)F->w * 1e-12, &F->d);
    if (F->t_site == NULL || F->rank != 0) return;
    for (k = 0; k < nb; k++) {
        cx_row_pw_site_t row;
        cx_time_t        lo = (cx_time_t)k * F->w;
        memset(&row, 0, sizeof(row));
        row.start_ps        = lo;
        row.width_ps        = lo + F->w < F->t_end ? F->w : F->t_end - lo;
        row.job_it_mw       = F->job_it[k];
        row.job_facility_mw = F->job_fac[k];
        row.site_it_mw      = F->site_it[k];
        row.cooling_mw      = F->site_cool[k];
        row.facility_mw     = F->site_fac[k];
        row.grid_mw         = F->d.grid[k];
        row.turbines_mw     = F->d.turbines[k];
        row.battery_mw      = F->d.battery[k];
        row.battery_soc     = F->d.soc[k];
        row.unserved_mw     = F->d.unserved[k];
        row.excess_mw       = F->d.excess[k];
        row.extrapolated    = (uint8_t)sum->extrapolated;
        cx_trace_table_append(F->t_site, &row, 1);
    }
}

/* Per iteration: peak, trough, swing, ramp and energy (the /power/iterations rows). */
static void cx_pw_fin_iters(cx_pw_fin_t *F, cx_power_summary_t *sum)
{
    cx_time_t w = F->w;
    uint64_t  k, nb = F->nb;
    uint32_t  i;
    for (i = 0; i < F->ni; i++) {
        cx_row_pw_iter_t row;
        uint64_t         k0, k1;
        double           pk = 0, tr_ = INFINITY, spk = 0, str = INFINITY, ramp = 0;
        if (F->ib[i] == CX_TIME_MAX || F->ie[i] <= F->ib[i] || nb == 0) continue;
        /* Bins wholly inside the iteration (else every bin it touches). */
        k0 = (uint64_t)((F->ib[i] + w - 1) / w);
        k1 = (uint64_t)(F->ie[i] / w);
        if (k1 <= k0) {
            k0 = (uint64_t)(F->ib[i] / w);
            k1 = (uint64_t)((F->ie[i] - 1) / w) + 1;
        }
        if (k1 > nb) k1 = nb;
        for (k = k0; k < k1; k++) {
            if (F->job_it[k] > pk) pk = F->job_it[k];
            if (F->job_it[k] < tr_) tr_ = F->job_it[k];
            if (F->site_fac[k] > spk) spk = F->site_fac[k];
            if (F->site_fac[k] < str) str = F->site_fac[k];
            if (k > k0) {
                double rr = fabs(F->job_it[k] - F->job_it[k - 1]) / ((double)w * 1e-12);
                if (rr > ramp) ramp = rr;
            }
        }
        memset(&row, 0, sizeof(row));
        row.iteration         = i;
        row.begin_ps          = F->ib[i];
        row.end_ps            = F->ie[i];
        row.peak_it_mw        = pk;
        row.trough_it_mw      = tr_ == INFINITY ? 0 : tr_;
        row.swing_mw          = pk - row.trough_it_mw;
        row.max_ramp_mw_per_s = ramp;
        row.it_energy_j       = cx_pw_energy(F->job_it, nb, w, F->t_end, F->ib[i], F->ie[i]);
        row.facility_energy_j = cx_pw_energy(F->job_fac, nb, w, F->t_end, F->ib[i], F->ie[i]);
        row.site_swing_mw     = str == INFINITY ? 0 : spk - str;
        if (row.swing_mw > sum->swing_mw) sum->swing_mw = row.swing_mw;
        if (row.site_swing_mw > sum->site_swing_mw) sum->site_swing_mw = row.site_swing_mw;
        if (F->t_iter != NULL && F->rank == 0) cx_trace_table_append(F->t_iter, &row, 1);
    }
}

/* Whole-run figures over the steady state (as the run summary's iteration
 * time: from the end of the first iteration to the end of the last when
 * there are several, else the one iteration); peaks and ramps over the bins. */
static void cx_pw_fin_whole(const cx_pw_fin_t *F, double tokens_per_iteration, cx_power_summary_t *sum)
{
    const cx_time_t *ib = F->ib, *ie = F->ie;
    cx_time_t        a, b, w = F->w;
    uint32_t         n_ok = 0;
    uint64_t         k;
    double           e_it, e_fac;
    while (n_ok < F->ni && ie[n_ok] > 0 && ib[n_ok] != CX_TIME_MAX) n_ok++;
    if (n_ok >= 2) {
        a = ie[0];
        b = ie[n_ok - 1];
    } else if (n_ok == 1) {
        a = ib[0];
        b = ie[0];
    } else {
        a = 0;
        b = F->t_end;
    }
    e_it  = cx_pw_energy(F->job_it, F->nb, w, F->t_end, a, b);
    e_fac = cx_pw_energy(F->job_fac, F->nb, w, F->t_end, a, b);
    if (b > a) {
        double secs = (double)(b - a) * 1e-12, per = n_ok >= 2 ? (double)(n_ok - 1) : 1.0;
        sum->mean_it_mw             = e_it / secs * 1e-6;
        sum->mean_facility_mw       = e_fac / secs * 1e-6;
        sum->site_mean_facility_mw  = cx_power_facility_mw(F->par, sum->mean_it_mw * F->scale, NULL);
        sum->energy_j_per_iteration = n_ok > 0 ? e_fac / per : 0.0; /* no iteration done: none */
        if (n_ok > 0 && tokens_per_iteration > 0) {
            sum->energy_j_per_token    = e_fac / per / tokens_per_iteration;
            sum->it_energy_j_per_token = e_it / per / tokens_per_iteration;
        }
    }
    for (k = 0; k < F->nb; k++) {
        if (F->job_it[k] > sum->peak_it_mw) sum->peak_it_mw = F->job_it[k];
        if (F->job_fac[k] > sum->peak_facility_mw) sum->peak_facility_mw = F->job_fac[k];
        if (F->site_fac[k] > sum->site_peak_facility_mw) sum->site_peak_facility_mw = F->site_fac[k];
        if (k > 0) {
            double rr = fabs(F->job_it[k] - F->job_it[k - 1]) / ((double)w * 1e-12);
            double sr = fabs(F->site_fac[k] - F->site_fac[k - 1]) / ((double)w * 1e-12);
            if (rr > sum->max_ramp_mw_per_s) sum->max_ramp_mw_per_s = rr;
            if (sr > sum->site_max_ramp_mw_per_s) sum->site_max_ramp_mw_per_s = sr;
        }
    }
    sum->battery_cycles = F->d.battery_cycles;
    sum->violations     = F->d.unserved_bins + F->d.excess_bins + F->d.chiller_bins;
}

/* The model's parameters and figures in /meta. */
static cx_status_t cx_pw_fin_meta(const cx_pw_fin_t *F, cx_trace_t *tr, double tokens_per_iteration,
                                  const cx_power_summary_t *sum, cx_err_t *err)
{
    const cx_power_params_t *par = F->par;
    cx_status_t              st  = CX_OK;
    char                    *txt = cx_file_capture(cx_pw_params_print_to, par);
#define CX_M(_call) do { if (st == CX_OK) st = (_call); } while (0)
    CX_M(cx_trace_meta_set_text(tr, "power_params", txt != NULL ? txt : "", "text/plain", err));
    free(txt);
    CX_M(cx_trace_meta_set_int64(tr, "power_bin_ps", (int64_t)F->w, err));
    CX_M(cx_trace_meta_set_int64(tr, "power_job_gpus", (int64_t)F->p->cfg.job_gpus, err));
    CX_M(cx_trace_meta_set_int64(tr, "power_site_gpus", (int64_t)par->site_gpus, err));
    CX_M(cx_trace_meta_set_double(tr, "power_site_scale", F->scale, err));
    CX_M(cx_trace_meta_set_int64(tr, "power_extrapolated", sum->extrapolated, err));
    CX_M(cx_trace_meta_set_string(tr, "power_site", par->site_name, err));
    CX_M(cx_trace_meta_set_int64(tr, "power_job_racks", (int64_t)F->nr, err));
    CX_M(cx_trace_meta_set_int64(tr, "power_turbines_committed", F->d.turbines_committed, err));
    CX_M(cx_trace_meta_set_double(tr, "power_ramp_limit_mw_per_s", F->d.ramp_limit_mw_per_s, err));
    CX_M(cx_trace_meta_set_double(tr, "power_battery_mw", par->battery_mw, err));
    CX_M(cx_trace_meta_set_double(tr, "power_battery_mwh", par->battery_mwh, err));
    CX_M(cx_trace_meta_set_double(tr, "power_battery_rte", par->battery_rte, err));
    CX_M(cx_trace_meta_set_double(tr, "power_battery_soc_min", par->battery_soc_min, err));
    CX_M(cx_trace_meta_set_double(tr, "power_battery_soc_max", par->battery_soc_max, err));
    CX_M(cx_trace_meta_set_double(tr, "power_chillers_mw", par->chillers_mw, err));
    CX_M(cx_trace_meta_set_int64(tr, "power_unserved_bins", (int64_t)F->d.unserved_bins, err));
    CX_M(cx_trace_meta_set_int64(tr, "power_excess_bins", (int64_t)F->d.excess_bins, err));
    CX_M(cx_trace_meta_set_int64(tr, "power_chiller_bins", (int64_t)F->d.chiller_bins, err));
    CX_M(cx_trace_meta_set_int64(tr, "power_overlap_truncated", (int64_t)F->trunc, err));
    CX_M(cx_trace_meta_set_double(tr, "power_tokens_per_iteration", tokens_per_iteration, err));
#undef CX_M
    return st;
}

cx_status_t cx_power_finish(cx_power_t *p, MPI_Comm comm, cx_trace_t *tr, double tokens_per_iteration,
                            uint32_t iterations, cx_power_summary_t *sum, cx_err_t *err)
{
    cx_pw_fin_t F;
    cx_status_t st;

    memset(sum, 0, sizeof(*sum));
    memset(&F, 0, sizeof(F));
    F.p    = p;
    F.par  = &p->par;
    F.comm = comm;
    F.w    = p->cfg.bin_ps;
    F.nr   = p->n_racks;
    MPI_Comm_rank(comm, &F.rank);
    st = cx_pw_fin_alloc(&F, iterations, err);
    if (st == CX_OK) {
        cx_pw_fin_reduce(&F);
        cx_pw_fin_setup(&F, sum);
        st = cx_pw_fin_tables(&F, tr, err);
    }
    if (st == CX_OK) {
        cx_pw_fin_bins(&F);
        cx_pw_fin_site(&F, sum);
        cx_pw_fin_iters(&F, sum);
        cx_pw_fin_whole(&F, tokens_per_iteration, sum);
        if (tr != NULL) st = cx_pw_fin_meta(&F, tr, tokens_per_iteration, sum, err);
    }
    free(F.tot);
    free(F.rack_gpus);
    free(F.job_it);
    free(F.job_fac);
    free(F.site_it);
    free(F.site_cool);
    free(F.site_fac);
    free(F.site_heat);
    free(F.disp);
    free(F.ib);
    free(F.ie);
    return st;
}

void cx_power_summary_print(const cx_power_summary_t *s, FILE *out)
{
    fprintf(out, "  power (job, %llu GPUs) IT mean %.3f MW, peak %.3f MW; facility mean %.3f MW, peak %.3f MW\n",
            (unsigned long long)s->job_gpus, s->mean_it_mw, s->peak_it_mw, s->mean_facility_mw,
            s->peak_facility_mw);
    fprintf(out, "  power swing        %.3f MW within an iteration (job IT), largest ramp %.4g MW/s at %.3g ms bins\n",
            s->swing_mw, s->max_ramp_mw_per_s, s->bin_seconds * 1e3);
    fprintf(out, "  energy             %.4g J per iteration, %.4g J per token (facility; IT %.4g J/token)\n",
            s->energy_j_per_iteration, s->energy_j_per_token, s->it_energy_j_per_token);
    fprintf(out, "  site power         facility mean %.2f MW, peak %.2f MW, swing %.2f MW%s\n",
            s->site_mean_facility_mw, s->site_peak_facility_mw, s->site_swing_mw,
            s->extrapolated ? "" : " (the job is the whole site)");
    if (s->extrapolated)
        fprintf(out, "                     ** EXTRAPOLATED: job x %.4g (%llu site GPUs / %llu job GPUs, all in lockstep) **\n",
                s->site_scale, (unsigned long long)s->site_gpus, (unsigned long long)s->job_gpus);
    fprintf(out, "  supply             battery %.3g cycles, %llu bin(s) violating ramp/capacity limits%s\n",
            s->battery_cycles, (unsigned long long)s->violations,
            s->overlap_truncated > 0 ? " (GPU state overlaps truncated: approximate)" : "");
}
