#!/usr/bin/env python3
"""bench/performance.py on made-up runs: raw walls through bench/summarize.py
into results.csv and results.json, then docs/PERFORMANCE.md. Checks that every
corpus has its table, that the medians, MB/s, ratios to LC_ALL=C wc -w,
speedups and peak RSS per rank shown are the ones worked out here from the
raw walls, that the configuration (date, commit, CPU, nproc, SIZE, REPEAT,
the note) and the exact commands are shown, that only the plots present are
linked, relative to the page, and that the template's text is kept.

usage: performance.py SUMMARIZE_PY PERFORMANCE_PY

The expected values are worked out here, not by either script. Output is TAP.
"""
import csv
import os
import re
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


def table_rows(md, heading):
    """The cells of the data rows of the table under the ### heading that starts so."""
    lines = md.splitlines()
    start = [i for i, line in enumerate(lines) if line.startswith('### ' + heading)]
    if not start:
        return []
    rows = []
    for line in lines[start[0] + 1:]:
        if line.startswith('#'):
            break
        if line.startswith('|') and not line.startswith('|---'):
            rows.append([c.strip() for c in re.split(r'(?<!\\)\|', line)[1:-1]])
    return rows[1:]  # without the header


def main():
    summarize, performance = sys.argv[1], sys.argv[2]
    M = 2**20
    # (corpus, bytes, program, ranks, options, [(wall, rss_kib)])
    runs = [('natural', 128 * M, 'wc -w', 1, 'default', [(1.0, 2000), (1.2, 2100), (0.9, 1900)]),
            ('natural', 128 * M, 'mpiwc', 1, 'default', [(0.30, 16000), (0.25, 17000), (0.40, 15000)]),
            ('natural', 128 * M, 'mpiwc', 2, 'default', [(0.2, 9000), (0.16, 9500), (0.18, 9100)]),
            ('bible', 128 * M, 'wc -w', 1, 'default', [(0.8, 2000), (0.7, 2000), (0.75, 2000)]),
            ('bible', 128 * M, 'mpiwc', 1, '--split=space', [(0.5, 20480), (0.4, 10240), (0.6, 1024)]),
            ('highcard', 256 * M, 'wc -w', 1, 'default', [(2.0, 2000)]),
            ('highcard', 256 * M, 'mpiwc', 1, 'default', [(8.0, 3 * 2**20)]),
            ('highcard', 256 * M, 'sort|uniq -c', 1, '--split=space --case=keep', [(20.0, 8192)])]
    meta = {'size': '128M', 'repeat': '3', 'ranks': '1 2', 'date': '2026-12-05T10:11:12Z',
            'commit': 'abc1234-dirty', 'cpu': 'Made-up CPU 9000', 'nproc': '2', 'host': 'vm1',
            'wc': 'wc (GNU coreutils) 9.1', 'note': 'shared 2-core VM, others compiling',
            'commands': 'env LC_ALL=C wc -w bench/cache/x.txt\nmpirun -q -np 2 build-bench/mpiwc '
                        '-o /dev/null x.txt'}
    with tempfile.TemporaryDirectory() as tmp:
        raw = os.path.join(tmp, 'raw.csv')
        res = os.path.join(tmp, 'results')
        docs = os.path.join(tmp, 'docs')
        os.makedirs(res)
        os.makedirs(docs)
        with open(raw, 'w', newline='') as f:
            w = csv.writer(f, lineterminator='\n')
            w.writerow(['corpus', 'bytes', 'files', 'program', 'ranks', 'options', 'rep',
                        'wall_s', 'rss_kib', 'report'])
            for corpus, nbytes, program, ranks, options, reps in runs:
                for k, (wall, rss) in enumerate(reps, 1):
                    w.writerow([corpus, nbytes, 1, program, ranks, options, k, wall, rss, ''])
        p = subprocess.run([sys.executable, summarize, '--weak=0', '--meta']
                           + ['%s=%s' % kv for kv in meta.items()] + ['--', raw, res],
                           capture_output=True, text=True)
        ok(p.returncode == 0, 'summarize.py writes the results', p.stderr)
        # one plot present next to the results, the other two not
        with open(os.path.join(res, 'speedup.png'), 'wb') as f:
            f.write(b'\x89PNG\r\n')
        out = os.path.join(docs, 'PERFORMANCE.md')
        p = subprocess.run([sys.executable, performance, os.path.join(res, 'results.csv'),
                            os.path.join(res, 'results.json'), out],
                           capture_output=True, text=True)
        ok(p.returncode == 0 and os.path.exists(out), 'performance.py exits 0 and writes the page',
           p.stderr)
        md = open(out).read() if os.path.exists(out) else ''

        ok('### natural, 128 MiB' in md and '### bible, 128 MiB' in md
           and '### highcard, 256 MiB' in md, 'every corpus has its section',
           re.findall(r'^###.*', md, re.M))

        def expect(corpus, nbytes, reps, base_reps):
            walls = [r[0] for r in reps]
            med = median(walls)
            return {'median': '%.3f' % med, 'range': '%.3f–%.3f' % (min(walls), max(walls)),
                    'mb_s': '%.0f' % (nbytes / med / 1e6),
                    'x_wc': '%.2f' % (median([r[0] for r in base_reps]) / med),
                    'rss': '%.0f' % (max(r[1] for r in reps) / 1024)}

        # cells: program, np, options, runs, median, min-max, MB/s, x wc, speedup, eff, RSS
        nat = table_rows(md, 'natural')
        want = [expect('natural', 128 * M, runs[i][5], runs[0][5]) for i in range(3)]
        got = [{'median': r[4], 'range': r[5], 'mb_s': r[6], 'x_wc': r[7], 'rss': r[10]}
               for r in nat]
        ok(got == want, 'natural: median, min-max, MB/s, x wc -w and peak RSS per rank', (got, want))
        t1, t2 = median([r[0] for r in runs[1][5]]), median([r[0] for r in runs[2][5]])
        ok(len(nat) == 3 and nat[0][0] == '`LC_ALL=C wc -w`' and nat[0][8] == ''
           and nat[1][1:3] == ['1', 'default'] and nat[1][8] == '1.00'
           and nat[2][8] == '%.2f' % (t1 / t2) and nat[2][9] == '%.2f' % (t1 / t2 / 2),
           'natural: the baseline named with its locale, speedup and efficiency of np 2', nat)
        bib = table_rows(md, 'bible')
        ok(len(bib) == 2 and bib[1][2] == '--split=space' and bib[1][7] == '%.2f' % (0.75 / 0.5)
           and bib[1][10] == '20', 'bible: x wc -w = 0.75 / 0.5, RSS the largest run',
           bib)
        hc = table_rows(md, 'highcard')
        ok(len(hc) == 3 and hc[1][7] == '0.25' and hc[1][10] == '3072'
           and hc[2][0] == '`sort\\|uniq -c`' and hc[2][7] == '0.10' and hc[2][8] == '',
           'highcard: mpiwc slower than wc -w (0.25), sort|uniq -c escaped, 0.10, no speedup', hc)

        conf = md[md.find('## Configuration'):]
        ok(all(s in conf for s in ['2026-12-05T10:11:12Z', 'abc1234-dirty', 'Made-up CPU 9000',
                                   'nproc 2', '`SIZE=128M`', '`REPEAT=3`', '`RANKS=1 2`',
                                   'shared 2-core VM, others compiling']),
           'the configuration: date, commit, CPU, nproc, SIZE, REPEAT, RANKS, the note', conf)
        ok('env LC_ALL=C wc -w bench/cache/x.txt\nmpirun -q -np 2 build-bench/mpiwc' in conf,
           'the exact commands, one a line', conf)
        ok('(../results/speedup.png)' in md and 'throughput.png' not in md
           and 'phases.png' not in md, 'the plot present is linked relative to the page, no other',
           re.findall(r'!\[.*', md))
        ok('wc (GNU coreutils) 9.1' in md and 'Do not edit it by hand' in md
           and '## How to read the tables' in md and '$' not in md.replace('$(', ''),
           'the template\'s text kept, every placeholder filled', md[:400])
    print('1..%d' % N)
    return 1 if FAILED else 0


if __name__ == '__main__':
    sys.exit(main())
