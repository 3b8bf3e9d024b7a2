/*
 * nccl-tests on the model (`colossim bench collective`): one collective of
 * each size on the first N GPUs (topology order), all starting at t = 0; the
 * time of a size is when the last member finishes.  busbw follows nccl-tests'
 * definitions: all-reduce 2(n-1)/n, all-gather / reduce-scatter / all-to-all
 * (n-1)/n, broadcast 1, times algbw = bytes / time.
 */
#ifndef CX_COLLBENCH_H
#define CX_COLLBENCH_H

#include "cx_gpu.h"

typedef struct cx_collbench_config {
    int              kind;         /* cx_coll_kind_t */
    uint64_t         gpus;
    uint64_t         min_bytes, max_bytes;
    double           step_factor;
    uint32_t         iters;        /* collectives per size, back to back */
    cx_net_config_t  net;
    cx_coll_params_t coll;         /* coll.algo selects the algorithm (0 = auto) */
    uint64_t         seed;
} cx_collbench_config_t;

typedef struct cx_collbench_row {
    uint64_t bytes;
    double   time_us;      /* per collective */
    double   algbw_gbps;   /* GB/s, 1e9 */
    double   busbw_gbps;
    uint32_t algo;         /* algorithm used (by GPU 0) */
    uint32_t channels;
    uint32_t proto;        /* cx_coll_proto_t used (by GPU 0) */
    uint64_t events;
    double   wall_seconds;
    uint64_t digest;
} cx_collbench_row_t;

double cx_coll_busbw_factor(int kind, uint64_t n);

/* Collective over comm.  *rows_p is malloc'ed (free with free()). */
cx_status_t cx_collbench_run(const cx_topo_t *topo, const cx_collbench_config_t *cfg, MPI_Comm comm,
                             cx_collbench_row_t **rows_p, size_t *n_rows_p, cx_err_t *err);

#endif
