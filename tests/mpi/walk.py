#!/usr/bin/env python3
"""The directory walk spread over the ranks gives the plan of a whole walk.

usage: walk.py MPIWC

With several ranks, rank 0 lists the directories down to where they are
many and the ranks walk them (docs/DESIGN.md, Planning). Each case runs
--dry-run --format=json at np 1 (rank 0 walks alone), 2 and 5, and the
files in the plan's order, with their planned bytes (the ranks probe the
files they walk), must be the same at every np and equal to a walk
written here (and the files' sizes) (names in byte order, links to files followed, links to
directories and other entries skipped); the warning about skipped entries
(count and first) must be the same at every np. Trees:
  - wide: files between 40 directories of files and subdirectories;
  - deep: a chain of 5 directories, then wide ones, files at every level; a
    FIFO deep inside comes before a dangling link at the top;
  - links: a link to a file, a link to the parent directory (a loop), a
    dangling link and a FIFO, deep inside;
  - two trees and a file on the command line, and as --files-from;
  - filters: --include and --exclude; --compat=hadoop's hidden entries
    (against np 1 only);
With several ranks, --verbose says how many directories the ranks walked
(so the plan did not come from rank 0 listing alone, its fallback). Errors,
the same line and exit status 1 at every np: a command-line
directory whose subdirectories hold no file; an unreadable directory deep
inside (run as user nobody; skipped where that user cannot run mpirun).
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mpitest import NOBODY, Tap, mpirun, run  # noqa: E402

NPS = (1, 2, 5)


def write(path, text='alpha beta\n'):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        f.write(text)


def make_trees(root):
    wide = os.path.join(root, 'wide')
    for i in range(40):
        d = os.path.join(wide, 'd%02d' % i)
        for k in range(3):
            write(os.path.join(d, 'f%d.txt' % k))
        write(os.path.join(d, 'sub', 'g.txt'))
        write(os.path.join(d, 'sub', 'h.log'))
        write(os.path.join(wide, 'd%02d.txt' % i))  # a file between directories
    write(os.path.join(wide, 'Z.txt'))
    deep = os.path.join(root, 'deep')
    d = deep
    for level in 'abcde':
        d = os.path.join(d, level)
        write(os.path.join(d, 'at-%s.txt' % level))
    for i in range(30):
        for k in range(2):
            write(os.path.join(d, 'w%02d' % i, 'x%d' % k, 'y.txt'))
    # skipped entries: one inside a directory a rank walks, one after it in rank 0's listing
    os.mkfifo(os.path.join(d, 'w05', 'x0', 'fifo'))
    os.symlink('nowhere', os.path.join(deep, 'zz-dangling'))
    links = os.path.join(root, 'links')
    for i in range(20):
        write(os.path.join(links, 'd%02d' % i, 'e', 'f.txt'))
    inner = os.path.join(links, 'd07', 'e')
    os.symlink('f.txt', os.path.join(inner, 'a-link.txt'))
    os.symlink('..', os.path.join(inner, 'b-loop'))
    os.symlink('nowhere', os.path.join(inner, 'c-dangling'))
    os.mkfifo(os.path.join(links, 'd12', 'e', 'fifo'))
    os.symlink('d03', os.path.join(links, 'd03-link'))
    hidden = os.path.join(root, 'hidden')
    for i in range(20):
        write(os.path.join(hidden, 'p%02d' % i, 'part-0'))
        write(os.path.join(hidden, 'p%02d' % i, '_SUCCESS'))
        write(os.path.join(hidden, '.cache%02d' % i, 'x'))
    empty = os.path.join(root, 'empty')
    for i in range(20):
        os.makedirs(os.path.join(empty, 'e%02d' % i, 'deeper'))
    return {'wide': wide, 'deep': deep, 'links': links, 'hidden': hidden, 'empty': empty}


def reference(paths):
    """The whole walk: (files in order, skipped count, first skipped). A file
    reached again (a link to a listed file) is counted once, at its first path."""
    files, skipped, seen = [], [], set()

    def walk(d):
        for name in sorted(os.listdir(d.encode()), key=bytes):
            p = os.path.join(d, name.decode(errors='surrogateescape'))
            if os.path.isdir(p) and not os.path.islink(p):
                walk(p)
            elif os.path.isfile(p):
                listed(p)
            else:
                skipped.append(p)

    def listed(p):
        st = os.stat(p)
        if (st.st_dev, st.st_ino) not in seen:
            seen.add((st.st_dev, st.st_ino))
            files.append(p)

    for p in paths:
        walk(p) if os.path.isdir(p) else listed(p)
    return files, len(skipped), skipped[0] if skipped else None


def plan_files(out):
    """The files of a --dry-run plan (JSON, or text: '  PATH [START, END)'), in order,
    each as [path, bytes planned] (the bytes of its ranges: its size)."""
    if out.startswith(b'{'):
        ranges = [(rng['path'], rng['end'] - rng['start'])
                  for r in json.loads(out)['rank_plans'] for rng in r['ranges']]
    else:
        ranges = []
        for line in out.decode(errors='surrogateescape').splitlines():
            if line.startswith('  '):
                start, end = line[line.rindex(' [') + 2:].rstrip(')').split(', ')
                ranges.append((line[2:line.rindex(' [')], int(end) - int(start)))
    files = []
    for p, n in ranges:
        if files and files[-1][0] == p:
            files[-1][1] += n
        else:
            files.append([p, n])
    return files


def main():
    mpiwc = os.path.abspath(sys.argv[1])
    tap = Tap()
    work = tempfile.mkdtemp(prefix='mpiwc-walk-')
    os.chmod(work, 0o755)
    try:
        trees = make_trees(work)

        def dry_run(np, args, user=None):
            json_format = [] if '--compat=hadoop' in args else ['--format=json']
            cmd = mpirun(np, as_nobody=bool(user)) + [mpiwc, '--dry-run'] + json_format + args
            return run(cmd, cwd=work)

        def same_plan(name, args, ref=None):
            seen = {}
            for np in NPS:
                r = dry_run(np, args)
                err = r.stderr.decode(errors='replace')
                files = plan_files(r.stdout) if r.returncode == 0 else None
                seen[np] = (files, [line for line in err.splitlines() if 'skipped' in line])
                if not tap.ok(r.returncode == 0 and files, '%s: np %d plans' % (name, np), err):
                    return
            first = seen[NPS[0]]
            tap.ok(all(seen[np] == first for np in NPS),
                   '%s: the same files in the same order and the same warning at np %s'
                   % (name, ', '.join(map(str, NPS))),
                   '\n'.join('np %d: %d files, %s' % (np, len(seen[np][0]), seen[np][1])
                             for np in NPS))
            if ref:
                files, count, first_skipped = reference(ref)
                want_warning = ([] if not count else
                                ['mpiwc: warning: skipped %d entr%s that %s not a regular file '
                                 '(first: %s)' % (count, 'y' if count == 1 else 'ies',
                                                  'is' if count == 1 else 'are', first_skipped)])
                tap.ok(first[0] == [[f, os.stat(f).st_size] for f in files] and
                       first[1] == want_warning,
                       '%s: the files, their sizes and the skipped entries of a whole walk' % name,
                       'mpiwc: %d files %s\nreference: %d files %s'
                       % (len(first[0]), first[1], len(files), want_warning))

        for name in ('wide', 'deep', 'links'):
            same_plan(name, [trees[name]], [trees[name]])
        some = [trees['deep'], os.path.join(trees['wide'], 'Z.txt'), trees['links']]
        same_plan('two trees and a file', some, some)
        listing = os.path.join(work, 'list.txt')
        with open(listing, 'w') as f:
            f.write('\n'.join(some) + '\n')
        same_plan('--files-from', ['--files-from', listing], some)
        same_plan('--include and --exclude',
                  ['--include=*.txt', '--exclude=d1*', '--exclude=*/x1', trees['wide'],
                   trees['deep']])
        same_plan('--compat=hadoop', ['--compat=hadoop', trees['hidden']])

        # The walk was spread (not a fallback to rank 0 alone): --verbose says so.
        for np in NPS:
            r = run(mpirun(np) + [mpiwc, '--verbose', '-o', os.devnull, trees['wide']], cwd=work)
            err = r.stderr.decode(errors='replace')
            said = [line for line in err.splitlines() if line.startswith('mpiwc: planned')]
            spread = said and said[0].endswith('; 40 directories walked by the ranks')
            tap.ok(r.returncode == 0 and bool(spread) == (np > 1),
                   'wide: np %d: %s' % (np, 'its 40 directories walked by the ranks' if np > 1
                                        else 'rank 0 walks alone'), err)

        def same_error(name, args, user=None):
            lines = {}
            for np in NPS:
                r = dry_run(np, args, user)
                lines[np] = (r.returncode, r.stderr.decode(errors='replace').strip())
            tap.ok(all(lines[np] == lines[NPS[0]] for np in NPS) and lines[NPS[0]][0] == 1 and
                   lines[NPS[0]][1].count('\n') == 0 and lines[NPS[0]][1],
                   '%s: exit 1 and the same one line at every np' % name,
                   '\n'.join('np %d: %s' % (np, lines[np]) for np in NPS))
            return lines[NPS[0]][1]

        line = same_error('no file in a tree of directories', [trees['empty']])
        tap.ok(line.endswith('%s: directory has no files' % trees['empty']),
               'no file in a tree of directories: the line names it', line)

        secret = os.path.join(trees['wide'], 'd31', 'sub')
        os.chmod(secret, 0)
        try:
            probe = subprocess.run(NOBODY + ['sh', '-c',
                                             'command -v mpirun >/dev/null && test -x "$0" && '
                                             'test -r "$1" && ! test -r "$2"', mpiwc,
                                             os.path.join(trees['wide'], 'd00', 'f0.txt'),
                                             secret],
                                   stdin=subprocess.DEVNULL, capture_output=True, cwd='/')
            if probe.returncode != 0 or not shutil.which('setpriv'):
                tap.skip('unreadable directory (as nobody)', 'user nobody cannot run it here')
            else:
                line = same_error('unreadable directory (as nobody)', [trees['wide']], 'nobody')
                tap.ok(line.endswith('%s: Permission denied' % secret),
                       'unreadable directory: the line names it', line)
        finally:
            os.chmod(secret, 0o755)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return tap.done()


if __name__ == '__main__':
    sys.exit(main())
