/*
 * launch: what mpiwc asks of Open MPI before MPI_Init.
 *
 *     mpiwc_launch_prepare();   // first thing in main
 *     MPI_Init(&argc, &argv);
 *
 * On one host, ranks talk through shared memory whatever the transport
 * layer, but Debian's Open MPI still opens its cm layer, whose PSM and PSM2
 * components probe for Omni-Path hardware at every MPI_Init: 0.2 s of a 0.3 s
 * start-up on a machine without it. So when mpirun started every rank on this
 * host (OMPI_COMM_WORLD_LOCAL_SIZE == OMPI_COMM_WORLD_SIZE) and nobody chose
 * a transport (OMPI_MCA_pml and OMPI_MCA_mtl unset, which `mpirun --mca pml X`
 * would set), ask for ob1 (shared memory, TCP) by setting OMPI_MCA_pml=ob1.
 * The same for a singleton, started with no launcher at all (none of
 * OMPI_COMM_WORLD_SIZE, PMIX_RANK, PMI_RANK set): `mpiwc --version` from a
 * shell took 0.29 s, 0.08 s with ob1. Under srun (PMIX_RANK or PMI_RANK,
 * and no OMPI_COMM_WORLD_SIZE) the ranks may span hosts: left alone.
 *
 * MPIWC_MPI_DEFAULTS=1 in the environment leaves Open MPI alone: no ob1.
 *
 * Nothing is done to Open MPI's sockets after MPI_Init. mpiwc used to turn
 * off Nagle's algorithm (TCP_NODELAY) on all of them: the PMIx client's
 * connection to the local daemon then took 3 ms at MPI_Finalize instead of
 * 45. But with it Open MPI 4.1.4 sometimes ran, in its progress thread, an
 * event handler of the PMIx component that MPI_Finalize had already
 * unloaded: a rank died of SIGSEGV at exit, after a correct run. 3 ranks on
 * 2 cores, each run on a one-line file: 10 of about 2,600 runs; with the
 * sockets left alone, none of 3,500. A program of MPI_Init, MPI_Barrier and
 * MPI_Finalize that set the option crashed the same way (3 of about 130),
 * and none of 2,100 without it.
 *
 * Layer: local, no MPI (it runs before MPI_Init).
 */
#ifndef MPIWC_LAUNCH_H
#define MPIWC_LAUNCH_H

#include <stdbool.h>

/* Set OMPI_MCA_pml=ob1 when the rules above say so; true if it did. */
bool mpiwc_launch_prepare(void);

/* This process's rank as its launcher numbered it, known before MPI_Init:
 * OMPI_COMM_WORLD_RANK (mpirun), else PMIX_RANK (srun --mpi=pmix), else
 * PMI_RANK; 0 for a singleton. mpiwc answers --help and --version without
 * MPI, and only rank 0 prints them. */
int mpiwc_launch_rank(void);

#endif
