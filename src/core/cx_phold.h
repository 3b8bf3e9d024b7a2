/*
 * PHOLD, the standard PDES benchmark (Fujimoto 1990), on this kernel.
 * Each of N LPs starts with K events; handling an event schedules one new
 * event at now + L + Exp(M - L), to a uniformly random LP with probability P,
 * else to itself.  Times are integer picoseconds; the CLI reads them with
 * units (bare numbers are seconds, so the classic "mean 1, lookahead 0.1,
 * end 100" is --mean 1 --lookahead 0.1 --end 100).
 */
#ifndef CX_PHOLD_H
#define CX_PHOLD_H

#include "cx_core.h"

typedef struct cx_phold_config {
    uint64_t  lps;           /* total over all ranks */
    cx_time_t end;
    cx_time_t mean;          /* mean delay M (>= lookahead) */
    cx_time_t lookahead;     /* L > 0 */
    double    remote;        /* P in [0, 1] */
    uint64_t  start_events;  /* K per LP */
    uint64_t  seed;
    double    progress_seconds;
} cx_phold_config_t;

/* Collective: build, run, fill stats (identical on every rank). */
cx_status_t cx_phold_run(const cx_phold_config_t *cfg, MPI_Comm comm, cx_engine_stats_t *stats_p,
                         cx_err_t *err);

#endif
