#!/usr/bin/env python3
"""Reference word counter for the mpiwc tests.

An independent, deliberately naive implementation of mpiwc's rules (it reads
every input whole, single process); the MPI tests compare mpiwc's output with
this one byte for byte.

usage: reference.py [--split=unicode|uax29|alnum|space] [--case=fold|keep]
                    [--normalize=nfc|nfkc|none] [--min-length=N]
                    [--stopwords=FILE] [--ignore-numbers] [--compat=hadoop]
                    [--ngram=N|M:N] [--sort=count|word] [--top=N]
                    [--format=tsv|csv|json] PATH...

PATH is a file, a directory (every regular file below it, recursively) or
'-' for standard input. A file reached more than once (named twice, named
and inside a named directory, through a link: the same device and inode) is
read once, where it is first reached. Words are bytes and are never decoded:
  alnum  a maximal run of ASCII letters, digits and bytes >= 0x80
  space  a maximal run of bytes other than ' ' \\t \\n \\v \\f \\r
  fold   ASCII A-Z become a-z, nothing else changes
The text rules decode UTF-8 (Python's decoder: each byte of an ill-formed
sequence becomes one lone surrogate with surrogateescape, or one U+FFFD per
maximal subpart with 'replace'):
  unicode  (the default) a maximal run of characters of category L*, M* or N*; surrogates
           (ill-formed bytes) and everything else separate
  uax29    ICU's word break iterator (PyICU) over each run of bytes other
           than ASCII white space; segments with a word rule status (>= 100)
  key      N(casefold(N(word))) with N = unicodedata.normalize (nfc default;
           none skips it; ICU's for a word with a character newer than
           Python's Unicode), casefold only with --case=fold
  hadoop   java.util.StringTokenizer's delimiters ' \t\n\r\f', the token
           decoded with U+FFFD replacement and encoded again, case kept,
           sorted by key bytes, tsv; as Hadoop's FileInputFormat and
           LineRecordReader, entries named _* or .* inside directories are
           not read (nor entered), and a UTF-8 byte order mark at the start
           of each input (of its decoded text) is dropped
Filters act on the key: --min-length counts characters (an ill-formed byte
is one), --ignore-numbers drops keys of only Nd characters, --stopwords
drops keys equal to a line's key (a byte order mark at the start of the
stop-word file is not part of its first line, under every rule).
--ngram=N counts the keys that the filters keep N at a time, each run of N
consecutive kept keys of one input joined by one space byte; --ngram=M:N
counts every length from M to N into the same table (1 <= M <= N <= 8;
the default, 1, is the table of single keys). Each input is its own
sequence (every file, after decompression; standard input is one input
however it is read), so no n-gram spans two of them. --compat=hadoop
takes no --ngram other than 1.
The table goes to standard output as bytes.
"""
import argparse
import bz2
import gzip
import lzma
import subprocess
import collections
import os
import re
import sys
import unicodedata

WORD_RE = {
    'alnum': re.compile(rb'[A-Za-z0-9\x80-\xff]+'),
    'space': re.compile(rb'[^ \t\n\v\f\r]+'),
}


def decode(data):
    """The text of data: decompressed when it starts with the magic bytes of
    gzip (every member), bzip2 (every stream), xz or zstd (the zstd command),
    as mpiwc decides by content (src/codec.c), never by file name."""
    if data[:3] == b'\x1f\x8b\x08':
        return gzip.decompress(data)
    if len(data) >= 10 and data[:3] == b'BZh' and data[3] in b'123456789' and \
            data[4:10] in (b'1AY&SY', b'\x17\x72\x45\x38\x50\x90'):
        return bz2.decompress(data)
    if data[:6] == b'\xfd7zXZ\x00':
        return lzma.decompress(data)
    if len(data) >= 4 and (data[:4] == b'\x28\xb5\x2f\xfd' or
                           (data[0] & 0xf0 == 0x50 and data[1:4] == b'\x2a\x4d\x18')):
        return subprocess.run(['zstd', '-q', '-d', '-c'], input=data, stdout=subprocess.PIPE,
                              check=True).stdout
    return data


BOM = b'\xef\xbb\xbf'


def hidden(name):
    """Hadoop's hiddenFileFilter: names starting with _ or . are not input."""
    return name.startswith(('_', '.'))


def read_inputs(paths, stdin, hadoop=False):
    """Yield the text of every input named by paths (decompressed: decode)."""
    for data in read_raw(paths, stdin, hadoop):
        data = decode(data)
        if hadoop and data.startswith(BOM):
            data = data[len(BOM):]
        yield data


