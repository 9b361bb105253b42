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
 * MPIWC_MPI_DEFAULTS=1 in the environment leaves Open MPI's choice alone.
 *
 * Layer: local, no MPI (it runs before MPI_Init).
 */
#ifndef MPIWC_LAUNCH_H
#define MPIWC_LAUNCH_H

#include <stdbool.h>

/* Set OMPI_MCA_pml=ob1 when the rules above say so; true if it did. */
bool mpiwc_launch_prepare(void);

#endif
