/*
 * colossim run's plan: how big a run will be (ops, events, trace rows and
 * bytes) before it is built, and the --dry-run report of it (partition over
 * the ranks, memory per rank, trace size).  The estimate is also what the
 * progress line counts against and what --trace-max-gb checks, so it must
 * be cheap: it walks the programs of a few GPUs, never the fabric.
 */
#include "cx_run_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cx_gen.h"

/* Size the run from one GPU of every pipeline stage (PP is the outermost
 * coordinate, so stage s starts at GPU s * gpus / pp; stages differ, the
 * GPUs of one stage nearly do not).  Events: one per compute op, and per
 * chunk hop for communication (ring steps: 2 hops inside a domain, 4
 * across, as on a 2-tier path).  A guide for --dry-run and the progress
 * line, not a promise. */
static cx_status_t cx_run_estimate(const cx_workload_t *w, uint32_t iters, int level,
                                   const cx_net_config_t *net, cx_run_estimate_t *e, cx_err_t *err)
{
    cx_gen_t    g;
    cx_op_t     op;
    cx_status_t st;
    double      ev = 0.0, ops = 0.0, colls = 0.0;
    uint32_t    pp = w->par.pp > 0 ? w->par.pp : 1, s;
    memset(e, 0, sizeof(*e));
    for (s = 0; s < pp; s++) {
        st = cx_gen_init(&g, w, (uint64_t)s * (w->gpus / pp), iters, err);
        if (st != CX_OK) return st;
        while (cx_gen_next(&g, &op)) {
            ops += 1.0;
            switch ((cx_op_kind_t)op.kind) {
            case CX_OP_COMPUTE: ev += 1.0; break;
            case CX_OP_SEND: ev += 2.0 + 4.0 * ceil((double)op.bytes / (double)net->chunk_bytes); break;
            case CX_OP_COLLECTIVE: {
                double n = op.group_size > 0 ? op.group_size : 1;
                double steps = op.cls == CX_COLL_ALLREDUCE ? 2 * (n - 1) : (n - 1);
                double intra = op.group_stride == 1 && n <= 8;
                double chunk = intra ? (net->nvlink_chunk_bytes > 0 ? (double)net->nvlink_chunk_bytes : 4e9)
                                     : (double)net->chunk_bytes;
                colls += 1.0;
                ev += steps * (2.0 + (intra ? 2.0 : 4.0) * ceil((double)op.bytes / n / chunk));
                break;
            }
            default: break;
            }
        }
    }
    e->ops_per_gpu  = (uint64_t)(ops / pp);
    e->coll_per_gpu = (uint64_t)(colls / pp);
    e->ops_total    = (uint64_t)(ops / pp * (double)w->gpus);
    e->events       = ev / pp * (double)w->gpus;
    e->trace_rows = (uint64_t)iters * w->gpus + e->coll_per_gpu * w->gpus / 4;
    e->trace_bytes = cx_trace_estimate_bytes(sizeof(cx_row_iter_t), (uint64_t)iters * w->gpus) +
                     cx_trace_estimate_bytes(sizeof(cx_row_coll_t), e->coll_per_gpu * w->gpus);
    if (level >= CX_TRACE_LEVEL_OPS) {
        e->trace_rows += e->ops_total;
        e->trace_bytes += cx_trace_estimate_bytes(sizeof(cx_row_op_t), e->ops_total);
    }
    return CX_OK;
}

/* Link bins: ~8 busy ports per GPU (its NVLink and NIC, and its share of
 * switch ports both ways), each with a bin per width over an iteration
 * estimated at 40% MFU. */
static uint64_t cx_run_estimate_link_rows(const cx_workload_t *w, uint32_t iters, double peak,
                                          cx_time_t width)
{
    double t = cx_workload_model_flops_per_iteration(w) / ((double)w->gpus * peak * 0.4) * iters;
    double bins = ceil(t * 1e12 / (double)width);
    return (uint64_t)(8.0 * (double)w->gpus * bins);
}

