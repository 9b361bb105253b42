#!/usr/bin/env python3
"""bench/summarize.py's arithmetic on made-up runs: medians, MB/s, the ratio to
wc -w from the same corpus, strong and weak speedup and efficiency, peak RSS,
phase and step medians and map_wait_max_s from the --report files, a table.md
whose rows all have nine cells (a `|` in a program name escaped), and the
phase bars of plots.gp, whose map is split into read, tokenize and the rest.

usage: summarize.py SUMMARIZE_PY

The expected values are worked out here from the raw walls, not by
summarize.py's code. Output is TAP.
"""
import csv
import json
import os
import subprocess
import sys
import tempfile

N = 0
FAILED = 0


def ok(cond, name, detail=''):
    global N, FAILED
    N += 1
    print('%s %d - %s' % ('ok' if cond else 'not ok', N, name))
    if not cond:
        FAILED += 1
        print('#   ' + str(detail))


def median(v):
    v = sorted(v)
    n = len(v)
    return v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2


def close(a, b):
    return a is not None and abs(float(a) - b) <= 1e-3 * max(1.0, abs(b))


def report(path, map_s, wait_us, words):
    with open(path, 'w') as f:
        json.dump({'phases': {'plan': {'wall_s': 0.001}, 'map': {'wall_s': map_s},
                              'shuffle': {'wall_s': 0.002}, 'reduce': {'wall_s': 0.003},
                              'output': {'wall_s': 0.004}},
                   'steps': {'read': {'avg_s': map_s / 5}, 'tokenize': {'avg_s': map_s * 0.7},
                             'sort': {'avg_s': 0.001}},
                   'counters': {'words': {'sum': words}, 'owned_distinct': {'sum': 77},
                                'map_wait_us': {'sum': wait_us, 'min': 0, 'max': wait_us}}}, f)


def run(summarize, tmp, weak, runs):
    """runs: (corpus, bytes, program, ranks, options, [(wall, rss, map_s, wait_us)])"""
    raw = os.path.join(tmp, 'raw-%d.csv' % weak)
    out = os.path.join(tmp, 'out-%d' % weak)
    os.makedirs(out)
    with open(raw, 'w', newline='') as f:
        w = csv.writer(f, lineterminator='\n')
        w.writerow(['corpus', 'bytes', 'files', 'program', 'ranks', 'options', 'rep', 'wall_s',
                    'rss_kib', 'report'])
        for corpus, nbytes, program, ranks, options, reps in runs:
            for k, (wall, rss, map_s, wait_us) in enumerate(reps, 1):
                rep = ''
                if program == 'mpiwc':
                    rep = os.path.join(tmp, '%s-%d-%d-%s-%d-%d.json' % (
                        corpus, nbytes, ranks, options.strip('-'), k, weak))
                    report(rep, map_s, wait_us, 1000)
                w.writerow([corpus, nbytes, 1, program, ranks, options, k, wall, rss, rep])
    p = subprocess.run([sys.executable, summarize, '--weak=%d' % weak, '--', raw, out],
                       capture_output=True, text=True)
    ok(p.returncode == 0, 'summarize.py --weak=%d exits 0' % weak, p.stderr)
    with open(os.path.join(out, 'results.csv'), newline='') as f:
        rows = {(r['corpus'], int(r['bytes']), r['program'], int(r['ranks']), r['options']): r
                for r in csv.DictReader(f)}
    with open(os.path.join(out, 'table.md')) as f:
        table = f.read().splitlines()
    return rows, table


