#!/usr/bin/env python3
"""MPI error-case tests for mpiwc.

usage: errors.py MPIWC

Each case runs `mpirun -q -np N MPIWC ARGS...` at np 1 and np 3 and checks:
  - the exit status (1 runtime error, 2 usage error), on every rank;
  - stdout is empty;
  - stderr is exactly one line "mpiwc: ..." (printed once, by rank 0) that
    names the offending path or option; usage errors may add the line
    "Try 'mpiwc --help' for more information.";
  - with -o FILE, an existing FILE is untouched (bytes and mtime) and no
    other file appears beside it; a FILE that did not exist is not created;
  - nothing hangs (timeout 60 s per run).
mpirun runs in a new session (no controlling terminal: no progress line).
mpirun runs with -q so that its own "process exited with non-zero status"
banner does not mix with mpiwc's messages, and each rank runs under a small
sh wrapper that records its exit status (see RECORD).

Unreadable file: permission bits do not stop root, so when the tests run as
root the unreadable-file case runs mpirun as user nobody (setpriv), with a
copy of the binary in a world-readable temporary directory, which is also
its working directory: the checkout may lie where nobody cannot enter (a
clone in /root, mode 700). Without setpriv, or when nobody cannot reach the
temporary directory, mpirun or the files (a TMPDIR under /root), it is
skipped with the reason.
Output to a read-only place: /proc/mpiwc-test.tsv (procfs refuses new files,
for root too); an existing file there (/proc/version) cannot get the
temporary file beside it; /proc/sys refuses new files (a read-only
--output-dir), and so does a 0555 directory for nobody.
Targets that are one file (--report and -o as the same name, as ./NAME, as a
symbolic or a hard link, --report as a part file or _SUCCESS of
--output-dir, --report=- beside a table on standard output) are refused
before anything is written.
Paths with a newline, a backslash and bytes that are not UTF-8 stay on one
line: the message must hold the path as escape() below writes it (\\n, \\\\,
\\xHH), both for rank 0's planning errors and for a rank's reading error.
"""
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time

from mpitest import NOBODY, Tap, mpirun, run

NPS = [1, 3]
TIMEOUT = 60
HINT = "Try 'mpiwc --help' for more information."


def copy_program(mpiwc, tmp):
    """A copy of the program that the user nobody may run, with the library it
    loads from beside it (its run path is its own directory, in the build)."""
    binary = os.path.join(tmp, 'mpiwc')
    shutil.copy(mpiwc, binary)
    os.chmod(binary, 0o755)
    lib = os.path.join(os.path.dirname(mpiwc), 'libmpiwc.so.0')
    if os.path.exists(lib):
        shutil.copy(lib, os.path.join(tmp, 'libmpiwc.so.0'))
        os.chmod(os.path.join(tmp, 'libmpiwc.so.0'), 0o755)
    return binary


def nobody_blocked(tmp, binary, good, secret, outdir):
    """Why user nobody cannot run the unreadable-file case, or None: it must
    enter tmp (its working directory), find timeout and mpirun on PATH, run
    the binary, read good, reach secret (to be refused reading it) and write
    in outdir."""
    probe = ('cd "$1" || { echo "cannot enter $1"; exit 1; }; '
             'for c in timeout mpirun; do command -v $c >/dev/null || '
             '{ echo "cannot find $c on PATH"; exit 1; }; done; '
             'test -x "$2" || { echo "cannot run $2"; exit 1; }; '
             'test -r "$3" || { echo "cannot read $3"; exit 1; }; '
             'test -e "$4" || { echo "cannot reach $4"; exit 1; }; '
             'test -w "$5" || { echo "cannot write in $5"; exit 1; }')
    p = run(NOBODY + ['sh', '-c', probe, 'sh', tmp, binary, good, secret, outdir], cwd='/')
    if p.returncode == 0:
        return None
    return 'user nobody ' + (p.stdout.decode(errors='replace').strip() or
                             'cannot run sh (status %d)' % p.returncode)


# Every rank records its own exit status in $MPIWC_STATUS_DIR/RANK, and
# mpirun (each_status=True) does not kill the other ranks when one exits
# non-zero: so a rank that does not exit by itself shows up as a timeout, and
# the statuses of all ranks can be compared (mpirun's own exit status is then
# 0 and unused). RECORD follows mpirun's own options.
RECORD = ['-x', 'MPIWC_STATUS_DIR',
          'sh', '-c', 'echo $$ > "$MPIWC_STATUS_DIR/pid.$OMPI_COMM_WORLD_RANK"; "$0" "$@"; '
          's=$?; echo $s > "$MPIWC_STATUS_DIR/$OMPI_COMM_WORLD_RANK"; exit $s']


