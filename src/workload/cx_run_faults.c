/*
 * Faults in colossim run (--faults FILE, cx_faults.h): the run's side.
 * Loaded with the plan (a fault past the run's expected end is refused),
 * handed to net (ports down or degraded, both directions of a link, every
 * port of a switch) and to the GPUs (slowdowns), the engine told to stop at
 * the first fault that stops the job, and every fault recorded in the
 * trace's /faults table: what it hit, when, and what the job did about it.
 */
#include "cx_run_internal.h"
#include "cx_schema.h"

#include <stdlib.h>
#include <string.h>

typedef struct cx_row_fault {
    uint64_t gpu, dev, peer_dev;
    int64_t  at_ps;
    double   factor;
    uint32_t port, peer_port;
    int32_t  line;
    uint8_t  kind, action, random, tier;
} cx_row_fault_t;

/* The columns: src/trace/cx_schema.h. */
static const cx_trace_field_t cx_row_fault_fields[] = CX_SCHEMA_FIELDS(FAULTS, cx_row_fault_t);

cx_status_t cx_run_faults_load(cx_run_ctx_t *c, const char *path, const cx_topo_t *topo, uint64_t job_gpus,
                               double est_seconds, uint64_t seed, cx_err_t *err)
{
    cx_faults_t *fs;
    cx_status_t  st;
    size_t       i, n = 0;
    /* The plan's length is an estimate: allow twice it (and 1 ms). */
    cx_time_t end = (cx_time_t)(2.0 * est_seconds * 1e12) + CX_PS_PER_MS;
    if (path == NULL || path[0] == '\0') return CX_OK;
    st = cx_faults_load(&fs, path, topo, job_gpus, end, seed, err);
    if (st != CX_OK) return st;
    c->faults = fs;
    for (i = 0; i < fs->n; i++) n += fs->f[i].kind == CX_FAULT_GPU_SLOW;
    if (n > 0) {
        size_t k = 0;
        c->slow = malloc(n * sizeof(*c->slow));
        if (c->slow == NULL) return cx_err_set(err, CX_ERR_NOMEM, NULL, 0, NULL, "out of memory");
        for (i = 0; i < fs->n; i++) {
            if (fs->f[i].kind != CX_FAULT_GPU_SLOW) continue;
            c->slow[k].gpu    = fs->f[i].gpu;
            c->slow[k].at     = fs->f[i].at;
            c->slow[k].factor = fs->f[i].factor;
            k++;
        }
        /* (gpu, at) order; the faults are in time order, so a stable pass
         * by GPU keeps it. */
        for (i = 1; i < n; i++) {
            cx_gpu_slow_t x = c->slow[i];
            size_t        j = i;
            while (j > 0 && c->slow[j - 1].gpu > x.gpu) {
                c->slow[j] = c->slow[j - 1];
                j--;
            }
            c->slow[j] = x;
        }
        c->n_slow = n;
    }
    return CX_OK;
}

cx_time_t cx_run_faults_stop(const cx_run_ctx_t *c)
{
    return c->faults != NULL ? c->faults->stop_at : CX_TIME_MAX;
}

static cx_status_t cx_nf_push(cx_net_fault_t **v, size_t *n, size_t *cap, uint64_t dev, uint32_t port,
                              const cx_fault_t *f, cx_err_t *err)
{
    if (*n == *cap) {
        size_t          nc = *cap ? 2 * *cap : 16;
        cx_net_fault_t *nv = realloc(*v, nc * sizeof(*nv));
        if (nv == NULL) return cx_err_set(err, CX_ERR_NOMEM, NULL, 0, NULL, "out of memory");
        *v   = nv;
        *cap = nc;
    }
    (*v)[*n].dev    = dev;
    (*v)[*n].port   = port;
    (*v)[*n].down   = f->kind != CX_FAULT_LINK_DEGRADED;
    (*v)[*n].factor = f->kind == CX_FAULT_LINK_DEGRADED ? f->factor : 1.0;
    (*v)[*n].at     = f->at;
    (*n)++;
    return CX_OK;
}

cx_status_t cx_run_faults_net(const cx_run_ctx_t *c, cx_net_t *net, cx_err_t *err)
{
    const cx_topo_t *topo = cx_net_topo(net);
    cx_net_fault_t  *v    = NULL;
    size_t           n = 0, cap = 0, i;
    cx_status_t      st   = CX_OK;
    if (c->faults == NULL) return CX_OK;
    for (i = 0; i < c->faults->n && st == CX_OK; i++) {
        const cx_fault_t *f = &c->faults->f[i];
        switch (f->kind) {
        case CX_FAULT_LINK_DEGRADED:
        case CX_FAULT_LINK_DOWN:
        case CX_FAULT_NIC_DOWN:
            st = cx_nf_push(&v, &n, &cap, f->dev, f->port, f, err);
            if (st == CX_OK) st = cx_nf_push(&v, &n, &cap, f->peer_dev, f->peer_port, f, err);
            break;
        case CX_FAULT_SWITCH_DOWN: {
            uint32_t p, np = cx_topo_num_ports(topo, f->dev);
            for (p = 0; p < np && st == CX_OK; p++) {
                cx_port_info_t pi;
                if (cx_topo_port(topo, f->dev, p, &pi) != CX_OK) continue;
                st = cx_nf_push(&v, &n, &cap, f->dev, p, f, err);
                if (st == CX_OK) st = cx_nf_push(&v, &n, &cap, pi.peer_device, pi.peer_port, f, err);
            }
            break;
        }
        default:
            break;
        }
    }
    if (st == CX_OK) st = cx_net_set_faults(net, v, n, err);
    free(v);
    return st;
}

cx_status_t cx_run_faults_trace(cx_trace_t *tr, cx_run_ctx_t *c, int rank, cx_err_t *err)
{
    cx_trace_table_t *t;
    cx_status_t       st;
    size_t            i;
    if (c->faults == NULL || tr == NULL) return CX_OK;
    st = cx_trace_table_define(tr, CX_SCHEMA_T_FAULTS, cx_row_fault_fields,
                               sizeof(cx_row_fault_fields) / sizeof(cx_row_fault_fields[0]), sizeof(cx_row_fault_t),
                               CX_SCHEMA_W_FAULTS, &t, err);
    if (st != CX_OK || rank != 0) return st;
    for (i = 0; i < c->faults->n && st == CX_OK; i++) {
        const cx_fault_t *f = &c->faults->f[i];
        cx_row_fault_t    r;
        memset(&r, 0, sizeof(r));
        r.gpu       = f->gpu;
        r.dev       = f->dev;
        r.peer_dev  = f->peer_dev;
        r.port      = f->port;
        r.peer_port = f->peer_port;
        r.at_ps     = f->at;
        r.factor    = f->factor;
        r.line      = f->line;
        r.kind      = f->kind;
        r.action    = f->action;
        r.random    = f->random;
        r.tier      = f->tier;
        st          = cx_trace_table_append(t, &r, 1);
    }
    return st;
}

void cx_run_faults_release(cx_run_ctx_t *c)
{
    cx_faults_destroy(c->faults);
    free(c->slow);
    c->faults = NULL;
    c->slow   = NULL;
    c->n_slow = 0;
}
