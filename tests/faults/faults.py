#!/usr/bin/env python3
"""Fault tests: mpiwc under kills, signals, a full disk, files that change
under it, and too little memory.

usage: faults.py MPIWC [CASE...]      (no CASE: all; --list names them)

Each case runs `timeout 120 mpirun -q --oversubscribe -np N MPIWC ...` in a
fresh temporary directory, injects one fault while the job runs (or sets it
up before), and checks:
  - the exit status (non-zero; 1 where mpiwc itself reports the failure),
  - the diagnostics: mpiwc's one `mpiwc: ...` line naming the path and the
    reason where mpiwc can still speak (nothing else on stderr: -q silences
    mpirun), none where the process was killed,
  - the output: the -o target is absent or holds its previous content (or,
    when the job had already renamed the finished table into place, the
    complete table), no temporary file (.NAME.mpiwc-*) is left in its
    folder, and an --output-dir has no _SUCCESS marker,
  - that the job ends within seconds of the fault (no hang).

Knob: FAULTS_MB (default 300), the size of the big input the kill and signal
cases read with a small --buffer-size so that the run lasts a few seconds.
Cases that need root (a tmpfs mount) or a build without AddressSanitizer
(ulimit -v) are skipped otherwise. Output is TAP; a case marked TODO is a
known failure reported for a fix in src/ (see docs/RELIABILITY.md): it shows
as not ok but does not fail the run.
"""
import glob
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'mpi'))
from mpitest import TIMEOUT, Job, wait_for  # noqa: E402

END_WITHIN = 30  # seconds a job may take to end after the fault
BIG_MB = int(os.environ.get('FAULTS_MB', '300'))
VOCAB_WORDS = 2_000_000


class Skip(Exception):
    pass


# ---------------------------------------------------------------- helpers

def with_limits(script):
    """A command prefix that runs the rank under shell limits, then execs mpiwc."""
    return ['bash', '-c', script + '; exec "$0" "$@"']


def temps(folder):
    return sorted(glob.glob(os.path.join(glob.escape(folder), '.*.mpiwc-*')))


def growing_temp(folder):
    """A temporary output file that already holds bytes (not the empty probe of planning)."""
    for t in temps(folder):
        try:
            if os.path.getsize(t) > 0:
                return t
        except OSError:
            pass
    return None


def writing_file(pid, folder):
    """The file rank `pid` is writing in folder, with bytes in it: a named temporary, or one
    opened with O_TMPFILE (no name yet: /proc shows 'FOLDER/#INODE (deleted)')."""
    named = growing_temp(folder)
    if named:
        return named
    fds = f'/proc/{pid}/fd'
    try:
        for fd in os.listdir(fds):
            try:
                link = os.readlink(os.path.join(fds, fd))
                if link.startswith(folder + '/#') and os.stat(os.path.join(fds, fd)).st_size > 0:
                    return link
            except OSError:
                pass
    except OSError:
        pass
    return None


def big_table(words_per_block):
    """The complete default table of big_input: each block's counts times BIG_MB."""
    return b''.join(b'%s\t%d\n' % (w, c * BIG_MB) for w, c in words_per_block)


