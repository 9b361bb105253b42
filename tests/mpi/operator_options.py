#!/usr/bin/env python3
"""Operator options of mpiwc: --dry-run, --progress, --verbose, --quiet, --report.

usage: operator_options.py MPIWC

--dry-run: the JSON plan is checked against the split rule written out here
(total bytes of the files, rank r starts at r*(T//n) + min(r, T%n)), every
byte of every file is in exactly one range, the imbalance is max/mean, and
the text form has one header per rank and the total.
--progress=always without a terminal: plain lines "mpiwc: PHASE ...", no
carriage return, then the one-line summary; the table on stdout is unchanged.
--progress=auto under a pseudo-terminal (script(1)): the line is redrawn with
carriage returns. --progress=never and -q: nothing on stderr. -v: the plan
size and one line per phase.
--report's map_wait_us: with a gzip file (one rank reads it whole) and a tiny
file, the idle rank waits and the busy one hardly does; with
--memory-limit=0 nobody waits inside the map.
--report's counters per rank: each rank's bytes follow the plan's split rule
and add up to the sum, min and max.
--memory-limit=1M at np 3 on 300,000 words (about 210,000 distinct): every
rank runs the same early rounds, at least two, and the table is
tests/reference.py's; at 256M none run.
--report's steps (read, tokenize, pack, exchange, merge, gather, sort, write):
min <= avg <= max, summed over ranks they fit inside their phases, the rank
decoding the gzip file reads longest, --output-dir gathers nothing, and with
standard input only rank 0 reads; --stats prints a row per step.
-o onto what is not a regular file: a FIFO is written in place (it stays a
FIFO and its reader gets the table), a symbolic link keeps pointing to the
file that now holds the table, and /dev/null stays a character device (as
root, a rename over it would replace the device with a file).
"""
import gzip
import json
import os
import random
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import threading

from mpitest import REFERENCE, TIMEOUT, Tap, mpirun, run


def make_tree(root):
    rng = random.Random(7)
    sizes = [0, 1, 17, 4096, 100000, 3, 250000, 0, 64]
    paths = []
    for i, size in enumerate(sizes):
        d = os.path.join(root, 'sub%d' % (i % 3))
        os.makedirs(d, exist_ok=True)
        p = os.path.join(d, 'f%02d.txt' % i)
        words, length = [], 0  # length: sum(len(w) + 1 for w in words)
        while length < size:
            words.append(rng.choice(['alpha', 'Beta', 'gamma', 'x', 'delta42']))
            length += len(words[-1]) + 1
        data = (' '.join(words) + '\n').encode()[:size]
        with open(p, 'wb') as f:
            f.write(data)
        paths.append(p)
    return sorted(paths)


def boundary(total, n, r):
    q, rem = divmod(total, n)
    return r * q + min(r, rem)


def check_plan(tap, mpiwc, root, files, np):
    res = run(mpirun(np) + [mpiwc, '--dry-run', '--format=json', root])
    tap.ok(res.returncode == 0 and res.stderr == b'', 'np=%d --dry-run exits 0, quiet' % np,
           res.stderr.decode(errors='replace'))
    try:
        plan = json.loads(res.stdout)
    except ValueError as e:
        tap.ok(False, 'np=%d --dry-run prints JSON' % np, e)
        return
    sizes = {p: os.path.getsize(p) for p in files}
    total = sum(sizes.values())
    tap.ok(plan['ranks'] == np and plan['total_bytes'] == total and plan['files'] == len(files),
           'np=%d plan totals: %d ranks, %d bytes, %d files' % (np, np, total, len(files)),
           json.dumps({k: plan[k] for k in ('ranks', 'total_bytes', 'files')}))
    # Rank r covers the concatenation's bytes [boundary(r), boundary(r+1)).
    want_bytes = [boundary(total, np, r + 1) - boundary(total, np, r) for r in range(np)]
    got_bytes = [rp['bytes'] for rp in plan['rank_plans']]
    tap.ok(got_bytes == want_bytes, 'np=%d bytes per rank follow the split rule' % np,
           'want %s got %s' % (want_bytes, got_bytes))
    covered = {p: [] for p in files}
    for rp in plan['rank_plans']:
        for g in rp['ranges']:
            covered[g['path']].append((g['start'], g['end']))
    exact = all(sorted(covered[p]) == merge_cover(covered[p], sizes[p]) for p in files)
    tap.ok(exact, 'np=%d every byte of every file is in exactly one range' % np, covered)
    mean = total / np
    want_imb = max(want_bytes) / mean if mean else 1.0
    tap.ok(abs(plan['imbalance'] - want_imb) < 1e-5, 'np=%d imbalance is max/mean' % np,
           '%s vs %s' % (plan['imbalance'], want_imb))
    text = run(mpirun(np) + [mpiwc, '--dry-run', root])
    lines = text.stdout.decode().splitlines()
    tap.ok(text.returncode == 0 and sum(l.startswith('rank ') for l in lines) == np
           and lines[-1].startswith('total: %d bytes' % total),
           'np=%d --dry-run text: one header per rank and the total' % np, text.stdout.decode())


