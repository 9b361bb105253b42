#!/usr/bin/env python3
"""Run one fuzz harness: replay its inputs, or fuzz it for a bounded time.

usage: run_fuzz.py replay HARNESS NAME CORPUS REGRESSIONS
       run_fuzz.py fuzz   HARNESS NAME CORPUS REGRESSIONS WORKDIR

replay  runs HARNESS once on every file of CORPUS (the committed seeds) and
        REGRESSIONS (inputs that once failed); works for libFuzzer binaries
        and for the replay_main.c build alike.
fuzz    runs the libFuzzer binary for FUZZ_SECONDS (environment, default 20)
        starting from both folders. New inputs go to WORKDIR/NAME-corpus
        (emptied first, never the source tree); a failing input is saved as
        WORKDIR/NAME-crash-* and the path is printed: copy it into
        REGRESSIONS to make it a regression test. Prints the executions made.
"""
import os
import re
import shutil
import subprocess
import sys


def inputs(*dirs):
    out = []
    for d in dirs:
        if os.path.isdir(d):
            out += [os.path.join(d, n) for n in sorted(os.listdir(d)) if not n.startswith('.')]
    return out


def replay(harness, name, corpus, regressions):
    files = inputs(corpus, regressions)
    if not files:
        print(f'fuzz-replay {name}: no inputs')
        return 0
    # Undefined behaviour fails the replay, whoever runs it (a sanitizer
    # otherwise reports it and goes on).
    env = dict(os.environ)
    env.setdefault('UBSAN_OPTIONS', 'halt_on_error=1:abort_on_error=1:print_stacktrace=1')
    r = subprocess.run([harness] + files, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    out = r.stdout.decode('utf-8', 'replace')
    if r.returncode != 0:
        sys.stdout.write(out[-20000:])
        print(f'fuzz-replay {name}: FAILED (exit {r.returncode})')
        return 1
    print(f'fuzz-replay {name}: {len(files)} inputs, no failure')
    return 0


def fuzz(harness, name, corpus, regressions, workdir):
    seconds = int(os.environ.get('FUZZ_SECONDS', '20'))
    work = os.path.join(workdir, name + '-corpus')
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    cmd = [harness, f'-max_total_time={seconds}', '-timeout=10', '-rss_limit_mb=2048',
           '-print_final_stats=1', f'-artifact_prefix={os.path.join(workdir, name)}-',
           work] + [d for d in (corpus, regressions) if os.path.isdir(d)]
    print('+ ' + ' '.join(cmd), flush=True)
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=seconds + 300)
    out = r.stdout.decode('utf-8', 'replace')
    execs = re.findall(r'stat::number_of_executed_units:\s*(\d+)', out)
    cov = re.findall(r'cov: (\d+) ft: (\d+)', out)
    if r.returncode != 0:
        sys.stdout.write(out[-30000:])
        crashes = re.findall(r'Test unit written to (\S+)', out)
        print(f'fuzz {name}: FAILED (exit {r.returncode}); input: {" ".join(crashes) or "?"}')
        print(f'  to keep it as a regression test: cp INPUT {regressions}/')
        return 1
    tail = f', coverage {cov[-1][0]} edges {cov[-1][1]} features' if cov else ''
    print(f'fuzz {name}: {execs[-1] if execs else "?"} executions in {seconds} s{tail}, '
          f'{len(os.listdir(work))} new inputs, no failure')
    return 0


def main(argv):
    if len(argv) >= 5 and argv[0] == 'replay':
        return replay(*argv[1:5])
    if len(argv) >= 6 and argv[0] == 'fuzz':
        return fuzz(*argv[1:6])
    sys.stderr.write(__doc__)
    return 2


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
