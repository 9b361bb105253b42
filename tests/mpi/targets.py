#!/usr/bin/env python3
"""Where the table and the report go: -o, --report, --output-dir, '-'.

usage: targets.py MPIWC

- `-o -` and `--report=-` mean standard output: the table (or the JSON
  report) arrives there and no file named '-' appears.
- --dry-run --output-dir=DIR creates nothing: DIR stays missing.
- -o and --report replace an existing file through a temporary name and a
  rename (a new inode: a hard link to the old file keeps the old content),
  and the new file keeps the old one's permission bits (0600, 0640) and, as
  root, its owner and group.
- --output-dir with csv and json: every part file is a document of its own
  (csv with its header, a json array, also when the rank owns no word), and
  the union of the parts' rows is the table of -o at np 1.
- Write errors on standard output name it and give the reason (a singleton
  run, without mpirun, so that standard output can be /dev/full).
"""
import csv
import io
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile

from mpitest import TIMEOUT, Tap, mpirun, run


def rows_of(data, fmt):
    """The rows of one table or part file, checking it is a document of its own."""
    text = data.decode('utf-8')
    if fmt == 'csv':
        rows = list(csv.reader(io.StringIO(text, newline='')))
        assert rows and rows[0] == ['word', 'count'], 'no csv header: %r' % text[:80]
        return [tuple(r) for r in rows[1:]]
    if fmt == 'json':
        return [(r['word'], str(r['count'])) for r in json.loads(text)]
    return [tuple(l.split('\t')) for l in text.splitlines()]


def check_dash(tap, mpiwc, tmp, good, table):
    r = run(mpirun(2) + [mpiwc, '-o', '-', good], cwd=tmp)
    tap.ok(r.returncode == 0 and r.stdout == table and not os.path.exists(os.path.join(tmp, '-')),
           "-o -: the table on standard output, no file '-'", r.stderr)
    rep = os.path.join(tmp, 'dash.tsv')
    r = run(mpirun(2) + [mpiwc, '-o', rep, '--report=-', good], cwd=tmp)
    try:
        doc = json.loads(r.stdout)
    except ValueError:
        doc = {}
    tap.ok(r.returncode == 0 and doc.get('ranks') == 2 and 'counters' in doc
           and not os.path.exists(os.path.join(tmp, '-')),
           "--report=-: the JSON report on standard output, no file '-'", r.stderr + r.stdout[:300])


def check_dry_run_creates_nothing(tap, mpiwc, tmp, good):
    d = os.path.join(tmp, 'dry-parts')
    r = run(mpirun(2) + [mpiwc, '--dry-run', '--output-dir=' + d, good])
    tap.ok(r.returncode == 0 and not os.path.exists(d),
           '--dry-run --output-dir=NEW: NEW is not created', r.stderr)
    o = os.path.join(tmp, 'dry.tsv')
    r = run(mpirun(2) + [mpiwc, '--dry-run', '-o', o, '--report=' + o + '.json', good])
    tap.ok(r.returncode == 0 and not os.path.exists(o) and not os.path.exists(o + '.json')
           and [n for n in os.listdir(tmp) if n.startswith('.dry')] == [],
           '--dry-run -o NEW --report=NEW2: nothing created', r.stderr)