def main():
    summarize = sys.argv[1]
    B = 10**9
    wc = [(2.0, 1500, 0, 0), (2.4, 1600, 0, 0), (1.8, 1400, 0, 0)]
    np1 = [(0.5, 17000, 0.40, 1000), (0.7, 17500, 0.60, 3000), (0.4, 16000, 0.30, 2000)]
    np2 = [(0.3, 9000, 0.25, 50000), (0.26, 9100, 0.20, 70000), (0.34, 8800, 0.30, 60000)]
    space1 = [(0.8, 30000, 0.7, 0), (0.9, 31000, 0.8, 0), (0.85, 30500, 0.75, 0)]
    sort = [(9.0, 8000, 0, 0)]
    runs = [('text', B, 'wc -w', 1, 'default', wc),
            ('text', B, 'mpiwc', 1, 'default', np1),
            ('text', B, 'mpiwc', 2, 'default', np2),
            ('text', B, 'mpiwc', 1, '--split=space', space1),
            ('text', B, 'sort|uniq -c', 1, '--split=space --case=keep', sort)]
    with tempfile.TemporaryDirectory() as tmp:
        rows, table = run(summarize, tmp, 0, runs)
        walls = lambda reps: [r[0] for r in reps]
        t_wc, t1, t2 = median(walls(wc)), median(walls(np1)), median(walls(np2))
        r1 = rows.get(('text', B, 'mpiwc', 1, 'default'), {})
        r2 = rows.get(('text', B, 'mpiwc', 2, 'default'), {})
        rs = rows.get(('text', B, 'mpiwc', 1, '--split=space'), {})
        ok(close(r1.get('median_s'), t1) and close(r1.get('min_s'), 0.4)
           and close(r1.get('max_s'), 0.7) and r1.get('runs') == '3',
           'median, min, max and runs of the np 1 walls', r1)
        ok(close(r1.get('mb_s'), B / t1 / 1e6), 'MB/s = bytes / median / 10^6', r1)
        ok(close(r1.get('vs_wc'), t_wc / t1) and close(r2.get('vs_wc'), t_wc / t2)
           and close(rs.get('vs_wc'), t_wc / median(walls(space1))),
           'x wc -w = wc -w median / this median, every option set', (r1, r2, rs))
        ok(close(r2.get('speedup'), t1 / t2) and close(r2.get('efficiency'), t1 / t2 / 2)
           and close(r1.get('speedup'), 1.0),
           'strong speedup np 2 = median np 1 / median np 2, efficiency / 2', r2)
        ok(r1.get('rss_kib') == '17500' and r2.get('rss_kib') == '9100',
           'peak RSS: the largest of the runs', (r1.get('rss_kib'), r2.get('rss_kib')))
        ok(close(r1.get('map_s'), 0.40) and close(r2.get('map_wait_max_s'), 0.060)
           and close(r1.get('output_s'), 0.004),
           'phase medians and map_wait_max_s from the --report files', r2)
        ok(close(r1.get('read_s'), 0.40 / 5) and close(r1.get('tokenize_s'), 0.40 * 0.7)
           and close(r2.get('sort_s'), 0.001) and r1.get('pack_s') == '',
           'step medians from the --report files; a step not reported is empty', r1)
        p = subprocess.run([sys.executable, summarize, '--plots',
                            os.path.join(tmp, 'out-0', 'results.csv'), os.path.join(tmp, 'out-0')],
                           capture_output=True, text=True)
        with open(os.path.join(tmp, 'out-0', 'plots.gp')) as f:
            gp = f.read().splitlines()
        bars = gp[gp.index('$phases << EOD') + 1:]
        bars = {line.rsplit('"', 1)[0].strip('"'): [float(x) for x in line.rsplit('"', 1)[1].split()]
                for line in bars[:bars.index('EOD')]}
        b1 = bars.get('text np1', [])
        # plan, read, tokenize, rest of the map, shuffle, reduce, output, other
        ok(p.returncode == 0 and len(b1) == 8 and close(b1[1], 0.08) and close(b1[2], 0.28)
           and close(b1[1] + b1[2] + b1[3], 0.40) and close(sum(b1), t1),
           'plots.gp: the map bar is read + tokenize + the rest, the bars add up to the median',
           (p.stderr, b1))
        s = rows.get(('text', B, 'sort|uniq -c', 1, '--split=space --case=keep'), {})
        ok(close(s.get('vs_wc'), t_wc / 9.0) and s.get('speedup') == '',
           'sort|uniq -c: a ratio to wc -w, no speedup', s)
        cells = [len(line.replace('\\|', '').split('|')[1:-1]) for line in table]
        ok(len(table) == 2 + len(runs) and all(n == 9 for n in cells),
           'table.md: a header, a rule and one row of nine cells per configuration', table)

        # Weak scaling: np 2 reads twice the bytes; speedup = 2 * t(np 1) / t(np 2).
        weak_runs = [('text', B, 'wc -w', 1, 'default', wc),
                     ('text', B, 'mpiwc', 1, 'default', np1),
                     ('text', 2 * B, 'mpiwc', 2, 'default', np2)]
        rows, _ = run(summarize, tmp, 1, weak_runs)
        w2 = rows.get(('text', 2 * B, 'mpiwc', 2, 'default'), {})
        ok(close(w2.get('speedup'), 2 * t1 / t2) and close(w2.get('efficiency'), t1 / t2),
           'weak speedup np 2 = 2 * median np 1 / median np 2', w2)
    print('1..%d' % N)
    return 1 if FAILED else 0


if __name__ == '__main__':
    sys.exit(main())
