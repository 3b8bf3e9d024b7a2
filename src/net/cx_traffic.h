/*
 * Synthetic traffic over the fabric (`colossim bench traffic`): every GPU of
 * the chosen set sends per a pattern at t = 0; the fabric model decides when
 * each byte arrives.  Measures throughput against injection bandwidth,
 * per-receiver completion-time percentiles and link utilization per class.
 */
#ifndef CX_TRAFFIC_H
#define CX_TRAFFIC_H

#include "cx_net.h"

/* permutation: each GPU to a seeded random GPU in another NVLink domain;
 * ring: to the same local GPU of the next domain (rail-aligned);
 * alltoall: to every other GPU; incast: every GPU to GPU 0. */
typedef enum { CX_PAT_PERMUTATION = 0, CX_PAT_ALLTOALL, CX_PAT_RING, CX_PAT_INCAST } cx_pattern_t;
#define CX_PATTERN_CHOICES "permutation|alltoall|ring|incast"

typedef struct cx_traffic_config {
    cx_pattern_t    pattern;
    uint64_t        bytes;     /* per flow: each GPU to each of its destinations */
    uint64_t        gpus;      /* first N GPUs in topology order; 0 = all of fabric 0 */
    uint64_t        seed;
    cx_net_config_t net;
    double          progress_seconds;
} cx_traffic_config_t;

typedef struct cx_traffic_class_stats {
    uint64_t ports;        /* ports of this class that carried traffic */
    uint64_t bytes;
    double   util_mean;    /* over ports that carried traffic, bytes / (bw * makespan) */
    double   util_max;
} cx_traffic_class_stats_t;

typedef struct cx_traffic_result {
    uint64_t  gpus, flows, bytes_total;
    double    injection_bw;         /* bytes/s per GPU (scale-out) */
    cx_time_t makespan;             /* last byte delivered */
    double    throughput_fraction;  /* bytes_total / makespan / (senders * injection_bw) */
    double    mean_flow_fraction;   /* mean over receivers of ideal / actual completion */
    double    p50_us, p90_us, p99_us, max_us;  /* receiver completion times */
    cx_traffic_class_stats_t cls[CX_NET_CLASSES];
    cx_engine_stats_t engine;
    int64_t   lookahead_ps;
} cx_traffic_result_t;

/* Collective over comm. */
cx_status_t cx_traffic_run(const cx_topo_t *topo, const cx_traffic_config_t *cfg, MPI_Comm comm,
                           cx_traffic_result_t *res_p, cx_err_t *err);

/* Shared by fabric-level runs: an engine over the topo partition, with the
 * neighbour ranks derived from cut links.  tmpl supplies seed, end time and
 * progress settings (comm, entities, partition and lookahead are filled
 * here; progress is printed by rank 0 only).  The partition balances the
 * GPUs 0..job_gpus-1 that run something (0 = all).  lookahead_ps_p receives
 * the lookahead. */
cx_status_t cx_net_engine_create(cx_engine_t **eng_p, const cx_topo_t *topo, uint64_t job_gpus,
                                 MPI_Comm comm, const cx_engine_config_t *tmpl, int64_t *lookahead_ps_p,
                                 cx_err_t *err);

#endif
