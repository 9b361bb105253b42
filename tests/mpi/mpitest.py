"""What the MPI test scripts share: TAP output, mpirun's command line, and a
subprocess run that can never read the test's standard input."""
import os
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
REFERENCE = os.path.join(os.path.dirname(HERE), 'reference.py')
TIMEOUT = 120  # mpirun's limit in seconds, unless a script gives its own
NOBODY = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups']


class Tap:
    """TAP output: "ok N - name" or "not ok N - name", the detail of a failure
    on "#   " lines, and the plan "1..N" at the end. width: cut each detail
    line to that many characters (None: whole lines)."""

    def __init__(self, width=None):
        self.n = 0
        self.failed = 0
        self.width = width

    def ok(self, cond, name, detail=''):
        """One test; detail, shown when cond is false, is a string (its first 20
        lines) or a list or tuple of lines (all of them). Returns cond."""
        self.n += 1
        print('%s %d - %s' % ('ok' if cond else 'not ok', self.n, name), flush=True)
        if not cond:
            self.failed += 1
            if isinstance(detail, (list, tuple)):
                lines = [str(line) for line in detail]
            else:
                lines = str(detail).splitlines()[:20]
            for line in lines:
                print('#   ' + line[:self.width])
        return cond

    def skip(self, name, why):
        self.n += 1
        print('ok %d - %s # SKIP %s' % (self.n, name, why), flush=True)

    def done(self, summary=False):
        """The plan line, and with summary a comment line that counts the
        failures; returns the exit status, 1 if any test failed."""
        print('1..%d' % self.n)
        if summary:
            print('# %d of %d failed' % (self.failed, self.n) if self.failed
                  else '# all %d passed' % self.n, flush=True)
        return 1 if self.failed else 0


def mpirun(np, timeout=TIMEOUT, quiet=True, each_status=False, as_nobody=False):
    """mpirun at np ranks, oversubscribed, under timeout; quiet: with -q.
    each_status: a rank that exits non-zero does not end the others (mpirun
    exits 0; the caller records each rank's status). as_nobody: run as user
    nobody (setpriv, from root); otherwise as root where needed."""
    cmd = ['timeout', str(timeout), 'mpirun'] + (['-q'] if quiet else []) + \
        ['--oversubscribe', '-np', str(np)]
    if each_status:
        cmd += ['--mca', 'orte_abort_on_non_zero_status', '0']
    if as_nobody:
        return NOBODY + cmd
    if os.getuid() == 0:
        cmd.append('--allow-run-as-root')
    return cmd


def run(cmd, **kw):
    """Run cmd in its own session (no controlling terminal, so mpiwc's
    --progress=auto stays off), output captured; standard input is /dev/null
    unless given."""
    if 'input' not in kw and 'stdin' not in kw:
        kw['stdin'] = subprocess.DEVNULL
    return subprocess.run(cmd, capture_output=True, start_new_session=True, **kw)


def reference(args, paths, **kw):
    """tests/reference.py's table (bytes) for the options args over paths."""
    r = subprocess.run(['/usr/bin/python3' if os.path.exists('/usr/bin/python3') else 'python3',
                        REFERENCE] + list(args) + list(paths), capture_output=True, check=True,
                       **kw)
    return r.stdout
