#!/usr/bin/env python3
"""bench/fresh-pages.sh end to end at a toy size, in the build directory
under test: 1 MiB of high-cardinality text, 2 rounds of a fresh and a reused
run with no pause. Checks that it exits 0, that fresh-pages.csv has each
mode and wc -w in every round, that every run's --report counted the words
and distinct words of tests/reference.py's table of the same corpus (an
independent count), and that the page says the runs agree. Not its timings:
a benchmark is not a test.

usage: fresh_pages.py SOURCE_ROOT BUILD_ROOT

Output is TAP.
"""
import csv
import glob
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
    with tempfile.TemporaryDirectory(prefix='mpiwc-bench-fresh-') as tmp:
        out = os.path.join(tmp, 'results')
        cache = os.path.join(tmp, 'cache')
        env = dict(BUILD_DIR=build, CACHE_DIR=cache, OUT_DIR=out, DOCS_DIR='',
                   SIZE='1M', VOCAB='40000', ROUNDS='2', PAUSE='0', TOUCH='16M', TMPDIR=tmp)
        rc, log = run_bench_script(src, 'fresh-pages.sh', env, os.path.join(out, 'fresh-pages.log'))
        ok(rc == 0, 'bench/fresh-pages.sh exits 0', log.splitlines()[-40:])
        rows = []
        try:
            with open(os.path.join(out, 'fresh-pages.csv'), newline='') as f:
                rows = list(csv.DictReader(f))
        except OSError as e:
            ok(False, 'fresh-pages.csv was written', e)
        ok([(r['mode'], r['round']) for r in rows] ==
           [(m, str(n)) for n in (1, 2) for m in ('fresh', 'reused', 'wc -w')],
           'fresh-pages.csv has fresh, reused and wc -w in each of 2 rounds', rows)
        corpus = glob.glob(os.path.join(cache, 'highcard-1048576-v40000-s1-*.txt'))
        ok(len(corpus) == 1, 'the corpus was made in CACHE_DIR', os.listdir(cache)
           if os.path.isdir(cache) else cache)
        want = None
        if corpus:
            ref = subprocess.run([sys.executable, os.path.join(src, 'tests/reference.py'),
                                  corpus[0]], stdout=subprocess.PIPE)
            ok(ref.returncode == 0 and ref.stdout, 'tests/reference.py counted the corpus')
            table = ref.stdout.splitlines()
            want = (sum(int(line.rsplit(b'\t', 1)[1]) for line in table), len(table))
        for r in rows:
            if r['mode'] == 'wc -w':
                continue
            got = None
            try:
                with open(r['report']) as f:
                    c = json.load(f)['counters']
                got = (c['words']['sum'], c['owned_distinct']['sum'])
            except (OSError, ValueError, KeyError) as e:
                got = e
            ok(got == want, '%s run %s: the reference\'s words and distinct words'
               % (r['mode'], r['round']), (got, want))
        try:
            with open(os.path.join(out, 'fresh-pages.md')) as f:
                page = f.read()
        except OSError as e:
            page = str(e)
        ok('every run counted %d words, %d distinct' % want in page if want else False,
           'fresh-pages.md says every run counted the same', page[-400:])
    return TAP.done()


if __name__ == '__main__':
    sys.exit(main())
