#!/usr/bin/env python3
"""--ngram: n-grams of the kept keys, against reference.py at np 1-7.

usage: ngram.py MPIWC

Every table is compared byte for byte with tests/reference.py's for the same
options (mpiwc's own options, such as --buffer-size, --memory-limit and
--checkpoint-dir, go to mpiwc only); a run must exit 0 and print nothing on
stderr. Unless a case says otherwise it runs at np 1, 2, 3, 4 and 7; most
cases run with SMALL, --buffer-size=64 --shuffle-buffer=64. Cases:
  - reference: a few tables worked out by hand (filters before n-grams, no
    n-gram across files, standard input as one stream, M:N);
  - a mixed text of a few KB (non-ASCII words, punctuation, digits) with
    --ngram=2, 3, 1:3 and 8, with the default buffers and with SMALL;
  - cuts at every byte: a text of 320 bytes at np 1 and 2 with
    --checkpoint-dir and MPIWC_CHECKPOINT_STEP=1 (every byte is a range
    boundary); its first 40 bytes with a checkpoint after every byte; and
    a text cut to four lengths at np 2-7, so that the plan's boundaries
    fall in other places;
  - --ngram=1 and 1:1 give the table of a run without --ngram;
  - edge files, each alone and all together (with the default buffers too):
    no final newline, one word, one letter, a 100 KB word alone and between
    other words; an empty file and one of separators only, alone at np 7;
  - filters that drop every other word (--stopwords, --min-length=4,
    --ignore-numbers): the n-grams join words that are never adjacent; and
    the same under --split=space and --split=alnum at np 1 and 3, where a
    word's key is its bytes but a filter still tests characters;
  - --split=space, --split=alnum and --case=keep; --sort=word, --top=5, csv
    and json at np 1 and one more (the space rule keeps quotes, commas and
    a backslash in words, for the escapes);
  - --memory-limit=64K at np 1 and 3 on 1 MB of some 300,000 distinct
    n-grams: it spills, and leaves no spill directory;
  - standard input at np 1 and 3 cut into 64-byte pieces, and a file of two
    gzip members (n-grams span the members);
  - --split=uax29 on Chinese text (skipped where reference.py has no PyICU);
  - checkpoints: --ngram=2 killed at np 3 (SIGKILL of a rank) and resumed at
    np 2; a checkpoint written with --ngram=2 is ignored, in one line, by a
    run with --ngram=3 or without --ngram (exit 0, a fresh start, as
    checkpoint.py's other word options), and resumed by one with --ngram=2;
  - usage errors: bad values and --compat=hadoop with --ngram other than 1
    exit 2 with one line naming --ngram (and the --help hint), no output;
    each by a singleton, two at np 3; --compat=hadoop --ngram=1 is allowed.
Output is TAP. The work directory is removed unless a check failed.
"""
import gzip
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import types

import checkpoint as ckpt
from mpitest import Tap, mpirun, run, reference

NPS = (1, 2, 3, 4, 7)
SMALL = ['--buffer-size=64', '--shuffle-buffer=64']
HINT = b"Try 'mpiwc --help' for more information."
LETTERS = 'abcdefghijklmnopqrstuvwxyz'


def write(path, data):
    with open(path, 'wb') as f:
        f.write(data)
    return path


def first_difference(want, got):
    """Where two tables part: a few rows only one of them has."""
    w, g = want.splitlines(), got.splitlines()
    ws, gs = set(w), set(g)
    only_w = [r for r in w if r not in gs][:5]
    only_g = [r for r in g if r not in ws][:5]
    return 'rows %d want, %d got\nonly in the reference: %r\nonly in mpiwc: %r' % (
        len(w), len(g), only_w, only_g)


