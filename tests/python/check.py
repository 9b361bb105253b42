"""The Python package under mpirun: run by python.sh as
mpirun -np N python3 check.py TEXT WANT WANT_SPACE_WORD_TOP7 WANT_HADOOP MISSING
(and as a plain python3 without mpirun: CHECK_LAUNCH names that launch)

Prints TAP lines (without the plan) on rank 0. Every check is collective:
each rank computes its verdict and rank 0 reports them together.
"""
import os
import sys

from mpi4py import MPI

import mpiwc

comm = MPI.COMM_WORLD
rank, size = comm.Get_rank(), comm.Get_size()
text, want_path, want_some_path, want_hadoop_path, missing = sys.argv[1:6]


def read_tsv(path):
    rows = []
    with open(path, 'rb') as f:
        for line in f:
            word, n = line.rstrip(b'\n').rsplit(b'\t', 1)
            rows.append((word.decode('utf-8', 'surrogateescape'), int(n)))
    return rows


want = read_tsv(want_path)
want_some = read_tsv(want_some_path)
want_hadoop = read_tsv(want_hadoop_path)
n = 0


def check(name, ok, why=''):
    """Report on rank 0 whether ok held on every rank."""
    global n
    n += 1
    oks = comm.gather((bool(ok), why), root=0)
    if rank == 0:
        bad = [r for r, (o, _) in enumerate(oks) if not o]
        launch = os.environ.get('CHECK_LAUNCH', 'np %d' % size)
        print('%s %d - %s: %s' % ('not ok' if bad else 'ok', n, launch, name))
        for r in bad:
            print('# rank %d: %s' % (r, oks[r][1]))


counts = mpiwc.count([text], comm=comm)
check('count() gives the root the reference table as a dict, in its order',
      (list(counts.items()) == want) if rank == 0 else counts is None,
      'got %r' % (list(counts.items())[:5] if counts else counts))

some = mpiwc.count(text, split='space', sort='word', top=7)
check('count(split="space", sort="word", top=7) as the reference',
      (list(some.items()) == want_some) if rank == 0 else some is None, repr(some))

hadoop = mpiwc.count(text, compat='hadoop')
check('count(compat="hadoop") as the reference (the default split is not passed on)',
      (list(hadoop.items()) == want_hadoop) if rank == 0 else hadoop is None, repr(hadoop))

last = mpiwc.count([text], comm=comm, root=size - 1, top=3)
check('root=size-1 gets the first 3 rows, the other ranks None',
      (list(last.items()) == want[:3]) if rank == size - 1 else last is None, repr(last))

frame = mpiwc.count_frame([text], comm=comm)
check('count_frame() is a DataFrame of word and count in the reference order',
      (list(frame.columns) == ['word', 'count'] and
       list(zip(frame['word'], frame['count'].astype(int))) == want) if rank == 0
      else frame is None, repr(frame))

own = mpiwc.count([text], comm=comm, gather=False)
parts = comm.gather(own, root=0)
if rank == 0:
    union = {}
    for p in parts:
        union.update(p)
    disjoint = sum(len(p) for p in parts) == len(union)
    ok = disjoint and union == dict(want)
else:
    ok = True
check('gather=False: each rank its own words, disjoint, together the reference', ok)

for name, kwargs, status, needle in [
        ('a missing file', {'paths': [text, missing]}, 1, 'No such file or directory'),
        ('a bad option value', {'paths': [text], 'split': 'bogus'}, 2, "'--split'"),
        ('an option of the command only', {'paths': [text], 'output': 'x'}, 2, "'--output'")]:
    try:
        mpiwc.count(comm=comm, **kwargs)
        got = None
    except mpiwc.MpiwcError as e:
        got = (e.status, str(e))
    all_got = comm.allgather(got)
    check('%s raises MpiwcError(status %d) with one message on every rank' % (name, status),
          got is not None and got[0] == status and needle in got[1] and
          len(set(all_got)) == 1, repr(got))
sys.stdout.flush()