def big_block():
    words = [b'alpha', b'beta', b'gamma', b'delta', b'Epsilon', b'zeta', b'eta9', b'theta']
    line = b' '.join(words[(i * 7) % len(words)] * (1 + i % 3) for i in range(40)) + b'\n'
    return line * (2**20 // len(line) + 1)


def big_expected(block):
    """The table mpiwc writes for big_input (default rules: lower case, count order)."""
    counts = {}
    for w in block.split():
        w = w.lower()
        counts[w] = counts.get(w, 0) + 1
    rows = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return big_table(rows)


def big_input(cache):
    """FAULTS_MB of text (a 1 MiB block of words repeated): a few seconds with small buffers."""
    path = os.path.join(cache, 'big.txt')
    if not os.path.exists(path):
        block = big_block()
        with open(path, 'wb') as f:
            for _ in range(BIG_MB):
                f.write(block)
    return path


def vocab_input(cache):
    """VOCAB_WORDS distinct words, one per line: a big table, a long output write."""
    path = os.path.join(cache, 'vocab.txt')
    if not os.path.exists(path):
        with open(path, 'wb') as f:
            f.write(b''.join(b'w%07d\n' % i for i in range(VOCAB_WORDS)))
    return path


def vocab_table(n=VOCAB_WORDS):
    # Every count is 1: the table is the words in byte order.
    return b''.join(b'w%07d\t1\n' % i for i in range(n))


PREVIOUS = b'previous content\n'


def check_target(problems, target, complete=None):
    """The -o target holds its previous content (or, if given, the complete table)."""
    folder = os.path.dirname(target)
    left = temps(folder)
    if left:
        problems.append(f'temporary files left behind: {[os.path.basename(t) for t in left]}')
    if os.path.exists(target):
        with open(target, 'rb') as f:
            data = f.read()
        if data != PREVIOUS and (complete is None or data != complete):
            problems.append(f'target changed: {len(data)} bytes, starts {data[:40]!r}')
    else:
        problems.append('target removed')


def check_status(problems, rc, want=None, nonzero=True):
    if isinstance(rc, str):
        problems.append(rc)
    elif want is not None and rc != want:
        problems.append(f'exit status {rc}, want {want}')
    elif nonzero and rc == 0:
        problems.append('exit status 0 after a fault')


def check_lines(problems, err, pattern, count=1):
    """stderr is exactly `count` lines matching pattern (None: any number >= 1)."""
    lines = [line for line in err.splitlines() if line.strip()]
    bad = [line for line in lines if not re.fullmatch(pattern, line)]
    if bad or (count is not None and len(lines) != count) or (count is None and not lines):
        problems.append(f'stderr should be {count or "some"} line(s) like /{pattern}/, got:')
        problems += ['  ' + line for line in lines[:10]] or ['  (nothing)']


def no_mpiwc_noise(problems, err):
    """A killed job: mpiwc had no chance to speak; nothing but mpiwc lines may appear."""
    for line in err.splitlines():
        if line.strip() and not line.startswith('mpiwc: '):
            problems.append(f'unexpected stderr: {line[:200]}')
            break


def read_bytes(pid):
    """Bytes the process has read so far (/proc/PID/io rchar), or None when it is gone."""
    try:
        with open(f'/proc/{pid}/io') as f:
            for line in f:
                if line.startswith('rchar:'):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return None


def wait_reading(job, pid, at_least=16 << 20, timeout=60):
    """Wait until rank process pid has read at_least bytes of its share of the
    input, so that a fault lands in the middle of the map whatever the
    machine's speed (a fixed sleep raced with fast, quiet machines). False
    when the job ends or the process is gone first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and job.p.poll() is None:
        n = read_bytes(pid)
        if n is None:
            return False
        if n >= at_least:
            return True
        time.sleep(0.002)
    return False


def asan_build(mpiwc):
    with open(mpiwc, 'rb') as f:
        data = f.read()
    return b'__asan_init' in data or b'libasan' in data


# ---------------------------------------------------------------- cases

def kill_rank_map(mpiwc, work, cache, output_dir=False):
    """SIGKILL rank 1 while the ranks read: the job ends non-zero, nothing is written."""
    out = os.path.join(work, 'out')
    os.makedirs(out)
    target = os.path.join(out, 'table.tsv')
    with open(target, 'wb') as f:
        f.write(PREVIOUS)
    parts = os.path.join(out, 'parts')
    args = ['--buffer-size=256'] + (['--output-dir', parts] if output_dir else ['-o', target])
    job = Job(mpiwc, 2, args + [big_input(cache)], work)
    problems = []
    ranks = job.wait_ranks(2)
    if not ranks:
        problems.append('the two ranks never started')
    else:
        # Rank 1 reads half of BIG_MB MiB: kill it once it has read 16 MiB of it.
        if not wait_reading(job, ranks[1]):
            raise Skip('the run ended before rank 1 had read 16 MiB: raise FAULTS_MB')
        os.kill(ranks[1], signal.SIGKILL)
    rc, _, err, took = job.finish(END_WITHIN)
    check_status(problems, rc)
    no_mpiwc_noise(problems, err)
    check_target(problems, target)
    if output_dir and os.path.isdir(parts):
        names = os.listdir(parts)
        if '_SUCCESS' in names:
            problems.append('_SUCCESS exists after a failed run')
        if temps(parts):
            problems.append(f'temporary files left in the output dir: {temps(parts)}')
    return problems, f'exit {rc} {took:.1f} s after the kill'


def kill_rank_map_dir(mpiwc, work, cache):
    return kill_rank_map(mpiwc, work, cache, output_dir=True)


def signal_mpirun(mpiwc, work, cache, sig):
    """What Slurm or a user's ^C sends to mpirun mid-run: clean stop, no output."""
    out = os.path.join(work, 'out')
    os.makedirs(out)
    target = os.path.join(out, 'table.tsv')
    with open(target, 'wb') as f:
        f.write(PREVIOUS)
    job = Job(mpiwc, 2, ['--buffer-size=256', '-o', target, big_input(cache)], work)
    problems = []
    ranks = job.wait_ranks(2)
    if not ranks:
        problems.append('the two ranks never started')
    else:
        if not wait_reading(job, ranks[1]):
            raise Skip('the run ended before rank 1 had read 16 MiB: raise FAULTS_MB')
        os.kill(job.mpirun_pid(), sig)
    rc, _, err, took = job.finish(END_WITHIN)
    check_status(problems, rc)
    no_mpiwc_noise(problems, err)
    # mpirun passes the signal on after a moment: a run that finished by then
    # has put the complete table in place, which is as good as the old one.
    check_target(problems, target, complete=big_expected(big_block()))
    return problems, f'exit {rc} {took:.1f} s after {signal.Signals(sig).name}'


def sigterm_mpirun(mpiwc, work, cache):
    return signal_mpirun(mpiwc, work, cache, signal.SIGTERM)


def sigint_mpirun(mpiwc, work, cache):
    return signal_mpirun(mpiwc, work, cache, signal.SIGINT)


def sigterm_writer(mpiwc, work, cache, sig=signal.SIGTERM):
    """SIGTERM to rank 0 while it writes -o's temporary file (Slurm's time limit signals
    every task): the temporary file must not be left behind."""
    out = os.path.join(work, 'out')
    os.makedirs(out)
    target = os.path.join(out, 'table.tsv')
    with open(target, 'wb') as f:
        f.write(PREVIOUS)
    job = Job(mpiwc, 2, ['--sort=word', '-o', target, vocab_input(cache)], work)
    problems = []
    ranks = job.wait_ranks(2)
    tmp = ranks and wait_for(lambda: writing_file(ranks[0], out), 120, step=0.001)
    if not ranks or not tmp:
        problems.append('never saw the temporary output file')
    else:
        try:
            os.kill(ranks[0], sig)
        except ProcessLookupError:
            raise Skip('rank 0 ended before the signal')
    rc, _, err, took = job.finish(END_WITHIN)
    check_status(problems, rc)
    no_mpiwc_noise(problems, err)
    check_target(problems, target, complete=vocab_table())
    return problems, f'exit {rc} {took:.1f} s after {signal.Signals(sig).name}'


def sigkill_writer(mpiwc, work, cache):
    """SIGKILL to rank 0 while it writes (the kernel's OOM killer, Slurm after KillWait)."""
    return sigterm_writer(mpiwc, work, cache, signal.SIGKILL)


def kill_other_rank_while_writing(mpiwc, work, cache):
    """SIGKILL rank 1 while rank 0 writes: mpirun then stops rank 0 (SIGTERM, later SIGKILL)."""
    out = os.path.join(work, 'out')
    os.makedirs(out)
    target = os.path.join(out, 'table.tsv')
    with open(target, 'wb') as f:
        f.write(PREVIOUS)
    job = Job(mpiwc, 2, ['--sort=word', '-o', target, vocab_input(cache)], work)
    problems = []
    ranks = job.wait_ranks(2)
    tmp = ranks and wait_for(lambda: writing_file(ranks[0], out), 120, step=0.001)
    if not ranks or not tmp:
        problems.append('never saw the temporary output file')
    else:
        try:
            os.kill(ranks[1], signal.SIGKILL)
        except ProcessLookupError:
            raise Skip('rank 1 ended before the signal')
    rc, _, err, took = job.finish(END_WITHIN)
    check_status(problems, rc)
    no_mpiwc_noise(problems, err)
    check_target(problems, target, complete=vocab_table())
    return problems, f'exit {rc} {took:.1f} s after the kill'


class Tmpfs:
    """A 64 KiB tmpfs (root only): a disk that fills up."""

    def __init__(self, work):
        if os.getuid() != 0 or not shutil.which('mount'):
            raise Skip('needs root to mount a tmpfs')
        self.path = os.path.join(work, 'small')
        os.makedirs(self.path)
        r = subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', self.path],
                           stderr=subprocess.PIPE)
        if r.returncode != 0:
            raise Skip('cannot mount a tmpfs: ' + r.stderr.decode(errors='replace').strip())

    def close(self):
        subprocess.run(['umount', '-l', self.path])


