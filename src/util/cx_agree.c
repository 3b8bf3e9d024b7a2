/* The one "did any rank fail" agreement (cx_agree.h). */
#include "cx_agree.h"

#include <stdint.h>

cx_status_t cx_agree(MPI_Comm comm, cx_status_t st, cx_err_t *err)
{
    int      rank, first = INT32_MAX, mine;
    cx_err_t e;
    MPI_Comm_rank(comm, &rank);
    mine = st != CX_OK ? rank : INT32_MAX;
    MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, comm);
    if (first == INT32_MAX) return CX_OK;
    if (rank == first) {
        e        = *err;
        e.status = st;
    }
    MPI_Bcast(&e, (int)sizeof(e), MPI_BYTE, first, comm);
    *err = e;
    return e.status != CX_OK ? e.status : CX_ERR_INVALID;
}

int cx_agree_any(MPI_Comm comm, int bad)
{
    int mine = bad != 0, any = 0;
    MPI_Allreduce(&mine, &any, 1, MPI_INT, MPI_MAX, comm);
    return any;
}
