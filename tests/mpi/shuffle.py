#!/usr/bin/env python3
"""--shuffle=flat|node and --ranks-per-host, against reference.py.

usage: shuffle.py MPIWC

Every table is compared byte for byte with tests/reference.py's; a run must
exit 0 and print nothing on stderr. The input is the samples directory and
a file of some 20,000 distinct words, written with a fixed seed. Cases:
  - np 2, 3, 5 and 7 with --shuffle=node and --ranks-per-host 1, 2 or 3
    (uneven hosts: 2+1, 2+2+1, 3+3+1, ...), and at np 3 and 7 with
    --shuffle=flat: the report names the shuffle that ran and its hosts;
  - auto: node at --ranks-per-host=2 on 4 ranks, flat on one real host and
    with one rank a host;
  - --shuffle-buffer=64 and --memory-limit=64K through hosts: many rounds,
    early rounds and spilled runs, the same table; --output-dir part files
    whose rows are the table;
  - np 32 with --ranks-per-host 1, 3 and 8, and np 64 with 3 and 8
    (oversubscribed) through hosts, and flat at 8 a host: the same table;
    through hosts fewer bytes and messages cross between hosts than flat,
    and at most one message goes from a host to another a round;
  - --shuffle=tree and --ranks-per-host=0 at np 2: exit 2, one line naming
    the option, no table.
"""
import json
import os
import random
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mpitest import Tap, mpirun, reference, run  # noqa: E402

SAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                       'samples')


def vocabulary(path):
    rng = random.Random(22)
    letters = 'abcdefghijklmnopqrstuvwxyz'
    words = [''.join(rng.choice(letters) for _ in range(rng.randint(1, 14))) for _ in range(20000)]
    with open(path, 'w') as f:
        for i in range(60000):
            # every word once, then a skewed tail of repeats
            w = words[i] if i < len(words) else words[int(rng.paretovariate(1.2)) % len(words)]
            f.write(w + (' ' if i % 12 else '\n'))


def counter(rep, name):
    return rep['counters'][name]


def main():
    mpiwc = os.path.abspath(sys.argv[1])
    tap = Tap()
    work = tempfile.mkdtemp(prefix='mpiwc-shuffle-')
    try:
        vocab = os.path.join(work, 'vocab.txt')
        vocabulary(vocab)
        paths = [SAMPLES, vocab]
        want = reference([], paths)

        def mpiwc_run(np, args, name, timeout=120):
            out, rep = os.path.join(work, 'out.tsv'), os.path.join(work, 'rep.json')
            for p in (out, rep):
                if os.path.exists(p):
                    os.remove(p)
            r = run(mpirun(np, timeout) + [mpiwc, '-o', out, '--report=' + rep] + args + paths)
            got = open(out, 'rb').read() if os.path.exists(out) else b''
            ok = tap.ok(r.returncode == 0 and not r.stderr and got == want,
                        '%s: np %d %s = reference' % (name, np, ' '.join(args)),
                        'exit %d\n%s' % (r.returncode, r.stderr.decode(errors='replace')))
            return json.load(open(rep)) if ok else None

        for np, ks in ((2, (1, 2)), (3, (2, 3)), (5, (2, 3)), (7, (1, 2, 3))):
            for k in ks:
                rep = mpiwc_run(np, ['--shuffle=node', '--ranks-per-host=%d' % k], 'node')
                if rep:
                    hosts = (np + k - 1) // k
                    tap.ok(rep['shuffle'] == 'node' and rep['shuffle_hosts'] == hosts,
                           'node: np %d, %d a host: the report says node over %d hosts'
                           % (np, k, hosts), '%s %s' % (rep['shuffle'], rep['shuffle_hosts']))
            rep = mpiwc_run(np, ['--shuffle=flat', '--ranks-per-host=2'], 'flat') \
                if np in (3, 7) else None
            if rep:
                tap.ok(rep['shuffle'] == 'flat' and rep['shuffle_hosts'] == 0,
                       'flat: np %d: the report says flat' % np, rep['shuffle'])

        for np, args, mode in ((4, ['--ranks-per-host=2'], 'node'), (4, [], 'flat'),
                               (3, ['--ranks-per-host=1'], 'flat')):
            rep = mpiwc_run(np, args, 'auto')
            if rep:
                tap.ok(rep['shuffle'] == mode, 'auto: np %d %s is %s' % (np, ' '.join(args), mode),
                       rep['shuffle'])

        small = ['--shuffle=node', '--shuffle-buffer=64', '--memory-limit=64K']
        for np, k in ((5, 2), (7, 3)):
            rep = mpiwc_run(np, small + ['--ranks-per-host=%d' % k], 'bounded')
            if rep:
                tap.ok(counter(rep, 'shuffle_rounds')['min'] > 10 and
                       counter(rep, 'early_rounds')['max'] > 0 and
                       counter(rep, 'spill_runs')['sum'] > 0,
                       'bounded: np %d: many rounds, early rounds and spilled runs' % np,
                       json.dumps({c: counter(rep, c) for c in
                                   ('shuffle_rounds', 'early_rounds', 'spill_runs')}))
        parts = os.path.join(work, 'parts')
        r = run(mpirun(5) + [mpiwc, '--shuffle=node', '--ranks-per-host=2', '--sort=word',
                             '--output-dir', parts] + paths)
        rows = sorted(line for name in sorted(os.listdir(parts)) if name.startswith('part-')
                      for line in open(os.path.join(parts, name), 'rb')) \
            if r.returncode == 0 else []
        tap.ok(r.returncode == 0 and rows == sorted(want.splitlines(keepends=True)),
               'node: --output-dir part files hold the table\'s rows',
               r.stderr.decode(errors='replace'))

        for np, k, modes in ((32, 1, ('node',)), (32, 3, ('node',)), (32, 8, ('flat', 'node')),
                             (64, 3, ('node',)), (64, 8, ('flat', 'node'))):
            sent = {}
            for mode in modes:
                rep = mpiwc_run(np, ['--shuffle=' + mode, '--ranks-per-host=%d' % k], mode,
                                timeout=300)
                if rep:
                    sent[mode] = (counter(rep, 'internode_bytes')['sum'],
                                  counter(rep, 'internode_messages')['sum'],
                                  counter(rep, 'shuffle_rounds')['max'])
            if len(sent) < 2:
                continue
            hosts = (np + k - 1) // k
            (fb, fm, _), (nb, nm, rounds) = sent['flat'], sent['node']
            print('# np %d, %d a host: inter-host bytes %d flat, %d node (%.2fx); '
                  'messages %d flat, %d node' % (np, k, fb, nb, nb / fb, fm, nm))
            tap.ok(nb < fb and nm < fm and nm <= rounds * hosts * (hosts - 1),
                   'np %d, %d a host: node sends fewer bytes and messages between hosts, '
                   'at most one per pair of hosts a round' % (np, k),
                   'bytes %d/%d messages %d/%d rounds %d' % (nb, fb, nm, fm, rounds))

        for bad, option in (('--shuffle=tree', '--shuffle'), ('--ranks-per-host=0',
                                                               '--ranks-per-host')):
            out = os.path.join(work, 'bad.tsv')
            r = run(mpirun(2) + [mpiwc, '-o', out, bad] + paths)
            lines = r.stderr.decode(errors='replace').splitlines()
            tap.ok(r.returncode == 2 and lines and option in lines[0] and
                   not os.path.exists(out),
                   '%s: exit 2, one line naming %s, no table' % (bad, option),
                   'exit %d\n%s' % (r.returncode, '\n'.join(lines)))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return tap.done()


if __name__ == '__main__':
    sys.exit(main())