def disk_full(mpiwc, work, cache):
    """-o on a disk with 64 KiB: exit 1, one line with the reason, the old file kept."""
    fs = Tmpfs(work)
    try:
        target = os.path.join(fs.path, 'table.tsv')
        with open(target, 'wb') as f:
            f.write(PREVIOUS)
        words = os.path.join(work, 'words.txt')
        with open(words, 'wb') as f:  # about 200 KB of output
            f.write(b''.join(b'w%07d\n' % i for i in range(20000)))
        job = Job(mpiwc, 2, ['-o', target, words], work)
        rc, _, err, took = job.finish(TIMEOUT)
        problems = []
        check_status(problems, rc, want=1)
        check_lines(problems, err, re.escape(f'mpiwc: {target}: No space left on device'))
        check_target(problems, target)
        return problems, f'exit {rc}'
    finally:
        fs.close()


def disk_full_dir(mpiwc, work, cache):
    """--output-dir on a full disk: exit 1, each failing rank's line, no parts, no _SUCCESS."""
    fs = Tmpfs(work)
    try:
        parts = os.path.join(fs.path, 'parts')
        words = os.path.join(work, 'words.txt')
        with open(words, 'wb') as f:
            f.write(b''.join(b'w%07d\n' % i for i in range(40000)))
        job = Job(mpiwc, 3, ['--output-dir', parts, words], work)
        rc, _, err, took = job.finish(TIMEOUT)
        problems = []
        check_status(problems, rc, want=1)
        check_lines(problems, err, r'mpiwc: \[rank \d on [^\]/]+\] ' + re.escape(parts) +
                    r'/part-\d{5}: No space left on device', count=None)
        left = sorted(os.listdir(parts)) if os.path.isdir(parts) else []
        if left:
            problems.append(f'left in the output dir: {left}')
        return problems, f'exit {rc}'
    finally:
        fs.close()


