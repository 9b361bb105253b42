#!/usr/bin/env python3
"""Pathological inputs for mpiwc, each compared with tests/reference.py.

usage: pathological.py MPIWC

  - 100,000 files (a third empty, the rest one to three words) in 100
    directories: np 1 and np 3 print the reference's table, and --stats
    counts 100,000 files over the ranks;
  - one line of PATHOLOGICAL_LINE_MB (default 1024) MiB without a newline:
    a 1 MiB block of words and spaces repeated; at np 2 the table is the
    reference's table of one block with every count times the number of
    blocks (the same order: all counts scale alike);
  - one word of 64 MiB, no separator at all, far larger than the read
    buffer: np 1 with the default buffer and np 3 with --buffer-size=64K
    (range boundaries inside the word) print the reference's one row;
  - a walked directory with a symbolic-link loop (a link to its parent), a
    link to itself, a dangling link, a FIFO and a socket beside regular
    files and a link to a file: no hang, the table of the regular files and
    the linked file, and one warning line naming the number skipped.
Each run must exit 0 within the timeout. Output is TAP.
"""
import os
import shutil
import socket
import sys
import tempfile
import time

from mpitest import Tap, mpirun, reference, run

TIMEOUT = 300


def mpiwc_run(mpiwc, np, args):
    return run(mpirun(np, TIMEOUT) + [mpiwc] + args)


def first_diff(want, got):
    if want == got:
        return []
    i = next((k for k in range(min(len(want), len(got))) if want[k] != got[k]),
             min(len(want), len(got)))
    return ['expected %d bytes, got %d; first difference at byte %d' % (len(want), len(got), i),
            'expected %r' % want[max(0, i - 40):i + 40], 'got      %r' % got[max(0, i - 40):i + 40]]


def check_table(tap, name, p, want):
    problems = []
    if p.returncode != 0:
        problems.append('exit status %d' % p.returncode)
    problems += first_diff(want, p.stdout)
    tap.ok(not problems, name, problems + ['stderr: %r' % p.stderr[:400]])


