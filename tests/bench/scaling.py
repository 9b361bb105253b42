#!/usr/bin/env python3
"""bench/scaling.py (slurm/scaling.sh's arithmetic) on made-up --report files:
scaling.csv's columns in their order, one row per job in NODES order, hosts
counted once each, speedup relative to the first row's throughput for a strong
and a weak study, efficiency, the phase and step columns, a missing report
named and the exit status 1; and the gnuplot script, whose curves follow the
columns by name when the CSV's columns are reordered.

usage: scaling.py SCALING_PY

The expected values are worked out here from the made-up reports, not by
scaling.py's code. Output is TAP.
"""
import csv
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                'mpi'))
from mpitest import Tap  # noqa: E402  (the TAP output every test script shares)

TAP = Tap()
ok = TAP.ok


PHASES = ['plan', 'map', 'shuffle', 'reduce', 'output']
STEPS = ['read', 'tokenize', 'pack', 'exchange', 'merge', 'gather', 'sort', 'write']
# the header tests/cluster/slurm-multinode.sh reads by position
HEADER = ('mode,nodes,ranks,hosts,bytes,wall_s,throughput_mb_s,speedup,efficiency,'
          'plan_s,map_s,shuffle_s,reduce_s,output_s,read_s,tokenize_s,pack_s,'
          'exchange_s,merge_s,gather_s,sort_s,write_s,job_id')


def close(a, b, tol=1e-4):
    try:
        return abs(float(a) - b) <= tol
    except (TypeError, ValueError):
        return False


def report(path, ranks, hosts, nbytes, wall):
    """A --report with phases and steps that are fractions of the wall."""
    with open(path, 'w') as f:
        json.dump({'ranks': ranks, 'hosts': hosts, 'wall_s': wall,
                   'throughput_mb_s': round(nbytes / wall / 1e6, 3),
                   'counters': {'bytes': {'sum': nbytes, 'min': 0, 'max': nbytes}},
                   'phases': {p: {'wall_s': wall * (k + 1) / 100} for k, p in enumerate(PHASES)},
                   'steps': {s: {'avg_s': wall * (k + 1) / 1000, 'max_s': wall}
                             for k, s in enumerate(STEPS)}}, f)


def study(scaling, tmp, mode, jobs):
    """jobs: [(nodes, job_id, report or None)]; returns (exit, stderr, rows, header)."""
    d = os.path.join(tmp, mode)
    os.makedirs(d)
    paths = []
    for nodes, job, rep in jobs:
        path = os.path.join(d, 'n%d.json' % nodes)
        if rep is not None:
            report(path, *rep)
        paths.append(path)
    out = os.path.join(d, 'scaling.csv')
    p = subprocess.run([sys.executable, scaling, 'csv', out, mode,
                        ' '.join(str(j[0]) for j in jobs), ' '.join(j[1] for j in jobs)] + paths,
                       capture_output=True, text=True)
    with open(out, newline='') as f:
        lines = f.read().splitlines()
    rows = list(csv.DictReader(lines))
    return p.returncode, p.stderr, rows, lines[0] if lines else ''


def plot_columns(gp, csv_header):
    """{title: (x header, y header)} of every `csv using X:Y ... title 'T'` curve."""
    curves = {}
    for m in re.finditer(r"csv using (\d+):(\d+|\(\$\d+ / r0\))\S* .*?title '([^']*)'", gp):
        x = csv_header[int(m.group(1)) - 1]
        y = m.group(2)
        y = csv_header[int(y) - 1] if y.isdigit() else 'ideal'
        curves.setdefault(m.group(3), []).append((x, y))
    return curves