def merge_cover(ranges, size):
    """The ranges sorted, if they tile [0, size) exactly with non-empty pieces, else None."""
    rs = sorted(ranges)
    pos = 0
    for s, e in rs:
        if s != pos or e <= s:
            return None
        pos = e
    return rs if pos == size else (rs if size == 0 and not rs else None)


def check_output_targets(tap, mpiwc, tmp, root, table):
    """-o onto a FIFO, a symbolic link and /dev/null; table: the same run's stdout."""
    fifo = os.path.join(tmp, 'table.fifo')
    os.mkfifo(fifo)
    got = []
    reader = threading.Thread(target=lambda: got.append(open(fifo, 'rb').read()), daemon=True)
    reader.start()
    r = run(mpirun(2) + [mpiwc, '-o', fifo, root])
    reader.join(TIMEOUT)
    tap.ok(r.returncode == 0 and got == [table] and stat.S_ISFIFO(os.lstat(fifo).st_mode),
           '-o FIFO: written in place, the reader gets the table, still a FIFO',
           r.stderr + b' read %r' % [len(g) for g in got])

    real = os.path.join(tmp, 'real.tsv')
    link = os.path.join(tmp, 'link.tsv')
    with open(real, 'wb') as f:
        f.write(b'previous\n')
    os.symlink('real.tsv', link)
    r = run(mpirun(2) + [mpiwc, '-o', link, root])
    with open(real, 'rb') as f:
        content = f.read()
    tap.ok(r.returncode == 0 and os.path.islink(link) and content == table,
           '-o SYMLINK: the link stays, the file it points to holds the table', r.stderr)

    before = os.stat('/dev/null')
    r = run(mpirun(1) + [mpiwc, '-o', '/dev/null', root])
    after = os.lstat('/dev/null')
    intact = stat.S_ISCHR(after.st_mode) and after.st_rdev == before.st_rdev
    if not intact and os.getuid() == 0:  # put the device back for everything after this test
        os.unlink('/dev/null')
        os.mknod('/dev/null', 0o666 | stat.S_IFCHR, before.st_rdev)
        os.chmod('/dev/null', 0o666)
    tap.ok(r.returncode == 0 and intact, '-o /dev/null: still the character device', r.stderr)


