/* job_agree.c: what every phase of the job uses to stay in step (see job_internal.h). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

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

/* Collective. As mpiwc_job_agree(); rank 0 prints the first failing rank's reason. */
int mpiwc_job_agree_why(const char *why, MPI_Comm comm, FILE *err)
{
    int rank;
    MPI_Comm_rank(comm, &rank);
    char msg[MPIWC_ERRLEN] = "";
    if (why) {
        char host[MPI_MAX_PROCESSOR_NAME] = "?";
        int hostlen;
        MPI_Get_processor_name(host, &hostlen);
        /* In the form of a rank's own error (mpiwc_say_rank); never empty. */
        snprintf(msg, sizeof msg, "[rank %d on %s] %s", rank, host, why);
    }
    if (mpiwc_job_agree_msg(msg, sizeof msg, comm) == 0)
        return 0;
    if (rank == 0)
        mpiwc_say(err, "", msg);
    return -1;
}

/* Collective. Every rank gets the first failing rank's msg (a failed rank's is not empty). */
int mpiwc_job_agree_msg(char *msg, size_t len, MPI_Comm comm)
{
    int rank, nranks, first, any;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &nranks);
    first = msg[0] ? rank : nranks;
    MPI_Allreduce(&first, &any, 1, MPI_INT, MPI_MIN, comm);
    if (any == nranks)
        return 0;
    MPI_Bcast(msg, (int)len, MPI_CHAR, any, comm);
    return -1;
}
