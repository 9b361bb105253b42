#!/usr/bin/env python3
"""Files named by options, read once and agreed on by every rank.

usage: agreement.py MPIWC

mpiwc reads the file of an option (--stopwords, --files-from) once, on rank
0, and hands its bytes to the other ranks; a directory that every rank
writes into (--checkpoint-dir, --output-dir) is checked by every rank, and
the ranks agree before any of them acts. Each case checks:
  - stop words from a pipe give reference.py's table of the same list in a
    regular file, at np 1, 2 and 3 and without mpirun (the pipe is read once,
    whole);
  - a path that only rank 0 can see (a link in /proc/self/fd that only rank
    0's wrapper opens, as a node-local path or a file system mounted on one
    node would be): the job either succeeds with the reference table (a file
    that rank 0 reads for everyone) or fails with exit 1 on every rank and
    one line on stderr (a directory every rank writes into); never a hang,
    never ranks that disagree;
  - an existing --checkpoint-dir that cannot be written (a read-only tmpfs
    when root, a 0555 directory otherwise) is refused up front in one line;
  - SIGTERM after the map, with --checkpoint-dir, still ends the process
    (it waits on -o FIFO, which nobody reads) instead of being swallowed.
"""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from mpitest import Tap, mpirun, reference, run

TIMEOUT = 60

# Each rank records its exit status in $STATUS_DIR/RANK; rank 0 alone opens
# $ONLY0 as file descriptor 5, so /proc/self/fd/5 exists on rank 0 only.
WRAP = ('if [ "$OMPI_COMM_WORLD_RANK" = 0 ]; then exec 5<"$ONLY0"; fi; '
        '"$0" "$@"; s=$?; echo $s > "$STATUS_DIR/$OMPI_COMM_WORLD_RANK"; exit $s')
ONLY0 = '/proc/self/fd/5'


def run_only0(tmp, np, mpiwc, only0, args):
    """mpiwc at np ranks where only rank 0 sees only0 as /proc/self/fd/5."""
    status_dir = tempfile.mkdtemp(dir=tmp)
    cmd = mpirun(np, TIMEOUT, each_status=True) + ['-x', 'ONLY0', '-x', 'STATUS_DIR',
                                                   'sh', '-c', WRAP, mpiwc] + args
    env = dict(os.environ, ONLY0=only0, STATUS_DIR=status_dir)
    try:
        p = run(cmd, env=env, timeout=TIMEOUT + 10)
        rc, out, err = p.returncode, p.stdout, p.stderr
    except subprocess.TimeoutExpired as e:
        rc, out, err = 'hang', e.stdout or b'', e.stderr or b''
    statuses = []
    for r in range(np):
        try:
            with open(os.path.join(status_dir, str(r))) as f:
                statuses.append(int(f.read()))
        except (OSError, ValueError):
            statuses.append(None)
    shutil.rmtree(status_dir, ignore_errors=True)
    return rc, statuses, out, err


def one_line(err, names):
    """Problems with stderr as one 'mpiwc: ' line naming each of names."""
    lines = err.decode('utf-8', 'replace').splitlines()
    if len(lines) != 1 or not lines[0].startswith('mpiwc: '):
        return ['expected one "mpiwc: " line on stderr, got %r' % err[:600]]
    return ['stderr names no %r: %r' % (n, lines[0]) for n in names if n not in lines[0]]


def stopwords_from_a_pipe(tap, mpiwc, tmp):
    words = os.path.join(tmp, 'sw.txt')
    text = os.path.join(tmp, 'tc.txt')
    with open(words, 'w') as f:
        f.write(''.join('filler%d\n' % i for i in range(1, 1001)) + 'the\n')
    with open(text, 'w') as f:
        f.write('the cat\n' * 1000)
    short = os.path.join(tmp, 'short.txt')
    with open(short, 'w') as f:
        f.write('cat\n')
    for lst in (words, short):
        want = reference(['--stopwords=' + lst], [text])
        for np in (0, 1, 2, 3):
            cmd = ([mpiwc] if np == 0 else mpirun(np, TIMEOUT) + [mpiwc]) + \
                ['--stopwords=/dev/stdin', text]
            with open(lst, 'rb') as stdin:
                p = run(cmd, stdin=stdin, timeout=TIMEOUT + 10)
            problems = []
            if p.returncode != 0:
                problems.append('exit %d, stderr %r' % (p.returncode, p.stderr[:300]))
            if p.stdout != want:
                problems.append('got %r, reference.py %r' % (p.stdout[:200], want[:200]))
            tap.ok(not problems, '%s stop words of %s from a pipe' % (
                'no mpirun' if np == 0 else 'np=%d' % np, os.path.basename(lst)), problems)


