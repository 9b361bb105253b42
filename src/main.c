/* mpiwc: launch settings -> MPI_Init -> parse -> mpiwc_run -> MPI_Finalize. */
#include <mpi.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "mpiwc/checkpoint.h"
#include "mpiwc/cli.h"
#include "mpiwc/job.h"
#include "mpiwc/launch.h"
#include "mpiwc/output.h"
#include "mpiwc/spill.h"
#include "mpiwc/util.h"

/* SIGTERM (Slurm's time limit, mpirun passing on ^C), SIGINT, SIGHUP: leave no
 * temporary output behind, then die of the signal as before. */
static void on_signal(int sig)
{
    mpiwc_output_on_signal();
    mpiwc_spill_on_signal();
    signal(sig, SIG_DFL);
    raise(sig);
}

/* --checkpoint-dir: SIGUSR1 and SIGTERM ask for a checkpoint, then a stop (exit 3).
 * After the map there is nothing to checkpoint: SIGTERM ends the process as
 * without checkpoints, and SIGUSR1 is ignored (the job is finishing). */
static void on_stop_signal(int sig)
{
    if (!mpiwc_ckpt_request_stop() && sig == SIGTERM)
        on_signal(sig);
}

/* A fatal error (out of memory) aborts every rank: this one first removes its files. */
static void abort_job(void)
{
    mpiwc_output_on_signal();
    mpiwc_spill_on_signal();
    MPI_Abort(MPI_COMM_WORLD, MPIWC_EXIT_FAILURE);
}

int main(int argc, char **argv)
{
    /* mpirun gives a rank a pseudo-terminal as standard output, which stdio
     * would flush at every newline: one write, and one trip through mpirun's
     * forwarding, per row of the table. Flush in 64 KiB blocks instead. */
    setvbuf(stdout, NULL, _IOFBF, (size_t)1 << 16);
    mpiwc_launch_prepare();
    MPI_Init(&argc, &argv);
    mpiwc_launch_nodelay();
    int rank, hostlen;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    char host[MPI_MAX_PROCESSOR_NAME] = "?";
    MPI_Get_processor_name(host, &hostlen);
    mpiwc_set_origin(rank, host);
    mpiwc_set_fatal_handler(abort_job);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);

    struct mpiwc_options opts;
    int status;
    switch (
        mpiwc_cli_parse(argc, argv, &opts, rank == 0 ? stdout : NULL, rank == 0 ? stderr : NULL)) {
    case MPIWC_CLI_RUN:
        if (opts.checkpoint_dir) {
            sa.sa_handler = on_stop_signal;
            sa.sa_flags = SA_RESTART;
            sigaction(SIGTERM, &sa, NULL);
            sigaction(SIGUSR1, &sa, NULL);
        }
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