def file_too_large(mpiwc, work, cache):
    """A write error without root: RLIMIT_FSIZE (ulimit -f) with SIGXFSZ ignored gives EFBIG."""
    out = os.path.join(work, 'out')
    os.makedirs(out)
    target = os.path.join(out, 'table.tsv')
    with open(target, 'wb') as f:
        f.write(PREVIOUS)
    words = os.path.join(work, 'words.txt')
    with open(words, 'wb') as f:
        f.write(b''.join(b'w%07d\n' % i for i in range(20000)))
    job = Job(mpiwc, 2, ['-o', target, words], work,
              prefix=with_limits("trap '' XFSZ; ulimit -f 64"))
    rc, _, err, took = job.finish(TIMEOUT)
    problems = []
    check_status(problems, rc, want=1)
    check_lines(problems, err, re.escape(f'mpiwc: {target}: File too large'))
    check_target(problems, target)
    return problems, f'exit {rc}'


def change_during_run(mpiwc, work, cache, how):
    """A later input file truncated or removed after planning, while rank 0 reads an earlier one."""
    indir = os.path.join(work, 'in')
    os.makedirs(indir)
    first = os.path.join(indir, 'a-first.txt')
    later = os.path.join(indir, 'b-later.txt')
    os.link(big_input(cache), first)  # the same file system: both are under the temp dir
    with open(later, 'wb') as f:
        f.write(b'later words here\n' * 1000)
    size = os.path.getsize(later)
    out = os.path.join(work, 'out')
    os.makedirs(out)
    target = os.path.join(out, 'table.tsv')
    job = Job(mpiwc, 1, ['--buffer-size=256', '-o', target, first, later], work)
    problems = []
    ranks = job.wait_ranks(1)
    if not ranks:
        problems.append('rank 0 never started')
    else:
        # 16 MiB into the first file: far from the later one.
        if not wait_reading(job, ranks[0]):
            raise Skip('the run ended before rank 0 had read 16 MiB: raise FAULTS_MB')
        if how == 'truncate':
            os.truncate(later, 0)
        else:
            os.remove(later)
    rc, _, err, took = job.finish(TIMEOUT)
    check_status(problems, rc, want=1)
    host = r'[^\]]+'
    reason = (re.escape(f'size changed since planning ({size} -> 0 bytes)') if how == 'truncate'
              else 'No such file or directory')
    check_lines(problems, err, r'mpiwc: \[rank 0 on ' + host + r'\] ' + re.escape(later) + ': ' +
                reason)
    if os.path.exists(target) or temps(out):
        problems.append(f'output written: {os.listdir(out)}')
    return problems, f'exit {rc}'


def truncate_later_file(mpiwc, work, cache):
    return change_during_run(mpiwc, work, cache, 'truncate')


def remove_later_file(mpiwc, work, cache):
    return change_during_run(mpiwc, work, cache, 'remove')


