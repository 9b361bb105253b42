#!/usr/bin/env python3
"""MPI integration test: run mpiwc on one generated input and compare.

usage: run_case.py MPIWC CASE [--keep]
       run_case.py --list

Generates CASE's input (deterministic, seeded) in a temporary directory, then
runs `mpirun -np N MPIWC OPTIONS... PATHS...` and checks that each run exits 0,
prints nothing on stderr, and writes exactly the bytes that tests/reference.py
writes for the same options; every run is also compared with the np=1 run of
the same options. Runs:
  - default options at np 1, 2, 3, 4, 7, each with the default buffers and
    with --buffer-size=64 --shuffle-buffer=64;
  - each option variant (VARIANTS) at np 1 and at one more np (rotating over
    2, 3, 4, 7) with the small buffers; '-o FILE' checks the file instead of
    stdout and that nothing else appears beside it.
The cases of TEXT_CASES also run each of TEXT_VARIANTS (the Unicode word
rules, --compat=hadoop and the filters) at np 1 and, with the small
buffers, at every np from 1 to 7. A case that names its own variants
(proc-files, hadoop-inputs, duplicates) runs only those, each at np 1 and,
with the small buffers, at every np of 1, 2, 3, 4, 7, and may name pairs of
them whose tables must be equal.
Output is TAP; the exit status is 1 when any check fails. --keep leaves the
temporary directory behind for a look.
"""
import bz2
import difflib
import gzip
import lzma
import os
import random
import shutil
import subprocess
import sys
import tempfile

from mpitest import REFERENCE, Tap, mpirun, run

NPS = [1, 2, 3, 4, 7]
SMALL = ['--buffer-size=64', '--shuffle-buffer=64']
VARIANTS = [
    ['--sort=word'],
    ['--top=5'],
    ['-n', '1', '--sort=word'],
    ['--split=space'],
    ['--case=keep', '--top=0'],
    ['--format=csv'],
    ['--format=json'],
    ['--split=space', '--case=keep', '--format=json'],
    ['--split=space', '--format=csv', '--sort=word', '--top=7'],
    ['-o', 'OUT'],
    ['--output=RELOUT', '--format=csv'],
    ['--stats', '--report=REPORT'],
]
# Placeholders in VARIANTS: OUT is an absolute output path, RELOUT a bare file
# name (mpirun runs in the output directory), REPORT a report path. The table
# written with -o must equal the reference; the report must exist and not be
# empty; with --stats, stderr may have text.
NOT_TABLE_OPTIONS = ('-o', 'OUT', '--output=RELOUT', '--stats', '--report=REPORT', '-q')
MPIRUN_TIMEOUT = 120
# The text word rules and filters (words.h), on the cases of TEXT_CASES: each
# at every np with the small buffers, and at np 1 with the default ones.
# STOP is a stop-word file written next to the inputs (STOPWORDS below).
TEXT_VARIANTS = [
    ['--split=unicode'],
    ['--split=unicode', '--case=keep', '--normalize=none'],
    ['--split=unicode', '--normalize=nfkc', '--sort=word'],
    ['--split=uax29'],
    ['--split=uax29', '--case=keep', '--normalize=nfkc', '--format=json'],
    ['--compat=hadoop'],
    ['--split=unicode', '--min-length=3', '--ignore-numbers', '--stopwords=STOP'],
    ['--split=uax29', '--stopwords=STOP', '--ignore-numbers', '--min-length=2'],
    ['--min-length=2', '--ignore-numbers', '--stopwords=STOP'],
    ['--split=space', '--case=keep', '--stopwords=STOP'],
]
TEXT_CASES = ('multilingual', 'cjk-runs', 'high-bytes', 'stdin-vt')
BOM = b'\xef\xbb\xbf'
STOPWORDS = '\n'.join(['the', 'und', 'Der', 'καὶ', 'ΤΟΥ', 'في', 'STRASSE', '的', '是', 'です',
                        'และ', 'ｃａｆé', '0', 'e\u0301', '']).encode() + b'\xff\r\nlast'


# ---------------------------------------------------------------- inputs

def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'wb') as f:
        f.write(data)


def boundaries(total):
    """Every interior range boundary of the plan for np 2, 3, 4, 7 (plan.h)."""
    out = set()
    for n in NPS:
        q, rem = divmod(total, n)
        out.update(r * q + min(r, rem) for r in range(1, n))
    return sorted(b for b in out if 0 < b < total)


def vocabulary(rng, n, alphabet=b'abcdefghijklmnopqrstuvwxyz', lo=1, hi=10):
    words = set()
    while len(words) < n:
        words.add(bytes(rng.choice(alphabet) for _ in range(rng.randint(lo, hi))))
    return sorted(words)