def compare(tap, mpiwc, name, args, paths, nps=NPS, extra=(), mpi=(), env=None, stdin=None,
            want=None):
    """mpiwc ARGS EXTRA PATHS at each np: exit 0, no stderr, reference.py's table for ARGS."""
    if want is None:
        want = reference(args, paths, input=stdin)
    shown = ' '.join(list(args) + list(extra))
    feed = {} if stdin is None else {'input': stdin}
    for np in nps:
        r = run(mpirun(np) + list(mpi) + [mpiwc] + list(args) + list(extra) + list(paths),
                env=env, **feed)
        detail = 'exit %d\nstderr: %s' % (r.returncode, r.stderr.decode(errors='replace'))
        if r.returncode == 0 and r.stdout != want:
            detail += '\n' + first_difference(want, r.stdout)
        tap.ok(r.returncode == 0 and r.stdout == want and r.stderr == b'',
               'np=%d %s %s: the reference table (%d lines)' % (np, name, shown,
                                                               want.count(b'\n')), detail)
    return want


# ---------------------------------------------------------------- inputs

def mixed_text(rng, nbytes):
    """A few KB of prose: capitals, non-ASCII words (composed and not), digits,
    punctuation; a small vocabulary, so that n-grams repeat."""
    vocab = ['the', 'The', 'THE', 'cat', 'sat', 'on', 'mat', 'and', 'a', 'dog', 'ran', 'to',
             'it', 'is', 'été', 'e\u0301te\u0301', 'Straße', 'STRASSE', 'naïve', 'Ωmega',
             'λόγος', 'ΛΌΓΟΣ', 'привет', 'Привет', '文字', 'ﬁne', 'fine', '42', '2024', 'x1',
             'don\'t', '"quoted"', 'C:\\dir', 'a,b', 'end.']
    seps = [' '] * 10 + ['\n', ', ', '. ', '! ', ' -- ', '\t', '  ', ' (', ') ', '; ', ' "']
    out, size = [], 0
    while size < nbytes:
        w = rng.choice(vocab[:14]) if rng.random() < 0.6 else rng.choice(vocab)
        s = rng.choice(seps)
        out += (w, s)
        size += len((w + s).encode())
    return ''.join(out).encode() + b'\n'


def short_text(rng, nwords):
    """Words of 1..12 letters (a few with é or ß), separated by one space or a run."""
    out = []
    for _ in range(nwords):
        w = ''.join(rng.choice(LETTERS) for _ in range(rng.randint(1, 12)))
        if rng.random() < 0.1:
            i = rng.randrange(len(w) + 1)
            w = w[:i] + rng.choice('éß') + w[i:]
        out.append(w)
        out.append(rng.choice([' '] * 6 + ['   ', ' \n\n ', ', ', '.\n', '\t \t']))
    return ''.join(out).encode()


def plan_starts(total, n):
    """The interior boundaries of the plan at n ranks (range r starts at r*q + min(r, rem))."""
    q, rem = divmod(total, n)
    return {r * q + min(r, rem) for r in range(1, n)}


def alternating(rng, kept, dropped, nwords):
    """nwords words, every other one from dropped."""
    return ' '.join(rng.choice(dropped if i % 2 else kept) for i in range(nwords)).encode() + b'\n'


def chinese_text(rng, nbytes):
    words = ['我们', '今天', '学校', '他们', '明天', '公园', '中国', '文字', '天气', '很好',
             '朋友', '一起', '学习', '工作', '时间', '问题', '北京', '上海']
    out, size = [], 0
    while size < nbytes:
        w = rng.choice(words) + rng.choice(['', '', '', '去', '的', '了'])
        s = rng.choice(['', '', '，', '。', ' ', '\n'])
        out += (w, s)
        size += len((w + s).encode())
    return ''.join(out).encode() + b'\n'


def many_ngrams_text(rng, nbytes):
    """Uniform words from 3,000: nearly every bigram and trigram occurs once."""
    vocab = [''.join(rng.choice(LETTERS) for _ in range(rng.randint(2, 9))) for _ in range(3000)]
    lines, size = [], 0
    while size < nbytes:
        line = ' '.join(rng.choice(vocab) for _ in range(12))
        lines.append(line)
        size += len(line) + 1
    return ('\n'.join(lines) + '\n').encode()


# ---------------------------------------------------------------- cases