def kill_leftovers(status_dir):
    """After a timeout: mpirun is gone but a hung rank may live on, below its
    wrapper (the leader of its own process group). Kill those groups."""
    for name in os.listdir(status_dir):
        if name.startswith('pid.'):
            try:
                with open(os.path.join(status_dir, name)) as f:
                    os.killpg(int(f.read()), signal.SIGKILL)
            except (OSError, ValueError):
                pass


def snapshot(directory):
    """Names, bytes and mtimes of the files in directory."""
    out = {}
    for name in sorted(os.listdir(directory)):
        p = os.path.join(directory, name)
        st = os.lstat(p)
        data = open(p, 'rb').read() if stat.S_ISREG(st.st_mode) else None
        out[name] = (data, st.st_mtime_ns)
    return out


def escape(path):
    """A path as mpiwc's messages show it: one line, valid UTF-8 kept."""
    out = []
    for ch in os.fsencode(path).decode('utf-8', 'surrogateescape'):
        o = ord(ch)
        if 0xDC80 <= o <= 0xDCFF:  # a byte that is not part of well-formed UTF-8
            out.append('\\x%02X' % (o - 0xDC00))
        elif ch in '\\\n\t\r':
            out.append({'\\': '\\\\', '\n': '\\n', '\t': '\\t', '\r': '\\r'}[ch])
        elif o < 0x20 or o == 0x7F:
            out.append('\\x%02X' % o)
        else:
            out.append(ch)
    return ''.join(out)


