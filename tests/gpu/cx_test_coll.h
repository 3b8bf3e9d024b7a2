/*
 * One collective of one size through the collective bench (cx_collbench)
 * on the fixture's topology: what the tests of tests/gpu measure against
 * their formulas.
 */
#ifndef CX_TEST_COLL_H
#define CX_TEST_COLL_H

#include "cx_collbench.h"
#include "cx_test_fabric.h"

#include <stdlib.h>

/* Collective `kind` with algorithm `algo` (protocol and the rest from p) of
 * `bytes` over `gpus` GPUs, one iteration: its row into *row.  The bench's
 * status; when CX_OK it gave exactly one row. */
static inline cx_status_t cx_test_coll(int kind, uint32_t algo, uint64_t gpus, uint64_t bytes,
                                       const cx_coll_params_t *p, cx_collbench_row_t *row, cx_err_t *err)
{
    cx_collbench_config_t cfg;
    cx_collbench_row_t   *rows = NULL;
    size_t                n = 0;
    cx_status_t           st;
    memset(&cfg, 0, sizeof(cfg));
    cfg.kind        = kind;
    cfg.gpus        = gpus;
    cfg.min_bytes   = bytes;
    cfg.max_bytes   = bytes;
    cfg.step_factor = 2;
    cfg.iters       = 1;
    cx_net_config_defaults(&cfg.net);
    cfg.coll      = *p;
    cfg.coll.algo = algo;
    st = cx_collbench_run(topo, &cfg, MPI_COMM_WORLD, &rows, &n, err);
    if (st == CX_OK) {
        assert_int_equal(n, 1);
        *row = rows[0];
    }
    free(rows);
    return st;
}

#endif