def check_map_wait(tap, mpiwc, tmp):
    """--report's map_wait_us: a gzip file is read whole by one rank, so with a
    tiny second file the other rank waits for it at the end of the map."""
    rnd = random.Random(7)
    big = os.path.join(tmp, 'wait-big.txt.gz')
    with gzip.open(big, 'wb', compresslevel=1) as f:
        for _ in range(40):
            f.write(' '.join(rnd.choice(['alpha', 'beta', 'gamma', 'delta', 'w%d' % rnd.randrange(9999)])
                             for _ in range(100000)).encode() + b'\n')
    tiny = os.path.join(tmp, 'wait-tiny.txt')
    with open(tiny, 'w') as f:
        f.write('tiny file\n')
    for limit, waits in (([], True), (['--memory-limit=0'], False)):
        rep = os.path.join(tmp, 'wait.json')
        p = run(mpirun(2) + [mpiwc, '-o', os.devnull, '--report=' + rep] + limit + [big, tiny])
        try:
            with open(rep) as f:
                r = json.load(f)
            w, m = r['counters']['map_wait_us'], r['phases']['map']
        except (OSError, ValueError, KeyError) as e:
            tap.ok(False, 'map_wait_us %s' % limit, '%r %r' % (e, p.stderr))
            continue
        if waits:
            # The idle rank waits for the busy one, which waits for nobody.
            ok = (p.returncode == 0 and w['min'] < w['max'] and w['sum'] == w['min'] + w['max']
                  and w['max'] <= m['max_s'] * 1e6 + 1000)
        else:
            # Without rounds no rank waits inside the map; the phase's own
            # per-rank times show the imbalance instead.
            ok = p.returncode == 0 and w['sum'] == 0 and m['min_s'] < m['max_s']
        tap.ok(ok, 'map_wait_us with %s: %r, map %r' % (limit or 'the default memory limit', w, m),
               p.stderr)


def check_rank_counters(tap, mpiwc, tmp, root, files, np):
    """--report's counters per rank: each rank's input bytes follow the split
    rule of the plan, and each counter's ranks add up to its sum, min and max."""
    rep = os.path.join(tmp, 'ranks.json')
    p = run(mpirun(np) + [mpiwc, '-o', os.devnull, '--report=' + rep, root])
    try:
        with open(rep) as f:
            c = json.load(f)['counters']
    except (OSError, ValueError, KeyError) as e:
        tap.ok(False, 'np=%d counters per rank' % np, '%r %r' % (e, p.stderr))
        return
    total = sum(os.path.getsize(f) for f in files)
    want = [boundary(total, np, r + 1) - boundary(total, np, r) for r in range(np)]
    agree = all(len(v['ranks']) == np and sum(v['ranks']) == v['sum']
                and min(v['ranks']) == v['min'] and max(v['ranks']) == v['max']
                for v in c.values())
    tap.ok(p.returncode == 0 and c['bytes']['ranks'] == want and agree
           and c['shuffle_sent']['sum'] == c['shuffle_recv']['sum'] > 0
           and c['shuffle_sent']['ranks'] != [0] * np,
           'np=%d counters per rank: bytes follow the split rule, ranks add up to sum, min, max'
           % np, json.dumps(c))


def check_early_rounds(tap, mpiwc, tmp):
    """--memory-limit below what the local tables need: every rank runs the
    same early rounds, refilling its emptied table, and the table is still
    the reference's (tests/reference.py)."""
    rnd = random.Random(11)
    path = os.path.join(tmp, 'distinct.txt')
    with open(path, 'w') as f:
        for _ in range(60):
            f.write(' '.join('w%d' % rnd.randrange(400000) for _ in range(5000)) + '\n')
    ref = subprocess.run([sys.executable, REFERENCE, path], capture_output=True)
    rep = os.path.join(tmp, 'early.json')
    for limit, rounds in (('1M', True), ('256M', False)):
        p = run(mpirun(3) + [mpiwc, '--memory-limit=' + limit, '--buffer-size=16K',
                             '--report=' + rep, path])
        try:
            with open(rep) as f:
                early = json.load(f)['counters']['early_rounds']['ranks']
        except (OSError, ValueError, KeyError) as e:
            tap.ok(False, 'early rounds at --memory-limit=%s' % limit, '%r %r' % (e, p.stderr))
            continue
        same = len(set(early)) == 1 and (early[0] >= 2 if rounds else early[0] == 0)
        tap.ok(p.returncode == 0 and ref.returncode == 0 and p.stdout == ref.stdout and same,
               'np=3 --memory-limit=%s: %s early rounds on every rank, the reference table'
               % (limit, early[0] if early else '?'), p.stderr)


