#!/usr/bin/env python3
"""bench/performance.py on made-up runs: raw walls through bench/summarize.py
into results.csv and results.json, then docs/PERFORMANCE.md. Checks that every
corpus has its table, that the medians, MB/s, ratios to LC_ALL=C wc -w (and
to LC_ALL=C.UTF-8 wc -w where a corpus has it, a column only there),
speedups and peak RSS per rank shown are the ones worked out here from the
raw walls, that the configuration (date, commit, CPU, nproc, SIZE, REPEAT,
the note) and the exact commands are shown, that only the plots present are
linked, relative to the page, and that the template's text is kept.
The section "Vocabularies bigger than memory" (issue 20): the highcard and
huge rows with MB/s, words/s, ratio to wc -w, peak RSS per rank, bytes per
distinct word, spill runs and MB spilled, the budget the default came to,
the spilling option set against the same np in memory and the run's
byte-identity verdict; and from a results.csv of before issue 20 (without
those columns) the columns it has, the others named as not measured in this
run.

usage: performance.py SUMMARIZE_PY PERFORMANCE_PY

The expected values are worked out here, not by either script. Output is TAP.
"""
import csv
import json
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                'mpi'))
from mpitest import Tap  # noqa: E402  (the TAP output every test script shares)

TAP = Tap()
ok = TAP.ok

NOT = 'not measured in this run'


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


def section(md, heading):
    """The text from the ## heading to the next ## heading."""
    start = md.find('## ' + heading)
    if start < 0:
        return ''
    end = md.find('\n## ', start + 1)
    return md[start:end if end >= 0 else len(md)]


def big_rows(md):
    """The cells of the data rows of the table of 'Vocabularies bigger than memory'."""
    lines = [line for line in section(md, 'Vocabularies bigger than memory').splitlines()
             if line.startswith('|') and not line.startswith('|---')]
    return [[c.strip() for c in re.split(r'(?<!\\)\|', line)[1:-1]] for line in lines]


def report(path, counters):
    with open(path, 'w') as f:
        json.dump({'counters': {k: {'sum': sum(v), 'min': min(v), 'max': max(v), 'ranks': v}
                                for k, v in counters.items()}}, f)


