/*
 * Agreement on failure across ranks: the one "did any rank fail" step.
 * Every rank passes its own status (and err, filled when it failed); every
 * rank gets back the status and message of the lowest-numbered rank that
 * failed, or CX_OK when none did.  A collective call: every rank of comm
 * must make it.  Rank 0 prints the message, as for a single-rank error, so a
 * replay file of rank 3's GPUs is named, not "another rank failed".
 */
#ifndef CX_AGREE_H
#define CX_AGREE_H

#include <mpi.h>

#include "cx_status.h"

cx_status_t cx_agree(MPI_Comm comm, cx_status_t st, cx_err_t *err);

#endif
