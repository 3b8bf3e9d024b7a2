/*
 * Agreement on failure across ranks: the one "did any rank fail" step.
 * Every rank passes its own status (and err, filled when it failed); every
 * rank gets back the status and message of the lowest-numbered rank that
 * failed, or CX_OK when none did.  A collective call: every rank of comm
 * must make it.  The caller prints on rank 0, as for a single-rank error,
 * so a replay file of rank 3's GPUs is named, not "another rank failed".
 */
#ifndef CX_AGREE_H
#define CX_AGREE_H

#include <mpi.h>

#include "cx_status.h"

cx_status_t cx_agree(MPI_Comm comm, cx_status_t st, cx_err_t *err);

/* The same question where each rank keeps its own status (a clean-up that
 * must take the same branch everywhere): non-zero on every rank when bad is
 * non-zero on any.  Collective. */
int cx_agree_any(MPI_Comm comm, int bad);

#endif
