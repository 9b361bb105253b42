#!/bin/sh
# rank-rss.sh PREFIX PROGRAM [ARG]... - run one MPI rank under GNU time and
# write its peak resident set size (KiB, GNU time's %M) to PREFIX.RANK.
#
#   mpirun -np 2 bench/rank-rss.sh /tmp/rss build-bench/mpiwc FILE
#   # -> /tmp/rss.0 and /tmp/rss.1, one number each
#
# mpirun starts this script as each rank; the rank number comes from Open MPI's
# OMPI_COMM_WORLD_RANK (PMIX_RANK under srun, else 0). exec keeps the process
# tree flat: GNU time is the rank's process and PROGRAM its only child, so the
# PMIx environment passes through unchanged. Exit status: PROGRAM's.
prefix=$1
shift
exec /usr/bin/time -f %M -o "$prefix.${OMPI_COMM_WORLD_RANK:-${PMIX_RANK:-0}}" "$@"
