#!/usr/bin/env python3
"""bench/ngram-spill.sh end to end at a toy size, in the build directory
under test: 256 KiB of natural text, --ngram=1:3 under --memory-limit=64K
at np 1 and 2. Checks that it exits 0, that ngram-spill.csv has the wc -w
row and a row for each np, that every np spilled (its --report), that the
table's SHA-256 at each np is that of tests/reference.py's table of the same
corpus (an independent count), and that the page says byte-identical. Not
its timings: a benchmark is not a test.

usage: ngram_spill.py SOURCE_ROOT BUILD_ROOT

Output is TAP.
"""
import csv
import glob
import hashlib
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                'mpi'))
from mpitest import Tap, run_bench_script  # noqa: E402  (what every test script shares)

TAP = Tap()
ok = TAP.ok


def main():
    src, build = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    with tempfile.TemporaryDirectory(prefix='mpiwc-bench-ngram-') as tmp:
        out = os.path.join(tmp, 'results')
        cache = os.path.join(tmp, 'cache')
        env = dict(BUILD_DIR=build, CACHE_DIR=cache, OUT_DIR=out, DOCS_DIR='',
                   SIZE='256K', NGRAM='1:3', LIMIT='64K', RANKS='1 2', TMPDIR=tmp)
        rc, log = run_bench_script(src, 'ngram-spill.sh', env, os.path.join(out, 'ngram-spill.log'))
        ok(rc == 0, 'bench/ngram-spill.sh exits 0', log.splitlines()[-40:])
        rows = []
        try:
            with open(os.path.join(out, 'ngram-spill.csv'), newline='') as f:
                rows = list(csv.DictReader(f))
        except OSError as e:
            ok(False, 'ngram-spill.csv was written', e)
        ok([r['program'] for r in rows] == ['wc -w', 'mpiwc', 'mpiwc'] and
           [r['ranks'] for r in rows[1:]] == ['1', '2'],
           'ngram-spill.csv has wc -w, then mpiwc at np 1 and 2', rows)
        corpus = glob.glob(os.path.join(cache, 'natural-262144-s1-*.txt'))
        ok(len(corpus) == 1, 'the corpus was made in CACHE_DIR', os.listdir(cache)
           if os.path.isdir(cache) else cache)
        want = None
        if corpus:
            ref = subprocess.run([sys.executable, os.path.join(src, 'tests/reference.py'),
                                  '--ngram', '1:3', corpus[0]], stdout=subprocess.PIPE)
            ok(ref.returncode == 0 and ref.stdout, 'tests/reference.py counted the corpus')
            want = hashlib.sha256(ref.stdout).hexdigest()
        for r in rows[1:]:
            ok(r['sha256'] == want, 'np %s: the table is the reference\'s (sha256)' % r['ranks'],
               (r['sha256'], want))
            spills = None
            try:
                with open(r['report']) as f:
                    spills = json.load(f)['counters']['spill_runs']['sum']
            except (OSError, ValueError, KeyError) as e:
                spills = e
            ok(isinstance(spills, int) and spills > 0,
               'np %s spilled under --memory-limit=64K' % r['ranks'], spills)
            ok(int(r['rss_kib'] or 0) > 0, 'np %s: a peak RSS was recorded' % r['ranks'], r)
        try:
            with open(os.path.join(out, 'ngram-spill.md')) as f:
                page = f.read()
        except OSError as e:
            page = str(e)
        ok('tables byte-identical across rank counts' in page,
           'ngram-spill.md says the tables are byte-identical', page[-400:])
        left = glob.glob(os.path.join(tmp, 'ngram-spill.*')) + \
            glob.glob(os.path.join(tmp, 'mpiwc-spill-*'))
        ok(not left, 'no table or spill directory left in TMPDIR', left)
    return TAP.done()


if __name__ == '__main__':
    sys.exit(main())
