/*
 * A model of colossim's own wall time at R ranks, for sizing a Slurm job
 * before queuing it (colossim run --dry-run --ranks LIST).  It is a model,
 * checked against measured 1- and 2-rank runs; the figures it prints for
 * hundreds of ranks are extrapolations under the stated assumptions.
 *
 *   wall(R) = E_max(R) * event_ns(M(R))              event work of the busiest rank
 *           + W(R) * sync(R)                         one window at a time
 *           + X(R) * remote_ns                       events packed and sent across ranks
 *
 *   every sync(R) below also has imb(R): the ranks waiting for the slowest,
 *   a share of a window's event work (E_max(R) / W(R) x event_ns): 0.10
 *   with the cyclic partition, 0.50 with contiguous ranges (cx_scale.h)
 *
 *   x(R)    = p2p_us + (N(R) - 1) * msg_us           the neighbour exchange: N(R) messages
 *   sync(R) = window_us + x(R)                       every rank neighbours every other:
 *                                                    the reduction rides the exchange
 *   sync(R) = window_us + x(R) + allreduce(R)        ranks on one node (lag 1)
 *   sync(R) = window_us + x(R)                       across nodes, lag D: the reduction
 *           + max(0, allreduce(R) - (D - 1) * w)     is hidden behind D - 1 windows of
 *                                                    w = window_us + x(R) + the events'
 *                                                    work per window, and W(R) grows by
 *                                                    CX_SCALE_LAG_EXTRA
 *   sync(R) = window_us + p2p_us + allreduce(R)      the sparse exchange (the engine's
 *           + min(N(R) - 1, X(R) / W(R)) * msg_us    choice when N(R) > 6 log2 R and not
 *                                                    every rank neighbours every other):
 *                                                    only non-empty messages (at most one
 *                                                    per remote event), the reduction as
 *                                                    the window's barrier, not hidden
 *
 * E_max(R)     estimated events x the busiest rank's share of the job's
 *              partition weight, under the partition the engine would use
 *              (cx_topo_part_make: cyclic from 2 to 8 ranks);
 * W(R)         windows: the simulated time during which events exist divided
 *              by the lookahead the partition gives (its shortest cut link);
 *              on one rank a window is CX_ENGINE_SOLO_WINDOW long;
 * allreduce(R) allreduce_us * ceil(log2 R): a recursive-doubling reduction
 *              of 40 bytes on the target network;
 * N(R)         the most neighbours of any rank: ranks owning the far end of
 *              one of its links (the engine exchanges with exactly these);
 * p2p_us       one neighbour exchange per window (overlapped with the
 *              reduction in the engine, counted once), msg_us per further
 *              neighbour's message;
 * X(R)         remote events of the busiest rank: the events whose chunk
 *              crosses a cut link, taken as the estimated events x the share
 *              of the job's links that the partition cuts.
 *
 * event_ns(M)  the cost of an event on a rank holding M bytes at its peak
 *              (the plan's estimate): event_ns while M fits the cache's
 *              reach, plus event_ns_doubling per doubling beyond
 *              CX_SCALE_CACHE_MIB (fitted on ranks of 182 and 745 MiB,
 *              see cx_scale.h);
 * event_ns, window_us and the imbalance shares are this machine's costs
 * (see slurm/README.md);
 * allreduce_us and p2p_us describe the target network.
 */
#include "cx_scale.h"

#include "cx_core.h"
#include "cx_traffic.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

cx_status_t cx_scale_lookahead(const cx_topo_t *topo, uint64_t job_gpus, int ranks, int64_t *la_ps, cx_err_t *err)
{
    cx_topo_part_t part;
    cx_status_t    st = cx_topo_part_make_env(topo, ranks, job_gpus, &part, err);
    int64_t        la = part.lookahead_ps;
    cx_topo_part_free(&part);
    *la_ps = ranks > 1 && la != INT64_MAX && la > 0 ? la : CX_ENGINE_SOLO_WINDOW;
    return st;
}

