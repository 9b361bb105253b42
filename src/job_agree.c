/* job_agree.c: what every phase of the job uses to stay in step (see job_internal.h). */
#include <stdint.h>
#include <stdio.h>

#include "job_internal.h"
#include "mpiwc/util.h"

/* Collective. Every rank learns whether any rank failed. */
int mpiwc_job_agree(int failed, MPI_Comm comm)
{
    int any;
    MPI_Allreduce(&failed, &any, 1, MPI_INT, MPI_MAX, comm);
    return any;
}

/* Collective. Broadcast a byte buffer of any length from rank 0, in pieces below INT_MAX. */
void mpiwc_job_bcast_bytes(uint8_t *buf, uint64_t len, MPI_Comm comm)
{
    const uint64_t piece = 1u << 30;
    for (uint64_t off = 0; off < len; off += piece) {
        uint64_t n = len - off < piece ? len - off : piece;
        MPI_Bcast(buf + off, (int)n, MPI_BYTE, 0, comm);
    }
}