STEPS = ['read', 'tokenize', 'pack', 'exchange', 'merge', 'gather', 'sort', 'write']


def steps_of(tap, what, p, rep):
    """The report's phases and steps, or None after a failed test line."""
    try:
        with open(rep) as f:
            r = json.load(f)
        ph, st = r['phases'], r['steps']
    except (OSError, ValueError, KeyError) as e:
        tap.ok(False, 'steps: %s' % what, '%r %r' % (e, p.stderr))
        return None
    if p.returncode != 0 or list(st) != STEPS:
        tap.ok(False, 'steps: %s: exit 0, the steps in order' % what, '%r %r' % (list(st), p.stderr))
        return None
    return ph, st


def check_steps(tap, mpiwc, tmp):
    """--report's steps: each rank's seconds in read, tokenize, pack, ...,
    which lie inside the phases. The gzip file of check_map_wait keeps one
    rank decoding while the other reads a tiny file."""
    big = os.path.join(tmp, 'wait-big.txt.gz')
    tiny = os.path.join(tmp, 'wait-tiny.txt')
    rep = os.path.join(tmp, 'steps.json')
    p = run(mpirun(2) + [mpiwc, '-o', os.devnull, '--report=' + rep, big, tiny])
    got = steps_of(tap, 'two files', p, rep)
    if got:
        ph, st = got
        avg = lambda d, names: sum(d[n]['avg_s'] for n in names)
        ordered = all(0 <= st[n]['min_s'] <= st[n]['avg_s'] + 1e-6
                      and st[n]['avg_s'] <= st[n]['max_s'] + 1e-6 for n in STEPS)
        # Summed over ranks, the steps fit inside the phases that hold them
        # (the pack and exchange of early rounds run inside the map).
        inside = (avg(st, ['read', 'tokenize']) <= avg(ph, ['map']) + 1e-5
                  and avg(st, ['pack', 'exchange', 'merge'])
                  <= avg(ph, ['map', 'shuffle', 'reduce']) + 1e-5
                  and avg(st, ['gather', 'sort', 'write']) <= avg(ph, ['output']) + 1e-5)
        # One rank decodes the gzip file; the other reads ten bytes (pread).
        busy = (0 < st['read']['min_s'] < st['read']['max_s'] and st['tokenize']['min_s'] > 0
                and all(st[n]['max_s'] > 0 for n in ('pack', 'exchange', 'merge', 'gather',
                                                     'sort', 'write')))
        tap.ok(ordered and inside and busy,
               'steps: min <= avg <= max, inside their phases, the decoding rank reads longest',
               json.dumps({'phases': ph, 'steps': st}))

    # --output-dir writes part files: nothing is gathered.
    p = run(mpirun(2) + [mpiwc, '--output-dir=' + os.path.join(tmp, 'parts'), '--report=' + rep,
                         big, tiny])
    got = steps_of(tap, '--output-dir', p, rep)
    if got:
        st = got[1]
        tap.ok(st['gather']['max_s'] == 0 and st['write']['min_s'] > 0,
               'steps with --output-dir: no gather, every rank writes', json.dumps(st))

    # Standard input is read and decoded by rank 0 alone.
    with open(big, 'rb') as f:
        p = run(mpirun(2) + [mpiwc, '-o', os.devnull, '--report=' + rep, '-'], stdin=f)
    got = steps_of(tap, 'standard input', p, rep)
    if got:
        st = got[1]
        tap.ok(st['read']['min_s'] == 0 and st['read']['max_s'] > 0
               and st['tokenize']['min_s'] > 0,
               'steps with standard input: rank 0 reads, both tokenize', json.dumps(st))

    p = run(mpirun(2) + [mpiwc, '-o', os.devnull, '--stats', big, tiny])
    lines = p.stderr.decode(errors='replace').splitlines()
    heads = [l.split()[0] for l in lines if l.split()]
    tap.ok(p.returncode == 0 and 'step' in heads
           and heads[heads.index('step') + 1:heads.index('step') + 9] == STEPS,
           '--stats: a row per step', p.stderr)
    # The counter table: two spaces at least between columns, every number
    # right-aligned under its heading, however long a name or a sum.
    table = lines[heads.index('counter'):] if 'counter' in heads else []
    ends = [[m.end() for m in re.finditer(r'\S+', l)] for l in table]
    names = [l.split()[0] for l in table[1:]]
    gaps = [l[len(n):len(n) + 2] for l, n in zip(table[1:], names)]
    tap.ok(len(table) > 10 and all(e[1:] == ends[0][1:] for e in ends)
           and all(g == '  ' for g in gaps) and 'checkpoint_bytes' in names,
           '--stats: counter columns aligned, names apart from numbers', '\n'.join(table))