def zipf_text(rng, nbytes, nvocab):
    vocab = vocabulary(rng, nvocab, lo=1, hi=12)
    rng.shuffle(vocab)
    weights = [1.0 / (k + 1) for k in range(len(vocab))]
    seps = [b' '] * 12 + [b'\n', b', ', b'. ', b'\t', b'  ']
    out, size = [], 0
    while size < nbytes:
        for w in rng.choices(vocab, weights=weights, k=4096):
            r = rng.random()
            if r < 0.05:
                w = w.capitalize()
            elif r < 0.06:
                w = w.upper()
            s = rng.choice(seps)
            out += (w, s)
            size += len(w) + len(s)
    return b''.join(out)[:nbytes]


def case_empty(d, rng):
    write(d + '/empty.txt', b'')
    return [d + '/empty.txt'], None


def case_empty_mixed(d, rng):
    # Nothing to count from anywhere: an empty file, a directory of empty
    # files, empty standard input.
    write(d + '/empty.txt', b'')
    write(d + '/dir/a', b'')
    write(d + '/dir/sub/b', b'')
    return [d + '/empty.txt', d + '/dir', '-'], b''


def case_one_word(d, rng):
    write(d + '/one.txt', b'Hello\n')
    return [d + '/one.txt'], None


def case_few_words(d, rng):
    # 3 words in 16 bytes: most ranks at np 7 get a range inside a word or
    # between words, some get 2-3 bytes.
    write(d + '/few.txt', b'Alpha beta ALPHA')
    return [d + '/few.txt'], None


def case_tiny(d, rng):
    # Fewer bytes than ranks: at np 7 some ranks get no range at all.
    write(d + '/tiny.txt', b'a b')
    return [d + '/tiny.txt'], None


def case_big_word(d, rng):
    # One 1 MiB word (letters, digits, high bytes) and nothing else: every
    # rank's range at np > 1 lies inside it.
    alphabet = bytes(range(0x30, 0x3a)) + bytes(range(0x41, 0x5b)) + \
        bytes(range(0x61, 0x7b)) + bytes(range(0x80, 0x100))
    word = bytes(rng.choice(alphabet) for _ in range(1 << 20))
    write(d + '/big-word.bin', word)
    return [d + '/big-word.bin'], None


def case_straddle(d, rng):
    # 1000 runs of 'x' (lengths 1..150, so many exceed the 64-byte buffer),
    # then widened so that every range boundary for np 2, 3, 4, 7 has a word
    # byte on both sides: each boundary cuts a word. A word cut wrongly turns
    # into two shorter x-runs and changes the counts.
    runs = [b'x' * rng.choice([1, 2, 3, 5, 8, 13, 40, 63, 64, 65, 100, 150])
            for _ in range(1000)]
    buf = bytearray(b' '.join(runs) + b'\n')
    for b in boundaries(len(buf)):
        buf[b - 1] = buf[b] = ord('x')
    for b in boundaries(len(buf)):
        assert buf[b - 1] == buf[b] == ord('x')
    write(d + '/straddle.txt', bytes(buf))
    return [d + '/straddle.txt'], None


def case_boundary_edges(d, rng):
    # Words and separators placed exactly at the range boundaries: a word
    # starting at the boundary, ending just before it, a one-byte word on
    # it, separators on both sides, a long separator run across it.
    vocab = vocabulary(rng, 50)
    buf = bytearray(b' '.join(rng.choice(vocab) for _ in range(1200)) + b'\n')
    kinds = ['start', 'end', 'single', 'gap', 'inside']
    for i, b in enumerate(boundaries(len(buf))):
        kind = kinds[i % len(kinds)]
        if kind == 'start':      # ' |qq'
            buf[b - 1:b + 2] = b' qq'
        elif kind == 'end':      # 'zz| '
            buf[b - 2:b + 1] = b'zz '
        elif kind == 'single':   # ' |k '
            buf[b - 1:b + 2] = b' k '
        elif kind == 'gap':      # '  |  '
            buf[b - 2:b + 2] = b' \n\t '
        else:                    # 'wo|rd'
            buf[b - 3:b + 3] = b' wo' + b'rd '
    write(d + '/edges.txt', bytes(buf))
    return [d + '/edges.txt'], None


def case_nul(d, rng):
    # NUL (a separator for alnum, a word byte for space) and other control
    # bytes, quotes, backslashes and commas (escaped in json and csv).
    pieces = [b'alpha', b'beta', b'al\x00pha', b'\x00', b'\x00\x00gamma',
              b'delta\x00', b'x\x01y', b'\x7f', b'q"uote', b'back\\slash',
              b'com,ma', b'"', b'\x1b[0m', b'\x08bs', b'BETA']
    seps = [b' ', b'\n', b'\x00', b' \x00 ', b'\t']
    data = b''.join(rng.choice(pieces) + rng.choice(seps) for _ in range(5000))
    write(d + '/nul.bin', data)
    return [d + '/nul.bin'], None


