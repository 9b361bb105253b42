#!/usr/bin/env python3
"""Spilling to disk: vocabularies bigger than --memory-limit.

usage: spill.py MPIWC

With --memory-limit=64K every rank's owned table spills every thousand
words or so, and the ranks merge their runs at the end. Each case checks:
  - the table is reference.py's, byte for byte, and the runs were written
    (--report's spill_runs), at np 1, 2, 3, 4 and 7: both orders, every
    format, --top, --output-dir (the parts' union is the table), Unicode
    options, a gzip-compressed input, standard input at np 3;
  - the private spill directories are gone afterwards;
  - --dry-run and --report show each rank's limit and spill directory: the
    given ones, or auto's share of the host's memory, $TMPDIR or /tmp;
  - a missing or unwritable --spill-dir, a full disk (a small tmpfs, as
    root) and a corrupt run (MPIWC_TEST_SPILL_CORRUPT) end the job: exit 1,
    one line on stderr naming the directory or run file, no output file, no
    spill files left;
  - --checkpoint-dir does not spill: a job that would ends in one line,
    exit 1, and its last checkpoint resumes with a larger limit to the
    reference table;
  - under `ulimit -v`, where --memory-limit=0 runs out of memory on 1.4M
    distinct words, the default (auto) completes with the reference table:
    it leaves room for what MPI maps already, and spills;
  - SIGTERM while the runs are merged (the output phase, as --progress
    announces it) leaves the previous -o file as it was and no directory;
  - ^C to mpirun while the ranks spill (mpirun passes on SIGTERM, then
    sends SIGKILL to every rank as soon as the first has died) leaves no
    directory either, at np 2 and 3, three times each;
    SIGKILL leaves one, named mpiwc-spill-USER-HOST-PID-*, for the man
    page's rm to find.
"""
import gzip
import json
import os
import pwd
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from mpitest import Job, Tap, mpirun, run, reference, wait_for

LIMIT = '--memory-limit=64K'


def corpus(d):
    """Files of about 30,000 distinct words (Latin, Greek, CJK, numbers, mixed case), one gzip'd."""
    rng = random.Random(20)
    letters = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'
    vocab = []
    for i in range(30000):
        n = rng.choice([2, 3, 5, 7, 8, 9, 12, 15, 16, 24, 40])
        w = ''.join(rng.choice(letters) for _ in range(n))
        if i % 7 == 0:
            w += rng.choice(['λόγος', 'ＡＢＣ', '文字', 'straße', 'ﬁ'])
        if i % 11 == 0:
            w = str(rng.randrange(10 ** 9))
        vocab.append(w)

    def text(nwords):
        out, line = [], []
        for _ in range(nwords):
            line.append(vocab[int(len(vocab) * rng.random() ** 1.5)])
            if len(line) == 12:
                out.append(' '.join(line))
                line = []
        return ('\n'.join(out) + '\n').encode()

    paths = []
    for name, n in (('a.txt', 40000), ('b.txt', 25000), ('c.txt', 5)):
        p = os.path.join(d, name)
        with open(p, 'wb') as f:
            f.write(text(n))
        paths.append(p)
    p = os.path.join(d, 'd.txt.gz')
    with open(p, 'wb') as f:
        f.write(gzip.compress(text(20000), mtime=0))
    paths.append(p)
    return paths


def spill_runs(report_path):
    with open(report_path) as f:
        rep = json.load(f)
    return rep['counters']['spill_runs']['sum']


def leftovers(d):
    return [n for n in os.listdir(d) if n.startswith('mpiwc-spill-')]