def seen_by_rank_0_only(tap, mpiwc, tmp):
    text = os.path.join(tmp, 'tc.txt')  # made by stopwords_from_a_pipe
    stop = os.path.join(tmp, 'short.txt')
    listing = os.path.join(tmp, 'list.txt')
    with open(listing, 'w') as f:
        f.write(text + '\n')
    shared = os.path.join(tmp, 'shared')
    os.mkdir(shared)
    # A file that rank 0 reads for every rank: the job succeeds.
    ok_cases = [
        ('--stopwords', stop, ['--stopwords=' + ONLY0, text], ['--stopwords=' + stop]),
        ('--files-from', listing, ['--files-from=' + ONLY0], []),
    ]
    for name, only0, args, ref_args in ok_cases:
        want = reference(ref_args, [text])
        for np in (2, 3):
            rc, statuses, out, err = run_only0(tmp, np, mpiwc, only0, args)
            problems = []
            if rc == 'hang' or rc == 124:
                problems.append('hung; rank statuses %r' % statuses)
            elif statuses != [0] * np:
                problems.append('rank statuses %r, stderr %r' % (statuses, err[:300]))
            elif out != want:
                problems.append('got %r, reference.py %r' % (out[:200], want[:200]))
            tap.ok(not problems, 'np=%d %s seen by rank 0 only: read once for all' % (np, name),
                   problems)
    # A directory every rank writes into: every rank fails alike, in one line.
    fail_cases = [
        ('--checkpoint-dir', shared, ['--checkpoint-dir=' + ONLY0, text]),
        ('--output-dir', shared, ['--output-dir=' + ONLY0, text]),
    ]
    for name, only0, args in fail_cases:
        for np in (2, 3):
            rc, statuses, out, err = run_only0(tmp, np, mpiwc, only0, args)
            problems = []
            if rc == 'hang' or rc == 124:
                problems.append('hung; rank statuses %r' % statuses)
            elif statuses != [1] * np:
                problems.append('rank statuses %r, expected 1 on every rank' % statuses)
            if out:
                problems.append('stdout not empty: %r' % out[:200])
            problems += one_line(err, [ONLY0])
            if os.listdir(shared):
                problems.append('%s holds %r' % (shared, os.listdir(shared)))
            tap.ok(not problems, 'np=%d %s seen by rank 0 only: refused on every rank' % (
                np, name), problems + ['stderr: %r' % err[:600]] if problems else ())
            for entry in os.listdir(shared):
                p = os.path.join(shared, entry)
                shutil.rmtree(p) if os.path.isdir(p) else os.unlink(p)


def read_only_checkpoint_dir(tap, mpiwc, tmp):
    text = os.path.join(tmp, 'tc.txt')
    ro = os.path.join(tmp, 'ro')
    os.mkdir(ro)
    mounted = False
    if os.getuid() == 0:
        mounted = subprocess.run(['mount', '-t', 'tmpfs', '-o', 'ro,size=64k', 'mpiwc-test', ro],
                                 capture_output=True).returncode == 0
        if not mounted:
            tap.skip('read-only --checkpoint-dir', 'cannot mount a read-only tmpfs')
            return
    else:
        os.chmod(ro, 0o555)
    try:
        for np in (1, 3):
            p = run(mpirun(np, TIMEOUT) + [mpiwc, '--checkpoint-dir=' + ro,
                                           '--checkpoint-interval=0', text],
                    timeout=TIMEOUT + 10)
            problems = []
            if p.returncode != 1:
                problems.append('exit %d, expected 1' % p.returncode)
            if p.stdout:
                problems.append('stdout not empty: %r' % p.stdout[:200])
            problems += one_line(p.stderr, [ro])
            tap.ok(not problems, 'np=%d read-only --checkpoint-dir refused in one line' % np,
                   problems)
    finally:
        if mounted:
            subprocess.run(['umount', ro])


def wchan(pid):
    try:
        with open('/proc/%d/wchan' % pid) as f:
            return f.read()
    except OSError:
        return ''


# Where a process that opens a FIFO no one reads sleeps: fifo_open, or the
# function it calls to wait (newer kernels show wait_for_partner, and never
# fifo_open: matching only 'fifo' waited out the whole TIMEOUT there).
FIFO_WAIT = ('fifo', 'wait_for_partner')


def sigterm_after_the_map(tap, mpiwc, tmp):
    """SIGTERM while rank 0 waits to open -o FIFO (the output phase): the
    stop flag of --checkpoint-dir is only read while mapping, so the signal
    must end the process as it does without checkpoints."""
    text = os.path.join(tmp, 'tc.txt')
    fifo = os.path.join(tmp, 'out.fifo')
    os.mkfifo(fifo)
    ck = os.path.join(tmp, 'ck-term')
    p = subprocess.Popen([mpiwc, '--checkpoint-dir=' + ck, '-o', fifo, text],
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, start_new_session=True)
    problems = []
    deadline = time.monotonic() + TIMEOUT
    while not any(w in wchan(p.pid) for w in FIFO_WAIT) and p.poll() is None \
            and time.monotonic() < deadline:
        time.sleep(0.05)
    if p.poll() is not None:
        problems.append('exited (%d) before opening the FIFO: %r' % (p.returncode,
                                                                      p.stderr.read()[:300]))
    else:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout=10)
            if p.returncode != -signal.SIGTERM:
                problems.append('exit %d, expected death by SIGTERM' % p.returncode)
        except subprocess.TimeoutExpired:
            problems.append('still running 10 s after SIGTERM (swallowed)')
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
    leftovers = [n for n in os.listdir(tmp) if n.startswith('.out.fifo') or '.tmp' in n]
    if leftovers:
        problems.append('left %r' % leftovers)
    tap.ok(not problems, 'SIGTERM after the map with --checkpoint-dir ends the process',
           problems)
    os.unlink(fifo)


def main(argv):
    if len(argv) != 2:
        sys.stderr.write(__doc__)
        return 2
    mpiwc = os.path.abspath(argv[1])
    tap = Tap()
    tmp = tempfile.mkdtemp(prefix='mpiwc-agreement-')
    try:
        stopwords_from_a_pipe(tap, mpiwc, tmp)
        seen_by_rank_0_only(tap, mpiwc, tmp)
        read_only_checkpoint_dir(tap, mpiwc, tmp)
        sigterm_after_the_map(tap, mpiwc, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return tap.done()


if __name__ == '__main__':
    sys.exit(main(sys.argv))
