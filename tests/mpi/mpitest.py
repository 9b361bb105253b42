"""What the MPI test scripts share: TAP output, mpirun's command line, a
subprocess run that can never read the test's standard input, and a job run
in the background whose ranks can be found and signalled."""
import os
import re
import signal
import subprocess
import time

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


def run_bench_script(src, script, env, log):
    """Run bench/SCRIPT of the source root src (its working folder) under a
    600 s timeout, with env added to the environment. Returns its exit status
    and its output followed by the text of the file log, if it was written."""
    p = subprocess.run(['timeout', '600', 'bash', os.path.join(src, 'bench', script)], cwd=src,
                       env=dict(os.environ, **env), stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True)
    text = p.stdout
    try:
        with open(log) as f:
            text += f.read()
    except OSError:
        pass
    return p.returncode, text


def wait_for(pred, timeout, step=0.002):
    """pred()'s first true value within timeout seconds, or None."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return None


class Job:
    """One mpirun of mpiwc in the background, in its own session so that a
    stuck job can be cleaned up, its output in files of work (NAME.stdout and
    NAME.stderr, or stdout and stderr). prefix: a command the ranks run mpiwc
    through (it execs mpiwc)."""

    def __init__(self, mpiwc, np, args, work, name='', prefix=(), stdin=subprocess.DEVNULL,
                 env=None):
        self.mpiwc = os.path.realpath(mpiwc)
        stem = os.path.join(work, name + '.' if name else '')
        self.out = open(stem + 'stdout', 'wb+')
        self.err = open(stem + 'stderr', 'wb+')
        self.p = subprocess.Popen(mpirun(np) + list(prefix) + [mpiwc] + list(args), stdin=stdin,
                                  stdout=self.out, stderr=self.err, env=env,
                                  start_new_session=True)

    def descendants(self):
        """The pids of mpirun's process tree, mpirun first."""
        kids = {}
        for pid in os.listdir('/proc'):
            if pid.isdigit():
                try:
                    with open(f'/proc/{pid}/stat', 'rb') as f:
                        ppid = int(f.read().rsplit(b')', 1)[1].split()[1])
                    kids.setdefault(ppid, []).append(int(pid))
                except (OSError, IndexError, ValueError):
                    pass
        out, todo = [], [self.p.pid]
        while todo:
            pid = todo.pop()
            out.append(pid)
            todo += kids.get(pid, [])
        return out

    def ranks(self):
        """{rank: pid} of the running mpiwc processes."""
        found = {}
        for pid in self.descendants():
            try:
                if os.path.realpath(f'/proc/{pid}/exe') != self.mpiwc:
                    continue
                with open(f'/proc/{pid}/environ', 'rb') as f:
                    m = re.search(rb'(?:^|\0)OMPI_COMM_WORLD_RANK=(\d+)\0', f.read())
            except OSError:
                continue
            if m:
                found[int(m.group(1))] = pid
        return found

    def mpirun_pid(self):
        """The pid of mpirun itself (below timeout), or None."""
        for pid in self.descendants():
            try:
                with open(f'/proc/{pid}/comm') as f:
                    if f.read().strip() in ('mpirun', 'orterun', 'prterun'):
                        return pid
            except OSError:
                pass
        return None

    def wait_ranks(self, n, timeout=60):
        """{rank: pid} once n ranks run, or None after timeout seconds."""
        return wait_for(lambda: len(self.ranks()) == n and self.ranks(), timeout)

    def finish(self, timeout=TIMEOUT + 10):
        """(exit status, stdout bytes, stderr text, seconds waited). After
        timeout seconds the whole session is killed and the status is a
        string, 'hung (killed after T s)'."""
        t = time.monotonic()
        try:
            rc = self.p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.p.pid, signal.SIGKILL)
            self.p.wait()
            rc = f'hung (killed after {timeout} s)'
        took = time.monotonic() - t
        self.out.seek(0)
        self.err.seek(0)
        out, err = self.out.read(), self.err.read().decode('utf-8', 'replace')
        self.out.close()
        self.err.close()
        return rc, out, err, took