cx_status_t cx_scale_predict(const cx_topo_t *topo, uint64_t job_gpus, double events, double busy_s,
                             int ranks, double mem_bytes, double windows, const cx_scale_params_t *p,
                             cx_scale_row_t *row, cx_err_t *err)
{
    cx_topo_part_t part;
    uint64_t   *cut    = malloc((size_t)ranks * sizeof(uint64_t));
    uint64_t   *weight = malloc((size_t)ranks * sizeof(uint64_t));
    int64_t     la     = 0;
    cx_topo_summary_t ts;
    uint64_t    wmax = 0, wsum = 0, cmax = 0;
    cx_status_t st;
    int         r;

    memset(row, 0, sizeof(*row));
    memset(&part, 0, sizeof(part));
    row->ranks = ranks;
    if (cut == NULL || weight == NULL) {
        st = cx_err_set(err, CX_ERR_NOMEM, NULL, 0, NULL, "out of memory");
        goto out;
    }
    st = cx_topo_part_make_env(topo, ranks, job_gpus, &part, err);
    if (st != CX_OK) goto out;
    la = part.lookahead_ps;
    row->cyclic = part.cyclic;
    cx_topo_part_counts(topo, &part, job_gpus, cut, weight);
    for (r = 0; r < ranks; r++) {
        wsum += weight[r];
        if (weight[r] > wmax) wmax = weight[r];
        if (cut[r] > cmax) cmax = cut[r];
    }
    {
        int *flag = calloc((size_t)ranks, sizeof(int));
        int  dmin = ranks;
        if (flag == NULL) {
            st = cx_err_set(err, CX_ERR_NOMEM, NULL, 0, NULL, "out of memory");
            goto out;
        }
        for (r = 0; r < ranks; r++) {
            int d;
            memset(flag, 0, (size_t)ranks * sizeof(int));
            d = cx_topo_part_neighbours(topo, &part, r, flag);
            if (d > row->neighbours) row->neighbours = d;
            if (d < dmin) dmin = d;
        }
        free(flag);
        row->piggy = ranks > 1 && dmin == ranks - 1;
    }
    row->lookahead_us = ranks > 1 && la != INT64_MAX ? (double)la * 1e-6 : (double)CX_ENGINE_SOLO_WINDOW * 1e-6;
    row->events_max   = wsum > 0 ? events * (double)wmax / (double)wsum : events;
    row->windows      = windows > 0 ? windows : row->lookahead_us > 0 ? busy_s * 1e6 / row->lookahead_us : 0.0;
    /* The busiest rank's cut links over its share of all links. */
    cx_topo_summary(topo, &ts);
    row->remote_max = ranks > 1 ? row->events_max * fmin(1.0, (double)cmax * (double)ranks / (double)ts.links) : 0.0;
    row->mem_mib  = mem_bytes / 1048576.0;
    row->event_ns = p->event_ns + p->event_ns_doubling * fmax(0.0, log2(row->mem_mib / CX_SCALE_CACHE_MIB));
    row->event_s  = row->events_max * row->event_ns * 1e-9;
    /* Waiting for the slowest rank: a share of each window's event work. */
    row->imbalance_us = ranks > 1 && row->windows > 0
                            ? (row->cyclic ? CX_SCALE_IMB_CYCLIC : CX_SCALE_IMB_CONTIGUOUS) * row->events_max /
                                  row->windows * row->event_ns * 1e-3
                            : 0.0;
    {
        double node = p->node_ranks > 0 ? p->node_ranks : CX_SCALE_NODE_RANKS;
        double ar   = p->allreduce_us * ceil(log2((double)ranks));
        double w    = p->window_us + p->p2p_us + (row->neighbours > 1 ? (row->neighbours - 1) * p->msg_us : 0.0);
        row->sparse = ranks > 1 && !row->piggy && row->neighbours > CX_ENGINE_SPARSE_FACTOR * (int)ceil(log2((double)ranks));
        row->lag    = ranks > 1 && (double)ranks > node && !row->piggy && !row->sparse
                          ? (p->sync_lag > 0 ? p->sync_lag : CX_ENGINE_SYNC_LAG) : 1.0;
        if (row->piggy) {
            row->window_sync_us = w;
        } else if (row->sparse) {
            double msgs = row->windows > 0 ? fmin(row->neighbours - 1.0, row->remote_max / row->windows) : 0.0;
            row->window_sync_us = p->window_us + p->p2p_us + fmax(0.0, msgs) * p->msg_us + ar;
        } else if (row->lag > 1) {
            double work = row->windows > 0 ? row->events_max / row->windows * row->event_ns * 1e-3 : 0.0;
            row->windows *= 1.0 + CX_SCALE_LAG_EXTRA;
            row->window_sync_us = ranks > 1 ? w + fmax(0.0, ar - (row->lag - 1) * (w + work)) : 0.0;
        } else {
            row->window_sync_us = ranks > 1 ? w + ar : p->window_us;
        }
    }
    row->window_sync_us += row->imbalance_us;
    row->sync_s   = row->windows * row->window_sync_us * 1e-6;
    row->remote_s = row->remote_max * p->remote_ns * 1e-9;
    row->wall_s   = row->event_s + row->sync_s + row->remote_s;
out:
    cx_topo_part_free(&part);
    free(cut);
    free(weight);
    return st;
}

