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
 * After MPI_Init, mpiwc_launch_nodelay() turns off Nagle's algorithm
 * (TCP_NODELAY) on the process's TCP sockets. Open MPI's PMIx client talks
 * to the local daemon over TCP on loopback without it, so at MPI_Finalize a
 * second small message waits for the acknowledgement of the first, which
 * the daemon delays: 45 ms of every run, against 3 ms with it (measured with
 * mpirun -np 1 and 2). Open MPI's own TCP transport already sets it.
 *
 * MPIWC_MPI_DEFAULTS=1 in the environment leaves Open MPI alone: no ob1, no
 * socket options.
 *
 * Layer: local, no MPI (the first part runs before MPI_Init).
 */
#ifndef MPIWC_LAUNCH_H
#define MPIWC_LAUNCH_H

#include <stdbool.h>

/* Set OMPI_MCA_pml=ob1 when the rules above say so; true if it did. */
bool mpiwc_launch_prepare(void);

/* Set TCP_NODELAY on every open TCP stream socket (none with
 * MPIWC_MPI_DEFAULTS set); returns how many sockets it set it on. */
int mpiwc_launch_nodelay(void);

#endif
