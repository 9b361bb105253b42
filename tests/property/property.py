#!/usr/bin/env python3
"""Property test: mpiwc agrees with tests/reference.py on random corpora.

usage: property.py MPIWC [--iterations N] [--seed S] [--only I] [--keep]

Each iteration I draws, from a generator seeded with (S, I), a corpus and a
set of options, runs

    timeout 120 mpirun -q --oversubscribe -np N [--allow-run-as-root] MPIWC OPTIONS... PATHS...

and checks that it exits 0, writes nothing to standard error (but the
summary, with --stats), and writes exactly the bytes that reference.py
writes for the same --split --case --sort --top --format and the same paths
(with -o: the file holds them and nothing else is left beside it; with
--output-dir: the part files hold the same words and counts between them and
_SUCCESS exists).

Corpora: 1 to 80 files (some empty, some in subdirectories, passed as a
directory, as a list of files in random order, or one of them as standard
input), each made of random bytes, natural-looking words with mixed case and
every kind of delimiter, very long words (up to 40000 bytes), words of 15 to
17, 63 to 65 and 127 to 129 bytes (the tokenizer's inline key and block
sizes), or runs of delimiters; then the bytes on both sides of every rank
boundary of the plan, and of some read-buffer boundaries after them, are set
to word/word, word/delimiter, delimiter/word or delimiter/delimiter.
Options: np 1-7, --buffer-size 64.. (or the default), --shuffle-buffer 64..,
--memory-limit 0, tiny (the owned words spill to disk every few words) or
default, --sort, --top, --split, --case, --format, sometimes -o, --output-dir
or --stats, and MPIWC_SIMD scalar, avx2 or unset. Spills go to a TMPDIR of
the iteration's own, which must be empty afterwards.

Knobs (the command line wins): PROPERTY_ITERATIONS (default 30),
PROPERTY_SEED (default 1), PROPERTY_ONLY (run one iteration: reproduce a
failure), PROPERTY_KEEP=1 (keep the corpus of a failing iteration; its path
is printed). A long run: PROPERTY_ITERATIONS=2000 PROPERTY_SEED=$RANDOM.
Output is TAP; the exit status is 1 when any iteration fails.
"""
import argparse
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'mpi'))
from mpitest import mpirun  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
REFERENCE = os.path.join(HERE, '..', 'reference.py')
DELIMS = [b' ', b'\n', b'\t', b'\r\n', b'\x0b', b'\x0c', b', ', b'. ', b'-', b'\x00', b'"',
          b'  ', b'!?', b'\x7f', b'_']
LETTERS = b'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'
HIGH = [b'\xc3\xa9', b'\xe2\x80\x99', b'\xff', b'\x80', b'\xf0\x9f\x98\x80']


# ---------------------------------------------------------------- corpora

def word(rng, lo=1, hi=12):
    w = bytes(rng.choice(LETTERS) for _ in range(rng.randint(lo, hi)))
    if rng.random() < 0.1:
        w += rng.choice(HIGH)
    return w


def gen_words(rng, n):
    vocab = [word(rng) for _ in range(rng.randint(1, 300))]
    out = bytearray()
    while len(out) < n:
        out += rng.choice(vocab) if rng.random() < 0.9 else word(rng, 1, 30)
        out += rng.choice(DELIMS)
    return bytes(out[:n])


def gen_long(rng, n):
    out = bytearray()
    while len(out) < n:
        if rng.random() < 0.3:
            out += bytes([rng.choice(LETTERS)]) * rng.randint(100, 40000)
        else:
            out += word(rng, 1, 200)
        out += rng.choice(DELIMS)
    return bytes(out[:n])


def gen_edges(rng, n):
    out = bytearray()
    while len(out) < n:
        size = rng.choice([15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 129, 1, 8, 9])
        out += word(rng, size, size)[:size]
        out += rng.choice(DELIMS)
    return bytes(out[:n])


def gen_delims(rng, n):
    out = bytearray()
    while len(out) < n:
        out += rng.choice(DELIMS) * rng.randint(1, 20)
        if rng.random() < 0.2:
            out += bytes([rng.choice(LETTERS)])
    return bytes(out[:n])


GENERATORS = [
    lambda rng, n: rng.randbytes(n),
    gen_words, gen_words, gen_words,
    gen_long, gen_edges, gen_delims,
]


def file_size(rng):
    r = rng.random()
    if r < 0.1:
        return 0
    if r < 0.4:
        return rng.randint(1, 100)
    if r < 0.85:
        return rng.randint(100, 5000)
    return rng.randint(5000, 60000)


def expand(path):
    """The files of path in mpiwc's order (plan.h: names in byte order, recursively)."""
    if not os.path.isdir(path):
        return [path]
    out = []
    for name in sorted(os.listdir(os.fsencode(path))):
        out += expand(os.path.join(path, os.fsdecode(name)))
    return out


def boundaries(total, np):
    q, rem = divmod(total, np)
    return [r * q + min(r, rem) for r in range(1, np)]


