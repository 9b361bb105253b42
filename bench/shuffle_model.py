#!/usr/bin/env python3
"""shuffle_model.py - flat against node shuffle, measured here and modelled
to thousands of ranks.

    python3 bench/shuffle_model.py OUT_DIR REPORT...

Each REPORT is the --report JSON of one run over the same corpus, with
--shuffle=flat or node and --ranks-per-host=K (K is read from its argv; 1
without). From the flat runs' ranks it fits Heaps' law, the distinct words
D(n) = k * n^beta of a rank that read n words (least squares in log-log,
every rank of every flat run, and the whole corpus's vocabulary at n = all
words), and the record bytes of a word (shuffle_sent over the words a rank
sent to other ranks). Then, for P ranks on hosts of L ranks (H = P / L
hosts), a rank reading n words and a corpus of P * n words:

  flat  inter-host bytes    P * D(n) * rec * (P - L) / P
        inter-host messages P * (P - L)               (one to each rank
                                                       of the other hosts)
  node  inter-host bytes    H * Dh * rec * (P - L) / P, Dh = D(L * n): a
                            host's ranks read L * n words, combined
        inter-host messages H * (H - 1)

with D capped by D(P * n), the corpus's vocabulary. A round moves at most
--shuffle-buffer (64 MiB) a rank, so a shuffle of B bytes a rank takes
ceil(B / 64 MiB) rounds; the messages above are those of each round.

It writes OUT_DIR/shuffle-model.md (the fit; each measured run beside the
model's numbers for it; the predictions at 1,000 and 10,000 ranks with 64
and 128 ranks a host, each rank reading 64 MiB), OUT_DIR/shuffle-model.csv
(the curves), and OUT_DIR/shuffle-model.gp, a gnuplot script that draws
OUT_DIR/shuffle-model.png from the CSV (inter-host bytes and messages per
round against ranks, flat and node, with the measured runs). Standard
library only.
"""

import json
import math
import os
import sys

ROUND_CAP = 64 << 20  # --shuffle-buffer's default
PREDICT_RANKS = (1000, 10000)
PREDICT_HOST = (64, 128)
PREDICT_BYTES_PER_RANK = 64 << 20


def ranks_per_host(argv):
    for i, a in enumerate(argv):
        if a.startswith('--ranks-per-host='):
            return int(a.split('=', 1)[1])
        if a == '--ranks-per-host' and i + 1 < len(argv):
            return int(argv[i + 1])
    return 1


def load(path):
    r = json.load(open(path))
    c = r['counters']
    return {
        'path': path,
        'mode': r['shuffle'],
        'ranks': r['ranks'],
        'per_host': ranks_per_host(r['argv']),
        'bytes': c['bytes']['sum'],
        'words': c['words']['sum'],
        'vocabulary': c['owned_distinct']['sum'],
        'local_distinct': c['local_distinct']['ranks'],
        'words_ranks': c['words']['ranks'],
        'sent': c['shuffle_sent']['sum'],
        'internode_bytes': c['internode_bytes']['sum'],
        'internode_messages': c['internode_messages']['sum'],
        'rounds': c['shuffle_rounds']['max'],
    }


def fit(runs):
    """Heaps' law (k, beta) and the record bytes of a word, from the flat runs."""
    xs, ys = [], []
    rec_bytes, rec_words = 0, 0.0
    for r in runs:
        if r['mode'] != 'flat':
            continue
        p = r['ranks']
        for n, d in zip(r['words_ranks'], r['local_distinct']):
            if n > 0 and d > 0:
                xs.append(math.log(n))
                ys.append(math.log(d))
        rec_bytes += r['sent']
        rec_words += sum(r['local_distinct']) * (p - 1) / p
        xs.append(math.log(r['words']))
        ys.append(math.log(r['vocabulary']))
    if len(xs) < 2 or rec_words == 0:
        raise SystemExit('shuffle_model: no flat run with words to fit')
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    beta = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx if sxx else 1.0
    k = math.exp(my - beta * mx)
    return k, beta, rec_bytes / rec_words