def case_crlf(d, rng):
    # CRLF line ends plus \v and \f (separators in both splits); a CR next
    # to a word must not stick to it.
    vocab = vocabulary(rng, 200)
    lines = []
    for _ in range(3000):
        words = [rng.choice(vocab) for _ in range(rng.randint(0, 8))]
        lines.append(rng.choice([b' ', b'\v', b'\f', b' \r ']).join(words))
    write(d + '/crlf.txt', b'\r\n'.join(lines) + b'\r\n')
    write(d + '/cr-only.txt', b'\r'.join(lines[:300]))
    return [d + '/crlf.txt', d + '/cr-only.txt'], None


def case_high_bytes(d, rng):
    # Valid UTF-8 (2, 3, 4 bytes, with ASCII capitals that fold and non-ASCII
    # ones that must not) and invalid UTF-8: stray continuations, truncated
    # sequences, overlongs, surrogates, > U+10FFFF, 0xfe 0xff.
    pieces = ['école', 'ÉCOLE', 'Straße', 'STRASSE', 'naïve', '中文', '😀', 'Ωmega',
              'ΩMEGA', 'a—b', '\u00a0nbsp']
    pieces = [p.encode() for p in pieces] + [
        b'\x80', b'\xbf\xbf', b'\xc3', b'ab\xc3', b'\xc3(', b'\xe2\x82', b'\xe2\x82x',
        b'\xc0\xaf', b'\xc1\xbf', b'\xe0\x80\xaf', b'\xed\xa0\x80', b'\xed\xbf\xbf',
        b'\xf4\x90\x80\x80', b'\xf5\x80\x80\x80', b'\xfe', b'\xff', b'Z\xffZ',
        b'\xf0\x9f\x98', b'\xf0\x9f\x98\x80\x80', b'\xc3\xa9\xa9', b'\xef\xbb\xbfbom']
    seps = [b' ', b'\n', b'. ', b'-']
    data = b''.join(rng.choice(pieces) + rng.choice(seps) for _ in range(6000))
    write(d + '/high.bin', data)
    return [d + '/high.bin'], None


MULTILINGUAL = [
    # Chinese, Japanese, Thai: no spaces between words (dictionary segmentation)
    '云计算是一种基于互联网的计算资源共享和分配模式。', '我们今天在北京大学学习中文',
    '東京都は日本の首都です。', 'カタカナとひらがなを読みます', 'ภาษาไทยไม่มีการเว้นวรรคระหว่างคำ',
    # German, Greek, Arabic: case folding, final sigma, ligatures, digits
    'Straße', 'STRASSE', 'straße', 'Größe', 'GRÖSSE', 'Der', 'und', 'ΟΔΥΣΣΕΥΣ', 'Ὀδυσσεύς',
    'καὶ', 'ΤΟΥ', 'σοφός', 'ΣΟΦΟΣ', 'مرحبا بالعالم', 'في', '١٢٣٤', '٣.١٤',
    # composed and decomposed, compatibility forms, marks, numbers, apostrophes
    'café', 'cafe\u0301', 'ＣＡＦÉ', 'ﬁnance', 'Å', 'A\u030a', '\u0301lone', 'x²', '½', 'Ⅻ',
    'don\u2019t', "can't", 'under_score', 'e.g.', '3.14', '2024', '007', '—dash—', '«quote»',
    '\u3000全角\u3000スペース', 'İstanbul', 'ǰ', 'ß', 'ẞ',
    # Unicode 15 (ICU 72 has it, Debian 12's Python 3.11 has 14): a combining
    # Cyrillic letter of class 230, which NFC moves U+0323 before; modifier
    # letters, which NFKC maps to Cyrillic letters
    'a\U0001e08f\u0323', '\U0001e030\U0001e031',
    # emoji: ZWJ sequences, skin tones, flags, keycaps
    '👩\u200d💻', '👨\u200d👩\u200d👧\u200d👦', '👍🏽', '🇩🇪', '1\ufe0f\u20e3', '😀x😀',
]
MULTILINGUAL_BAD = [b'\xff', b'\xc3', b'ab\xc3', b'\xe2\x82', b'\xc0\xaf', b'\xed\xa0\x80',
                    b'\xf4\x90\x80\x80', b'\xe4\xb8', b'\xf0\x9f\x98', b'Z\xffZ']