def check_tables(tap, mpiwc, tmp, paths):
    spill = os.path.join(tmp, 'spill')
    os.mkdir(spill)
    report = os.path.join(tmp, 'report.json')
    cases = [
        ([], (1, 2, 3, 4, 7)),
        (['--sort=word', '--format=csv'], (1, 2, 3, 4, 7)),
        (['--format=json', '--top=40'], (1, 3, 7)),
        (['--top=1000', '--split=space', '--case=keep'], (2, 4)),
        (['--normalize=nfkc', '--min-length=3', '--sort=word', '--top=500'], (1, 3)),
        (['--split=uax29', '--format=csv'], (2, 7)),
    ]
    for args, nps in cases:
        want = reference(args, paths)
        for np in nps:
            r = run(mpirun(np) + [mpiwc, LIMIT, '--spill-dir=' + spill, '--report=' + report] +
                    args + paths)
            name = 'np=%d %s: the reference table' % (np, ' '.join(args) or 'default')
            if not tap.ok(r.returncode == 0 and r.stdout == want, name,
                          r.stderr.decode(errors='replace')):
                continue
            tap.ok(spill_runs(report) > 0, 'np=%d %s: it spilled' % (np, ' '.join(args)))
            tap.ok(leftovers(spill) == [], 'np=%d %s: no spill directory left' % (np, ' '.join(args)),
                   str(os.listdir(spill)))

    # --output-dir: the parts, concatenated and sorted, are the table.
    want = reference(['--sort=word'], paths)
    for np in (1, 3, 4):
        out = os.path.join(tmp, 'parts-%d' % np)
        r = run(mpirun(np) + [mpiwc, LIMIT, '--spill-dir=' + spill, '--sort=word',
                              '--output-dir=' + out] + paths)
        rows = []
        for n in sorted(os.listdir(out)) if os.path.isdir(out) else []:
            if n.startswith('part-'):
                with open(os.path.join(out, n), 'rb') as f:
                    part = f.read().splitlines(keepends=True)
                tap.ok(part == sorted(part, key=lambda l: l.split(b'\t')[0]),
                       'np=%d --output-dir: %s is in word order' % (np, n))
                rows += part
        rows.sort(key=lambda l: l.split(b'\t')[0])
        tap.ok(r.returncode == 0 and b''.join(rows) == want,
               'np=%d --output-dir: the parts make the reference table' % np,
               r.stderr.decode(errors='replace'))

    # Standard input: one stream cut into pieces for every rank.
    data = b''.join(open(p, 'rb').read() for p in paths[:2])
    want = reference(['-'], [], input=data)
    r = run(mpirun(3) + [mpiwc, LIMIT, '--spill-dir=' + spill, '-'], input=data)
    tap.ok(r.returncode == 0 and r.stdout == want, 'np=3 standard input: the reference table',
           r.stderr.decode(errors='replace'))
    tap.ok(leftovers(spill) == [], 'no spill directory left after all the runs')


def check_dry_run(tap, mpiwc, tmp, paths):
    phys = os.sysconf('SC_PHYS_PAGES') * os.sysconf('SC_PAGE_SIZE')
    for np in (1, 3):
        r = run(mpirun(np) + [mpiwc, '--dry-run', '--format=json', '--memory-limit=3M',
                              '--spill-dir=' + tmp] + paths)
        plans = json.loads(r.stdout)['rank_plans'] if r.returncode == 0 else []
        tap.ok(len(plans) == np and all(p['memory_limit'] == 3 << 20 and p['spill_dir'] == tmp
                                        for p in plans),
               'np=%d --dry-run: every rank limited to 3M, spilling under --spill-dir' % np,
               r.stdout.decode(errors='replace')[:400] + r.stderr.decode(errors='replace'))
        env = dict(os.environ, TMPDIR=tmp)
        r = run(mpirun(np) + ['-x', 'TMPDIR', mpiwc, '--dry-run', '--format=json'] + paths, env=env)
        plans = json.loads(r.stdout)['rank_plans'] if r.returncode == 0 else []
        # auto: half the host's memory over its ranks, or less (a cgroup, ulimit -v).
        tap.ok(len(plans) == np and all(0 < p['memory_limit'] <= phys // 2 // np and
                                        p['spill_dir'] == tmp for p in plans),
               'np=%d --dry-run: auto is at most half the memory over %d ranks; $TMPDIR' % (np, np),
               r.stdout.decode(errors='replace')[:400])
        text = run(mpirun(np) + [mpiwc, '--dry-run', '--memory-limit=0'] + paths)
        tap.ok(text.stdout.decode().count('no memory limit') == np,
               'np=%d --dry-run text: --memory-limit=0 is no limit on each rank' % np,
               text.stdout.decode(errors='replace'))
    report = os.path.join(tmp, 'limit.json')
    r = run(mpirun(2) + [mpiwc, '--memory-limit=5M', '--report=' + report, '-o', os.devnull] +
            paths)
    ranks = json.load(open(report))['counters']['memory_limit']['ranks'] if r.returncode == 0 \
        else []
    tap.ok(ranks == [5 << 20, 5 << 20], 'np=2 --report: memory_limit of each rank', str(ranks))


