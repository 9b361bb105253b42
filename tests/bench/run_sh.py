#!/usr/bin/env python3
"""bench/run.sh end to end at a toy size, in the build directory under test:
it builds mpiwc and mpiwc-gen there, generates its corpora, times wc -w,
sort | uniq -c and mpiwc, and summarises. Checks that it exits 0, that
results.csv has a row for each program, corpus, np and option set asked
for, that the high-cardinality corpus spilled under its tiny limit, and
that results.json's verdict says the spilling run wrote the same bytes as
the one in memory. Not its timings: a benchmark is not a test.

usage: run_sh.py SOURCE_ROOT BUILD_ROOT

Output is TAP.
"""
import csv
import json
import os
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                'mpi'))
from mpitest import Tap, run_bench_script  # noqa: E402  (what every test script shares)

TAP = Tap()
ok = TAP.ok


def main():
    src, build = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    with tempfile.TemporaryDirectory(prefix='mpiwc-bench-run-') as tmp:
        results = os.path.join(tmp, 'results')
        env = dict(BUILD_DIR=build, CACHE_DIR=os.path.join(tmp, 'cache'), RESULTS_DIR=results,
                   DOCS_DIR='', SIZE='64K', RANKS='1 2', REPEAT='1', WARMUP='0',
                   CORPORA='natural', VARIANTS='default --split=space', NGRAM_VARIANTS='',
                   HIGHCARD='1', HIGHCARD_SIZE='1M', HIGHCARD_VOCAB='40000',
                   HIGHCARD_VARIANTS='default --memory-limit=64K', HUGE='0', SORT_BASELINE='1',
                   TMPDIR=tmp)
        rc, log = run_bench_script(src, 'run.sh', env, os.path.join(results, 'log.txt'))
        ok(rc == 0, 'bench/run.sh exits 0', log.splitlines()[-40:])
        rows = []
        try:
            with open(os.path.join(results, 'results.csv'), newline='') as f:
                rows = list(csv.DictReader(f))
        except OSError as e:
            ok(False, 'results.csv was written', e)
        have = {(r['corpus'], r['program'], r['ranks'], r['options']) for r in rows}
        want = [('natural', 'wc -w', '1', 'default'), ('highcard', 'wc -w', '1', 'default'),
                ('highcard', 'sort|uniq -c', '1', '--split=space --case=keep')]
        for np in ('1', '2'):
            for opts in ('default', '--split=space'):
                want.append(('natural', 'mpiwc', np, opts))
            for opts in ('default', '--memory-limit=64K'):
                want.append(('highcard', 'mpiwc', np, opts))
        for w in want:
            ok(w in have, 'results.csv has %s' % (w,), sorted(have))
        spill = [r for r in rows if r['corpus'] == 'highcard' and r['program'] == 'mpiwc' and
                 r['options'] == '--memory-limit=64K']
        ok(spill and all(int(r['spill_runs'] or 0) > 0 for r in spill),
           'highcard under --memory-limit=64K spilled at every np', spill)
        meta = {}
        try:
            with open(os.path.join(results, 'results.json')) as f:
                meta = json.load(f).get('meta', {})
        except (OSError, ValueError) as e:
            ok(False, 'results.json was written', e)
        ok(meta.get('highcard_identical', '').startswith('byte-identical'),
           'the spilling run wrote the same bytes as the one in memory',
           meta.get('highcard_identical'))
    return TAP.done()


if __name__ == '__main__':
    sys.exit(main())
