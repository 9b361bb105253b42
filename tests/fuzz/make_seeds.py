#!/usr/bin/env python3
"""Write the small seed corpora of the fuzz harnesses (tests/fuzz/corpus/NAME/).

usage: python3 tests/fuzz/make_seeds.py

Deterministic; rerun after changing an input layout (see each fuzz_NAME.c).
"""
import os
import struct
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))


def write(name, seeds):
    d = os.path.join(HERE, 'corpus', name)
    os.makedirs(d, exist_ok=True)
    for f in os.listdir(d):
        os.remove(os.path.join(d, f))
    for i, data in enumerate(seeds):
        with open(os.path.join(d, f'seed-{i:02d}'), 'wb') as f:
            f.write(data)


def tokenize_seeds():
    texts = [
        b'In the beginning God created the heaven and the earth.\n',
        b'Hello, HELLO hello!\r\nWorld\tworld\x0bworld\x0cend',
        b'a' * 15 + b' ' + b'b' * 16 + b' ' + b'c' * 17 + b' ' + b'D' * 63 + b' ' + b'e' * 130,
        b'caf\xc3\xa9 na\xefve \xff\xfe\x80 x\x00y z\x00\x00',
        bytes(range(256)),
        (b'word ' * 13) + b'x' * 70 + (b' Ab' * 30),
    ]
    seeds = []
    for i, t in enumerate(texts):
        for cfg in (0x00 | (i % 4) << 2, 0x01 | 0x02 | ((i + 1) % 4) << 2):
            # two cuts: one inside the text, one at a 64-byte block edge
            cuts = [len(t) // 3, 64]
            seeds.append(bytes([cfg | (len(cuts) << 4)]) +
                         b''.join(struct.pack('<H', c) for c in cuts) + t)
    # n-grams (bit 7, then N - 1 | (M - 1) << 3 | read-ahead chunk << 6), with
    # cuts inside words, between them and in runs of separators
    texts += [
        b'a b c d e f g h i j k l m n o p',
        b'  the cat  sat\n\non the mat \t the cat sat  ',
    ]
    for i, t in enumerate(texts):
        for k, (m, n) in enumerate(((2, 2), (1, 3), (3, 5), (8, 8))):
            cfg = 0x80 | (i + k) % 2 | ((i + k) % 4) << 2
            cuts = [len(t) // 4, len(t) // 2 + 1, 3 * len(t) // 4 + 2]
            seeds.append(bytes([cfg | (len(cuts) << 4), (n - 1) | (m - 1) << 3 | k << 6]) +
                         b''.join(struct.pack('<H', c) for c in cuts) + t)
    # the unicode split (SIMD cap 3 with alnum, the text made ASCII): the fast
    # path's bigrams, joined in registers, either side of 7 and 15 bytes
    for i, t in enumerate(texts + [b'abcdefg hijklmn abcdefgh ijklmno x abcdefghijklmno p qr s']):
        for k, (m, n) in enumerate(((2, 2), (1, 2))):
            cfg = 0x80 | 3 << 2
            cuts = [len(t) // 3, 2 * len(t) // 3 + 1]
            seeds.append(bytes([cfg | (len(cuts) << 4), (n - 1) | (m - 1) << 3 | (i % 4) << 6]) +
                         b''.join(struct.pack('<H', c) for c in cuts) + t)
    return seeds


def varint(v):
    out = b''
    while v >= 0x80:
        out += bytes([v & 0x7f | 0x80])
        v >>= 7
    return out + bytes([v])


def record(word, count):
    """A shuffle record (record.h): varint key length, varint count, key."""
    return varint(len(word)) + varint(count) + word


def record_seeds():
    good = record(b'the', 3) + record(b'x' * 200, 1) + record(b'\xff\x00', 2**64 - 1)
    return [
        b'',
        good,
        good[:-1],                          # key cut short
        good[:7],                           # header cut short
        record(b'', 5),                     # key_len 0
        record(b'a', 0),                    # count 0
        varint(0xffffffff) + varint(1) + b'abc',  # key_len past the end
        b'\x83\x00\x01abc',                 # key_len 3 in two bytes: not canonical
        b'\x01' + b'\xff' * 9 + b'\x02a',     # count past 64 bits
        varint(2**32) + varint(1) + b'a',   # key_len past 32 bits
    ]


def run_file(rows, order=1, block=64):
    """A spill run (spill.h): header, blocks of front-coded rows with their CRC-32, the end."""
    out = b'MPIWCRUN' + struct.pack('=II', 2, order)
    blocks, cur, prev = [], b'', b''
    for word, count in rows:
        if cur and len(cur) + 20 + len(word) > block:
            blocks.append(cur)
            cur, prev = b'', b''
        shared = 0
        while shared < min(len(prev), len(word)) and prev[shared] == word[shared]:
            shared += 1
        cur += varint(shared) + varint(len(word) - shared) + varint(count) + word[shared:]
        prev = word
    if cur:
        blocks.append(cur)
    for b in blocks:
        out += struct.pack('=II', len(b), zlib.crc32(b)) + b
    n = struct.pack('=Q', len(rows))
    return out + struct.pack('=II', 0, zlib.crc32(n)) + n


def spill_seeds():
    words = sorted({b'a', b'ab', b'abc', b'b', b'the', b'x' * 20, b'\x00nul', b'caf\xc3\xa9',
                    b'z' * 300})
    by_word = [(w, i + 1) for i, w in enumerate(words)]
    by_count = sorted(by_word, key=lambda r: (-r[1], r[0]))
    return [
        b'\x00' + run_file(by_word),
        b'\x00' + run_file(by_count, order=0),
        b'\x00' + run_file([]),
        b'\x00' + run_file(by_word, block=1 << 20)[:-3],  # cut
        b'\x01\x03' + b'\n'.join(w for w, _ in by_word * 3),
        b'\x01\x00the\nthe\na\n\nb\nthe\n' + b'long' * 40,
    ]


def cli_seeds():
    args = [
        ['64K', 'file'],
        ['--buffer-size=4K', '--shuffle-buffer', '1M', 'a', 'b'],
        ['-n', '10', '--sort=word', '--format=json', '-o', 'out.tsv', '-'],
        ['--split=space', '--case=keep', '--memory-limit=0', '--stats', 'x'],
        ['--output-dir=d', '--top=3', 'x'],
        ['--output-dir', 'd', '-o', 'f', 'x'],
        ['18446744073709551615', '--memory-limit=17179869184G', 'x'],
        ['1G', '--buffer-size=1G', '--shuffle-buffer=64', '--report', 'r.json', 'x'],
        ['-h'],
        ['--version'],
        ['--sort'],
        ['-q', '--unknown', 'x'],
        ['--', '-o', 'x'],
        ['--format=csv', '--top=', 'x'],
    ]
    return [b'\0'.join(a.encode() for a in argv) for argv in args]


PLAN_MAGIC = 0x4e414c50


def pack_plan(files, nranks, rank_first, ranges):
    out = struct.pack('<I', PLAN_MAGIC)
    total = sum(s for _, s in files if s != 2**64 - 1)
    out += struct.pack('<QQQ', nranks, total, len(files))
    for path, size in files:
        out += struct.pack('<QQ', size, len(path)) + path
    out += struct.pack('<Q', len(ranges))
    out += b''.join(struct.pack('<Q', r) for r in rank_first)
    out += b''.join(struct.pack('<QQQ', *r) for r in ranges)
    return out


def plan_seeds():
    def split(nranks, sizes, stdin=False, stdin_at=0, scale=0):
        b0 = ((nranks - 1) >> 8) & 3 | (4 if stdin else 0) | scale << 3
        return bytes([b0, (nranks - 1) & 0xff, stdin_at]) + b''.join(
            struct.pack('<I', s)[:3] for s in sizes)
    seeds = [
        split(1, [10]),
        split(3, [10, 0, 7, 1]),
        split(7, [1, 1, 1]),
        split(4, [1000, 3, 0, 0, 5000], stdin=True, stdin_at=2),
        split(1024, [0xffffff, 0xffffff], scale=7),
        split(2, []),
        split(5, [], stdin=True),
    ]
    packed = [
        pack_plan([(b'a.txt', 10)], 1, [0, 1], [(0, 0, 10)]),
        pack_plan([(b'-', 2**64 - 1), (b'b', 7), (b'c', 5)], 2, [0, 2, 3],
                  [(0, 0, 2**64 - 1), (1, 0, 6), (1, 6, 7), (2, 0, 5)][:3]),
        pack_plan([], 3, [0, 0, 0, 0], []),
    ]
    return seeds + [b'\x80' + p for p in packed]


write('tokenize', tokenize_seeds())
write('record', record_seeds())
write('cli', cli_seeds())
write('plan', plan_seeds())
write('spill', spill_seeds())
