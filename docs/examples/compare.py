"""Counting inside a larger mpi4py program: two halves of the job count two
corpora at once, each over its own communicator, then compare them.

    mpirun -np 4 python3 compare.py corpus-a/ corpus-b/
"""
import sys

from mpi4py import MPI

import mpiwc

world = MPI.COMM_WORLD
rank, size = world.Get_rank(), world.Get_size()
options = dict(min_length=3, ignore_numbers=True)
if size >= 2:
    half = 0 if rank < size // 2 else 1
    comm = world.Split(color=half, key=rank)
    # Each half counts its corpus over its own communicator; its rank 0 gets the dict.
    counts = mpiwc.count([sys.argv[1 + half]], comm=comm, **options)
    # The rest is the program's own MPI: the halves' roots (world ranks 0 and
    # size // 2, in that order) send their tables to world rank 0.
    tables = world.gather(counts, root=0)
    comm.Free()
else:
    tables = [mpiwc.count([path], **options) for path in sys.argv[1:3]]
if rank == 0:
    a, b = [t for t in tables if t is not None]
    shared = set(a) & set(b)
    print(f"A: {len(a)} words, B: {len(b)} words, {len(shared)} in both")
    for w in sorted(shared, key=lambda w: (-(a[w] + b[w]), w))[:5]:
        print(f"  {w}: {a[w]} in A, {b[w]} in B")
