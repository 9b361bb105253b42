/* mpiwc: MPI_Init -> parse -> mpiwc_run -> MPI_Finalize. */
#include <mpi.h>
#include <stdio.h>

#include "mpiwc/cli.h"
#include "mpiwc/job.h"
#include "mpiwc/util.h"

static void abort_job(void)
{
    MPI_Abort(MPI_COMM_WORLD, MPIWC_EXIT_FAILURE);
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    mpiwc_set_fatal_handler(abort_job);

    struct mpiwc_options opts;
    int status;
    switch (
        mpiwc_cli_parse(argc, argv, &opts, rank == 0 ? stdout : NULL, rank == 0 ? stderr : NULL)) {
    case MPIWC_CLI_RUN:
        status = mpiwc_run(&opts, MPI_COMM_WORLD, stdout, stderr);
        break;
    case MPIWC_CLI_EXIT:
        status = MPIWC_EXIT_OK;
        break;
    case MPIWC_CLI_USAGE:
    default:
        status = MPIWC_EXIT_USAGE;
        break;
    }
    fflush(stdout);
    MPI_Finalize();
    return status;
}