def one_error_line(r, what):
    lines = r.stderr.decode(errors='replace').splitlines()
    return r.returncode == 1 and len(lines) == 1 and what in lines[0] and lines[0].startswith(
        'mpiwc: ')


def check_errors(tap, mpiwc, tmp, paths):
    out = os.path.join(tmp, 'out.tsv')
    # Missing, and not a directory: refused before reading.
    for bad in (os.path.join(tmp, 'missing'), paths[0]):
        r = run(mpirun(2) + [mpiwc, LIMIT, '--spill-dir=' + bad, '-o', out] + paths)
        tap.ok(one_error_line(r, bad) and '--spill-dir' in r.stderr.decode() and
               not os.path.exists(out), '--spill-dir %s: one line, exit 1, no output' % bad,
               r.stderr.decode(errors='replace'))

    # A corrupt run: an error naming it, never a count.
    spill = os.path.join(tmp, 'corrupt')
    os.mkdir(spill)
    env = dict(os.environ, MPIWC_TEST_SPILL_CORRUPT='40')
    for np in (1, 3):
        r = run(mpirun(np) + ['-x', 'MPIWC_TEST_SPILL_CORRUPT', mpiwc, LIMIT,
                              '--spill-dir=' + spill, '-o', out] + paths, env=env)
        tap.ok(one_error_line(r, 'is corrupt') and 'run-' in r.stderr.decode() and
               not os.path.exists(out) and leftovers(spill) == [],
               'np=%d a corrupt run: one line naming it, exit 1, no output, nothing left' % np,
               r.stderr.decode(errors='replace') + str(os.listdir(spill)))

    # --checkpoint-dir: no spill; the job stops in one line and resumes with more memory.
    ck = os.path.join(tmp, 'ck')
    env = dict(os.environ, MPIWC_CHECKPOINT_STEP='16K')
    want = reference([], paths)
    for np in (2, 3):
        shutil.rmtree(ck, ignore_errors=True)
        base = ['-x', 'MPIWC_CHECKPOINT_STEP', mpiwc, '--checkpoint-dir=' + ck,
                '--checkpoint-interval=0', '-o', out]
        # 512K: the owned words outgrow it after a few checkpoints.
        r = run(mpirun(np) + base + ['--memory-limit=512K'] + paths, env=env)
        tap.ok(one_error_line(r, '--checkpoint-dir') and not os.path.exists(out),
               'np=%d --checkpoint-dir with a limit it outgrows: one line, exit 1, no output'
               % np, r.stderr.decode(errors='replace'))
        r = run(mpirun(np) + base + ['--memory-limit=64M'] + paths, env=env)
        got = open(out, 'rb').read() if os.path.exists(out) else b''
        tap.ok(r.returncode == 0 and b'resum' in r.stderr and got == want,
               'np=%d ... resumed from its checkpoint with a larger limit: the reference table'
               % np, r.stderr.decode(errors='replace'))
        if os.path.exists(out):
            os.remove(out)

    # Read-only and full file systems: small tmpfs mounts, as root.
    ro, full = os.path.join(tmp, 'ro'), os.path.join(tmp, 'full')
    os.mkdir(ro)
    os.mkdir(full)
    mounted = []
    if os.getuid() == 0:
        for d, opts in ((ro, 'ro,size=64k'), (full, 'size=200k')):
            if subprocess.run(['mount', '-t', 'tmpfs', '-o', opts, 'mpiwc-test', d],
                              capture_output=True).returncode == 0:
                mounted.append(d)
    try:
        if ro in mounted:
            r = run(mpirun(2) + [mpiwc, LIMIT, '--spill-dir=' + ro, '-o', out] + paths)
            tap.ok(one_error_line(r, ro) and not os.path.exists(out),
                   'a read-only --spill-dir: one line, exit 1, no output',
                   r.stderr.decode(errors='replace'))
        else:
            tap.skip('a read-only --spill-dir', 'cannot mount a tmpfs (not root)')
        if full in mounted:
            for np in (1, 2):
                r = run(mpirun(np) + [mpiwc, LIMIT, '--spill-dir=' + full, '-o', out] + paths)
                tap.ok(one_error_line(r, full) and 'No space left' in r.stderr.decode() and
                       not os.path.exists(out) and os.listdir(full) == [],
                       'np=%d a full disk: one line naming it, exit 1, no output, no spill files'
                       % np, r.stderr.decode(errors='replace') + str(os.listdir(full)))
        else:
            tap.skip('a full spill disk', 'cannot mount a tmpfs (not root)')
    finally:
        for d in mounted:
            subprocess.run(['umount', d])