def main():
    scaling = sys.argv[1]
    G = 10**9
    with tempfile.TemporaryDirectory() as tmp:
        # Strong: the same 4 GB on 1, 2 and 4 nodes of 16 ranks; one host
        # name appears twice in the 2-node report.
        strong = [(1, '101', (16, ['a'] * 16, 4 * G, 40.0)),
                  (2, '102', (32, ['a'] * 16 + ['b'] * 15 + ['a'], 4 * G, 25.0)),
                  (4, '103', (64, ['a', 'b', 'c', 'd'] * 16, 4 * G, 16.0))]
        rc, err, rows, header = study(scaling, tmp, 'strong', strong)
        ok(rc == 0 and header == HEADER, 'strong: exit 0, the header in its order', (rc, err, header))
        ok([r['nodes'] for r in rows] == ['1', '2', '4'] and
           [r['job_id'] for r in rows] == ['101', '102', '103'] and
           [r['ranks'] for r in rows] == ['16', '32', '64'],
           'one row per job in NODES order, with its job id and ranks', rows)
        ok([r['hosts'] for r in rows] == ['1', '2', '4'], 'hosts: distinct host names',
           [r['hosts'] for r in rows])
        # throughput ratio: (4G/25) / (4G/40) = 1.6, (4G/16) / (4G/40) = 2.5
        ok(close(rows[0]['speedup'], 1.0) and close(rows[1]['speedup'], 1.6)
           and close(rows[2]['speedup'], 2.5),
           'strong speedup = wall(first) / wall', [r['speedup'] for r in rows])
        # efficiency = speedup * 16 / ranks: 1.6 / 2 = 0.8, 2.5 / 4 = 0.625
        ok(close(rows[0]['efficiency'], 1.0) and close(rows[1]['efficiency'], 0.8)
           and close(rows[2]['efficiency'], 0.625),
           'efficiency = speedup * ranks(first) / ranks', [r['efficiency'] for r in rows])
        r = rows[1]
        ok(close(r['wall_s'], 25.0) and close(r['bytes'], 4 * G) and close(r['map_s'], 0.5)
           and close(r['output_s'], 1.25) and close(r['read_s'], 0.025)
           and close(r['write_s'], 0.2) and close(r['throughput_mb_s'], 160.0),
           'wall, bytes, throughput, phase walls and step means from the report', r)

        # Weak: 1 GB per node at 40 s, 2 GB at 50 s, 4 GB at 80 s (8 ranks a
        # node); the 8-node report is missing.
        weak = [(1, '201', (8, ['a'] * 8, 1 * G, 40.0)),
                (2, '202', (16, ['a', 'b'] * 8, 2 * G, 50.0)),
                (4, '203', (32, ['a', 'b', 'c', 'd'] * 8, 4 * G, 80.0)),
                (8, '204', None)]
        rc, err, rows, header = study(scaling, tmp, 'weak', weak)
        ok(rc == 1 and 'no report' in err and 'n8.json' in err and len(rows) == 3,
           'a missing report: named on stderr, exit 1, the other rows written', (rc, err, rows))
        # scaled speedup (2G/50) / (1G/40) = 1.6, (4G/80) / (1G/40) = 2.0
        ok([r['mode'] for r in rows] == ['weak'] * 3 and close(rows[1]['speedup'], 1.6)
           and close(rows[2]['speedup'], 2.0) and close(rows[1]['efficiency'], 0.8)
           and close(rows[2]['efficiency'], 0.5),
           'weak: speedup from throughput (bytes / wall), efficiency', rows)

        # The plot script: every curve on the columns of its name, in the
        # CSV as written and in one with its columns in reverse order.
        src = os.path.join(tmp, 'strong', 'scaling.csv')
        with open(src, newline='') as f:
            table = list(csv.reader(f))
        rev = os.path.join(tmp, 'reversed')
        os.makedirs(rev)
        with open(os.path.join(rev, 'scaling.csv'), 'w', newline='') as f:
            csv.writer(f, lineterminator='\n').writerows([row[::-1] for row in table])
        for d in (os.path.join(tmp, 'strong'), rev):
            csv_path = os.path.join(d, 'scaling.csv')
            p = subprocess.run([sys.executable, scaling, 'plots', csv_path, d, 'strong'],
                               capture_output=True, text=True)
            with open(csv_path, newline='') as f:
                names = next(csv.reader(f))
            gp = open(os.path.join(d, 'scaling.gp')).read() if p.returncode == 0 else ''
            curves = plot_columns(gp, names)
            want = {'speedup': [('ranks', 'speedup')], 'ideal': [('ranks', 'ideal')],
                    'efficiency': [('ranks', 'efficiency')],
                    'total': [('ranks', 'wall_s'), ('ranks', 'wall_s')]}
            want.update({c + '_s': [('ranks', c + '_s')] for c in PHASES + STEPS})
            ok(p.returncode == 0 and curves == want,
               'scaling.gp (%s): each curve on the column of its name' % os.path.basename(d),
               (p.stderr, curves))
            ok('r0 = 16.0' in gp, 'scaling.gp: the ideal is ranks / the first row\'s ranks (16)',
               [line for line in gp.splitlines() if line.startswith('r0')])
        if shutil.which('gnuplot'):
            p = subprocess.run(['gnuplot', os.path.join(rev, 'scaling.gp')],
                               capture_output=True, text=True)
            pngs = []
            for name in ('speedup', 'phases', 'steps'):
                path = os.path.join(rev, name + '.png')
                pngs.append(os.path.exists(path) and open(path, 'rb').read(4) == b'\x89PNG')
            ok(p.returncode == 0 and all(pngs), 'gnuplot draws the three PNGs from scaling.gp',
               (p.stderr, pngs))
        else:
            TAP.skip('gnuplot draws the three PNGs', 'no gnuplot')
    return TAP.done()


if __name__ == '__main__':
    sys.exit(main())