def check_plan_paths(tap, mpiwc, tmp):
    """--dry-run --format=json writes a path as --report does (format.h's one
    JSON string escaper): valid UTF-8 as it is, only bytes that are not
    well-formed UTF-8 as \\udcXX, so Python's surrogateescape gives the
    bytes back."""
    d = os.path.join(tmp, 'names')
    os.makedirs(d)
    names = [b'donn\xc3\xa9es.txt', b'\xe6\x97\xa5\xe6\x9c\xac.txt', b'bad\xff\xc3.txt',
             b'quote"back\\slash.txt']
    paths = [os.path.join(os.fsencode(d), n) for n in names]
    for p in paths:
        with open(p, 'wb') as f:
            f.write(b'one two\n')
    report = os.path.join(tmp, 'names-report.json')
    for np in (1, 3):
        res = run(mpirun(np) + [mpiwc, '--dry-run', '--format=json'] + paths)
        rep = run(mpirun(np) + [mpiwc, '-o', os.devnull, '--report=' + report] + paths)
        try:
            plan = json.loads(res.stdout)
            with open(report, 'rb') as f:
                argv = json.loads(f.read())['argv']
        except (ValueError, OSError) as e:
            tap.ok(False, 'np=%d --dry-run and --report print JSON' % np,
                   '%s; stderr %r %r' % (e, res.stderr, rep.stderr))
            continue
        got = [g['path'] for rp in plan['rank_plans'] for g in rp['ranges']]
        back = sorted({g.encode('utf-8', 'surrogateescape') for g in got})
        tap.ok(res.returncode == 0 and back == sorted(paths),
               'np=%d --dry-run JSON: each path decodes back to its bytes' % np,
               'got %r' % got)
        tap.ok(rep.returncode == 0 and set(got) <= set(argv),
               'np=%d --dry-run JSON writes each path as --report does' % np,
               'plan %r, report %r' % (sorted(set(got)), argv))
        raw = res.stdout
        tap.ok('données.txt'.encode() in raw and '日本.txt'.encode() in raw,
               'np=%d --dry-run JSON keeps valid UTF-8 as it is' % np, raw[:600])


def check_simd_env(tap, mpiwc, root, table):
    """MPIWC_SIMD outside scalar|avx2|avx512: rank 0 warns once, naming the
    variable, the value and the accepted values; the run goes on with the
    best level the processor has, and the table is unchanged. -q silences it."""
    for np in (1, 3):
        env = dict(os.environ, MPIWC_SIMD='bogus')
        p = run(mpirun(np) + [mpiwc, '--progress=never', root], env=env)
        lines = p.stderr.decode(errors='replace').splitlines()
        tap.ok(p.returncode == 0 and p.stdout == table and len(lines) == 1
               and lines[0].startswith('mpiwc: warning: ')
               and all(w in lines[0] for w in ('MPIWC_SIMD', 'bogus', 'scalar', 'avx2', 'avx512')),
               'np=%d MPIWC_SIMD=bogus: one warning line, the table unchanged' % np,
               'status %d, stderr %r' % (p.returncode, p.stderr))
    env = dict(os.environ, MPIWC_SIMD='bogus')
    q = run(mpirun(3) + [mpiwc, '-q', root], env=env)
    tap.ok(q.returncode == 0 and q.stderr == b'' and q.stdout == table,
           '-q: no warning for MPIWC_SIMD=bogus', q.stderr)
    for value in ('scalar', 'avx2', 'avx512'):
        env = dict(os.environ, MPIWC_SIMD=value)
        p = run(mpirun(3) + [mpiwc, '--progress=never', root], env=env)
        tap.ok(p.returncode == 0 and p.stderr == b'' and p.stdout == table,
               'MPIWC_SIMD=%s: no warning, the same table' % value, p.stderr)