def main(argv):
    if len(argv) != 2:
        sys.stderr.write(__doc__)
        return 2
    mpiwc = os.path.abspath(argv[1])
    tap = Tap()
    tmp = tempfile.mkdtemp(prefix='mpiwc-errors-')
    try:
        run_cases(tap, mpiwc, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return tap.done(summary=True)


def run_cases(tap, mpiwc, tmp):
    os.chmod(tmp, 0o755)
    good = os.path.join(tmp, 'good.txt')
    with open(good, 'wb') as f:
        f.write(b'some words here\n')
    missing = os.path.join(tmp, 'no-such-file.txt')
    odd = os.path.join(tmp, os.fsdecode(b'no such\nfile \\ caf\xc3\xa9 \xff\xfe.txt'))
    empty_dir = os.path.join(tmp, 'empty-dir')
    os.makedirs(empty_dir)
    hollow_dir = os.path.join(tmp, 'hollow-dir')   # only empty subdirectories
    os.makedirs(os.path.join(hollow_dir, 'a', 'b'))
    os.makedirs(os.path.join(hollow_dir, 'c'))
    fifo = os.path.join(tmp, 'fifo')
    os.mkfifo(fifo)
    secret = os.path.join(tmp, 'secret.txt')
    with open(secret, 'wb') as f:
        f.write(b'unreadable words\n')
    os.chmod(secret, 0)
    status_dir = os.path.join(tmp, 'status')
    outdir = os.path.join(tmp, 'out')
    os.makedirs(outdir)
    os.chmod(outdir, 0o777)
    no_dir_out = os.path.join(tmp, 'missing-dir', 'out.tsv')
    proc_out = '/proc/mpiwc-test.tsv'

    # (name, args, status, words the message must contain (one of each tuple),
    #  use -o with an existing file)
    runtime = [
        ('missing path', [good, missing], [(missing,)], True),
        ('missing path with a newline, a backslash and non-UTF-8 bytes', [good, odd],
         [(escape(odd),)], True),
        ('directory with no files', [empty_dir], [(empty_dir,)], True),
        ('directory with only empty subdirectories', [hollow_dir], [(hollow_dir,)], True),
        ('a FIFO is not a regular file', [fifo], [(fifo,)], True),
        ("'-' twice", ['-', good, '-'], [("'-'", '"-"', '-: ', ' - ')], True),
        ('output in a missing directory', ['-o', no_dir_out, good], [(no_dir_out,)], False),
        ('output in a read-only place', ['-o', proc_out, good], [(proc_out,)], False),
        ('report in a missing directory', ['--report=' + no_dir_out, good],
         [(no_dir_out,)], True),
        # RESULT is the -o file: the output would replace an input.
        ('output is also an input', [good, 'RESULT'], [('result.tsv',)], True),
        # Rank 0 reads the stop-word file once for every rank: a pre-flight error.
        ('missing --stopwords file', ['--stopwords=' + missing, good],
         [(missing,), ('--stopwords',)], True),
        ('--stopwords is a directory', ['--stopwords=' + tmp, good],
         [(tmp,), ('Is a directory',)], True),
    ]
    # Compressed inputs that do not decode: one line naming the file and the
    # offset where decoding stopped, exit 1, never a partial count.
    import bz2, gzip, lzma
    text = b' '.join(b'word%d' % (i % 997) for i in range(40000)) + b'\n'
    packed = {'gz': gzip.compress(text), 'bz2': bz2.compress(text), 'xz': lzma.compress(text),
              'zst': subprocess.run(['zstd', '-q', '-c'], input=text, stdout=subprocess.PIPE,
                                    check=True).stdout}
    for fmt, data in sorted(packed.items()):
        cut = os.path.join(tmp, 'truncated-%s.bin' % fmt)
        with open(cut, 'wb') as f:
            f.write(data[:len(data) * 2 // 3])
        # A rank's reading error: the name holds a newline and a byte that is not UTF-8.
        bad = os.path.join(tmp, os.fsdecode(b'corrupt\n%s \xff.bin' % fmt.encode()))
        flipped = bytearray(data)
        flipped[len(data) // 2] ^= 0x5a
        with open(bad, 'wb') as f:
            f.write(bytes(flipped))
        runtime += [
            ('truncated ' + fmt, [good, cut], [(cut,), ('offset %d' % (len(data) * 2 // 3),)],
             True),
            ('corrupt ' + fmt, [bad, good], [(escape(bad),), ('offset',)], True),
        ]
    with open(os.path.join(tmp, 'list.txt'), 'wb') as f:
        f.write(good.encode() + b'\n' + missing.encode() + b'\n')
    # Two targets that are one file: the table would be lost under the report.
    # HARDLINK is a hard link to the -o file, made for the run.
    result_link = os.path.join(tmp, 'result-link.tsv')
    os.symlink(os.path.join(outdir, 'result.tsv'), result_link)
    parts_new = os.path.join(outdir, 'parts')  # must not be created
    parts_old = os.path.join(tmp, 'parts-existing')
    os.makedirs(parts_old)
    runtime += [
        ('--report and -o name the same file', ['--report=RESULT', good],
         [('result.tsv',), ('--report',)], True),
        ('--report names the -o file as ./', ['--report=' + os.path.join(outdir, '.', 'result.tsv'),
                                               good], [('result.tsv',), ('--report',)], True),
        ('--report is a symbolic link to the -o file', ['--report=' + result_link, good],
         [('result',), ('--report',)], True),
        ('--report is a hard link to the -o file', ['--report=HARDLINK', good],
         [('hard.tsv', 'result.tsv'), ('--report',)], True),
        ('-o and --report name one new file two ways',
         ['-o', os.path.join(outdir, 'fresh.tsv'),
          '--report=' + os.path.join(outdir, '.', 'fresh.tsv'), good],
         [('fresh.tsv',), ('--report',)], False),
        ('--report is a part file of a new --output-dir',
         ['--output-dir=' + parts_new, '--report=' + os.path.join(parts_new, 'part-00000'), good],
         [('part-00000',), ('--output-dir',)], False),
        ('--report is the _SUCCESS of --output-dir',
         ['--output-dir=' + parts_old, '--report=' + os.path.join(parts_old, '_SUCCESS'), good],
         [('_SUCCESS',), ('--output-dir',)], False),
        ('-o - and --report=- are both standard output', ['-o', '-', '--report=-', good],
         [('standard output',), ('--report',)], False),
        ('--report=- with the table on standard output', ['--report=-', good],
         [('standard output',), ('--report',)], False),
    ]
    # Errors give their reason.
    runtime += [
        ('--files-from names a directory', ['--files-from=' + empty_dir],
         [(empty_dir,), ('Is a directory',)], True),
        ('report on a full device', ['--report=/dev/full', '-o', os.path.join(tmp, 'table.tsv'),
                                     good], [('/dev/full',), ('No space left on device',)], False),
        ('output over a file of a read-only place', ['-o', '/proc/version', good],
         [('/proc/version',), ('temporary',)], False),
        ('--output-dir in a read-only place', ['--output-dir=/proc/sys', good],
         [('/proc/sys',), ('Permission denied', 'Read-only file system')], False),
    ]
    runtime += [
        ('--files-from list missing', ['--files-from=' + missing], [(missing,)], True),
        ('--files-from names a missing path', ['--files-from=' + os.path.join(tmp, 'list.txt')],
         [(missing,)], True),
        ('--exclude leaves a directory empty', ['--exclude=*', hollow_dir + '/..'],
         [('no files',)], True),
    ]
    usage = [
        ('bad --split', ['--split=foo', good], [('split', 'foo')]),
        ('bad --case', ['--case=upper', good], [('case', 'upper')]),
        ('bad --sort', ['--sort=size', good], [('sort', 'size')]),
        ('bad --format', ['--format=xml', good], [('format', 'xml')]),
        ('bad --top', ['--top=abc', good], [('top', 'abc')]),
        ('negative --top', ['--top=-1', good], [('top', '-1')]),
        ('bad -n', ['-n', 'x1', good], [('-n', 'top', 'x1')]),
        ('--buffer-size below 64', ['--buffer-size=10', good], [('buffer-size', '10')]),
        ('bad --shuffle-buffer suffix', ['--shuffle-buffer=4X', good],
         [('shuffle-buffer', '4X')]),
        ('--shuffle-buffer too big', ['--shuffle-buffer=99999G', good],
         [('shuffle-buffer', '99999G')]),
        ('unknown option', ['--frobnicate', good], [('frobnicate',)]),
        ('unknown short option', ['-Q', good], [('Q',)]),
        ('missing option value', [good, '--top'], [('top',)]),
        ('no paths', [], [('mpiwc:',)]),
        ('no paths, only options', ['--sort=word'], [('mpiwc:',)]),
        ('-0 without --files-from', ['-0', good], [('-0',)]),
        ('empty --include', ['--include=', good], [('include',)]),
    ]

    def check(name, np, args, status, names, existing_out, as_nobody=False, binary=mpiwc):
        problems = []
        out_args, out_file = [], None
        if existing_out:
            out_file = os.path.join(outdir, 'result.tsv')
            with open(out_file, 'wb') as f:
                f.write(b'precious\t1\n')
            old = os.stat(out_file).st_mtime_ns
            os.utime(out_file, ns=(old - 10**9, old - 10**9))
            out_args = ['-o', out_file]
        before = snapshot(outdir)
        proc_before = os.path.exists(proc_out)
        hard = None
        if 'HARDLINK' in ' '.join(args):
            hard = os.path.join(tmp, 'hard.tsv')
            os.link(out_file, hard)
        args = [a.replace('RESULT', out_file or '').replace('HARDLINK', hard or '') for a in args]
        cmd = mpirun(np, TIMEOUT, each_status=True, as_nobody=as_nobody) + RECORD + [binary] + \
            out_args + args
        shutil.rmtree(status_dir, ignore_errors=True)
        os.makedirs(status_dir)
        os.chmod(status_dir, 0o777)
        t0 = time.monotonic()
        try:
            env = dict(os.environ, MPIWC_STATUS_DIR=status_dir)
            if as_nobody:
                env['HOME'] = tmp
            p = run(cmd, timeout=TIMEOUT + 10, env=env, cwd=tmp)
            rc, stdout, stderr = p.returncode, p.stdout, p.stderr
        except subprocess.TimeoutExpired as e:
            rc, stdout, stderr = 'hang', e.stdout or b'', e.stderr or b''
        took = time.monotonic() - t0
        statuses = {}
        for r in range(np):
            try:
                with open(os.path.join(status_dir, str(r))) as f:
                    statuses[r] = int(f.read())
            except (OSError, ValueError):
                statuses[r] = None
        if rc == 124 or rc == 'hang':
            kill_leftovers(status_dir)
            problems.append('timed out after %.0f s (hang?); rank statuses %r' % (took, statuses))
        elif rc != 0:
            problems.append('mpirun failed with status %s' % rc)
        elif set(statuses.values()) != {status}:
            problems.append('rank exit statuses %r, expected %d on every rank' % (statuses, status))
        if stdout:
            problems.append('stdout not empty: %r' % stdout[:300])
        lines = stderr.decode('utf-8', 'replace').splitlines()
        if status == 2 and len(lines) == 2 and lines[1] == HINT:
            lines = lines[:1]
        if len(lines) != 1:
            problems.append('expected one stderr line, got %d: %r' % (len(lines), stderr[:600]))
        elif not lines[0].startswith('mpiwc: '):
            problems.append('stderr line does not start with "mpiwc: ": %r' % lines[0])
        else:
            for alternatives in names:
                if not any(a in lines[0] for a in alternatives):
                    problems.append('stderr line names none of %r: %r' % (alternatives, lines[0]))
        after = snapshot(outdir)
        if after != before:
            problems.append('output directory changed: %r -> %r' % (
                {k: v[0] for k, v in before.items()}, {k: v[0] for k, v in after.items()}))
        if os.path.exists(no_dir_out) or os.path.exists(os.path.dirname(no_dir_out)):
            problems.append('%s appeared' % no_dir_out)
        if os.path.exists(proc_out) and not proc_before:
            problems.append('%s appeared' % proc_out)
        if os.listdir(parts_old):
            problems.append('%s is no longer empty' % parts_old)
            for n in os.listdir(parts_old):
                os.unlink(os.path.join(parts_old, n))
        shown = ' '.join(cmd).replace(tmp, '$TMP').encode(errors='surrogateescape').decode(
            errors='replace')
        tap.ok(not problems, 'np=%d %s (%.1f s)' % (np, name, took),
               ['command: ' + shown, 'stderr: %r' % stderr[:600]] + problems
               if problems else ())
        if out_file:
            os.unlink(out_file)
        if hard:
            os.unlink(hard)

    for np in NPS:
        for name, args, names, existing in runtime:
            check(name, np, args, 1, names, existing)
            if existing and name == 'missing path':
                check(name + ' (no -o)', np, args, 1, names, False)
        # Unreadable file.
        if os.getuid() != 0:
            check('unreadable file', np, [good, secret], 1, [(secret,)], True)
        elif shutil.which('setpriv'):
            binary = copy_program(mpiwc, tmp)
            why = nobody_blocked(tmp, binary, good, secret, outdir)
            if why:
                tap.skip('np=%d unreadable file (as nobody)' % np, why)
            else:
                check('unreadable file (as nobody)', np, [good, secret], 1, [(secret,)], True,
                      as_nobody=True, binary=binary)
        else:
            tap.skip('np=%d unreadable file' % np, 'running as root without setpriv')
        # A read-only --output-dir: the reason, not only "cannot create files in it".
        ro_dir = os.path.join(tmp, 'read-only-dir')
        os.makedirs(ro_dir, exist_ok=True)
        os.chmod(ro_dir, 0o555)
        if os.getuid() != 0:
            check('read-only --output-dir', np, ['--output-dir=' + ro_dir, good], 1,
                  [(ro_dir,), ('Permission denied',)], False)
        elif shutil.which('setpriv'):
            binary = copy_program(mpiwc, tmp)
            why = nobody_blocked(tmp, binary, good, secret, outdir)
            if why:
                tap.skip('np=%d read-only --output-dir (as nobody)' % np, why)
            else:
                check('read-only --output-dir (as nobody)', np, ['--output-dir=' + ro_dir, good],
                      1, [(ro_dir,), ('Permission denied',)], False, as_nobody=True,
                      binary=binary)
        else:
            tap.skip('np=%d read-only --output-dir' % np, 'running as root without setpriv')
        for name, args, names in usage:
            check(name, np, args, 2, names, False)
            if name == 'bad --split':
                check(name + ' (with -o)', np, args, 2, names, True)

    # --help and --version: exit 0, printed once (by rank 0 only) at np 3.
    for opt in ['--help', '-h', '--version', '-V']:
        cmd = mpirun(3, TIMEOUT) + [mpiwc, opt]
        p = run(cmd, timeout=TIMEOUT + 10)
        problems = []
        if p.returncode != 0:
            problems.append('exit status %d' % p.returncode)
        if p.stderr:
            problems.append('stderr: %r' % p.stderr[:300])
        first = p.stdout.split(b'\n', 1)[0]
        if not first or p.stdout.count(first + b'\n') != 1:
            problems.append('stdout is not printed exactly once: %r' % p.stdout[:600])
        if opt in ('--version', '-V') and not first.startswith(b'mpiwc '):
            problems.append('version line: %r' % first)
        tap.ok(not problems, 'np=3 %s prints once, exits 0' % opt,
               ['command: ' + ' '.join(cmd)] + problems if problems else ())

    # --help and --version need no MPI: they answer where MPI_Init would fail
    # (here an Open MPI told to use a PML that does not exist).
    broken = dict(os.environ, OMPI_MCA_pml='nosuch')
    for opt in ['--help', '--version']:
        cmd = [mpiwc, opt]
        p = run(cmd, timeout=TIMEOUT, env=broken)
        problems = []
        if p.returncode != 0:
            problems.append('exit status %d' % p.returncode)
        if p.stderr:
            problems.append('stderr: %r' % p.stderr[:300])
        if not p.stdout.startswith(b'mpiwc ' if opt == '--version' else b'Usage: '):
            problems.append('stdout: %r' % p.stdout[:300])
        tap.ok(not problems, '%s without MPI (MPI_Init would fail): exits 0' % opt,
               ['command: OMPI_MCA_pml=nosuch ' + ' '.join(cmd)] + problems if problems else ())


if __name__ == '__main__':
    sys.exit(main(sys.argv))