def check_reference(tap, d):
    """reference.py's n-grams on examples worked out by hand."""
    t = {name: write(os.path.join(d, 'hand-' + name), data) for name, data in (
        ('abab', b'a b a b\n'), ('xyz', b'x y z'), ('cd', b'c d'),
        ('stop', b'The cat the dog the'), ('stoplist', b'the\n'),
        ('short', b'abcd ab efgh x ijkl'), ('digits', 'one 1 two \u0663 three'.encode()))}
    cases = [
        (['--ngram=2', '--sort=word'], [t['abab']], None, b'a b\t2\nb a\t1\n'),
        (['--ngram=1:3', '--sort=word'], [t['xyz']], None,
         b'x\t1\nx y\t1\nx y z\t1\ny\t1\ny z\t1\nz\t1\n'),
        (['--ngram=2', '--sort=word'], [t['xyz'], t['cd']], None, b'c d\t1\nx y\t1\ny z\t1\n'),
        (['--ngram=2', '--sort=word', '-'], [], b'x y z\nc d', b'c d\t1\nx y\t1\ny z\t1\nz c\t1\n'),
        (['--ngram=2', '--stopwords=' + t['stoplist']], [t['stop']], None, b'cat dog\t1\n'),
        (['--ngram=2:3', '--min-length=4', '--sort=word'], [t['short']], None,
         b'abcd efgh\t1\nabcd efgh ijkl\t1\nefgh ijkl\t1\n'),
        (['--ngram=2', '--ignore-numbers', '--sort=word'], [t['digits']], None,
         b'one two\t1\ntwo three\t1\n'),
        (['--ngram=3', '--format=csv'], [t['cd']], None, b'word,count\r\n'),
    ]
    for args, paths, stdin, want in cases:
        got = reference(args, paths, input=stdin)
        tap.ok(got == want, 'reference %s: %r' % (' '.join(args), want), 'got %r' % got)


def check_mixed(tap, mpiwc, d):
    path = write(os.path.join(d, 'mixed.txt'), mixed_text(random.Random('ngram:mixed'), 4000))
    for n in ('2', '3', '1:3', '8'):
        want = compare(tap, mpiwc, 'mixed', ['--ngram=' + n], [path])
        compare(tap, mpiwc, 'mixed', ['--ngram=' + n], [path], extra=SMALL, want=want)
    return path


def check_unigram(tap, mpiwc, paths):
    """--ngram=1 and 1:1 are the table without --ngram, in mpiwc and in the reference."""
    plain = reference([], paths)
    for args in (['--ngram=1'], ['--ngram=1:1']):
        tap.ok(reference(args, paths) == plain, 'reference %s: the table without --ngram'
               % args[0])
    for np in NPS:
        a = run(mpirun(np) + [mpiwc] + SMALL + paths)
        b = run(mpirun(np) + [mpiwc, '--ngram=1'] + SMALL + paths)
        tap.ok(a.returncode == 0 and b.returncode == 0 and a.stdout == b.stdout == plain,
               'np=%d --ngram=1: the table without --ngram' % np,
               (a.stderr + b.stderr).decode(errors='replace'))
    for np in (1, 3):
        r = run(mpirun(np) + [mpiwc, '--ngram=1:1', '--sort=word'] + paths)
        tap.ok(r.returncode == 0 and r.stdout == reference(['--sort=word'], paths),
               'np=%d --ngram=1:1 --sort=word: the table without --ngram' % np,
               r.stderr.decode(errors='replace'))