def main():
    mpiwc = os.path.abspath(sys.argv[1])
    tap = Tap()
    tmp = tempfile.mkdtemp(prefix='mpiwc-operator-')
    try:
        root = os.path.join(tmp, 'tree')
        files = make_tree(root)
        for np in (1, 3, 7):
            check_plan(tap, mpiwc, root, files, np)

        plain = run(mpirun(2) + [mpiwc, '--progress=never', root])
        tap.ok(plain.returncode == 0 and plain.stderr == b'', '--progress=never: stderr empty',
               plain.stderr)
        prog = run(mpirun(2) + [mpiwc, '--progress=always', '--buffer-size=64', root])
        err = prog.stderr.decode(errors='replace')
        lines = err.splitlines()
        tap.ok(prog.returncode == 0 and prog.stdout == plain.stdout,
               '--progress=always: the table is unchanged', err)
        tap.ok('\r' not in err and lines and all(l.startswith('mpiwc: ') for l in lines),
               '--progress=always without a terminal: plain "mpiwc:" lines', repr(err))
        tap.ok(any(l.startswith('mpiwc: output ') for l in lines)
               and lines[-1].startswith('mpiwc: 2 ranks on 1 host:'),
               '--progress=always: phases, then the one-line summary', err)

        quiet = run(mpirun(2) + [mpiwc, '-q', '--progress=always', root])
        tap.ok(quiet.returncode == 0 and quiet.stderr == b'' and quiet.stdout == plain.stdout,
               '-q: nothing on stderr, even with --progress=always', quiet.stderr)
        verbose = run(mpirun(2) + [mpiwc, '-v', '--progress=never', root])
        vlines = verbose.stderr.decode().splitlines()
        phases = ['plan', 'map', 'shuffle', 'reduce', 'output']
        tap.ok(verbose.returncode == 0 and verbose.stdout == plain.stdout
               and vlines[0].startswith('mpiwc: planned %d files' % len(files))
               and all(any(l.startswith('mpiwc: %s done in ' % p) for l in vlines)
                       for p in phases),
               '-v: the plan size and one line per phase', verbose.stderr)

        check_output_targets(tap, mpiwc, tmp, root, plain.stdout)
        check_map_wait(tap, mpiwc, tmp)
        check_rank_counters(tap, mpiwc, tmp, root, files, 3)
        check_early_rounds(tap, mpiwc, tmp)
        check_steps(tap, mpiwc, tmp)
        check_simd_env(tap, mpiwc, root, plain.stdout)
        check_plan_paths(tap, mpiwc, tmp)

        script = shutil.which('script')
        if script:
            cmd = ' '.join(mpirun(2) + [mpiwc, '--buffer-size=64', '-o', os.path.join(tmp, 'o.tsv'),
                                        root])
            pty = subprocess.run([script, '-qfec', cmd, '/dev/null'], capture_output=True,
                                 stdin=subprocess.DEVNULL, timeout=TIMEOUT)
            out = pty.stdout.decode(errors='replace')
            tap.ok(pty.returncode == 0 and '\rmpiwc: ' in out and 'mpiwc: 2 ranks on 1 host:' in out,
                   '--progress=auto on a terminal: the line is redrawn in place', repr(out[-400:]))
        else:
            tap.skip('progress on a terminal', 'script(1) not found')
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return tap.done()


if __name__ == '__main__':
    sys.exit(main())
