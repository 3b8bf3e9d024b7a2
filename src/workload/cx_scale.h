/* The wall-time model of colossim at R ranks (cx_scale.c). */
#ifndef CX_SCALE_H
#define CX_SCALE_H

#include <stdio.h>

#include "cx_topo.h"

/* This machine's costs (2-core Debian 12 VM, Release build; see README
 * "Sizing"), and a target network's (InfiniBand / RoCE class). */
/* Per committed event, one rank per core: CX_SCALE_EVENT_NS while a rank's
 * memory stays within CX_SCALE_CACHE_MIB (the event queue and ports in
 * cache), plus CX_SCALE_EVENT_NS_DOUBLING for every doubling beyond it,
 * at the memory the plan estimates.  Fitted with the doubling kept at 90
 * (session 19: 368 ns at 182 MiB, 636 ns at 745 MiB) on three runs of the
 * calendar queue and the cyclic partition: Llama 3 405B 16k at 1 rank (334
 * ns per event, plan 277 MiB) and 2 ranks (324 ns, 212 MiB), and the 98k
 * job at 2 ranks (478 ns, 665 MiB); the fit is within 5% of each. */
#define CX_SCALE_EVENT_NS          130.0
#define CX_SCALE_EVENT_NS_DOUBLING 90.0
#define CX_SCALE_CACHE_MIB         50.0
#define CX_SCALE_WINDOW_US    0.5    /* per window: queue checks and software besides the exchange */
/* Ranks wait for the slowest at every window's end: on average this share
 * of a window's event work (the busiest rank's events per window x their
 * cost) per window.  Measured on the 16k job at 2 ranks (sync per window
 * less window and exchange costs, over 13.5 us of work per window): 3.8 us
 * a window with the cyclic partition, 9.2 us with contiguous ranges, which
 * give each rank whole pipeline stages (slurm/README.md, The partition). */
#define CX_SCALE_IMB_CYCLIC     0.10
#define CX_SCALE_IMB_CONTIGUOUS 0.50
#define CX_SCALE_ALLREDUCE_US 3.0    /* per recursive-doubling stage of a small allreduce */
#define CX_SCALE_P2P_US       2.0    /* one neighbour exchange (small messages) */
#define CX_SCALE_REMOTE_NS    100.0  /* packing, copying and unpacking a remote event */
/* Each further neighbour's message in a window (an Isend, a matched probe
 * and a receive of a small message in Open MPI's ob1: a few hundred ns of
 * software each) [U]. */
#define CX_SCALE_MSG_US       0.5
/* Share of the simulated time during which some event is pending somewhere,
 * so windows run (measured: windows x lookahead / simulated time of 2-rank
 * runs of Llama 3 405B on 16k GPUs). */
#define CX_SCALE_BUSY         0.62
/* Ranks per node on the target (reductions within one node are not
 * lagged: the engine's default; see cx_engine_config_t.sync_lag), and the
 * windows a lagged reduction adds: measured +11% (Llama 3 70B on 1,024
 * GPUs) and +18% (the default job) at 2 ranks with COLOSSIM_SYNC_LAG=4. */
#define CX_SCALE_NODE_RANKS   2.0
#define CX_SCALE_LAG_EXTRA    0.15

typedef struct cx_scale_params {
    double event_ns, event_ns_doubling, window_us, allreduce_us, p2p_us, remote_ns, msg_us;
    double sync_lag;        /* reduction lag across nodes (0 = CX_ENGINE_SYNC_LAG) */
    double node_ranks;      /* ranks per node (0 = CX_SCALE_NODE_RANKS) */
    /* From a measured one-rank run (colossim run --ranks): the windows it
     * counted for each rank count's lookahead (NULL: the model's), and
     * whether event_ns was fitted to it. */
    const double *windows;
    int    measured;
} cx_scale_params_t;

typedef struct cx_scale_row {
    int    ranks;
    double lookahead_us;
    double events_max;      /* events of the busiest rank */
    double mem_mib;         /* its peak memory (the plan's estimate) */
    double event_ns;        /* the event cost that memory implies */
    double windows;
    int    neighbours;      /* most neighbours of any rank (ranks across a cut link) */
    int    piggy;           /* every rank neighbours every other: reductions ride the exchange */
    int    sparse;          /* the engine would pick the sparse (NBX) exchange */
    double imbalance_us;    /* waiting for the slowest rank, per window */
    int    cyclic;          /* the engine would deal leaf blocks round robin (cx_topo_part_make) */
    double lag;             /* the reduction lag the engine would use */
    double window_sync_us;  /* synchronisation per window */
    double remote_max;      /* remote events of the busiest rank */
    double event_s, sync_s, remote_s, wall_s;
} cx_scale_row_t;

/* One rank count: partition the job's fabric over `ranks` and apply the
 * model to `events` (estimated, whole run), busy_s (simulated seconds
 * during which events exist) and mem_bytes (the busiest rank's peak);
 * windows > 0: counted, not modelled. */
cx_status_t cx_scale_predict(const cx_topo_t *topo, uint64_t job_gpus, double events, double busy_s,
                             int ranks, double mem_bytes, double windows, const cx_scale_params_t *p,
                             cx_scale_row_t *row, cx_err_t *err);
/* The lookahead the partition of the job's fabric over `ranks` gives (its
 * shortest cut link; CX_ENGINE_SOLO_WINDOW alone). */
cx_status_t cx_scale_lookahead(const cx_topo_t *topo, uint64_t job_gpus, int ranks, int64_t *la_ps, cx_err_t *err);
/* A table of predictions for ranks[0..n-1] (mem_bytes[i]: the busiest
 * rank's peak memory at ranks[i]) on `out` (NULL: compute only, e.g. on
 * ranks other than 0, so that every rank reports the same errors). */
cx_status_t cx_scale_print(FILE *out, const cx_topo_t *topo, uint64_t job_gpus, double events,
                           double busy_s, const int *ranks, const double *mem_bytes, int n,
                           const cx_scale_params_t *p, cx_err_t *err);

#endif
