#!/usr/bin/env python3
"""Checkpoint and restart tests: --checkpoint-dir under SIGKILL and SIGUSR1,
resumed at the same and at another rank count, and checkpoints that must be
refused (changed input, corrupt rank file, other word options).

usage: checkpoint.py MPIWC [CASE...]      (no CASE: all)

Every run is `timeout 120 mpirun -q --oversubscribe -np N MPIWC ...` with
MPIWC_CHECKPOINT_STEP=32K (steps of 32 KiB) and --checkpoint-interval=0 (a
checkpoint after every step), so that a run of a few MB lasts seconds and
writes many checkpoints. Outputs are compared byte for byte with
tests/reference.py and with an uninterrupted run; --report shows how much
input a restart read. Output is TAP.
"""
import glob
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from mpitest import Job, mpirun

HERE = os.path.dirname(os.path.abspath(__file__))
REFERENCE = os.path.join(HERE, '..', 'reference.py')
STEP = '32K'


class Fail(Exception):
    pass


def env():
    e = dict(os.environ)
    e['MPIWC_CHECKPOINT_STEP'] = STEP
    return e


def make_input(folder, mb, seed, files=3):
    """files text files of mb MiB together: Zipf-like words, some of them not ASCII."""
    rnd = random.Random(seed)
    vocab = ['w%d' % i for i in range(20000)] + ['été', 'Straße', 'ПРИВЕТ', 'naïve', 'Ωmega']
    weights = [1.0 / (i + 1) for i in range(len(vocab))]
    os.makedirs(folder, exist_ok=True)
    per = mb * 1024 * 1024 // files
    for k in range(files):
        words = rnd.choices(vocab, weights, k=per // 5)
        text = ' '.join(words)
        data = text.encode()[:per]
        with open(os.path.join(folder, 'part-%d.txt' % k), 'wb') as f:
            f.write(data)


def tree_bytes(folder):
    return sum(os.path.getsize(p) for p in glob.glob(os.path.join(folder, '*')))


def reference(folder, args=()):
    return subprocess.run([sys.executable, REFERENCE, *args, folder], check=True,
                          capture_output=True).stdout


def finish(job):
    """The job's (exit status, stdout, stderr); Fail if it hung."""
    rc, out, err, _ = job.finish()
    if isinstance(rc, str):
        raise Fail(rc)
    return rc, out, err


def start(mpiwc, np, args, work, name, stdin=subprocess.DEVNULL):
    """A Job with the small checkpoint steps (env())."""
    return Job(mpiwc, np, args, work, name, stdin=stdin, env=env())


def run(mpiwc, np, args, work, name, stdin=subprocess.DEVNULL):
    return finish(start(mpiwc, np, args, work, name, stdin))


def manifests(ckdir):
    return sorted(glob.glob(os.path.join(ckdir, 'gen-*', 'MANIFEST')))


def wait_checkpoints(job, ckdir, n, timeout=60):
    """Wait until generation n or a later one is complete; Fail if the job ended first."""
    t = time.monotonic()
    while time.monotonic() - t < timeout:
        gens = [int(re.search(r'gen-(\d+)', m).group(1)) for m in manifests(ckdir)]
        if gens and max(gens) >= n:
            return
        if job.p.poll() is not None:
            raise Fail('the run ended before %d checkpoints (make the input bigger)' % n)
        time.sleep(0.005)
    raise Fail('no checkpoint within %d s' % timeout)


def report(path):
    with open(path) as f:
        c = json.load(f)['counters']
    return {k: v['sum'] for k, v in c.items()}


def stderr_lines(err):
    return [line for line in err.splitlines() if line.strip()]


def expect(cond, what):
    if not cond:
        raise Fail(what)


class Fixture:
    def __init__(self, mpiwc, work):
        self.mpiwc, self.work = mpiwc, work
        self.big = os.path.join(work, 'big')
        make_input(self.big, 8, 1)
        self.big_bytes = tree_bytes(self.big)
        self.big_ref = reference(self.big)
        rc, out, err = run(mpiwc, 1, [self.big], work, 'baseline')
        expect(rc == 0 and err == '', 'uninterrupted run failed: %r %s' % (rc, err))
        expect(out == self.big_ref, 'uninterrupted run differs from tests/reference.py')
        self.baseline = out


def resume_and_check(fx, ckdir, np, tag, skipped_some=True):
    """Rerun with ckdir at np: output identical, less input read, checkpoints removed."""
    out_path = os.path.join(fx.work, tag + '.tsv')
    rep_path = os.path.join(fx.work, tag + '.json')
    rc, _, err = run(fx.mpiwc, np, ['--checkpoint-dir=' + ckdir, '--checkpoint-interval=0',
                                    '--report=' + rep_path, '-o', out_path, fx.big], fx.work, tag)
    expect(rc == 0, 'resumed run exited %r: %s' % (rc, err))
    with open(out_path, 'rb') as f:
        out = f.read()
    expect(out == fx.baseline, 'resumed output differs from the uninterrupted run')
    expect(out == fx.big_ref, 'resumed output differs from tests/reference.py')
    c = report(rep_path)
    lines = stderr_lines(err)
    resumed = [line for line in lines if line.startswith('mpiwc: resuming from checkpoint ')]
    ignored = [line for line in lines if re.match(r'mpiwc: checkpoint .*; ignored$', line)]
    expect(len(resumed) == 1, 'expected one "resuming" line, got: %r' % lines)
    expect(len(resumed) + len(ignored) == len(lines), 'unexpected stderr: %r' % lines)
    if skipped_some:
        expect(c['restart_skipped'] > 0, 'the restart skipped nothing')
    expect(c['bytes'] + c['restart_skipped'] == fx.big_bytes,
           'read %d + skipped %d != %d input bytes' % (c['bytes'], c['restart_skipped'],
                                                       fx.big_bytes))
    expect(not glob.glob(os.path.join(ckdir, 'gen-*')), 'checkpoints left after success')
    return c


def case_kill(fx, np_first, np_second):
    ckdir = os.path.join(fx.work, 'ck-kill-%d-%d' % (np_first, np_second))
    out_path = os.path.join(fx.work, 'kill.tsv')
    job = start(fx.mpiwc, np_first, ['--checkpoint-dir=' + ckdir, '--checkpoint-interval=0',
                                     '-o', out_path, fx.big], fx.work, 'kill')
    wait_checkpoints(job, ckdir, 30)
    victim = job.ranks().get(np_first - 1)
    expect(victim, 'rank %d not found' % (np_first - 1))
    os.kill(victim, signal.SIGKILL)
    rc, _, err = finish(job)
    expect(rc != 0, 'the killed run exited 0')
    expect(not os.path.exists(out_path), 'the killed run left an output')
    c = resume_and_check(fx, ckdir, np_second, 'kill-resume-%d-%d' % (np_first, np_second))
    return 'read %d of %d bytes after the kill' % (c['bytes'], fx.big_bytes)


def case_sigusr1(fx):
    ckdir = os.path.join(fx.work, 'ck-usr1')
    job = start(fx.mpiwc, 3, ['--checkpoint-dir=' + ckdir, '--checkpoint-interval=0',
                              '-o', os.path.join(fx.work, 'usr1.tsv'), fx.big], fx.work, 'usr1')
    # Once the ranks are well into the map, signal mpirun, which passes SIGUSR1 on.
    wait_checkpoints(job, ckdir, 20)
    pid = job.mpirun_pid()
    expect(pid, 'mpirun not found')
    os.kill(pid, signal.SIGUSR1)
    rc, _, err = finish(job)
    expect(rc == 3, 'stopped run exited %r, not 3: %s' % (rc, err))
    lines = stderr_lines(err)
    expect(len(lines) == 1 and 'stopped by a signal after writing a checkpoint' in lines[0],
           'expected one "stopped" line, got %r' % lines)
    expect(len(manifests(ckdir)) == 1, 'expected one complete checkpoint')
    c = resume_and_check(fx, ckdir, 2, 'usr1-resume')
    return 'read %d of %d bytes after the stop' % (c['bytes'], fx.big_bytes)


def case_one_file_holes(fx):
    """One file read by 3 ranks and stopped leaves 3 holes in it; the restart at
    np 1 reads all three, and counts one file, not three."""
    folder = os.path.join(fx.work, 'one-file')
    make_input(folder, 6, 7, files=1)
    ckdir = os.path.join(fx.work, 'ck-holes')
    job = start(fx.mpiwc, 3, ['--checkpoint-dir=' + ckdir, '--checkpoint-interval=0',
                              '-o', os.path.join(fx.work, 'holes.tsv'), folder], fx.work, 'holes')
    wait_checkpoints(job, ckdir, 6)
    pid = job.mpirun_pid()
    expect(pid, 'mpirun not found')
    os.kill(pid, signal.SIGUSR1)
    rc, _, err = finish(job)
    expect(rc == 3, 'stopped run exited %r, not 3: %s' % (rc, err))
    out_path = os.path.join(fx.work, 'holes-resume.tsv')
    rep_path = os.path.join(fx.work, 'holes-resume.json')
    rc, _, err = run(fx.mpiwc, 1, ['--checkpoint-dir=' + ckdir, '--checkpoint-interval=0',
                                   '--report=' + rep_path, '-o', out_path, folder], fx.work,
                     'holes-resume')
    expect(rc == 0, 'resumed run exited %r: %s' % (rc, err))
    with open(out_path, 'rb') as f:
        expect(f.read() == reference(folder), 'resumed output differs from tests/reference.py')
    c = report(rep_path)
    expect(c['ranges'] == 3, 'expected the 3 holes as 3 ranges, got %d' % c['ranges'])
    expect(c['files'] == 1, 'one file read in 3 ranges counted as %d files' % c['files'])
    return 'one file, %d ranges, files counter %d' % (c['ranges'], c['files'])


def case_stopwords_pipe(fx):
    """Stop words from a pipe (rank 0 reads them once): a checkpoint records
    the list's words, not the path it came through. Another list piped
    through the same path must not resume it (its counts dropped other
    words); the same list through another path resumes it."""
    lists = {}
    for name, text in (('a', 'w0\nw1\nw2\nstraße\n'), ('b', 'w3\nw4\n')):
        lists[name] = os.path.join(fx.work, 'stop-%s.txt' % name)
        with open(lists[name], 'w') as f:
            f.write(text)
    ckdir = os.path.join(fx.work, 'ck-stop')
    common = ['--checkpoint-dir=' + ckdir, '--checkpoint-interval=0']

    def stop(path, tag):
        with open(lists['a'], 'rb') as stdin:
            job = start(fx.mpiwc, 2, common + ['--stopwords=' + path, '-o',
                                               os.path.join(fx.work, tag + '.tsv'), fx.big],
                        fx.work, tag, stdin=stdin)
            wait_checkpoints(job, ckdir, 10)
            pid = job.mpirun_pid()
            expect(pid, 'mpirun not found')
            os.kill(pid, signal.SIGUSR1)
            rc, _, err = finish(job)
        expect(rc == 3, 'stopped run exited %r, not 3: %s' % (rc, err))

    def again(name, tag):
        out_path = os.path.join(fx.work, tag + '.tsv')
        rep_path = os.path.join(fx.work, tag + '.json')
        with open(lists[name], 'rb') as stdin:
            rc, _, err = run(fx.mpiwc, 3, common + ['--stopwords=-', '--report=' + rep_path,
                                                    '-o', out_path, fx.big], fx.work, tag,
                             stdin=stdin)
        expect(rc == 0, '%s exited %r: %s' % (tag, rc, err))
        with open(out_path, 'rb') as f:
            expect(f.read() == reference(fx.big, ['--stopwords=' + lists[name]]),
                   '%s: output differs from tests/reference.py' % tag)
        return stderr_lines(err), report(rep_path)

    stop('-', 'stop-a')
    lines, c = again('b', 'stop-other-list')
    expect(not any('resuming' in line for line in lines) and c['restart_skipped'] == 0,
           'resumed a checkpoint made with other stop words: %r' % lines)
    stop('/dev/stdin', 'stop-a-again')
    lines, c = again('a', 'stop-same-list')
    expect(len(lines) == 1 and lines[0].startswith('mpiwc: resuming from checkpoint '),
           'the same list through another path did not resume: %r' % lines)
    expect(c['restart_skipped'] > 0, 'the restart skipped nothing')
    return 'skipped %d of %d bytes with the same list' % (c['restart_skipped'], fx.big_bytes)


def kept_checkpoint(fx, folder, ckdir, tag, extra=()):
    """A complete run that keeps its last checkpoint; returns its output."""
    out_path = os.path.join(fx.work, tag + '.tsv')
    rc, _, err = run(fx.mpiwc, 2, ['--checkpoint-dir=' + ckdir, '--checkpoint-interval=0',
                                   '--keep-checkpoints', *extra, '-o', out_path, folder],
                     fx.work, tag)
    expect(rc == 0 and err == '', 'kept run: %r %s' % (rc, err))
    expect(len(manifests(ckdir)) == 1, 'expected the last checkpoint kept')
    with open(out_path, 'rb') as f:
        return f.read()


def refused(fx, folder, ckdir, tag, pattern, want, extra=()):
    """Rerun: exactly one line matching pattern, a fresh start, output == want."""
    out_path = os.path.join(fx.work, tag + '.tsv')
    rep_path = os.path.join(fx.work, tag + '.json')
    rc, _, err = run(fx.mpiwc, 3, ['--checkpoint-dir=' + ckdir, '--checkpoint-interval=0',
                                   *extra, '--report=' + rep_path, '-o', out_path, folder],
                     fx.work, tag)
    expect(rc == 0, 'rerun exited %r: %s' % (rc, err))
    lines = stderr_lines(err)
    expect(len(lines) == 1 and re.fullmatch(pattern, lines[0]),
           'expected one line matching %r, got %r' % (pattern, lines))
    c = report(rep_path)
    expect(c['restart_skipped'] == 0 and c['bytes'] == tree_bytes(folder),
           'the refused checkpoint was used: %r' % c)
    with open(out_path, 'rb') as f:
        expect(f.read() == want, 'output differs from tests/reference.py')


def case_changed_input(fx):
    folder = os.path.join(fx.work, 'changing')
    make_input(folder, 1, 2)
    ckdir = os.path.join(fx.work, 'ck-changed')
    kept_checkpoint(fx, folder, ckdir, 'changed-first')
    with open(os.path.join(folder, 'part-1.txt'), 'ab') as f:
        f.write(' added words here été'.encode())
    refused(fx, folder, ckdir, 'changed-rerun',
            r'mpiwc: checkpoint .*/gen-\d+: the inputs changed since it was written '
            r'\(paths, sizes or modification times\); ignored', reference(folder))
    # Same size, new modification time: refused too.
    kept_checkpoint(fx, folder, ckdir, 'touched-first')
    p = os.path.join(folder, 'part-0.txt')
    st = os.stat(p)
    os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    refused(fx, folder, ckdir, 'touched-rerun',
            r'mpiwc: checkpoint .*/gen-\d+: the inputs changed since it was written '
            r'\(paths, sizes or modification times\); ignored', reference(folder))


def case_corrupt(fx):
    folder = os.path.join(fx.work, 'corrupt')
    make_input(folder, 1, 3)
    ckdir = os.path.join(fx.work, 'ck-corrupt')
    kept_checkpoint(fx, folder, ckdir, 'corrupt-first')
    rankfile = glob.glob(os.path.join(ckdir, 'gen-*', 'rank-00001.ckpt'))[0]
    with open(rankfile, 'r+b') as f:
        f.seek(os.path.getsize(rankfile) // 2)
        b = f.read(1)
        f.seek(-1, 1)
        f.write(bytes([b[0] ^ 0x01]))
    refused(fx, folder, ckdir, 'corrupt-rerun',
            r'mpiwc: checkpoint .*/gen-\d+: rank-00001\.ckpt: checksum mismatch; ignored',
            reference(folder))


def case_other_options(fx):
    folder = os.path.join(fx.work, 'options')
    make_input(folder, 1, 4)
    ckdir = os.path.join(fx.work, 'ck-options')
    kept_checkpoint(fx, folder, ckdir, 'options-first')
    refused(fx, folder, ckdir, 'options-rerun',
            r'mpiwc: checkpoint .*/gen-\d+: written with other word options .*; ignored',
            reference(folder, ['--min-length=3']), extra=['--min-length=3'])


def case_stdin(fx):
    p = subprocess.run(mpirun(1) + [fx.mpiwc, '--checkpoint-dir=' + os.path.join(fx.work, 'x'),
                                    '-'], input=b'a b', capture_output=True, env=env())
    lines = stderr_lines(p.stderr.decode())
    expect(p.returncode == 1, 'exit %r' % p.returncode)
    expect(lines == ['mpiwc: -: standard input cannot be checkpointed (--checkpoint-dir)'],
           'stderr %r' % lines)


def case_read_error(fx):
    """A rank that fails to read stops every rank with status 1, checkpoints or not."""
    import gzip
    folder = os.path.join(fx.work, 'broken')
    make_input(folder, 1, 5, files=2)
    data = gzip.compress(open(os.path.join(folder, 'part-0.txt'), 'rb').read())
    with open(os.path.join(folder, 'part-2.gz'), 'wb') as f:
        f.write(data[:len(data) // 2])
    out_path = os.path.join(fx.work, 'broken.tsv')
    rc, _, err = run(fx.mpiwc, 3, ['--checkpoint-dir=' + os.path.join(fx.work, 'ck-broken'),
                                   '--checkpoint-interval=0', '-o', out_path, folder],
                     fx.work, 'broken')
    lines = stderr_lines(err)
    expect(rc == 1, 'exit %r, not 1' % rc)
    expect(len(lines) == 1 and 'truncated gzip data' in lines[0], 'stderr %r' % lines)
    expect(not os.path.exists(out_path), 'a failed run left an output')


CASES = [
    ('kill-np2-resume-np2', lambda fx: case_kill(fx, 2, 2)),
    ('kill-np3-resume-np2', lambda fx: case_kill(fx, 3, 2)),
    ('kill-np2-resume-np4', lambda fx: case_kill(fx, 2, 4)),
    ('sigusr1-stop-resume', case_sigusr1),
    ('one-file-holes-counted-once', case_one_file_holes),
    ('stopwords-from-a-pipe-resume', case_stopwords_pipe),
    ('changed-input-refused', case_changed_input),
    ('corrupt-rank-file-refused', case_corrupt),
    ('other-options-refused', case_other_options),
    ('stdin-refused', case_stdin),
    ('read-error-fails', case_read_error),
]


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    mpiwc = os.path.abspath(sys.argv[1])
    chosen = [c for c in CASES if len(sys.argv) == 2 or c[0] in sys.argv[2:]]
    print('1..%d' % len(chosen))
    work = tempfile.mkdtemp(prefix='mpiwc-ckpt-')
    failed = 0
    try:
        fx = Fixture(mpiwc, work)
        for i, (name, fn) in enumerate(chosen, 1):
            t = time.monotonic()
            try:
                note = fn(fx)
                print('ok %d - %s (%.1f s)%s' % (i, name, time.monotonic() - t,
                                                  ': ' + note if note else ''))
            except Fail as e:
                failed += 1
                print('not ok %d - %s: %s' % (i, name, e))
            sys.stdout.flush()
    finally:
        if not failed:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print('# work directory kept: %s' % work)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