def read_raw(paths, stdin, hadoop=False):
    """Yield the bytes of every input named by paths, each file once."""
    seen = set()

    def first_time(path):
        st = os.stat(path)
        key = (st.st_dev, st.st_ino)
        if key in seen:
            return False
        seen.add(key)
        return True

    for path in paths:
        if path == '-':
            yield stdin.read()
        elif os.path.isdir(path):
            for root, dirs, files in os.walk(path):
                if hadoop:
                    dirs[:] = [x for x in dirs if not hidden(x)]
                for name in files:
                    if hadoop and hidden(name):
                        continue
                    full = os.path.join(root, name)
                    # Links to files count (os.path.isfile follows them); os.walk
                    # does not descend into links to directories. As mpiwc.
                    if os.path.isfile(full) and first_time(full):
                        with open(full, 'rb') as f:
                            yield f.read()
        elif first_time(path):
            with open(path, 'rb') as f:
                yield f.read()


def count(datas, split, casing):
    counts = collections.Counter()
    for data in datas:
        if casing == 'fold':
            data = data.lower()  # bytes.lower() changes ASCII A-Z only
        counts.update(WORD_RE[split].findall(data))
    return counts


# ICU's UCharCategory numbers as the two-letter names unicodedata uses.
ICU_CATEGORY = ['Cn', 'Lu', 'Ll', 'Lt', 'Lm', 'Lo', 'Mn', 'Me', 'Mc', 'Nd', 'Nl', 'No', 'Zs',
                'Zl', 'Zp', 'Cc', 'Cf', 'Co', 'Cs', 'Pd', 'Ps', 'Pe', 'Pc', 'Po', 'Sm', 'Sc',
                'Sk', 'So', 'Pi', 'Pf']


def category(c):
    """unicodedata's category; for a character that Python's (older) Unicode
    database does not have yet, the category of the newer one ICU uses.
    (Debian 12: Python 3.11 has Unicode 14.0, ICU 72 has 15.0.)"""
    cat = unicodedata.category(c)
    if cat == 'Cn' and not 0xd800 <= ord(c) <= 0xdfff:
        cat = ICU_CATEGORY[icu_module().Char.charType(c)]
    return cat


def is_word_char(c):
    return category(c)[0] in 'LMN'


def unicode_words(data):
    """Maximal runs of L/M/N characters; ill-formed bytes are lone surrogates (Cs)."""
    text = data.decode('utf-8', 'surrogateescape')
    word = []
    for c in text:
        if is_word_char(c):
            word.append(c)
        elif word:
            yield ''.join(word)
            word = []
    if word:
        yield ''.join(word)


def icu_module():
    try:
        import icu
    except ImportError:
        # Debian's python3-icu lives in the system dist-packages, which a
        # separately installed python3 of the same version may not search.
        sys.path.append('/usr/lib/python3/dist-packages')
        import icu
    return icu


def uax29_words(data):
    """ICU word segments of each run of bytes other than ASCII white space."""
    icu = icu_module()
    bi = icu.BreakIterator.createWordInstance(icu.Locale.getRoot())
    for run in re.findall(rb'[^ \t\n\v\f\r]+', data):
        text = run.decode('utf-8', 'replace')
        u = icu.UnicodeString(text)
        bi.setText(u)
        start = bi.first()
        for end in bi:
            if bi.getRuleStatus() >= 100:
                w = str(u[start:end])
                assert '\ufffd' not in w
                yield w
            start = end


def hadoop_words(data):
    for tok in re.findall(rb'[^ \t\n\r\f]+', data):
        yield tok.decode('utf-8', 'replace').encode('utf-8')


def normalize(form, word):
    """unicodedata.normalize; for a word with a character that Python's
    (older) Unicode database does not have yet, ICU's normalizer, of the newer
    Unicode that mpiwc uses (as category()): a new combining mark moves others,
    a new compatibility character maps."""
    if any(unicodedata.category(c) == 'Cn' and category(c) != 'Cn' for c in word):
        icu = icu_module()
        n = icu.Normalizer2
        n = n.getNFCInstance() if form == 'nfc' else n.getNFKCInstance()
        return str(n.normalize(word))
    return unicodedata.normalize(form.upper(), word)


def text_key(word, casing, form):
    if form != 'none':
        word = normalize(form, word)
    if casing == 'fold':
        word = word.casefold()
        if form != 'none':
            word = normalize(form, word)
    return word.encode('utf-8')


def byte_key(word, casing):
    return word.lower() if casing == 'fold' else word


def keys(data, a):
    """Every word key of data under the options a, in order."""
    if a.split == 'hadoop':
        return list(hadoop_words(data))
    if a.split in ('alnum', 'space'):
        return [byte_key(w, a.case) for w in WORD_RE[a.split].findall(data)]
    words = unicode_words(data) if a.split == 'unicode' else uax29_words(data)
    return [text_key(w, a.case, a.normalize) for w in words]


def line_key(line, a):
    """A stop word's key: the same treatment as a word of the text."""
    if a.split == 'hadoop':
        return line.decode('utf-8', 'replace').encode('utf-8')
    if a.split in ('alnum', 'space'):
        return byte_key(line, a.case)
    return text_key(line.decode('utf-8', 'replace'), a.case, a.normalize)


def kept(key, a, stop):
    text = key.decode('utf-8', 'surrogateescape')
    if len(text) < a.min_length:
        return False
    if a.ignore_numbers and all(category(c) == 'Nd' for c in text):
        return False
    return key not in stop