def truncate_while_reading(mpiwc, work, cache):
    """The file a rank is reading shrinks under it: 'file is shorter than planned'."""
    path = os.path.join(work, 'big.txt')
    shutil.copy(big_input(cache), path)
    size = os.path.getsize(path)
    out = os.path.join(work, 'out')
    os.makedirs(out)
    target = os.path.join(out, 'table.tsv')
    # np 2: rank 1 reads the second half; cut the file at 90%, far ahead of it.
    job = Job(mpiwc, 2, ['--buffer-size=256', '-o', target, path], work)
    problems = []
    ranks = job.wait_ranks(2)
    if not ranks:
        problems.append('the ranks never started')
    else:
        # Rank 1 is 16 MiB into its half, far from the cut at 90%.
        if not wait_reading(job, ranks[1]):
            raise Skip('the run ended before rank 1 had read 16 MiB: raise FAULTS_MB')
        os.truncate(path, size * 9 // 10)
    rc, _, err, took = job.finish(TIMEOUT)
    check_status(problems, rc, want=1)
    check_lines(problems, err, r'mpiwc: \[rank 1 on [^\]]+\] ' + re.escape(path) +
                ': file is shorter than planned')
    if os.path.exists(target) or temps(out):
        problems.append(f'output written: {os.listdir(out)}')
    return problems, f'exit {rc}'


def out_of_memory(mpiwc, work, cache):
    """ulimit -v on the ranks and a vocabulary that does not fit: a clear error, no crash."""
    if asan_build(mpiwc):
        raise Skip('AddressSanitizer reserves terabytes of address space: no ulimit -v')
    out = os.path.join(work, 'out')
    os.makedirs(out)
    target = os.path.join(out, 'table.tsv')
    with open(target, 'wb') as f:
        f.write(PREVIOUS)
    job = Job(mpiwc, 2, ['--memory-limit=0', '-o', target, vocab_input(cache)], work,
              prefix=with_limits('ulimit -v 250000'))
    rc, _, err, took = job.finish(TIMEOUT)
    problems = []
    check_status(problems, rc, want=1)
    # Not a bug: what ran out, on which rank and host, and what to do; no source path.
    check_lines(problems, err, r'mpiwc: \[rank [01] on [^\]/]+\] out of memory \(allocating '
                r'[^)]*\): run fewer ranks per host, or lower --memory-limit, --buffer-size '
                r'or --shuffle-buffer', count=None)
    check_target(problems, target)
    return problems, f'exit {rc}'


CASES = {
    'kill-rank-during-map': (kill_rank_map, None),
    'kill-rank-during-map-output-dir': (kill_rank_map_dir, None),
    'sigterm-mpirun': (sigterm_mpirun, None),
    'sigint-mpirun': (sigint_mpirun, None),
    'kill-rank-while-rank0-writes': (kill_other_rank_while_writing, None),
    'sigterm-rank0-while-writing': (sigterm_writer, None),
    'sigkill-rank0-while-writing': (sigkill_writer, None),
    'disk-full': (disk_full, None),
    'disk-full-output-dir': (disk_full_dir, None),
    'file-too-large': (file_too_large, None),
    'truncate-later-file': (truncate_later_file, None),
    'remove-later-file': (remove_later_file, None),
    'truncate-while-reading': (truncate_while_reading, None),
    'out-of-memory': (out_of_memory, None),
}


def main(argv):
    if argv[:1] == ['--list']:
        print('\n'.join(CASES))
        return 0
    if not argv:
        sys.stderr.write(__doc__)
        return 2
    mpiwc, names = os.path.abspath(argv[0]), argv[1:] or list(CASES)
    cache = tempfile.mkdtemp(prefix='mpiwc-faults-cache-')
    failed = 0
    print(f'1..{len(names)}')
    try:
        for n, name in enumerate(names, 1):
            fn, todo = CASES[name]
            work = tempfile.mkdtemp(prefix=f'mpiwc-faults-{name}-')
            t = time.monotonic()
            try:
                problems, note = fn(mpiwc, work, cache)
            except Skip as e:
                print(f'ok {n} - {name} # SKIP {e}')
                continue
            finally:
                shutil.rmtree(work, ignore_errors=True)
            directive = f' # TODO {todo}' if todo and problems else ''
            print(f'{"not ok" if problems else "ok"} {n} - {name}: {note} '
                  f'({time.monotonic() - t:.1f} s){directive}')
            for p in problems:
                print(f'#   {p}')
            if problems and not todo:
                failed += 1
            sys.stdout.flush()
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
