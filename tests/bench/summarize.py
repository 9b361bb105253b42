#!/usr/bin/env python3
"""bench/summarize.py's arithmetic on made-up runs: medians, MB/s, the ratio to
wc -w from the same corpus, strong and weak speedup and efficiency, peak RSS,
phase and step medians and map_wait_max_s from the --report files, a table.md
whose rows all have ten cells (a `|` in a program name escaped), and the
phase bars of plots.gp, whose map is split into read, tokenize and the rest.
The fields appended for spilling (issue 20): words/s, peak RSS bytes per
distinct word a rank holds, the spill counters summed over ranks, the longest
merge of a rank, the memory limit; empty where a report lacks them; the old
columns keep their order. Then (issue 23) the ratio to `LC_ALL=C.UTF-8 wc -w`
beside the one to `LC_ALL=C wc -w`, empty where the run did not measure it.

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

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                'mpi'))
from mpitest import Tap  # noqa: E402  (the TAP output every test script shares)

TAP = Tap()
ok = TAP.ok


def median(v):
    v = sorted(v)
    n = len(v)
    return v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2


def close(a, b):
    return a is not None and abs(float(a) - b) <= 1e-3 * max(1.0, abs(b))


WORDS, DISTINCT = 6000000, 2500000


def report(path, map_s, wait_us, spill):
    """spill: {counter: [value per rank]} for the spill counters, or None: a
    report without them (an mpiwc from before issue 20)."""
    counters = {'words': {'sum': WORDS}, 'owned_distinct': {'sum': DISTINCT},
                'map_wait_us': {'sum': wait_us, 'min': 0, 'max': wait_us}}
    for k, ranks in (spill or {}).items():
        counters[k] = {'sum': sum(ranks), 'min': min(ranks), 'max': max(ranks), 'ranks': ranks}
    with open(path, 'w') as f:
        json.dump({'phases': {'plan': {'wall_s': 0.001}, 'map': {'wall_s': map_s},
                              'shuffle': {'wall_s': 0.002}, 'reduce': {'wall_s': 0.003},
                              'output': {'wall_s': 0.004}},
                   'steps': {'read': {'avg_s': map_s / 5}, 'tokenize': {'avg_s': map_s * 0.7},
                             'sort': {'avg_s': 0.001}},
                   'counters': counters}, f)


def run(summarize, tmp, weak, runs):
    """runs: (corpus, bytes, program, ranks, options, [(wall, rss, map_s, wait_us[, spill])])"""
    raw = os.path.join(tmp, 'raw-%d.csv' % weak)
    out = os.path.join(tmp, 'out-%d' % weak)
    os.makedirs(out)
    with open(raw, 'w', newline='') as f:
        w = csv.writer(f, lineterminator='\n')
        w.writerow(['corpus', 'bytes', 'files', 'program', 'ranks', 'options', 'rep', 'wall_s',
                    'rss_kib', 'report'])
        for corpus, nbytes, program, ranks, options, reps in runs:
            for k, (wall, rss, map_s, wait_us, *spill) in enumerate(reps, 1):
                rep = ''
                if program == 'mpiwc':
                    rep = os.path.join(tmp, '%s-%d-%d-%s-%d-%d.json' % (
                        corpus, nbytes, ranks, options.strip('-'), k, weak))
                    report(rep, map_s, wait_us, spill[0] if spill else None)
                w.writerow([corpus, nbytes, 1, program, ranks, options, k, wall, rss, rep])
    p = subprocess.run([sys.executable, summarize, '--weak=%d' % weak, '--', raw, out],
                       capture_output=True, text=True)
    ok(p.returncode == 0, 'summarize.py --weak=%d exits 0' % weak, p.stderr)
    with open(os.path.join(out, 'results.csv'), newline='') as f:
        header = next(csv.reader(f))
        f.seek(0)
        rows = {(r['corpus'], int(r['bytes']), r['program'], int(r['ranks']), r['options']): r
                for r in csv.DictReader(f)}
    with open(os.path.join(out, 'table.md')) as f:
        table = f.read().splitlines()
    return rows, table, header


# results.csv's columns before issue 20, in their order
OLD_HEADER = ['corpus', 'bytes', 'files', 'program', 'ranks', 'options', 'runs', 'median_s',
              'min_s', 'max_s', 'mb_s', 'vs_wc', 'speedup', 'efficiency', 'rss_kib', 'plan_s',
              'map_s', 'shuffle_s', 'reduce_s', 'output_s', 'read_s', 'tokenize_s', 'pack_s',
              'exchange_s', 'merge_s', 'gather_s', 'sort_s', 'write_s', 'map_wait_max_s', 'words',
              'distinct']
NEW_FIELDS = ['words_s', 'rss_per_distinct', 'spill_runs', 'spill_written', 'spill_read',
              'spill_merge_s', 'memory_limit', 'vs_wc_utf8']


def main():
    summarize = sys.argv[1]
    B = 10**9
    wc = [(2.0, 1500, 0, 0), (2.4, 1600, 0, 0), (1.8, 1400, 0, 0)]
    wc_utf8 = [(3.0, 1500, 0, 0), (2.8, 1600, 0, 0), (3.3, 1400, 0, 0)]
    # np 1 and 2 in memory: the spill counters reported, all 0; limit 4 GiB per rank
    nospill1 = {'spill_runs': [0], 'spill_written': [0], 'spill_read': [0],
                'spill_merge_us': [0], 'memory_limit': [4 << 30]}
    nospill2 = {k: v * 2 for k, v in nospill1.items()}
    np1 = [(0.5, 17000, 0.40, 1000, nospill1), (0.7, 17500, 0.60, 3000, nospill1),
           (0.4, 16000, 0.30, 2000, nospill1)]
    np2 = [(0.3, 9000, 0.25, 50000, nospill2), (0.26, 9100, 0.20, 70000, nospill2),
           (0.34, 8800, 0.30, 60000, nospill2)]
    # np 2 spilling under --memory-limit=256M, per rank
    M256 = 256 << 20
    spill2 = [(0.9, 5000, 0.6, 1000, {'spill_runs': [3, 4], 'spill_written': [300000000, 410000000],
                                     'spill_read': [300000000, 400000000],
                                     'spill_merge_us': [1500000, 2500000],
                                     'memory_limit': [M256, M256]}),
              (1.1, 4800, 0.7, 1000, {'spill_runs': [5, 5], 'spill_written': [500000000, 520000000],
                                     'spill_read': [500000000, 500000000],
                                     'spill_merge_us': [3000000, 1000000],
                                     'memory_limit': [M256, M256]}),
              (0.8, 4900, 0.5, 1000, {'spill_runs': [2, 3], 'spill_written': [200000000, 290000000],
                                     'spill_read': [200000000, 300000000],
                                     'spill_merge_us': [500000, 700000],
                                     'memory_limit': [M256, M256]})]
    space1 = [(0.8, 30000, 0.7, 0), (0.9, 31000, 0.8, 0), (0.85, 30500, 0.75, 0)]
    sort = [(9.0, 8000, 0, 0)]
    runs = [('text', B, 'wc -w', 1, 'default', wc),
            ('text', B, 'wc -w C.UTF-8', 1, 'default', wc_utf8),
            ('text', B, 'mpiwc', 1, 'default', np1),
            ('text', B, 'mpiwc', 2, 'default', np2),
            ('text', B, 'mpiwc', 1, '--split=space', space1),
            ('text', B, 'mpiwc', 2, '--memory-limit=256M', spill2),
            ('text', B, 'sort|uniq -c', 1, '--split=space --case=keep', sort)]
    with tempfile.TemporaryDirectory() as tmp:
        rows, table, header = run(summarize, tmp, 0, runs)
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
        t_wcu = median(walls(wc_utf8))
        ok(close(r1.get('vs_wc_utf8'), t_wcu / t1) and close(r2.get('vs_wc_utf8'), t_wcu / t2)
           and close(rs.get('vs_wc_utf8'), t_wcu / median(walls(space1))),
           'x wc -w C.UTF-8 = its median / this median, every option set', (r1, r2, rs))
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
        # Issue 20's fields, worked out by hand from the made-up runs above.
        ok(header[:31] == OLD_HEADER and header[31:] == NEW_FIELDS,
           'results.csv: the old columns in their order, the new ones appended', header)
        # words / median: 6e6 / 0.5 at np 1, 6e6 / 0.3 at np 2
        ok(close(r1.get('words_s'), 12e6) and close(r2.get('words_s'), 20e6),
           'words/s = words / median wall', (r1.get('words_s'), r2.get('words_s')))
        # 17500 KiB * 1024 / 2.5e6 distinct; at np 2 9100 KiB * 1024 / (2.5e6 / 2)
        ok(close(r1.get('rss_per_distinct'), 7.168) and close(r2.get('rss_per_distinct'), 7.45472),
           'bytes of peak RSS per distinct word: np 1 RSS / distinct, '
           'np 2 max rank / (distinct / 2)',
           (r1.get('rss_per_distinct'), r2.get('rss_per_distinct')))
        sp = rows.get(('text', B, 'mpiwc', 2, '--memory-limit=256M'), {})
        # per run, summed over ranks: runs 7, 10, 5; written 710, 1020, 490 MB; read 700,
        # 1000, 500 MB; longest merge of a rank 2.5, 3.0, 0.7 s: the medians
        ok(sp.get('spill_runs') == '7' and sp.get('spill_written') == '710000000'
           and sp.get('spill_read') == '700000000' and close(sp.get('spill_merge_s'), 2.5)
           and sp.get('memory_limit') == str(256 << 20),
           'spill runs, bytes written and read summed over ranks, longest merge, the limit: '
           'medians over runs', sp)
        # 5000 KiB * 1024 / (2.5e6 / 2)
        ok(close(sp.get('rss_per_distinct'), 4.096) and close(sp.get('words_s'), 6e6 / 0.9),
           'the spilling row: bytes per distinct word and words/s', sp)
        ok(r1.get('spill_runs') == '0' and r2.get('spill_written') == '0'
           and close(r2.get('spill_merge_s'), 0.0) and r2.get('memory_limit') == str(4 << 30),
           'in memory: spill counters 0, the limit reported', r2)
        w = rows.get(('text', B, 'wc -w', 1, 'default'), {})
        ok(rs.get('spill_runs') == '' and rs.get('spill_merge_s') == ''
           and rs.get('memory_limit') == '' and rs.get('words_s') != ''
           and w.get('words_s') == '' and w.get('rss_per_distinct') == ''
           and w.get('spill_runs') == '',
           'a report without spill counters, and wc -w (no report), leave them empty', (rs, w))
        cells = [len(line.replace('\\|', '').split('|')[1:-1]) for line in table]
        ok(len(table) == 2 + len(runs) and all(n == 10 for n in cells),
           'table.md: a header, a rule and one row of ten cells per configuration', table)

        # Weak scaling: np 2 reads twice the bytes; speedup = 2 * t(np 1) / t(np 2).
        weak_runs = [('text', B, 'wc -w', 1, 'default', wc),
                     ('text', B, 'mpiwc', 1, 'default', np1),
                     ('text', 2 * B, 'mpiwc', 2, 'default', np2)]
        rows, _, _ = run(summarize, tmp, 1, weak_runs)
        w2 = rows.get(('text', 2 * B, 'mpiwc', 2, 'default'), {})
        ok(close(w2.get('speedup'), 2 * t1 / t2) and close(w2.get('efficiency'), t1 / t2),
           'weak speedup np 2 = 2 * median np 1 / median np 2', w2)
        w1 = rows.get(('text', B, 'mpiwc', 1, 'default'), {})
        ok(close(w1.get('vs_wc'), t_wc / t1) and w1.get('vs_wc_utf8') == '',
           'no C.UTF-8 wc -w in the run: its ratio is empty', w1)
    return TAP.done()


if __name__ == '__main__':
    sys.exit(main())