cx_status_t cx_scale_print(FILE *out, const cx_topo_t *topo, uint64_t job_gpus, double events,
                           double busy_s, const int *ranks, const double *mem_bytes, int n,
                           const cx_scale_params_t *p, cx_err_t *err)
{
    cx_scale_row_t *rows = calloc((size_t)(n > 0 ? n : 1), sizeof(*rows));
    cx_status_t     st   = CX_OK;
    int             i;
    if (rows == NULL) return cx_err_set(err, CX_ERR_NOMEM, NULL, 0, NULL, "out of memory");
    /* Every rank count is checked before anything is printed. */
    for (i = 0; i < n && st == CX_OK; i++) {
        st = cx_scale_predict(topo, job_gpus, events, busy_s, ranks[i], mem_bytes[i],
                              p->windows != NULL ? p->windows[i] : 0.0, p, &rows[i], err);
    }
    if (st == CX_OK && out != NULL) {
        fprintf(out, "%s: %.3g events, %.3g s of simulated time "
                     "with events;\n  this machine: %.3g ns per event (+%.3g per doubling of a rank's memory "
                     "beyond %.0f MiB),\n  %.3g us per window, ranks waiting for the slowest %.2f (ranks c) or %.2f of "
                     "a window's event work;\n  target network: allreduce %.3g us x log2(ranks), "
                     "neighbour exchange %.3g us\n  + %.3g us per further neighbour, %.3g ns per remote event; "
                     "reductions used %.0f windows late\n  beyond %.0f ranks (one node) unless every rank "
                     "neighbours every other (nbrs *: the reduction rides the exchange)\n  or the sparse exchange "
                     "runs (nbrs s: more than %d log2 R neighbours; non-empty messages only, reduced every window);\n"
                     "  ranks c: the cyclic partition (leaf blocks dealt round robin; COLOSSIM_PARTITION)\n",
                p->measured ? "scaling model from this run (the events, the cost of one at this rank's memory and "
                              "each rank count's\n  windows at its lookahead measured here; the rest modelled)"
                            : "scaling model (a model, not a measurement)",
                events, busy_s, p->event_ns, p->event_ns_doubling, CX_SCALE_CACHE_MIB, p->window_us,
                CX_SCALE_IMB_CYCLIC, CX_SCALE_IMB_CONTIGUOUS,
                p->allreduce_us, p->p2p_us, p->msg_us, p->remote_ns, p->sync_lag > 0 ? p->sync_lag : (double)CX_ENGINE_SYNC_LAG,
                p->node_ranks > 0 ? p->node_ranks : CX_SCALE_NODE_RANKS, CX_ENGINE_SPARSE_FACTOR);
        if (p->windows == NULL) {
            /* Measured against 2-rank runs (slurm/README.md). */
            fprintf(out, "  windows: the plan's simulated time x %.2f / the lookahead; against measured runs -29%% (98k "
                         "job) to +77%% (8k),\n  and 9x too many for a job whose GPUs run in lockstep (the hall "
                         "job): `colossim run --ranks LIST`\n  on one rank counts them exactly\n", CX_SCALE_BUSY);
        }
        fprintf(out, "  %6s %11s %12s %9s %5s %12s %9s %10s %10s %10s\n", "ranks", "lookahead", "events/rank",
                "MiB/rank", "nbrs", "windows", "ev/window", "events s", "sync s", "wall s");
        for (i = 0; i < n; i++) {
            const cx_scale_row_t *r = &rows[i];
            fprintf(out, "  %5d%s %8.3f us %12.3g %9.0f %4d%s %12.0f %9.0f %10.1f %10.1f %10.1f\n", r->ranks,
                    r->cyclic ? "c" : " ",
                    r->lookahead_us, r->events_max, r->mem_mib, r->neighbours, r->piggy ? "*" : r->sparse ? "s" : " ", r->windows,
                    r->windows > 0 ? r->events_max / r->windows : 0.0, r->event_s, r->sync_s + r->remote_s,
                    r->wall_s);
        }
    }
    free(rows);
    return st;
}