def asan_build(mpiwc):
    with open(mpiwc, 'rb') as f:
        data = f.read()
    return b'__asan_init' in data or b'libasan' in data


def check_ulimit(tap, mpiwc, tmp):
    """The case that failed before spilling: a singleton under ulimit -v 300000."""
    name = 'ulimit -v 300000: auto spills and completes where --memory-limit=0 runs out'
    if asan_build(mpiwc):
        tap.skip(name, 'AddressSanitizer reserves terabytes of address space: no ulimit -v')
        return
    rng = random.Random(5)
    path = os.path.join(tmp, 'highcard.txt')
    letters = 'abcdefghijklmnopqrstuvwxyz'
    with open(path, 'w') as f:
        for _ in range(130000):
            f.write(' '.join(''.join(rng.choices(letters, k=rng.randint(5, 10)))
                             for _ in range(12)) + '\n')
    out = os.path.join(tmp, 'ulimit.tsv')
    spill = os.path.join(tmp, 'ulimit-spill')
    os.mkdir(spill)

    def under_ulimit(limit):
        return run(['bash', '-c', 'ulimit -v 300000; exec "$@"', 'bash', mpiwc, limit,
                    '--report=' + out + '.json', '-o', out, path], env=dict(os.environ,
                                                                           TMPDIR=spill))
    r0 = under_ulimit('--memory-limit=0')
    r = under_ulimit('--memory-limit=auto')
    got = open(out, 'rb').read() if r.returncode == 0 else b''
    ok = tap.ok(r.returncode == 0 and got == reference([], [path]) and leftovers(spill) == [],
                name.replace('where', 'with the reference table; where'),
                r.stderr.decode(errors='replace'))
    if ok:
        tap.ok(spill_runs(out + '.json') > 0, 'ulimit -v 300000: it spilled')
    if r0.returncode == 0:
        tap.skip('ulimit -v 300000: --memory-limit=0 runs out of memory',
                 'the limit leaves room for the whole table on this machine')
    else:
        tap.ok(r0.returncode == 1 and b'out of memory' in r0.stderr,
               'ulimit -v 300000: --memory-limit=0 runs out of memory, in one line',
               r0.stderr.decode(errors='replace'))