def check_cuts(tap, mpiwc, d):
    """Every byte a boundary (checkpoint steps of 1 byte), then the plan's own boundaries."""
    text = short_text(random.Random('ngram:cuts'), 60)[:320]
    path = write(os.path.join(d, 'cuts.txt'), text)
    env = dict(os.environ, MPIWC_CHECKPOINT_STEP='1')
    step = ['-x', 'MPIWC_CHECKPOINT_STEP']
    want = reference(['--ngram=1:3'], [path])
    for np in (1, 2):
        ck = os.path.join(d, 'ck-cuts-%d' % np)
        compare(tap, mpiwc, 'cuts.txt (%d bytes, a step a byte)' % len(text), ['--ngram=1:3'],
                [path], nps=(np,), extra=['--checkpoint-dir=' + ck], mpi=step, env=env,
                want=want)
    # A checkpoint after every step (slow: the first 40 bytes only), which shows that the
    # steps are of one byte, and that a checkpoint between any two bytes keeps the table.
    head = write(os.path.join(d, 'cuts-head.txt'), text[:40])
    rep = os.path.join(d, 'cuts-head.json')
    failed = tap.failed
    compare(tap, mpiwc, 'cuts-head.txt (40 bytes, a checkpoint a byte)', ['--ngram=1:3'], [head],
            nps=(2,), extra=['--checkpoint-dir=' + os.path.join(d, 'ck-head'),
                             '--checkpoint-interval=0', '--report=' + rep], mpi=step, env=env)
    if tap.failed == failed:
        with open(rep) as f:
            n = json.load(f)['counters']['checkpoints']['sum']
        tap.ok(n >= 30, 'np=2 cuts-head.txt: %d checkpoints in 40 bytes' % n)
    # Several lengths: each moves the boundaries of np 2-7 to other bytes.
    longer = short_text(random.Random('ngram:lengths'), 120)
    seen = set()
    for total in (len(longer), len(longer) - 1, len(longer) - 5, len(longer) - 23):
        p = write(os.path.join(d, 'length-%d.txt' % total), longer[:total])
        cuts = set()
        for n in range(2, 8):
            cuts |= plan_starts(total, n)
        new = len(cuts - seen)
        seen |= cuts
        compare(tap, mpiwc, 'length-%d.txt (%d new cuts)' % (total, new), ['--ngram=1:3'], [p],
                nps=range(2, 8), extra=SMALL)
    return path


def check_edges(tap, mpiwc, d):
    rng = random.Random('ngram:edges')
    long_word = ''.join(rng.choice(LETTERS) for _ in range(100_000)).encode()
    files = [write(os.path.join(d, name), data) for name, data in (
        ('no-newline.txt', b'alpha beta gamma delta alpha beta'),
        ('one-word.txt', b'solitary\n'),
        ('one-letter.txt', b'x'),
        ('empty.txt', b''),
        ('separators.txt', b' \n\t , . \n'),
        ('long-word.txt', long_word),
        ('long-between.txt', b'before the ' + long_word + b' after it\nand more'),
    )]
    for p in files:
        # Nothing to count at any np: np 7 alone (most ranks get a byte or none).
        nps = (7,) if os.path.basename(p) in ('empty.txt', 'separators.txt') else NPS
        compare(tap, mpiwc, os.path.basename(p), ['--ngram=1:3'], [p], nps=nps, extra=SMALL)
    joined = write(os.path.join(d, 'joined.txt'),
                   b''.join(open(p, 'rb').read() + b' ' for p in files))
    want = reference(['--ngram=1:3'], files)
    tap.ok(want != reference(['--ngram=1:3'], [joined]),
           'reference: the files together are not their concatenation (n-grams stop at a file)')
    compare(tap, mpiwc, 'the edge files together', ['--ngram=1:3'], files, want=want)
    compare(tap, mpiwc, 'the edge files together', ['--ngram=1:3'], files, extra=SMALL,
            want=want)
    return files


def check_filters(tap, mpiwc, d):
    rng = random.Random('ngram:filters')
    content = ['alpha', 'beta', 'gamma', 'delta', 'Straße', 'ωμέγα', 'naïve', 'word']
    stop = ['the', 'of', 'and', 'a', 'été']
    stoplist = write(os.path.join(d, 'stop.txt'), ('\n'.join(stop) + '\n').encode())
    cases = [
        ('stop', content, stop, ['--stopwords=' + stoplist]),
        # Characters, not bytes: été is 3 in 5 bytes, ωμέ 3 in 6.
        ('short', content, ['ab', 'x', 'été', 'ωμέ', 'abc'], ['--min-length=4']),
        ('numbers', content, ['12', '007', '\u0663\u0664', '\uff12\uff10', '5'],
         ['--ignore-numbers']),
    ]
    for name, kept, dropped, args in cases:
        text = alternating(rng, kept, dropped, 400)
        path = write(os.path.join(d, 'every-other-%s.txt' % name), text)
        want = reference(['--ngram=2'] + args, [path])
        adjacent = {r.split(b'\t')[0] for r in reference(['--ngram=2'], [path]).splitlines()}
        keys = [r.split(b'\t')[0] for r in want.splitlines()]
        tap.ok(keys and not any(k in adjacent for k in keys),
               'reference %s --ngram=2: n-grams of words that are never adjacent' % args[0],
               want[:300])
        compare(tap, mpiwc, os.path.basename(path), ['--ngram=1:3'] + args, [path], extra=SMALL)
        for split in ('--split=space', '--split=alnum'):
            compare(tap, mpiwc, os.path.basename(path), ['--ngram=2', split] + args, [path],
                    nps=(1, 3), extra=SMALL)