def make_corpus(rng, root, np, bufsize):
    """Write the corpus under root; returns (paths for the command line, stdin bytes or None)."""
    indir = os.path.join(root, 'in')
    os.makedirs(indir)
    nfiles = rng.choice([1, 1, 2, 3, 5, rng.randint(6, 80)])
    scale = 1 if nfiles <= 5 else 8  # about 300 KB at most in all
    gen = rng.choice(GENERATORS)
    mixed = rng.random() < 0.5
    for i in range(nfiles):
        sub = rng.choice(['', '', 'd1', 'd1/d2', 'e']) if nfiles > 3 else ''
        os.makedirs(os.path.join(indir, sub), exist_ok=True)
        data = (rng.choice(GENERATORS) if mixed else gen)(rng, file_size(rng) // scale)
        with open(os.path.join(indir, sub, f'f{i:03d}.txt'), 'wb') as f:
            f.write(data)
    files = expand(indir)

    # Command line: the directory, or the files in random order, maybe one as stdin.
    stdin_data = None
    if rng.random() < 0.5:
        paths = [indir]
    else:
        paths = files[:]
        rng.shuffle(paths)
        if rng.random() < 0.25:
            k = rng.randrange(len(paths))
            with open(paths[k], 'rb') as f:
                stdin_data = f.read()
            os.remove(paths[k])
            paths[k] = '-'
    order = []
    for p in paths:
        if p != '-':
            order += expand(p)

    # Word/delimiter patterns on both sides of rank and buffer boundaries.
    sizes = [os.path.getsize(p) for p in order]
    total = sum(sizes)
    cuts = set()
    for b in boundaries(total, np):
        cuts.add(b)
        if bufsize:
            cuts.update(b + k * bufsize for k in range(1, 3))
    contents = {}
    for cut in sorted(cuts):
        for pos, want_word in ((cut - 1, rng.random() < 0.5), (cut, rng.random() < 0.5)):
            if not 0 <= pos < total:
                continue
            off = pos
            for p, s in zip(order, sizes):
                if off < s:
                    if p not in contents:
                        with open(p, 'rb') as f:
                            contents[p] = bytearray(f.read())
                    contents[p][off] = rng.choice(LETTERS) if want_word else rng.choice(b' \n\t.')
                    break
                off -= s
    for p, data in contents.items():
        with open(p, 'wb') as f:
            f.write(data)
    return paths, stdin_data


# ---------------------------------------------------------------- options

def make_options(rng):
    opts = {
        'split': rng.choice(['alnum', 'space']),
        'case': rng.choice(['fold', 'keep']),
        'sort': rng.choice(['count', 'word']),
        'format': rng.choice(['tsv', 'csv', 'json']),
        'top': rng.choice([0, 0, 0, 1, 3, 20]),
    }
    extra = []
    bufsize = rng.choice([None, 64, 65, 100, 127, 1000, 4096])
    if bufsize:
        extra.append(f'--buffer-size={bufsize}')
    shuffle = rng.choice([None, '64', '100', '1K', '64K'])
    if shuffle:
        extra += ['--shuffle-buffer', shuffle]
    limit = rng.choice([None, '0', '64', '1K', '16K'])
    if limit:
        extra.append(f'--memory-limit={limit}')
    target = rng.choice(['stdout'] * 6 + ['file', 'dir'])
    if target == 'dir':
        opts['top'] = 0
    stats = rng.random() < 0.1
    if stats:
        extra.append('--stats')
    simd = rng.choice([None, 'scalar', 'avx2'])
    return opts, extra, bufsize, target, stats, simd


def mpiwc_args(opts):
    args = [f'--split={opts["split"]}', f'--case={opts["case"]}', f'--sort={opts["sort"]}',
            f'--format={opts["format"]}']
    if opts['top']:
        args.append(f'--top={opts["top"]}')
    return args


def parse_tsv(data):
    counts = {}
    for line in data.split(b'\n'):
        if line:
            w, _, n = line.rpartition(b'\t')
            counts[w] = counts.get(w, 0) + int(n)
    return counts


# ---------------------------------------------------------------- one iteration

def iteration(mpiwc, seed, i, n, keep):
    rng = random.Random(f'{seed}/{i}')
    np = rng.randint(1, 7)
    opts, extra, bufsize, target, stats, simd = make_options(rng)
    if target == 'dir':
        opts['format'] = 'tsv'
        opts['sort'] = 'word'
    root = tempfile.mkdtemp(prefix=f'mpiwc-property-{seed}-{i}-')
    ok = False
    try:
        paths, stdin_data = make_corpus(rng, root, np, bufsize)
        ref = subprocess.run([sys.executable, REFERENCE] + mpiwc_args(opts) + paths,
                             input=stdin_data or b'', stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, check=True).stdout
        outdir = os.path.join(root, 'out')
        os.makedirs(outdir)
        args = mpiwc_args(opts) + extra
        if target == 'file':
            args += ['-o', os.path.join(outdir, 'table.out')]
        elif target == 'dir':
            args += ['--output-dir', os.path.join(outdir, 'parts')]
        cmd = mpirun(np) + [mpiwc] + args + paths
        # Spills (tiny --memory-limit) go under the iteration's own TMPDIR, checked empty after.
        spill = os.path.join(root, 'tmp')
        os.makedirs(spill)
        env = dict(os.environ, TMPDIR=spill)
        cmd[cmd.index(mpiwc):cmd.index(mpiwc)] = ['-x', 'TMPDIR']
        env.pop('MPIWC_SIMD', None)
        if simd:
            env['MPIWC_SIMD'] = simd
        desc = f'np={np} {" ".join(args)}' + (f' MPIWC_SIMD={simd}' if simd else '') + \
            (' (stdin)' if stdin_data is not None else '')
        for _attempt in range(3):
            r = subprocess.run(cmd, input=stdin_data or b'', stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, env=env, start_new_session=True)
            # Open MPI 4's mpirun can crash forwarding stdin (open-mpi/ompi#7483).
            if r.returncode == 0 or b'orte_iof_hnp_read_local_handler' not in r.stderr:
                break
            print(f'# {desc}: mpirun crashed forwarding stdin (ompi#7483), run again', flush=True)
        problems = []
        if r.returncode != 0:
            problems.append(f'exit status {r.returncode}')
        if os.listdir(spill):
            problems.append(f'left in TMPDIR: {sorted(os.listdir(spill))}')
        if r.stderr and not stats:
            problems.append('stderr: ' + r.stderr.decode('utf-8', 'replace')[:2000])
        if stats and re.search(rb'^mpiwc: (?!\d+ ranks? on )', r.stderr, re.M):
            problems.append('error on stderr: ' + r.stderr.decode('utf-8', 'replace')[:2000])
        if target == 'stdout':
            got = r.stdout
        elif target == 'file':
            got = b''
            if os.listdir(outdir) != ['table.out']:
                problems.append(f'output folder holds {sorted(os.listdir(outdir))}')
            if os.path.exists(os.path.join(outdir, 'table.out')):
                with open(os.path.join(outdir, 'table.out'), 'rb') as f:
                    got = f.read()
        else:
            parts = os.path.join(outdir, 'parts')
            names = sorted(os.listdir(parts)) if os.path.isdir(parts) else []
            if '_SUCCESS' not in names:
                problems.append(f'no _SUCCESS in {names}')
            merged = {}
            for name in names:
                if name.startswith('part-'):
                    with open(os.path.join(parts, name), 'rb') as f:
                        for w, c in parse_tsv(f.read()).items():
                            if w in merged:
                                problems.append(f'word {w[:40]!r} in two part files')
                            merged[w] = c
            got, ref = merged, parse_tsv(ref)
        if not problems and got != ref:
            problems.append(f'output differs from reference.py ({len(got)} vs {len(ref)} bytes)')
            if isinstance(got, bytes):
                for k, (a, b) in enumerate(zip(got.split(b'\n'), ref.split(b'\n'))):
                    if a != b:
                        problems.append(f'first difference, line {k + 1}: mpiwc {a[:80]!r}, '
                                        f'reference {b[:80]!r}')
                        break
        ok = not problems
        print(f'{"ok" if ok else "not ok"} {n} - seed {seed} iteration {i}: {desc}')
        for p in problems:
            for line in p.splitlines():
                print(f'#   {line}')
        if not ok:
            print(f'#   reproduce: PROPERTY_SEED={seed} PROPERTY_ONLY={i} PROPERTY_KEEP=1 '
                  f'python3 tests/property/property.py {mpiwc}')
            if keep:
                print(f'#   corpus kept in {root}')
        sys.stdout.flush()
        return ok
    finally:
        if ok or not keep:
            shutil.rmtree(root, ignore_errors=True)


def main(argv):
    p = argparse.ArgumentParser()
    p.add_argument('mpiwc')
    p.add_argument('--iterations', type=int,
                   default=int(os.environ.get('PROPERTY_ITERATIONS', '30')))
    p.add_argument('--seed', default=os.environ.get('PROPERTY_SEED', '1'))
    p.add_argument('--only', type=int,
                   default=int(os.environ['PROPERTY_ONLY']) if os.environ.get('PROPERTY_ONLY')
                   else None)
    p.add_argument('--keep', action='store_true', default=os.environ.get('PROPERTY_KEEP') == '1')
    a = p.parse_args(argv)
    mpiwc = os.path.abspath(a.mpiwc)
    which = [a.only] if a.only is not None else list(range(a.iterations))
    print(f'1..{len(which)}')
    failed = sum(not iteration(mpiwc, a.seed, i, n + 1, a.keep) for n, i in enumerate(which))
    print(f'# {len(which) - failed} of {len(which)} iterations agree with reference.py '
          f'(seed {a.seed})')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