def check_signals(tap, mpiwc, tmp, paths):
    """Without mpirun, so that the signal reaches the process itself."""
    spill = os.path.join(tmp, 'signals')
    os.mkdir(spill)
    out = os.path.join(tmp, 'kept.tsv')
    big = os.path.join(tmp, 'big.txt')
    with open(big, 'wb') as f:
        for p in paths[:2]:
            f.write(open(p, 'rb').read() * 4)
    with open(out, 'w') as f:
        f.write('old table\n')
    p = subprocess.Popen([mpiwc, LIMIT, '--spill-dir=' + spill, '--progress=always', '-o', out,
                          big], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, start_new_session=True)
    seen = []
    for line in p.stderr:
        seen.append(line.decode(errors='replace'))
        if b'mpiwc: output' in line:
            p.send_signal(signal.SIGTERM)
            break
    try:
        rc = p.wait(timeout=60)
    except subprocess.TimeoutExpired:
        p.kill()
        rc = None
    tap.ok(rc == -signal.SIGTERM and open(out).read() == 'old table\n' and leftovers(spill) == [],
           'SIGTERM while merging: died of it, old -o kept, no spill directory',
           'rc %s, left %s, %s' % (rc, os.listdir(spill), ''.join(seen[-5:])))

    # SIGKILL while spilling: the directory stays, named after its user, host and process.
    p = subprocess.Popen([mpiwc, LIMIT, '--spill-dir=' + spill, '-o', out, big],
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 30
    while time.time() < deadline and not leftovers(spill) and p.poll() is None:
        time.sleep(0.01)
    p.kill()
    p.wait()
    left = leftovers(spill)
    user = pwd.getpwuid(os.geteuid()).pw_name
    tap.ok(len(left) == 1 and left[0].startswith('mpiwc-spill-%s-' % user) and
           ('-%d-' % p.pid) in left[0],
           'SIGKILL: one directory left, mpiwc-spill-USER-HOST-PID-*', str(left))
    for n in left:
        shutil.rmtree(os.path.join(spill, n))


def check_interrupt(tap, mpiwc, tmp, paths):
    """^C to mpirun while every rank spills: mpirun sends each rank SIGTERM,
    and SIGKILL to the others the moment the first one dies. Each rank must
    have removed its directory by then."""
    spill = os.path.join(tmp, 'interrupted')
    os.mkdir(spill)
    out = os.path.join(tmp, 'kept.tsv')
    # 120 MB: mpirun passes ^C on as SIGTERM about 1 s later, and the run must
    # still be spilling then (at 15 MB it was over in 0.6 s, table written).
    big = os.path.join(tmp, 'bigger.txt')
    with open(big, 'wb') as f:
        for p in paths[:2]:
            f.write(open(p, 'rb').read() * 128)
    for np_ in (2, 3):
        for attempt in range(3):
            with open(out, 'w') as f:
                f.write('old table\n')
            work = os.path.join(tmp, 'interrupt-%d-%d' % (np_, attempt))
            os.mkdir(work)
            job = Job(mpiwc, np_, [LIMIT, '--spill-dir=' + spill, '-o', out, big], work)
            # Every rank has a directory, with runs in it.
            spilling = wait_for(lambda: len(leftovers(spill)) == np_ and all(
                os.listdir(os.path.join(spill, n)) for n in leftovers(spill)), 60, 0.01)
            mp = job.mpirun_pid()
            if spilling and mp:
                os.kill(mp, signal.SIGINT)
            rc, _, err, _ = job.finish(60)
            left = leftovers(spill)
            tap.ok(spilling and rc not in (0, None) and not left and
                   open(out).read() == 'old table\n',
                   'np %d, SIGINT to mpirun while spilling (%d): no spill directory left' %
                   (np_, attempt + 1),
                   'spilling %s, exit %s, -o now %r, left %s: %s' %
                   (bool(spilling), rc, open(out).read(64),
                    [(n, len(os.listdir(os.path.join(spill, n)))) for n in left], err[-300:]))
            for n in left:
                shutil.rmtree(os.path.join(spill, n))


def main():
    mpiwc = os.path.abspath(sys.argv[1])
    tap = Tap()
    tmp = tempfile.mkdtemp(prefix='mpiwc-spill-test-')
    try:
        paths = corpus(tmp)
        check_dry_run(tap, mpiwc, tmp, paths)
        check_tables(tap, mpiwc, tmp, paths)
        check_errors(tap, mpiwc, tmp, paths)
        check_ulimit(tap, mpiwc, tmp)
        check_signals(tap, mpiwc, tmp, paths)
        check_interrupt(tap, mpiwc, tmp, paths)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return tap.done()


if __name__ == '__main__':
    sys.exit(main())
