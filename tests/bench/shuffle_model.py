#!/usr/bin/env python3
"""bench/shuffle_model.py on made-up --report files whose vocabularies follow
Heaps' law exactly (D(n) = 40 * n^0.5 distinct words for n words, 12 record
bytes a word): the fit finds k and beta, each measured run's row gives the
model's inter-host bytes and messages worked out here, the node/flat ratios
are the reports', the predictions at 1,000 and 10,000 ranks follow the
formulas, and the CSV and gnuplot script are written.

usage: shuffle_model.py SHUFFLE_MODEL_PY

The expected values are worked out here, not by shuffle_model.py's code.
Output is TAP.
"""
import csv
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                'mpi'))
from mpitest import Tap  # noqa: E402  (the TAP output every test script shares)

TAP = Tap()
ok = TAP.ok

K, BETA, REC = 40.0, 0.5, 12


def unhuman(text):
    """'24.5K' -> 24500.0 (shuffle_model.py's figures)."""
    scale = {'K': 1e3, 'M': 1e6, 'G': 1e9}
    return float(text[:-1]) * scale[text[-1]] if text[-1] in scale else float(text)


def distinct(n):
    return K * n ** BETA


def report(path, mode, ranks, per_host, words_per_rank, internode_bytes, internode_messages):
    d = round(distinct(words_per_rank))
    counters = {
        'bytes': [words_per_rank * 5] * ranks,
        'words': [words_per_rank] * ranks,
        'local_distinct': [d] * ranks,
        'owned_distinct': [round(distinct(words_per_rank * ranks) / ranks)] * ranks,
        # flat: a rank sends its words owned elsewhere, (ranks - 1) / ranks of them
        'shuffle_sent': [round(d * REC * (ranks - 1) / ranks)] * ranks,
        'internode_bytes': [internode_bytes // ranks] * ranks,
        'internode_messages': [internode_messages // ranks] * ranks,
        'shuffle_rounds': [1] * ranks,
    }
    r = {'argv': ['mpiwc', '--shuffle=' + mode, '--ranks-per-host=%d' % per_host, 'in.txt'],
         'shuffle': mode, 'ranks': ranks,
         'counters': {k: {'sum': sum(v), 'min': min(v), 'max': max(v), 'ranks': v}
                      for k, v in counters.items()}}
    json.dump(r, open(path, 'w'))


def main():
    script = sys.argv[1]
    work = tempfile.mkdtemp(prefix='mpiwc-shuffle-model-')
    try:
        n = 40000  # words a rank
        paths = []
        for p in (8, 16, 32):
            for mode, b, m in (('flat', 1000 * p, p * (p - 8)), ('node', 400 * p, 0)):
                path = os.path.join(work, 'np%d-%s.json' % (p, mode))
                report(path, mode, p, 8, n, b, m or (p // 8) * (p // 8 - 1))
                paths.append(path)
        out = os.path.join(work, 'out')
        r = subprocess.run([sys.executable, script, out] + paths, capture_output=True, text=True)
        ok(r.returncode == 0, 'exit 0', r.stderr)
        md = open(os.path.join(out, 'shuffle-model.md')).read() if r.returncode == 0 else ''
        fit = [line for line in md.splitlines() if line.startswith('Fit')]
        ok(fit and 'n^0.500' in fit[0] and '= 40 *' in fit[0] and '12.0 record bytes' in fit[0],
           'the fit finds k = 40, beta = 0.5 and 12 record bytes a word', fit)

        rows = [line.split('|')[1:-1] for line in md.splitlines()
                if line.startswith('| 16 | 8 | ')]
        flat = [c.strip() for c in rows[0]] if rows else []
        node = [c.strip() for c in rows[1]] if len(rows) > 1 else []
        # the model at np 16, 8 a host: flat 16 * D(n) * 12 * 8/16; node 2 * D(8n) * 12 * 8/16
        want_flat = 16 * distinct(n) * REC * 0.5
        want_node = 2 * distinct(8 * n) * REC * 0.5
        ok(flat[:3] == ['16', '8', 'flat'] and flat[4].startswith('%.3gK' % (want_flat / 1000)),
           'np 16 flat: the model gives %.0f inter-host bytes' % want_flat, flat)
        ok(node[:3] == ['16', '8', 'node'] and node[4].startswith('%.3gK' % (want_node / 1000)),
           'np 16 node: the model gives %.0f inter-host bytes' % want_node, node)
        ok(flat[6] == str(16 * 8) and node[6] == '2',
           'np 16: the model gives 128 messages flat, 2 node', (flat, node))
        ratio = [line for line in md.splitlines() if line.startswith('| 32 | 8 | 0.40x |')]
        ok(len(ratio) == 1, 'np 32: node/flat bytes 0.40x, from the reports', md)

        pred = {}
        for line in md.splitlines():
            c = [x.strip() for x in line.split('|')[1:-1]]
            if len(c) == 8 and c[0] in ('1000', '10000'):
                pred[(int(c[0]), int(c[1]))] = c
        words = (64 << 20) * (n / (n * 5))  # 0.2 words a byte
        for (p, h) in ((1000, 64), (1000, 128), (10000, 64), (10000, 128)):
            hosts = math.ceil(p / h)
            want = (hosts * distinct(h * words)) / (p * distinct(words))
            c = pred.get((p, h), [])
            ok(c and abs(float(c[5].rstrip('x')) - want) < 0.001 and
               abs(unhuman(c[7]) / (hosts * (hosts - 1)) - 1) < 0.01,
               'predicted at %d ranks, %d a host: node/flat %.3fx, %d messages' %
               (p, h, want, hosts * (hosts - 1)), c)

        rows = list(csv.DictReader(open(os.path.join(out, 'shuffle-model.csv'))))
        kinds = {row['kind'] for row in rows}
        ok(kinds == {'check', 'measured', 'predict'}, 'the CSV has the check, measured and '
           'predicted curves', kinds)
        gp = open(os.path.join(out, 'shuffle-model.gp')).read()
        ok('shuffle-model.png' in gp and gp.count('\nplot ') == 3,
           'the gnuplot script draws three panels into shuffle-model.png', gp[:200])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return TAP.done()


if __name__ == '__main__':
    sys.exit(main())