def ngrams(keys, lo, hi):
    """Every run of lo..hi consecutive keys, joined by one space byte."""
    for m in range(lo, hi + 1):
        for i in range(len(keys) - m + 1):
            yield b' '.join(keys[i:i + m])


def count_rules(datas, a):
    stop = set()
    if a.stopwords:
        with open(a.stopwords, 'rb') as f:
            data = f.read()
            if data.startswith(BOM):
                data = data[len(BOM):]
            for line in data.split(b'\n'):
                if line.endswith(b'\r'):
                    line = line[:-1]
                if line:
                    stop.add(line_key(line, a))
    counts = collections.Counter()
    lo, hi = a.ngram
    for data in datas:
        counts.update(ngrams([k for k in keys(data, a) if k and kept(k, a, stop)], lo, hi))
    return counts


def order(counts, sort, top):
    if sort == 'count':
        rows = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    else:
        rows = sorted(counts.items())  # bytes compare unsigned, prefix first
    return rows[:top] if top else rows


# JSON: the layout and the escapes of src/format.c.
# (\b and \f are written as \u0008 and \u000c.)
JSON_SHORT = {0x22: b'\\"', 0x5c: b'\\\\', 0x0a: b'\\n', 0x0d: b'\\r', 0x09: b'\\t'}


def json_string(word):
    out = bytearray()
    # surrogateescape turns each byte that is not part of valid UTF-8 into
    # U+DC80..U+DCFF, which is exactly the \udcXX convention.
    for ch in word.decode('utf-8', 'surrogateescape'):
        c = ord(ch)
        if c in JSON_SHORT:
            out += JSON_SHORT[c]
        elif c < 0x20 or c == 0x7f or 0xdc80 <= c <= 0xdcff:
            out += b'\\u%04x' % c
        else:
            out += ch.encode('utf-8')
    return bytes(out)


def render(rows, fmt):
    if fmt == 'tsv':
        return b''.join(w + b'\t%d\n' % n for w, n in rows)
    if fmt == 'csv':
        out = [b'word,count\r\n']
        for w, n in rows:
            if re.search(rb'[,"\r\n]', w):
                w = b'"' + w.replace(b'"', b'""') + b'"'
            out.append(w + b',%d\r\n' % n)
        return b''.join(out)
    objs = [b'{"word":"%s","count":%d}' % (json_string(w), n) for w, n in rows]
    return b'[' + b','.join(b'\n' + o for o in objs) + b'\n]\n'


NGRAM_MAX = 8


def ngram_range(text):
    """--ngram's value: N or M:N, decimal, 1 <= M <= N <= NGRAM_MAX; (M, N)."""
    m = re.fullmatch(r'([0-9]+)(?::([0-9]+))?', text)
    if not m:
        raise argparse.ArgumentTypeError('expected N or M:N, got %r' % text)
    lo = int(m.group(1))
    hi = int(m.group(2)) if m.group(2) is not None else lo
    if not 1 <= lo <= hi <= NGRAM_MAX:
        raise argparse.ArgumentTypeError('expected 1 <= M <= N <= %d, got %r' % (NGRAM_MAX, text))
    return lo, hi


def main(argv=None):
    p = argparse.ArgumentParser(allow_abbrev=False)
    p.add_argument('--split', choices=['alnum', 'space', 'unicode', 'uax29'], default='unicode')
    p.add_argument('--normalize', choices=['nfc', 'nfkc', 'none'], default='nfc')
    p.add_argument('--min-length', type=int, default=0)
    p.add_argument('--stopwords')
    p.add_argument('--ignore-numbers', action='store_true')
    p.add_argument('--compat', choices=['hadoop'])
    p.add_argument('--ngram', type=ngram_range, default=(1, 1))
    p.add_argument('--case', choices=['fold', 'keep'], default='fold')
    p.add_argument('--sort', choices=['count', 'word'], default='count')
    p.add_argument('--top', '-n', type=int, default=0)
    p.add_argument('--format', choices=['tsv', 'csv', 'json'], default='tsv')
    p.add_argument('paths', nargs='+')
    a = p.parse_args(argv)
    if a.top < 0:
        p.error('--top must be >= 0')
    if a.compat == 'hadoop' and a.ngram != (1, 1):
        p.error('--ngram cannot be used with --compat=hadoop')
    if a.compat == 'hadoop':
        a.split, a.case, a.sort, a.format = 'hadoop', 'keep', 'word', 'tsv'
    datas = read_inputs(a.paths, sys.stdin.buffer, a.compat == 'hadoop')
    # The fast path counts single words only; n-grams take the rules' path.
    if a.split in ('alnum', 'space') and a.ngram == (1, 1) and \
            not (a.min_length or a.stopwords or a.ignore_numbers):
        counts = count(datas, a.split, a.case)
    else:
        counts = count_rules(datas, a)
    sys.stdout.buffer.write(render(order(counts, a.sort, a.top), a.format))
    return 0


if __name__ == '__main__':
    sys.exit(main())