def spill_counters(words, distinct, runs, written, read, limit):
    """Per-rank lists of the --report counters; words and distinct split evenly."""
    n = len(runs)
    return {'words': [words // n] * n, 'owned_distinct': [distinct // n] * n,
            'spill_runs': runs, 'spill_written': written, 'spill_read': read,
            'spill_merge_us': [1000] * n, 'memory_limit': [limit] * n}


def render(performance, res, meta_path, out):
    p = subprocess.run([sys.executable, performance, os.path.join(res, 'results.csv'),
                        meta_path, out], capture_output=True, text=True)
    md = open(out).read() if p.returncode == 0 and os.path.exists(out) else ''
    return p, md


def main():
    summarize, performance = sys.argv[1], sys.argv[2]
    M = 2**20
    # (corpus, bytes, program, ranks, options, [(wall, rss_kib)])
    runs = [('natural', 128 * M, 'wc -w', 1, 'default', [(1.0, 2000), (1.2, 2100), (0.9, 1900)]),
            ('natural', 128 * M, 'wc -w C.UTF-8', 1, 'default', [(1.5, 2000), (1.4, 2000), (1.6, 2000)]),
            ('natural', 128 * M, 'mpiwc', 1, 'default', [(0.30, 16000), (0.25, 17000), (0.40, 15000)]),
            ('natural', 128 * M, 'mpiwc', 2, 'default', [(0.2, 9000), (0.16, 9500), (0.18, 9100)]),
            ('bible', 128 * M, 'wc -w', 1, 'default', [(0.8, 2000), (0.7, 2000), (0.75, 2000)]),
            ('bible', 128 * M, 'mpiwc', 1, '--split=space', [(0.5, 20480), (0.4, 10240), (0.6, 1024)]),
            ('highcard', 256 * M, 'wc -w', 1, 'default', [(2.0, 2000)]),
            ('highcard', 256 * M, 'mpiwc', 1, 'default', [(8.0, 3 * 2**20)]),
            ('highcard', 256 * M, 'mpiwc', 1, '--memory-limit=256M', [(12.0, 300 * 1024)]),
            ('highcard', 256 * M, 'sort|uniq -c', 1, '--split=space --case=keep', [(20.0, 8192)]),
            ('huge', 4 * 2**30, 'wc -w', 1, 'default', [(20.0, 2000)]),
            ('huge', 4 * 2**30, 'mpiwc', 1, 'default', [(400.0, 12 * 2**20)]),
            ('huge', 4 * 2**30, 'mpiwc', 2, 'default', [(300.0, 7 * 2**20)])]
    # --report counters of the highcard and huge mpiwc runs (per rank)
    auto1, auto2 = 12638078976, 6319039488
    counters = {
        ('highcard', 1, 'default'): spill_counters(30000000, 25000000, [0], [0], [0], auto1),
        ('highcard', 1, '--memory-limit=256M'): spill_counters(
            30000000, 25000000, [40], [3200000000], [3200000000], 256 * M),
        ('huge', 1, 'default'): spill_counters(450000000, 140000000, [0], [0], [0], auto1),
        ('huge', 2, 'default'): spill_counters(450000000, 140000000, [6, 6],
                                               [4400000000, 4600000000],
                                               [4500000000, 4500000000], auto2)}
    meta = {'size': '128M', 'repeat': '3', 'ranks': '1 2', 'date': '2026-12-05T10:11:12Z',
            'commit': 'abc1234-dirty', 'cpu': 'Made-up CPU 9000', 'nproc': '2', 'host': 'vm1',
            'wc': 'wc (GNU coreutils) 9.1', 'note': 'shared 2-core VM, others compiling',
            'commands': 'env LC_ALL=C wc -w bench/cache/x.txt\nmpirun -q -np 2 build-bench/mpiwc '
                        '-o /dev/null x.txt',
            'highcard_identical': 'byte-identical at np=1: default (0 spill runs), '
                                  '--memory-limit=256M (40 spill runs); sha256 0123abcd',
            'huge': '1', 'huge_size': '4G', 'huge_status': 'run', 'spill_dir': '/tmp'}
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
                    rep = ''
                    if (corpus, ranks, options) in counters and program == 'mpiwc':
                        rep = os.path.join(tmp, '%s-%d-%s-%d.json' % (corpus, ranks,
                                                                     options.strip('-'), k))
                        report(rep, counters[(corpus, ranks, options)])
                    w.writerow([corpus, nbytes, 1, program, ranks, options, k, wall, rss, rep])
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

        # cells: program, np, options, runs, median, min-max, MB/s, x wc (C),
        # x wc (C.UTF-8), speedup, eff, RSS
        nat = table_rows(md, 'natural')
        want = [expect('natural', 128 * M, runs[i][5], runs[0][5]) for i in range(4)]
        got = [{'median': r[4], 'range': r[5], 'mb_s': r[6], 'x_wc': r[7], 'rss': r[11]}
               for r in nat]
        ok(got == want, 'natural: median, min-max, MB/s, x wc -w and peak RSS per rank', (got, want))
        t1, t2 = median([r[0] for r in runs[2][5]]), median([r[0] for r in runs[3][5]])
        ok(len(nat) == 4 and nat[0][0] == '`LC_ALL=C wc -w`' and nat[0][9] == ''
           and nat[1][0] == '`LC_ALL=C.UTF-8 wc -w`'
           and nat[2][1:3] == ['1', 'default'] and nat[2][9] == '1.00'
           and nat[3][9] == '%.2f' % (t1 / t2) and nat[3][10] == '%.2f' % (t1 / t2 / 2),
           'natural: each baseline named with its locale, speedup and efficiency of np 2', nat)
        ok(nat[2][8] == '%.2f' % (1.5 / t1) and nat[3][8] == '%.2f' % (1.5 / t2)
           and nat[0][8] == '%.2f' % (1.5 / 1.0),
           'natural: x wc -w under C.UTF-8 = its median 1.5 / this median', nat)
        bib = table_rows(md, 'bible')
        ok(len(bib) == 2 and bib[1][2] == '--split=space' and bib[1][7] == '%.2f' % (0.75 / 0.5)
           and bib[1][10] == '20', 'bible: x wc -w = 0.75 / 0.5, RSS the largest run',
           bib)
        hc = table_rows(md, 'highcard')
        ok(len(hc) == 4 and hc[1][7] == '0.25' and hc[1][10] == '3072'
           and hc[2][2] == '--memory-limit=256M' and hc[2][10] == '300'
           and hc[3][0] == '`sort\\|uniq -c`' and hc[3][7] == '0.10' and hc[3][8] == '',
           'highcard: mpiwc slower than wc -w (0.25), sort|uniq -c escaped, 0.10, no speedup', hc)

        # Vocabularies bigger than memory, worked out by hand:
        # cells: corpus, program, np, options, MB/s, M words/s, x wc -w, peak RSS/rank MiB,
        # bytes per distinct word, spill runs, spilled MB written / read
        big = big_rows(md)
        hc_name, huge_name = 'highcard 256 MiB, 25.0M distinct', 'huge 4.0 GiB, 140.0M distinct'
        want = [
            ['corpus', 'program', 'np', 'options', 'MB/s', 'M words/s', '× wc -w (C)',
             '× wc -w (C.UTF-8)', 'peak RSS/rank MiB', 'bytes per distinct word', 'spill runs',
             'spilled MB written / read'],
            # 2^28 bytes / 2 s; the baselines have no word count of their own; no C.UTF-8
            # wc -w in these corpora's rounds
            [hc_name, '`LC_ALL=C wc -w`', '', '', '134', '', '1.00', '', '2', '', '', ''],
            # 2^28 / 8 s = 33.6 MB/s, 30e6 words / 8 s, 3 GiB / 25e6 distinct = 128.8
            [hc_name, 'mpiwc', '1', 'default (limit 11.8 GiB/rank)', '34', '3.75', '0.25', '',
             '3072', '129', '0', '0 / 0'],
            # 2^28 / 12 s, 30e6 / 12 s, 300 MiB / 25e6 = 12.6, 2 / 12
            [hc_name, 'mpiwc', '1', '--memory-limit=256M', '22', '2.50', '0.17', '', '300', '13',
             '40', '3200 / 3200'],
            [hc_name, '`sort\\|uniq -c`', '', '', '13', '', '0.10', '', '8', '', '', ''],
            [huge_name, '`LC_ALL=C wc -w`', '', '', '215', '', '1.00', '', '2', '', '', ''],
            # 2^32 / 400 s = 10.7 MB/s, 450e6 / 400 s, 12 GiB / 140e6 = 92.0
            [huge_name, 'mpiwc', '1', 'default (limit 11.8 GiB/rank)', '11', '1.12', '0.05', '',
             '12288', '92', '0', '0 / 0'],
            # 2^32 / 300 s = 14.3, 450e6 / 300 s, 7 GiB / (140e6 / 2) = 107.4, 12 runs,
            # 9000 MB written and read
            [huge_name, 'mpiwc', '2', 'default (limit 5.9 GiB/rank)', '14', '1.50', '0.07', '',
             '7168', '107', '12', '9000 / 9000']]
        ok(big == want, 'vocabularies bigger than memory: every highcard and huge row, '
           'worked out by hand', '\n#   '.join(map(str, big)))
        bv = section(md, 'Vocabularies bigger than memory')
        ok('highcard 256 MiB, np 1: `--memory-limit=256M` at 0.67 × the throughput in memory; '
           'peak RSS/rank 300 MiB against 3072 MiB.' in bv
           and 'byte-identical at np=1: default (0 spill runs), --memory-limit=256M '
               '(40 spill runs); sha256 0123abcd' in bv
           and NOT not in bv.lower()
           and 'spill files (mpiwc\'s default `--spill-dir`): `/tmp`' in md,
           'the spilling run against np 1 in memory (8 s / 12 s), the identity verdict, '
           'the spill directory', bv[-700:])

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
        # results.csv from before issue 20: the first 31 columns, a meta without the
        # new keys; then one with the huge corpus skipped.
        old = os.path.join(tmp, 'old')
        os.makedirs(old)
        with open(os.path.join(res, 'results.csv'), newline='') as f:
            table = list(csv.reader(f))
        with open(os.path.join(old, 'results.csv'), 'w', newline='') as f:
            csv.writer(f, lineterminator='\n').writerows(
                [r[:31] for r in table if r[0] != 'huge'])
        old_meta = os.path.join(old, 'results.json')
        with open(old_meta, 'w') as f:
            json.dump({'meta': {k: v for k, v in meta.items()
                                if not k.startswith(('huge', 'highcard_identical', 'spill'))}}, f)
        p, md = render(performance, old, old_meta, os.path.join(docs, 'OLD.md'))
        big = big_rows(md)
        ok(p.returncode == 0 and big[:3] == [
            ['corpus', 'program', 'np', 'options', 'MB/s', '× wc -w (C)', 'peak RSS/rank MiB'],
            ['highcard 256 MiB, 25.0M distinct', '`LC_ALL=C wc -w`', '', '', '134', '1.00', '2'],
            ['highcard 256 MiB, 25.0M distinct', 'mpiwc', '1', 'default', '34', '0.25',
             '3072']],
           'an older results.csv: the columns it has (distinct among them), no limit',
           (p.stderr, big))
        bv = section(md, 'Vocabularies bigger than memory')
        ok('Not measured in this run (its results.csv predates these columns): M words/s, '
           '× wc -w (C.UTF-8), bytes per distinct word, spill runs, spilled MB written / read.'
           in bv
           and 'Tables of the highcard option sets compared: ' + NOT + '.' in bv
           and 'The huge corpus (`HUGE=1`): ' + NOT + '.' in bv,
           'an older results.csv: the missing columns, the identity check and the huge corpus '
           'named as not measured in this run', bv[-600:])
        with open(old_meta, 'w') as f:
            json.dump({'meta': dict(meta, huge_status='skipped: bench/cache has 5 bytes free')}, f)
        p, md = render(performance, old, old_meta, os.path.join(docs, 'OLD.md'))
        ok(p.returncode == 0 and 'The huge corpus (`HUGE=1`): skipped: bench/cache has 5 bytes '
           'free.' in md, 'a skipped huge corpus: the reason from the meta', p.stderr)
    return TAP.done()


if __name__ == '__main__':
    sys.exit(main())
