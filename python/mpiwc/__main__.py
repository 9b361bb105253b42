"""python3 -m mpiwc: the mpiwc command, run by this interpreter over
MPI.COMM_WORLD (mpirun -np N python3 -m mpiwc [OPTION]... PATH...)."""

import sys

from mpi4py import MPI

import mpiwc

sys.stdout.flush()
status = mpiwc.command(sys.argv[1:], MPI.COMM_WORLD)
sys.exit(status)
