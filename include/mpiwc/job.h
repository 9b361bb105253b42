/*
 * job: drives the phases -- plan, map, shuffle, reduce, output, report -- and
 * owns the error agreement between them.
 *
 * Errors: rank 0 checks paths and the output target before any rank reads
 * and broadcasts the verdict; a rank that fails later prints its own line
 * ("mpiwc: [rank N on HOST] PATH: reason") and every phase ends with an allreduce of
 * the status, so all ranks take the same branch and none waits in a
 * collective. Nothing is written to the output target unless every phase
 * before it succeeded.
 *
 * mpiwc_run() reads as the pipeline: plan (job_plan.c), map (job_map.c,
 * with checkpoints from job_ckpt.c), shuffle and reduce (shuffle.h), output
 * (output.h), report (report.h); src/job_internal.h ties the files together.
 *
 * Layer: collective over comm.
 */
#ifndef MPIWC_JOB_H
#define MPIWC_JOB_H

#include <mpi.h>
#include <stdio.h>

#include "mpiwc/cli.h"

/* Exit statuses of the program. STOPPED: a checkpoint was written on
 * SIGUSR1 or SIGTERM (--checkpoint-dir) and the job stopped; rerun to resume. */
enum { MPIWC_EXIT_OK = 0, MPIWC_EXIT_FAILURE = 1, MPIWC_EXIT_USAGE = 2, MPIWC_EXIT_STOPPED = 3 };

/*
 * Collective over comm. Run the whole job; out receives the table on rank 0
 * when opts->output is NULL, err the diagnostics. Returns an exit status
 * (the same on every rank).
 */
int mpiwc_run(const struct mpiwc_options *opts, MPI_Comm comm, FILE *out, FILE *err);

#endif