def check_variants(tap, mpiwc, mixed):
    """The word rules at every np; the order and the formats at np 1 and one more."""
    for args, nps in ((['--ngram=2', '--split=space'], NPS),
                      (['--ngram=1:3', '--split=alnum'], NPS),
                      (['--ngram=2', '--case=keep'], NPS),
                      (['--ngram=3', '--sort=word'], (1, 2)),
                      (['--ngram=1:3', '--top=5'], (1, 3)),
                      (['--ngram=2', '--split=space', '--format=csv'], (1, 4)),
                      (['--ngram=2:3', '--split=space', '--format=json'], (1, 7))):
        compare(tap, mpiwc, 'mixed', args, [mixed], nps=nps, extra=SMALL)


def check_spill(tap, mpiwc, d):
    path = write(os.path.join(d, 'many.txt'), many_ngrams_text(random.Random('ngram:spill'),
                                                               1 << 20))
    spill = os.path.join(d, 'spill')
    os.mkdir(spill)
    report = os.path.join(d, 'spill-report.json')
    want = reference(['--ngram=1:3'], [path])
    for np in (1, 3):
        failed = tap.failed
        compare(tap, mpiwc, 'many.txt (1 MB)', ['--ngram=1:3'], [path], nps=(np,),
                extra=['--memory-limit=64K', '--spill-dir=' + spill, '--report=' + report],
                want=want)
        if tap.failed != failed:
            continue
        try:
            with open(report) as f:
                runs = json.load(f)['counters']['spill_runs']['sum']
        except (OSError, ValueError, KeyError) as e:
            runs = repr(e)
        tap.ok(isinstance(runs, int) and runs > 0, 'np=%d --memory-limit=64K: it spilled' % np,
               runs)
        left = [n for n in os.listdir(spill) if n.startswith('mpiwc-spill-')]
        tap.ok(left == [], 'np=%d --memory-limit=64K: no spill directory left' % np,
               str(left))
        if os.path.exists(report):
            os.remove(report)