def case_multilingual(d, rng):
    # Words of many scripts and forms, joined by ASCII and Unicode separators
    # or by nothing, with ill-formed UTF-8: at tiny buffers and np up to 7,
    # range and buffer edges land inside multi-byte characters and words.
    pieces = [p.encode() for p in MULTILINGUAL] + MULTILINGUAL_BAD
    seps = [b' ', b'\n', b'', b'', b', ', '\u3000'.encode(), '、'.encode(), b'\t', b'-',
            '\u00a0'.encode(), b'\r\n', b'\x0b', b'\x0c']
    data = b''.join(rng.choice(pieces) + rng.choice(seps) for _ in range(6000))
    write(d + '/multi.txt', data)
    write(d + '/multi-2.txt', data[len(data) // 3:])
    return [d + '/multi.txt', d + '/multi-2.txt'], None


def case_cjk_runs(d, rng):
    # Long runs without any ASCII byte (up to 200 KB), so ranges start and end
    # deep inside runs: unicode counts a finished word early in a long run,
    # uax29 segments whole runs. A few ASCII spaces and newlines between.
    cjk = [p.encode() for p in MULTILINGUAL[:5]] + ['。'.encode(), '，'.encode(), '１２３'.encode()]
    parts = []
    for size in (10, 3000, 200000, 1, 70000, 500):
        run, n = [], 0
        while n < size:
            run.append(rng.choice(cjk))
            n += len(run[-1])
        parts.append(b''.join(run) + rng.choice([b' ', b'\n', b'\xe3\x80\x80\n']))
    write(d + '/cjk.txt', b''.join(parts))
    return [d + '/cjk.txt'], None


def case_many_files(d, rng):
    # 300 small files: empty ones, separator-only ones, one-byte ones, files
    # that end (and the next one starts) in the middle of a word -- words
    # must not join across files.
    vocab = vocabulary(rng, 40)
    paths = []
    for i in range(300):
        r = rng.random()
        if r < 0.15:
            data = b''
        elif r < 0.2:
            data = b' \n'
        elif r < 0.25:
            data = rng.choice([b'a', b'b', b'Z'])
        else:
            data = b' '.join(rng.choice(vocab) for _ in range(rng.randint(1, 300)))
            if rng.random() < 0.5:
                data += b'\n'
        path = '%s/f%03d.txt' % (d, i)
        write(path, data)
        paths.append(path)
    rng.shuffle(paths)
    return paths, None


def case_big_file(d, rng):
    write(d + '/big.txt', zipf_text(rng, 4 << 20, 20000))
    return [d + '/big.txt'], None


def case_tree(d, rng):
    # Nested directories with files at every level, empty files and an empty
    # subdirectory; the root is passed along with one file outside it.
    vocab = vocabulary(rng, 300)
    root = d + '/tree'
    dirs = [root]
    for depth in range(4):
        for parent in list(dirs):
            if parent.count('/') - root.count('/') == depth:
                for k in range(rng.randint(1, 3)):
                    dirs.append('%s/d%d-%d' % (parent, depth, k))
    for i, dirpath in enumerate(dirs):
        for k in range(rng.randint(0, 4)):
            n = rng.choice([0, 1, 10, 200, 3000])
            write('%s/file %d-%d.txt' % (dirpath, i, k),
                  b' '.join(rng.choice(vocab) for _ in range(n)))
    os.makedirs(root + '/empty-dir/deeper', exist_ok=True)
    write(d + '/outside.txt', b'outside Tree TREE tree\n')
    return [root, d + '/outside.txt'], None


def case_dir_links(d, rng):
    # Symbolic links to directories: one named on the command line is
    # followed (walked like the directory), one met inside a walked directory
    # is skipped (no loops; -q silences its warning), as the man page says.
    # Each target holds words found nowhere else.
    for name, words in (('shown', b'shown'), ('hidden', b'hidden'), ('tree', b'tree')):
        for k in range(3):
            write('%s/%s/f%d.txt' % (d, name, k),
                  zipf_text(rng, rng.randint(100, 3000), 100) + (b' ' + words) * (k + 1))
    os.symlink('../hidden', d + '/tree/inner-link')
    os.symlink('shown', d + '/top-link')
    paths = [d + '/top-link', d + '/tree']
    return paths, None, {'args': ['-q'], 'ref_paths': paths}


def case_stdin(d, rng):
    return ['-'], zipf_text(rng, 300 << 10, 3000)


def case_stdin_vt(d, rng):
    # \v is a separator for most rules but a word byte for --compat=hadoop:
    # rank 0 must not cut standard input after it.
    words = [rng.choice([b'ab', b'c\x0bd', b'e\x0b\x0bf', b'\x0bg', b'h\x0b', b'Zz'])
             for _ in range(40000)]
    return ['-'], b' '.join(words) + b'\n'


def case_stdin_mixed(d, rng):
    write(d + '/a.txt', zipf_text(rng, 50 << 10, 500))
    write(d + '/b.txt', b'stdin plus files\n')
    return [d + '/a.txt', '-', d + '/b.txt'], zipf_text(rng, 100 << 10, 500)


# ---------------------------------------------------------------- compressed and bulk inputs

def compress(fmt, data):
    """data compressed as fmt: gzip, bzip2 and xz by Python, zstd by the zstd command."""
    if fmt == 'gz':
        return gzip.compress(data, mtime=0)
    if fmt == 'bz2':
        return bz2.compress(data)
    if fmt == 'xz':
        return lzma.compress(data)
    return subprocess.run(['zstd', '-q', '-c'], input=data, stdout=subprocess.PIPE,
                          check=True).stdout


def case_compressed(d, rng):
    # Every format, with names that do not tell (detection is by content):
    # single and multi-member/stream/frame files, empty compressed files, a
    # big one (several 64-byte buffers of decoded text per compressed byte),
    # plain files beside them, and a directory holding both kinds.
    paths = []
    for i, fmt in enumerate(['gz', 'bz2', 'xz', 'zst']):
        one = zipf_text(rng, 40 << 10, 800)
        write('%s/c%d.%s' % (d, i, fmt), compress(fmt, one))
        two = compress(fmt, zipf_text(rng, 10 << 10, 300)) + compress(fmt, b'second member\n')
        write('%s/multi%d.dat' % (d, i), two)
        write('%s/empty%d.%s' % (d, i, fmt), compress(fmt, b''))
        write('%s/dir/sub%d' % (d, i), compress(fmt, zipf_text(rng, 5 << 10, 100)))
        paths += ['%s/c%d.%s' % (d, i, fmt), '%s/multi%d.dat' % (d, i),
                  '%s/empty%d.%s' % (d, i, fmt)]
    write(d + '/big.gz', compress('gz', zipf_text(rng, 1 << 20, 5000)))
    write(d + '/plain.txt', zipf_text(rng, 200 << 10, 2000))
    write(d + '/dir/plain-too.txt', zipf_text(rng, 30 << 10, 500))
    write(d + '/BZh9-text.txt', b'BZh9 looks like bzip2 but is text\n')
    paths += [d + '/big.gz', d + '/plain.txt', d + '/dir', d + '/BZh9-text.txt']
    rng.shuffle(paths)
    return paths, None


def case_compressed_stdin(d, rng):
    # Compressed standard input (two gzip members), handed out by rank 0.
    data = compress('gz', zipf_text(rng, 200 << 10, 2000)) + compress('gz', b'and more\n')
    write(d + '/beside.xz', compress('xz', zipf_text(rng, 20 << 10, 300)))
    return [d + '/beside.xz', '-'], data


def case_stdin_long_runs(d, rng):
    # Runs without whitespace far longer than a 64-byte buffer: rank 0 must
    # grow its buffer rather than cut them; some end in punctuation.
    runs = []
    for _ in range(400):
        n = rng.choice([1, 5, 63, 64, 65, 200, 1000, 5000])
        runs.append(bytes(rng.choice(b'abcXYZ019,.-') for _ in range(n)))
    return ['-'], b' '.join(runs) + b'\n' + b'\n'.join(runs[:50])


def case_files_from(d, rng):
    # --files-from with names holding spaces, tabs, quotes, a leading dash,
    # a directory, a compressed file and an empty line; one path also on
    # the command line.
    names = ['with space.txt', '  lead and trail  ', 'tab\there', "quote'\"s", '-dash.txt',
             'dir/inner file.txt', 'ünï.txt']
    files = []
    for name in names:
        write(d + '/' + name, zipf_text(rng, rng.randint(100, 20000), 300))
        files.append(d + '/' + name)
    write(d + '/packed.gz', compress('gz', zipf_text(rng, 30000, 300)))
    listed = files[:3] + [d + '/dir', '', d + '/packed.gz'] + files[3:5] + [files[6]]
    with open(d + '/list.txt', 'wb') as f:
        f.write(b'\n'.join(p.encode() for p in listed) + b'\n')
    extra = d + '/cmdline.txt'
    write(extra, b'from the command line\n')
    ref = [extra] + [p for p in listed if p]
    return [extra], None, {'args': ['--files-from=' + d + '/list.txt'], 'ref_paths': ref}


def case_files_from_nul(d, rng):
    # -0 --files-from=- : the NUL-separated list arrives on standard input;
    # names hold newlines (which a line list could not express).
    names = ['new\nline.txt', 'two\n\nnewlines', 'plain.txt']
    files = []
    for name in names:
        write(d + '/' + name, zipf_text(rng, rng.randint(1000, 30000), 300))
        files.append(d + '/' + name)
    write(d + '/z.zst', compress('zst', zipf_text(rng, 30000, 300)))
    files.append(d + '/z.zst')
    lst = b'\0'.join(p.encode() for p in files) + b'\0'
    return [], lst, {'args': ['-0', '--files-from=-'], 'ref_paths': files}


def case_globs(d, rng):
    # --include / --exclude on a directory walk: names and relative paths.
    layout = ['a.txt', 'b.log', 'c.txt.gz', 'keep/d.txt', 'keep/e.md', 'skip/f.txt',
              'keep/skip/g.txt', 'deep/x/y/h.txt', 'deep/x/y/i.log']
    for rel in layout:
        data = zipf_text(rng, rng.randint(500, 5000), 200)
        write(d + '/tree/' + rel, compress('gz', data) if rel.endswith('.gz') else data)
    # *.txt and *.gz by name, everything under keep/ by relative path; no
    # directory named skip is entered.
    chosen = ['a.txt', 'c.txt.gz', 'deep/x/y/h.txt', 'keep/d.txt', 'keep/e.md']
    return [d + '/tree'], None, {
        'args': ['--include=*.txt', '--include=*.gz', '--include=keep/*', '--exclude=skip'],
        'ref_paths': [d + '/tree/' + rel for rel in chosen]}


PROC_FILES = ['/proc/version', '/proc/filesystems', '/proc/sys/kernel/ostype']
# sysfs attributes report a page as their size, whatever they hold (where present).
SYS_FILES = ['/sys/kernel/cpu_byteorder', '/sys/kernel/mm/transparent_hugepage/enabled']


def case_proc_files(d, rng):
    # Files whose size is reported as 0 but which hold text (procfs; chosen
    # because their text does not change during a run): each is read to its
    # end by the one rank it goes to, named on the command line and listed
    # in --files-from, beside an ordinary file that every rank shares; and
    # sysfs files whose size is reported as a page but which hold less.
    write(d + '/beside.txt', zipf_text(rng, 5000, 300))
    with open(d + '/list.txt', 'wb') as f:
        f.write(b'\n'.join(p.encode() for p in PROC_FILES[1:]) + b'\n')
    paths = [PROC_FILES[0], d + '/beside.txt'] + [p for p in SYS_FILES if os.path.isfile(p)]
    return paths, None, {'args': ['--files-from=' + d + '/list.txt'],
                         'ref_paths': paths + PROC_FILES[1:],
                         'variants': [[], ['--split=space', '--case=keep']]}


def case_hadoop_inputs(d, rng):
    # --compat=hadoop reads what Hadoop's FileInputFormat and LineRecordReader
    # read: inside directories, entries named _* or .* are skipped (_SUCCESS,
    # .hidden, _logs/, .git/); a file named _x on the command line is read; a
    # UTF-8 byte order mark is dropped at the start of each file (plain and
    # compressed) and of standard input, and kept anywhere else (ranges that
    # cut inside the mark: test_reader's test_hadoop_bom_every_cut). Without
    # --compat=hadoop everything is read as it is. A stop-word list that
    # starts with a byte order mark drops the same words as one without.
    stop = os.path.dirname(d) + '/stop-'
    write(stop + 'plain.txt', b'zz\nyy\n')
    write(stop + 'bom.txt', BOM + b'zz\nyy\n')
    write(d + '/bom.txt', BOM + b'hi zz\n')
    write(d + '/tree/a.txt', BOM + b'alpha ' + BOM + b'beta yy\n' + zipf_text(rng, 3000, 100))
    write(d + '/tree/b.gz', compress('gz', BOM + b'gamma delta\n'))
    write(d + '/tree/sub/c.txt', b'epsilon \xef\xbb\xbf\n')
    write(d + '/tree/sub/d.txt', b'\xef\xbbnot a mark\n')
    write(d + '/tree/_SUCCESS', b'success words\n')
    write(d + '/tree/.hidden', b'hidden words\n')
    write(d + '/tree/_logs/history', b'history words\n')
    write(d + '/tree/.git/config', b'config words\n')
    write(d + '/tree/sub/.crc', b'crc words\n')
    write(d + '/_named.txt', BOM + b'named directly\n')
    paths = [d + '/bom.txt', d + '/tree', d + '/_named.txt', '-']
    return paths, BOM + b'stdin words zz\n', {
        'args': [], 'ref_paths': paths,
        'variants': [['--compat=hadoop'], [], ['--compat=hadoop', '--stopwords=' + stop + 'bom.txt'],
                     ['--split=space', '--stopwords=' + stop + 'bom.txt'],
                     ['--split=space', '--stopwords=' + stop + 'plain.txt']],
        # A byte order mark at the start of a stop-word list is not a word of it.
        'equal': [(3, 4)]}


def case_duplicates(d, rng):
    # One file reached many ways: named twice (a.txt, ./a.txt), inside a
    # named directory and by name, through a link to it in that directory, as
    # a hard link, and again in --files-from. Each file is counted once (by
    # device and inode), where it is first reached. -q: the run says so in a
    # warning (pathological.py checks that line).
    write(d + '/a.txt', zipf_text(rng, 3000, 200))
    write(d + '/dir/b.txt', zipf_text(rng, 2000, 200))
    write(d + '/dir/c.txt', b'only once\n')
    os.symlink('../a.txt', d + '/dir/link-to-a')
    os.link(d + '/dir/c.txt', d + '/hard-c.txt')
    with open(d + '/list.txt', 'wb') as f:
        f.write(b'\n'.join(p.encode() for p in [d + '/a.txt', d + '/dir/b.txt']) + b'\n')
    paths = [d + '/a.txt', d + '/./a.txt', d + '/dir', d + '/dir/b.txt', d + '/hard-c.txt']
    return paths, None, {'args': ['--files-from=' + d + '/list.txt'],
                         'ref_paths': paths + [d + '/a.txt', d + '/dir/b.txt'],
                         'variants': [['-q'], ['-q', '--split=space', '--case=keep']]}


CASES = {
    'empty': case_empty,
    'empty-mixed': case_empty_mixed,
    'one-word': case_one_word,
    'few-words': case_few_words,
    'tiny': case_tiny,
    'big-word': case_big_word,
    'straddle': case_straddle,
    'boundary-edges': case_boundary_edges,
    'nul': case_nul,
    'crlf': case_crlf,
    'high-bytes': case_high_bytes,
    'many-files': case_many_files,
    'big-file': case_big_file,
    'tree': case_tree,
    'dir-links': case_dir_links,
    'stdin': case_stdin,
    'stdin-mixed': case_stdin_mixed,
    'stdin-vt': case_stdin_vt,
    'compressed': case_compressed,
    'compressed-stdin': case_compressed_stdin,
    'stdin-long-runs': case_stdin_long_runs,
    'files-from': case_files_from,
    'files-from-nul': case_files_from_nul,
    'globs': case_globs,
    'multilingual': case_multilingual,
    'cjk-runs': case_cjk_runs,
    'proc-files': case_proc_files,
    'hadoop-inputs': case_hadoop_inputs,
    'duplicates': case_duplicates,
}


# ---------------------------------------------------------------- running

def short_diff(expected, got, limit=20):
    if expected == got:
        return []
    a, b = expected.split(b'\n'), got.split(b'\n')
    out = ['expected %d bytes, got %d bytes' % (len(expected), len(got))]
    for line in difflib.unified_diff([repr(x)[2:-1][:200] for x in a],
                                     [repr(x)[2:-1][:200] for x in b],
                                     'expected', 'got', n=1, lineterm=''):
        out.append(line)
        if len(out) > limit:
            out.append('...')
            break
    return out


def quote(args):
    return ' '.join(a if a and all(c.isalnum() or c in '-_=./,' for c in a) else repr(a)
                    for a in args)


def main(argv):
    if argv[1:] == ['--list']:
        print('\n'.join(CASES))
        return 0
    if len(argv) < 3 or argv[2] not in CASES:
        sys.stderr.write(__doc__)
        return 2
    mpiwc, case = os.path.abspath(argv[1]), argv[2]
    keep = '--keep' in argv[3:]
    tmp = tempfile.mkdtemp(prefix='mpiwc-%s-' % case)
    try:
        return run_case(mpiwc, case, tmp)
    finally:
        if keep:
            print('# kept ' + tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def run_case(mpiwc, case, tmp):
    tap = Tap()
    indir, outdir = tmp + '/in', tmp + '/out'
    os.makedirs(indir)
    os.makedirs(outdir)
    made = CASES[case](indir, random.Random('mpiwc:' + case))
    paths, stdin = made[0], made[1]
    # A case may add input options for mpiwc (--files-from, --include, ...) and
    # name the files that the reference, which has no such options, reads.
    input_args, ref_paths = (made[2]['args'], made[2]['ref_paths']) if len(made) > 2 \
        else ([], paths)
    # A case may also name its own option variants: each runs at np 1 with the
    # default buffers and at every np of NPS with the small ones, instead of
    # the defaults and VARIANTS.
    variants = made[2].get('variants') if len(made) > 2 else None
    # ... and pairs of those variants (indices) whose tables must be equal.
    equal = made[2].get('equal', []) if len(made) > 2 else []
    shown = paths if len(paths) <= 4 else paths[:3] + ['... (%d paths)' % len(paths)]
    print('# case %s: %s%s' % (case, quote([os.path.relpath(p, tmp) if p != '-' else p
                                           for p in shown]),
                              ' with %d bytes on stdin' % len(stdin) if stdin is not None else ''))

    ref_cache = {}

    def reference(opts):
        opts = [o for o in opts if o not in SMALL and o not in NOT_TABLE_OPTIONS]
        key = tuple(opts)
        if key not in ref_cache:
            p = subprocess.run([sys.executable, REFERENCE] + opts + ['--'] + ref_paths,
                               input=stdin or b'', capture_output=True)
            if p.returncode != 0:
                print('Bail out! reference.py failed: ' + p.stderr.decode(errors='replace'))
                raise SystemExit(1)
            ref_cache[key] = p.stdout
        return ref_cache[key]

    np1 = {}

    def check(np, opts):
        out_file = report = None
        args = list(opts)
        if 'OUT' in args:
            out_file = os.path.join(outdir, 'result.out')
            args[args.index('OUT')] = out_file
            with open(out_file, 'wb') as f:
                f.write(b'old contents, to be replaced\n')
        if '--output=RELOUT' in args:
            out_file = os.path.join(outdir, 'result.out')
            args[args.index('--output=RELOUT')] = '--output=result.out'
        if '--report=REPORT' in args:
            report = os.path.join(tmp, 'report.json')
            args[args.index('--report=REPORT')] = '--report=' + report
        cmd = mpirun(np, MPIRUN_TIMEOUT, quiet=False) + [mpiwc] + input_args + args + paths
        name = 'np=%d %s' % (np, quote(args).replace(tmp, '$TMP') or '(defaults)')
        for attempt in range(3):
            p = run(cmd, input=stdin or b'', cwd=outdir)
            # Open MPI 4's mpirun itself sometimes dies of SIGSEGV while it
            # forwards standard input (open-mpi/ompi#7483): a launcher bug,
            # not mpiwc's. Run again, and say so.
            if p.returncode == 0 or b'orte_iof_hnp_read_local_handler' not in p.stderr:
                break
            print('# %s: mpirun crashed forwarding stdin (ompi#7483), run again' % name,
                  flush=True)
        got = p.stdout
        problems = []
        if p.returncode != 0:
            problems.append('exit status %d%s' % (
                p.returncode, ' (timeout)' if p.returncode == 124 else ''))
        if p.stderr and '--stats' not in args:
            problems.append('stderr: ' + repr(p.stderr[:600])[2:-1])
        if out_file is not None:
            if got:
                problems.append('stdout not empty with -o: %r' % got[:200])
            try:
                with open(out_file, 'rb') as f:
                    got = f.read()
            except OSError as e:
                problems.append('output file: %s' % e)
                got = b''
            extra = sorted(set(os.listdir(outdir)) - {'result.out'})
            if extra:
                problems.append('left beside the output file: %s' % extra)
            os.unlink(out_file)
        if report is not None:
            if not os.path.exists(report) or os.path.getsize(report) == 0:
                problems.append('--report file missing or empty')
            else:
                os.unlink(report)
        expected = reference(opts)
        diff = short_diff(expected, got)
        if diff:
            problems.append('output differs from reference.py:')
            problems += diff
        key = tuple(o for o in opts if o not in SMALL and o not in NOT_TABLE_OPTIONS)
        if np == 1 and key not in np1:
            np1[key] = got
        elif key in np1 and got != np1[key] and not diff:
            problems.append('output differs from the np=1 run')
        tap.ok(not problems, name, ['command: ' + quote(cmd).replace(tmp, '$TMP')] +
               problems if problems else ())

    if variants is not None:
        for variant in variants:
            check(1, variant)
            for np in NPS:
                check(np, variant + SMALL)
        for i, j in equal:
            a, b = (np1.get(tuple(variants[k])) for k in (i, j))
            tap.ok(a is not None and a == b, 'np=1 %s equals %s' % (
                quote(variants[i]).replace(tmp, '$TMP'), quote(variants[j]).replace(tmp, '$TMP')),
                short_diff(b or b'', a or b''))
        return tap.done(summary=True)
    for extra in ([], SMALL):
        for np in NPS:
            check(np, extra)
    for i, variant in enumerate(VARIANTS):
        check(1, variant)
        check(NPS[1 + i % (len(NPS) - 1)], variant + SMALL)
    if case in TEXT_CASES:
        stop = os.path.join(tmp, 'stop.txt')
        write(stop, STOPWORDS)
        for variant in TEXT_VARIANTS:
            variant = [a.replace('=STOP', '=' + stop) for a in variant]
            check(1, variant)
            for np in range(1, 8):
                check(np, variant + SMALL)
    return tap.done(summary=True)


if __name__ == '__main__':
    sys.exit(main(sys.argv))
