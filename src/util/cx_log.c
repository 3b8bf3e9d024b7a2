/* Leveled, rank-tagged logging and the abort-all-ranks path for broken invariants. */
#include "cx_log.h"

#include <mpi.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static int            cx_log_rank_v  = 0;
static cx_log_level_t cx_log_level_v = CX_LOG_WARN;

void cx_log_setup(int rank, cx_log_level_t level)
{
    cx_log_rank_v  = rank;
    cx_log_level_v = level;
}

cx_log_level_t cx_log_get_level(void) { return cx_log_level_v; }
int cx_log_rank(void) { return cx_log_rank_v; }

static const char *cx_log_names[] = {"error", "warn", "info", "debug", "trace"};

void cx_log_emit(cx_log_level_t level, const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    char    msg[1024];
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (level >= CX_LOG_DEBUG) {
        fprintf(stderr, "[rank %d] %s: %s (%s:%d)\n", cx_log_rank_v, cx_log_names[level], msg, file, line);
    } else {
        fprintf(stderr, "[rank %d] %s: %s\n", cx_log_rank_v, cx_log_names[level], msg);
    }
}

void cx_fatal_at(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    char    msg[1024];
    int     init = 0, fin = 0;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    fprintf(stderr, "colossim: fatal: [rank %d] %s:%d: %s\n", cx_log_rank_v, file, line, msg);
    fflush(stderr);
    MPI_Initialized(&init);
    MPI_Finalized(&fin);
    if (init && !fin) {
        MPI_Abort(MPI_COMM_WORLD, 70);
    }
    abort();
}