def check_replace(tap, mpiwc, tmp, good, table):
    for what in ('-o', '--report'):
        for mode in (0o600, 0o640):
            target = os.path.join(tmp, 'kept-%o.out' % mode)
            hard = target + '.hard'
            with open(target, 'wb') as f:
                f.write(b'old\n')
            os.chmod(target, mode)
            owner = (65534, 65534) if os.getuid() == 0 else (os.getuid(), os.getgid())
            os.chown(target, *owner)
            os.link(target, hard)
            args = ['-o', target] if what == '-o' else ['--report=' + target]
            r = run(mpirun(2) + [mpiwc] + args + [good])
            st = os.stat(target)
            with open(hard, 'rb') as f:
                old = f.read()
            with open(target, 'rb') as f:
                new = f.read()
            good_content = new == table if what == '-o' else json.loads(new).get('ranks') == 2
            tap.ok(r.returncode == 0 and good_content and stat.S_IMODE(st.st_mode) == mode
                   and (st.st_uid, st.st_gid) == owner,
                   '%s over a %o file owned by %d:%d: replaced, mode and owner kept' % (
                       what, mode, owner[0], owner[1]),
                   'mode %o owner %d:%d %r' % (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid,
                                                r.stderr))
            tap.ok(old == b'old\n' and st.st_ino != os.stat(hard).st_ino,
                   '%s replaces the file by rename: a hard link keeps the old content' % what,
                   'hard link holds %r' % old[:80])
            os.unlink(target)
            os.unlink(hard)
    leftovers = [n for n in os.listdir(tmp) if '.mpiwc-' in n]
    tap.ok(leftovers == [], 'no temporary file left', str(leftovers))


def check_parts(tap, mpiwc, tmp, good):
    for fmt in ('tsv', 'csv', 'json'):
        one = os.path.join(tmp, 'one.' + fmt)
        r = run(mpirun(1) + [mpiwc, '--format=' + fmt, '-o', one, good])
        with open(one, 'rb') as f:
            want = sorted(rows_of(f.read(), fmt))
        for np in (3, 7):
            d = os.path.join(tmp, 'parts-%s-%d' % (fmt, np))
            r = run(mpirun(np) + [mpiwc, '--format=' + fmt, '--output-dir=' + d, good])
            got, problems = [], []
            names = sorted(n for n in os.listdir(d) if n.startswith('part-')) \
                if os.path.isdir(d) else []
            for name in names:
                with open(os.path.join(d, name), 'rb') as f:
                    data = f.read()
                try:
                    got += rows_of(data, fmt)
                except (AssertionError, ValueError) as e:
                    problems.append('%s: %s' % (name, e))
            tap.ok(r.returncode == 0 and len(names) == np and not problems
                   and sorted(got) == want,
                   '--output-dir --format=%s at np %d: each part a document, their rows the table'
                   % (fmt, np), '%r %r' % (problems, r.stderr))


def check_stdout_errors(tap, mpiwc, tmp, good):
    # A singleton (no mpirun): standard output is the process's own /dev/full.
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT='1', OMPI_ALLOW_RUN_AS_ROOT_CONFIRM='1')
    for args in ([], ['--dry-run'], ['--format=json']):
        with open('/dev/full', 'wb') as full:
            p = subprocess.run(['timeout', str(TIMEOUT), mpiwc] + args + [good], stdout=full,
                               stderr=subprocess.PIPE, env=env, start_new_session=True)
        lines = p.stderr.decode(errors='replace').splitlines()
        tap.ok(p.returncode == 1 and lines == ['mpiwc: standard output: No space left on device'],
               'standard output is /dev/full %s: one line with the reason' % ' '.join(args),
               p.stderr)


def main():
    mpiwc = os.path.abspath(sys.argv[1])
    tap = Tap()
    tmp = tempfile.mkdtemp(prefix='mpiwc-targets-')
    try:
        os.chmod(tmp, 0o755)
        good = os.path.join(tmp, 'good.txt')
        with open(good, 'wb') as f:
            f.write(b'one two two three three three\nfour five six seven\n')
        plain = run(mpirun(2) + [mpiwc, good])
        tap.ok(plain.returncode == 0 and plain.stdout, 'the table on standard output', plain.stderr)
        check_dash(tap, mpiwc, tmp, good, plain.stdout)
        check_dry_run_creates_nothing(tap, mpiwc, tmp, good)
        check_replace(tap, mpiwc, tmp, good, plain.stdout)
        check_parts(tap, mpiwc, tmp, good)
        check_stdout_errors(tap, mpiwc, tmp, good)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return tap.done()


if __name__ == '__main__':
    sys.exit(main())
