"""What the MPI test scripts share: TAP output, mpirun's command line, and a
subprocess run that can never read the test's standard input."""
import os
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
REFERENCE = os.path.join(os.path.dirname(HERE), 'reference.py')


class Tap:
    def __init__(self):
        self.n = 0
        self.failed = 0

    def ok(self, cond, name, detail=''):
        self.n += 1
        print('%s %d - %s' % ('ok' if cond else 'not ok', self.n, name), flush=True)
        if not cond:
            self.failed += 1
            for line in str(detail).splitlines()[:20]:
                print('#   ' + line)
        return cond

    def skip(self, name, why):
        self.n += 1
        print('ok %d - %s # SKIP %s' % (self.n, name, why), flush=True)

    def done(self):
        print('1..%d' % self.n)
        return 1 if self.failed else 0


def mpirun(np, timeout=120):
    """mpirun at np ranks, quiet, oversubscribed, as root where needed, under timeout."""
    cmd = ['timeout', str(timeout), 'mpirun', '-q', '--oversubscribe', '-np', str(np)]
    if os.getuid() == 0:
        cmd.append('--allow-run-as-root')
    return cmd


def run(cmd, **kw):
    """Run cmd in its own session, output captured; standard input is /dev/null unless given."""
    if 'input' not in kw and 'stdin' not in kw:
        kw['stdin'] = subprocess.DEVNULL
    return subprocess.run(cmd, capture_output=True, start_new_session=True, **kw)


def reference(args, paths, **kw):
    """tests/reference.py's table (bytes) for the options args over paths."""
    r = subprocess.run(['/usr/bin/python3' if os.path.exists('/usr/bin/python3') else 'python3',
                        REFERENCE] + list(args) + list(paths), capture_output=True, check=True,
                       **kw)
    return r.stdout