cx_status_t cx_plan_estimate(const cx_workload_t *w, uint32_t iters, const cx_run_config_t *cfg,
                             double peak_flops, cx_run_estimate_t *e, cx_err_t *err)
{
    cx_status_t st = cx_run_estimate(w, iters, cfg->trace_level, &cfg->net, e, err);
    if (st != CX_OK) return st;
    if (cfg->trace_level >= CX_TRACE_LEVEL_LINKS) {
        uint64_t rows = cx_run_estimate_link_rows(w, iters, peak_flops, cfg->link_bin_ps);
        e->trace_rows += rows;
        e->trace_bytes += cx_trace_estimate_bytes(sizeof(cx_row_bin_t), rows);
    }
    if (cfg->trace_level >= CX_TRACE_LEVEL_CHUNKS) {
        /* About one row per event. */
        e->trace_rows += (uint64_t)e->events;
        e->trace_bytes += cx_trace_estimate_bytes(sizeof(cx_row_hop_t), (uint64_t)e->events);
    }
    return CX_OK;
}

/* Memory per rank in the plan: devices (96 bytes, plus 64 per port), 4 KiB
 * of state per GPU, and the event queue (taken as 2% of a rank's events
 * pending at once). */
cx_status_t cx_plan_print(const cx_topo_t *topo, const cx_workload_t *w, const cx_gpu_type_t *gt,
                          uint32_t iters, int trace_level, const cx_run_estimate_t *e, MPI_Comm comm,
                          cx_err_t *err)
{
    cx_topo_summary_t ts;
    int               rank, nranks;
    uint64_t         *first;
    int64_t           lookahead = 0;
    cx_status_t       st;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &nranks);
    cx_topo_summary(topo, &ts);
    first = malloc((size_t)(nranks + 1) * sizeof(uint64_t));
    if (first == NULL) return cx_err_set(err, CX_ERR_NOMEM, NULL, 0, NULL, "out of memory");
    st = cx_topo_partition_job(topo, nranks, w->gpus, first, &lookahead, NULL, NULL, err);
    if (st == CX_OK && rank == 0) {
        uint64_t dmin = UINT64_MAX, dmax = 0;
        int      r;
        double   dev_bytes = 96.0 + 64.0 * (double)ts.links * 2.0 / (double)ts.devices;
        for (r = 0; r < nranks; r++) {
            uint64_t d = first[r + 1] - first[r];
            if (d < dmin) dmin = d;
            if (d > dmax) dmax = d;
        }
        printf("plan: %s on %s (%s), %llu of %llu GPUs, %u iteration(s)\n", w->name,
               cx_topo_name(topo), gt->name, (unsigned long long)w->gpus,
               (unsigned long long)ts.gpus, iters);
        printf("  ranks %d, entities (devices) per rank %llu .. %llu of %llu, lookahead %.3f us\n",
               nranks, (unsigned long long)dmin, (unsigned long long)dmax,
               (unsigned long long)ts.devices,
               lookahead == INT64_MAX ? 0.0 : (double)lookahead * 1e-6);
        printf("  ops per GPU %llu (mean over stages), %llu in all; estimated events %.3g (%.3g per rank)\n",
               (unsigned long long)e->ops_per_gpu, (unsigned long long)e->ops_total, e->events,
               e->events / nranks);
        printf("  estimated model memory per rank %.1f MiB (devices and ports %.1f, GPU state %.1f, "
               "event queue %.1f)\n",
               ((double)dmax * dev_bytes + (double)w->gpus / nranks * 4096.0 +
                e->events / nranks * 0.02 * CX_EVENT_SIZE) / 1048576.0,
               (double)dmax * dev_bytes / 1048576.0, (double)w->gpus / nranks * 4096.0 / 1048576.0,
               e->events / nranks * 0.02 * CX_EVENT_SIZE / 1048576.0);
        printf("  trace level %s: %llu rows, about %.1f MB uncompressed\n",
               cx_run_level_name(trace_level), (unsigned long long)e->trace_rows,
               (double)e->trace_bytes / 1e6);
    }
    free(first);
    return st;
}