def check_streams(tap, mpiwc, d, mixed, paths):
    data = b''.join(open(p, 'rb').read() for p in [mixed] + paths)
    compare(tap, mpiwc, 'standard input (%d bytes)' % len(data), ['--ngram=1:3', '-'], [],
            nps=(1, 3), extra=SMALL, stdin=data)
    # Two gzip members, the second starting at a space: one file, one sequence of words.
    text = open(mixed, 'rb').read()
    half = text.index(b' ', len(text) // 2)
    gz = write(os.path.join(d, 'mixed.txt.gz'), gzip.compress(text[:half], mtime=0) +
               gzip.compress(text[half:], mtime=0))
    compare(tap, mpiwc, 'mixed.txt.gz (2 members) and cuts.txt', ['--ngram=1:3'],
            [gz, paths[0]], extra=SMALL)


def check_uax29(tap, mpiwc, d):
    path = write(os.path.join(d, 'chinese.txt'), chinese_text(random.Random('ngram:zh'), 3000))
    try:
        want = reference(['--split=uax29', '--ngram=2'], [path])
    except subprocess.CalledProcessError as e:
        lines = e.stderr.decode(errors='replace').strip().splitlines()
        tap.skip('--split=uax29 --ngram=2 on Chinese text',
                 'reference.py cannot segment: %s' % (lines[-1] if lines else e))
        return
    compare(tap, mpiwc, 'chinese.txt', ['--split=uax29', '--ngram=2'], [path], extra=SMALL,
            want=want)


def check_kill(tap, mpiwc, d):
    """--ngram=2 at np 3, a rank killed after some checkpoints; resumed at np 2."""
    name = 'checkpoint: --ngram=2 killed at np 3, resumed at np 2: the reference table'
    folder = os.path.join(d, 'kill-input')
    ckpt.make_input(folder, 2, 21)
    total = ckpt.tree_bytes(folder)
    ckdir = os.path.join(d, 'ck-kill')
    out = os.path.join(d, 'kill.tsv')
    args = ['--checkpoint-dir=' + ckdir, '--checkpoint-interval=0', '--ngram=2']
    try:
        job = ckpt.start(mpiwc, 3, args + ['-o', out, folder], d, 'kill')
        try:
            ckpt.wait_checkpoints(job, ckdir, 3)
            victim = job.ranks().get(2)
            ckpt.expect(victim, 'rank 2 not found')
            os.kill(victim, signal.SIGKILL)
        except ckpt.Fail:
            if job.p.poll() is None:
                os.killpg(job.p.pid, signal.SIGKILL)
            job.finish()
            raise
        rc, _, err = ckpt.finish(job)
        ckpt.expect(rc != 0, 'the killed run exited 0')
        ckpt.expect(not os.path.exists(out), 'the killed run left an output')
        rep = os.path.join(d, 'kill-resume.json')
        rc, _, err = ckpt.run(mpiwc, 2, args + ['--report=' + rep, '-o', out, folder], d,
                              'kill-resume')
        ckpt.expect(rc == 0, 'resumed run exited %r: %s' % (rc, err))
        lines = ckpt.stderr_lines(err)
        resumed = [x for x in lines if x.startswith('mpiwc: resuming from checkpoint ')]
        ignored = [x for x in lines if re.match(r'mpiwc: checkpoint .*; ignored$', x)]
        ckpt.expect(len(resumed) == 1 and len(resumed) + len(ignored) == len(lines),
                    'expected one "resuming" line, got %r' % lines)
        c = ckpt.report(rep)
        ckpt.expect(c['restart_skipped'] > 0, 'the restart skipped nothing')
        ckpt.expect(c['bytes'] + c['restart_skipped'] == total,
                    'read %d + skipped %d != %d input bytes' % (c['bytes'], c['restart_skipped'],
                                                                total))
        with open(out, 'rb') as f:
            got = f.read()
        want = reference(['--ngram=2'], [folder])
        if got != want:
            raise ckpt.Fail('resumed output differs from tests/reference.py\n' +
                            first_difference(want, got))
        tap.ok(True, name + ' (read %d of %d bytes after the kill)' % (c['bytes'], total))
    except (ckpt.Fail, OSError, ValueError, KeyError) as e:
        tap.ok(False, name, e)


def check_checkpoint_options(tap, mpiwc, d, sources):
    """A checkpoint of --ngram=2 is another word option: ignored (one line, a fresh start, exit
    0, as checkpoint.py's other options) by --ngram=3 and by no --ngram; resumed by --ngram=2."""
    folder = os.path.join(d, 'ck-input')
    os.mkdir(folder)
    for p in sources:
        shutil.copy(p, folder)
    ckdir = os.path.join(d, 'ck-options')
    fx = types.SimpleNamespace(mpiwc=mpiwc, work=d)
    pattern = r'mpiwc: checkpoint .*/gen-\d+: written with other word options .*; ignored'
    for i, other in enumerate((['--ngram=3'], [])):
        name = 'checkpoint of --ngram=2 ignored by %s: one line, a fresh start, the reference' \
            % (other[0] if other else 'no --ngram')
        try:
            ckpt.kept_checkpoint(fx, folder, ckdir, 'ng2-kept-%d' % i, extra=['--ngram=2'])
            ckpt.refused(fx, folder, ckdir, 'ng2-other-%d' % i, pattern,
                         reference(other, [folder]), extra=other)
            tap.ok(True, name)
        except (ckpt.Fail, OSError, ValueError, KeyError) as e:
            tap.ok(False, name, e)
    name = 'checkpoint of --ngram=2 resumed by --ngram=2: the reference'
    try:
        ckpt.kept_checkpoint(fx, folder, ckdir, 'ng2-kept-same', extra=['--ngram=2'])
        rep = os.path.join(d, 'ng2-same.json')
        out = os.path.join(d, 'ng2-same.tsv')
        rc, _, err = ckpt.run(mpiwc, 3, ['--checkpoint-dir=' + ckdir, '--checkpoint-interval=0',
                                         '--ngram=2', '--report=' + rep, '-o', out, folder], d,
                              'ng2-same')
        lines = ckpt.stderr_lines(err)
        ckpt.expect(rc == 0 and len(lines) == 1 and
                    lines[0].startswith('mpiwc: resuming from checkpoint '),
                    'exit %r, stderr %r' % (rc, lines))
        c = ckpt.report(rep)
        ckpt.expect(c['restart_skipped'] > 0 and
                    c['restart_skipped'] + c['bytes'] == ckpt.tree_bytes(folder),
                    'skipped %d and read %d of %d bytes' % (c['restart_skipped'], c['bytes'],
                                                            ckpt.tree_bytes(folder)))
        with open(out, 'rb') as f:
            ckpt.expect(f.read() == reference(['--ngram=2'], [folder]),
                        'output differs from tests/reference.py')
        tap.ok(True, name)
    except (ckpt.Fail, OSError, ValueError, KeyError) as e:
        tap.ok(False, name, e)


def check_errors(tap, mpiwc, path):
    """Usage errors. Every value by a singleton (no mpirun: a failing rank costs mpirun a
    second or two to wind down); a few at np 3, where only rank 0 may print."""
    bad = [['--ngram=' + v] for v in ('0', '9', '3:2', 'x', '2:', '', '0:2', '1:9', ':3')]
    bad += [['--compat=hadoop', '--ngram=2'], ['--ngram=1:2', '--compat=hadoop']]
    runs = [(1, args) for args in bad] + [(3, bad[3]), (3, bad[-2])]
    for np, args in runs:
        r = run((mpirun(np) if np > 1 else ['timeout', '60']) + [mpiwc] + args + [path])
        lines = r.stderr.splitlines()
        if len(lines) == 2 and lines[1] == HINT:
            lines = lines[:1]
        tap.ok(r.returncode == 2 and r.stdout == b'' and len(lines) == 1 and
               lines[0].startswith(b'mpiwc: ') and b'--ngram' in lines[0],
               'np=%d %s: exit 2, one line naming --ngram, no output' % (np, ' '.join(args)),
               'exit %d\nstdout: %r\nstderr: %r' % (r.returncode, r.stdout[:200], r.stderr[:600]))
    compare(tap, mpiwc, 'mixed', ['--compat=hadoop', '--ngram=1'], [path], nps=(1, 3),
            want=reference(['--compat=hadoop'], [path]))


def main():
    if len(sys.argv) != 2:
        sys.stderr.write(__doc__)
        return 2
    mpiwc = os.path.abspath(sys.argv[1])
    tap = Tap()
    d = tempfile.mkdtemp(prefix='mpiwc-ngram-')
    t0 = time.monotonic()
    try:
        check_reference(tap, d)
        mixed = check_mixed(tap, mpiwc, d)
        cuts = check_cuts(tap, mpiwc, d)
        check_unigram(tap, mpiwc, [mixed, cuts])
        edges = check_edges(tap, mpiwc, d)
        check_filters(tap, mpiwc, d)
        check_variants(tap, mpiwc, mixed)
        check_spill(tap, mpiwc, d)
        check_streams(tap, mpiwc, d, mixed, [cuts] + edges)
        check_uax29(tap, mpiwc, d)
        check_kill(tap, mpiwc, d)
        check_checkpoint_options(tap, mpiwc, d, [mixed, cuts] + edges[:2])
        check_errors(tap, mpiwc, mixed)
    finally:
        print('# %.1f s' % (time.monotonic() - t0))
        if tap.failed:
            print('# work directory kept: %s' % d)
        else:
            shutil.rmtree(d, ignore_errors=True)
    return tap.done()


if __name__ == '__main__':
    sys.exit(main())