def many_files(tap, mpiwc, tmp):
    root = os.path.join(tmp, 'many')
    vocab = [b'alpha', b'beta', b'Gamma', b'delta', b'x', b'caf\xc3\xa9', b'\xe6\x97\xa5']
    for i in range(100000):
        d = os.path.join(root, 'd%02d' % (i % 100))
        if i < 100:
            os.makedirs(d)
        k = i % 3  # 0: empty; 1, 2: that many words, the last without a newline
        data = b' '.join(vocab[(i // 3 + 2 * j) % len(vocab)] for j in range(k))
        with open(os.path.join(d, 'f%06d.txt' % i), 'wb') as f:
            f.write(data)
    want = reference(['--'], [root])
    for np in (1, 3):
        p = mpiwc_run(mpiwc, np, [root])
        check_table(tap, 'np=%d 100,000 files: the reference table' % np, p, want)
    p = mpiwc_run(mpiwc, 3, ['--stats', root])
    files = [line for line in p.stderr.decode(errors='replace').splitlines()
             if line.split()[:1] == ['files']]
    sums = [int(line.split()[1]) for line in files]
    # An empty file gets no range and is never opened; a file that straddles
    # one of the 2 rank boundaries is opened by both ranks.
    nonempty = 100000 - len(range(0, 100000, 3))
    tap.ok(p.returncode == 0 and len(sums) == 1 and nonempty <= sums[0] <= nonempty + 2,
           'np=3 100,000 files: --stats counts the %d non-empty files (+ at most 2 split)'
           % nonempty,
           ['files lines: %r' % files])


def long_line(tap, mpiwc, tmp):
    mib = int(os.environ.get('PATHOLOGICAL_LINE_MB', '1024'))
    words = [b'the', b'Lord', b'said', b'unto', b'Moses', b'and', b'it', b'was', b'so', b'42',
             b'na\xc3\xafve', b'\xce\xbb\xcf\x8c\xce\xb3\xce\xbf\xcf\x82']
    parts, size, i = [], 0, 0
    while size < (1 << 20) - 32:
        w = words[(i * i + 3 * i) % len(words)] + (b'\t' if i % 17 == 0 else b' ')
        parts.append(w)
        size += len(w)
        i += 1
    block = b''.join(parts)
    block += b' ' * ((1 << 20) - len(block))  # exactly 1 MiB, ends in a separator
    one = os.path.join(tmp, 'block.txt')
    with open(one, 'wb') as f:
        f.write(block)
    line = os.path.join(tmp, 'line.txt')
    with open(line, 'wb') as f:
        for _ in range(mib):
            f.write(block)
    rows = [r.split(b'\t') for r in reference(['--'], [one]).splitlines()]
    want = b''.join(b'%s\t%d\n' % (w, int(c) * mib) for w, c in rows)
    p = mpiwc_run(mpiwc, 2, [line])
    check_table(tap, 'np=2 one line of %d MiB without a newline: block counts x %d' % (mib, mib),
                p, want)
    os.unlink(line)


def huge_word(tap, mpiwc, tmp):
    path = os.path.join(tmp, 'word.txt')
    unit = b'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789\xc3\xa9'
    with open(path, 'wb') as f:
        f.write(unit * ((64 << 20) // len(unit)))
    want = reference(['--'], [path])
    for np, args in ((1, []), (3, ['--buffer-size=64K'])):
        p = mpiwc_run(mpiwc, np, args + [path])
        check_table(tap, 'np=%d one word of 64 MiB %s' % (np, ' '.join(args)), p, want)
    p = mpiwc_run(mpiwc, 2, ['--split=space', '--buffer-size=64K', path])
    check_table(tap, 'np=2 one word of 64 MiB --split=space --buffer-size=64K', p,
                reference(['--split=space', '--'], [path]))
    os.unlink(path)


def odd_entries(tap, mpiwc, tmp):
    root = os.path.join(tmp, 'odd')
    os.makedirs(os.path.join(root, 'sub'))
    with open(os.path.join(root, 'a.txt'), 'wb') as f:
        f.write(b'one two two\n')
    with open(os.path.join(root, 'sub', 'b.txt'), 'wb') as f:
        f.write(b'three three three two\n')
    os.symlink('..', os.path.join(root, 'sub', 'loop'))         # back to the root
    os.symlink('self', os.path.join(root, 'sub', 'self'))       # ELOOP
    os.symlink('nowhere', os.path.join(root, 'dangling'))
    os.symlink('a.txt', os.path.join(root, 'link.txt'))         # a file: followed, counted once
    os.mkfifo(os.path.join(root, 'fifo'))
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(os.path.join(root, 'sock'))
    try:
        want = reference(['--'], [root])
        p = mpiwc_run(mpiwc, 2, [root])
        lines = p.stderr.decode(errors='replace').splitlines()
        problems = [] if p.returncode == 0 else ['exit status %d' % p.returncode]
        problems += first_diff(want, p.stdout)
        if len(lines) != 2 or not lines[0].startswith(
                'mpiwc: warning: skipped 5 entries that are not a regular file (first: ') or \
                lines[1] != 'mpiwc: warning: counted once: 1 path reaches a file already ' \
                'listed (first: %s)' % os.path.join(root, 'link.txt'):
            problems.append('expected a warning line for 5 entries and one for link.txt: %r'
                            % lines)
        tap.ok(not problems, 'np=2 a symlink loop, a self link, a dangling link, a FIFO and a '
               'socket in a walked directory: skipped with one warning; a link to a file '
               'beside it counted once, with one warning', problems)
        q = mpiwc_run(mpiwc, 2, ['-q', root])
        tap.ok(q.returncode == 0 and q.stderr == b'' and q.stdout == want,
               'np=2 the same with -q: no warning', [q.stderr[:400]])
    finally:
        sock.close()


def main(argv):
    if len(argv) != 2:
        sys.stderr.write(__doc__)
        return 2
    mpiwc = os.path.abspath(argv[1])
    tap = Tap(width=600)
    only = os.environ.get('PATHOLOGICAL_ONLY')
    for test in (odd_entries, huge_word, many_files, long_line):
        if only and test.__name__ != only:
            continue
        tmp = tempfile.mkdtemp(prefix='mpiwc-pathological-')
        t0 = time.monotonic()
        try:
            test(tap, mpiwc, tmp)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        print('# %s took %.1f s' % (test.__name__, time.monotonic() - t0), flush=True)
    return tap.done()


if __name__ == '__main__':
    sys.exit(main(sys.argv))