def model(k, beta, rec, p, per_host, n):
    """Inter-host bytes (all ranks) and messages per round, and rounds, flat and node."""
    def distinct(words):
        return min(k * words ** beta, k * (p * n) ** beta)

    per_host = min(per_host, p)
    hosts = math.ceil(p / per_host)
    away = (p - per_host) / p
    flat_bytes = p * distinct(n) * rec * away
    node_bytes = hosts * distinct(per_host * n) * rec * away
    flat_rounds = max(1, math.ceil(distinct(n) * rec / ROUND_CAP))
    node_rounds = flat_rounds  # a round takes the same bytes of a rank's table
    return {
        'flat_bytes': flat_bytes / flat_rounds,
        'node_bytes': node_bytes / node_rounds,
        'flat_messages': p * (p - per_host),
        'node_messages': hosts * (hosts - 1),
        'rounds': flat_rounds,
    }


def human(x):
    for unit in ('', 'K', 'M', 'G', 'T', 'P'):
        if abs(x) < 1000:
            return '%.3g%s' % (x, unit)
        x /= 1000
    return '%.3gE' % x


def main(argv):
    if len(argv) < 2:
        sys.stderr.write(__doc__)
        return 2
    out_dir, paths = argv[0], argv[1:]
    runs = [load(p) for p in paths]
    k, beta, rec = fit(runs)
    words_per_byte = sum(r['words'] for r in runs) / max(1, sum(r['bytes'] for r in runs))
    os.makedirs(out_dir, exist_ok=True)

    lines = ['# The node shuffle: measured and modelled', '',
             'Fit over the flat runs: D(n) = %.3g * n^%.3f distinct words for n words read; '
             '%.1f record bytes a word; %.3f words a byte.' % (k, beta, rec, words_per_byte), '',
             '## Measured runs beside the model', '',
             '| ranks | a host | shuffle | inter-host bytes | model | inter-host messages | model |',
             '|---|---|---|---|---|---|---|']
    measured = []
    pairs = {}
    for r in sorted(runs, key=lambda r: (r['ranks'], r['per_host'], r['mode'])):
        n = r['words'] / r['ranks']
        m = model(k, beta, rec, r['ranks'], r['per_host'], n)
        mb = m[r['mode'] + '_bytes'] * m['rounds']
        mm = m[r['mode'] + '_messages'] * r['rounds']
        lines.append('| %d | %d | %s | %s | %s (%+.0f%%) | %d | %d |' % (
            r['ranks'], r['per_host'], r['mode'], human(r['internode_bytes']), human(mb),
            100 * (mb / r['internode_bytes'] - 1) if r['internode_bytes'] else 0,
            r['internode_messages'], mm))
        measured.append((r['ranks'], r['per_host'], r['mode'], r['internode_bytes'],
                         r['internode_messages'], mb))
        pairs.setdefault((r['ranks'], r['per_host']), {})[r['mode']] = r
    lines += ['', '| ranks | a host | node/flat bytes | node/flat messages |', '|---|---|---|---|']
    for (p, h), modes in sorted(pairs.items()):
        if 'flat' in modes and 'node' in modes and modes['flat']['internode_bytes']:
            f, nd = modes['flat'], modes['node']
            lines.append('| %d | %d | %.2fx | %d / %d (1/%.0f) |' % (
                p, h, nd['internode_bytes'] / f['internode_bytes'], nd['internode_messages'],
                f['internode_messages'],
                f['internode_messages'] / max(1, nd['internode_messages'])))

    n = PREDICT_BYTES_PER_RANK * words_per_byte
    lines += ['', '## Predicted: each rank reads %d MiB of the same text'
              % (PREDICT_BYTES_PER_RANK >> 20), '',
        '| ranks | a host | rounds | flat bytes/round | node bytes/round | node/flat | '
        'flat messages/round | node messages/round |', '|---|---|---|---|---|---|---|---|']
    for p in PREDICT_RANKS:
        for h in PREDICT_HOST:
            m = model(k, beta, rec, p, h, n)
            lines.append('| %d | %d | %d | %sB | %sB | %.3fx | %s | %s |' % (
                p, h, m['rounds'], human(m['flat_bytes']), human(m['node_bytes']),
                m['node_bytes'] / m['flat_bytes'], human(m['flat_messages']),
                human(m['node_messages'])))
    open(os.path.join(out_dir, 'shuffle-model.md'), 'w').write('\n'.join(lines) + '\n')

    # The curves: the model at the measured runs' layout and input a rank
    # (check), the runs (measured), and the predictions (predict).
    check_host = max(set(r['per_host'] for r in runs), key=[r['per_host'] for r in runs].count)
    check_n = sum(r['words'] / r['ranks'] for r in runs) / len(runs)
    with open(os.path.join(out_dir, 'shuffle-model.csv'), 'w') as f:
        f.write('kind,ranks,per_host,flat_bytes,node_bytes,flat_messages,node_messages\n')
        for p in sorted(set(r['ranks'] for r in runs if r['per_host'] == check_host)):
            m = model(k, beta, rec, p, check_host, check_n)
            f.write('check,%d,%d,%.6g,%.6g,%d,%d\n' % (p, check_host, m['flat_bytes'],
                                                      m['node_bytes'], m['flat_messages'],
                                                      m['node_messages']))
        for (p, h), modes in sorted(pairs.items()):
            if 'flat' in modes and 'node' in modes and h == check_host:
                fl, nd = modes['flat'], modes['node']
                f.write('measured,%d,%d,%d,%d,%d,%d\n' % (
                    p, h, fl['internode_bytes'] / max(1, fl['rounds']),
                    nd['internode_bytes'] / max(1, nd['rounds']),
                    fl['internode_messages'] / max(1, fl['rounds']),
                    nd['internode_messages'] / max(1, nd['rounds'])))
        for h in PREDICT_HOST:
            p = h
            while p <= 16384:
                m = model(k, beta, rec, p, h, n)
                f.write('predict,%d,%d,%.6g,%.6g,%d,%d\n' % (p, h, m['flat_bytes'],
                                                            m['node_bytes'], m['flat_messages'],
                                                            m['node_messages']))
                p *= 2
    csv = os.path.join(out_dir, 'shuffle-model.csv')

    def curve(kind, h, col):
        return '"%s" using (strcol(1) eq "%s" && $3 == %d ? $2 : 1/0):%d' % (csv, kind, h, col)

    with open(os.path.join(out_dir, 'shuffle-model.gp'), 'w') as f:
        f.write('''set terminal pngcairo size 1500,450 font ",10"
set output "%(png)s"
set datafile separator ","
set key top left
set logscale xy
set xlabel "ranks"
set multiplot layout 1,3
set title "measured here: inter-host bytes a round\\n(%(check_host)d ranks a host, %(check_mb)s of text a rank)"
plot %(check_flat)s with lines dt 2 title "flat, model", \\
     %(check_node)s with lines title "node, model", \\
     %(meas_flat)s with points pt 6 title "flat, measured", \\
     %(meas_node)s with points pt 7 title "node, measured"
set title "predicted: inter-host bytes a round\\n(%(mb)s of text a rank)"
plot %(p64_flat)s with lines dt 2 title "flat, 64 a host", \\
     %(p64_node)s with lines title "node, 64 a host", \\
     %(p128_flat)s with lines dt 2 title "flat, 128 a host", \\
     %(p128_node)s with lines title "node, 128 a host"
set title "predicted: inter-host messages a round"
plot %(m64_flat)s with lines dt 2 title "flat, 64 a host", \\
     %(m64_node)s with lines title "node, 64 a host", \\
     %(m128_flat)s with lines dt 2 title "flat, 128 a host", \\
     %(m128_node)s with lines title "node, 128 a host"
unset multiplot
''' % {
            'png': os.path.join(out_dir, 'shuffle-model.png'),
            'check_host': check_host,
            'check_mb': human(check_n / words_per_byte) + 'B',
            'mb': human(PREDICT_BYTES_PER_RANK) + 'B',
            'check_flat': curve('check', check_host, 4),
            'check_node': curve('check', check_host, 5),
            'meas_flat': curve('measured', check_host, 4),
            'meas_node': curve('measured', check_host, 5),
            'p64_flat': curve('predict', 64, 4), 'p64_node': curve('predict', 64, 5),
            'p128_flat': curve('predict', 128, 4), 'p128_node': curve('predict', 128, 5),
            'm64_flat': curve('predict', 64, 6), 'm64_node': curve('predict', 64, 7),
            'm128_flat': curve('predict', 128, 6), 'm128_node': curve('predict', 128, 7),
        })
    print('\n'.join(lines))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
