#!/usr/bin/env python3
"""Every C file of the project is formatted as the committed .clang-format says.

usage: check_format.py SOURCE_ROOT

One TAP line per .c and .h file under src/, include/, tests/, bench/ and
tools/: `clang-format --dry-run --Werror` with the style file at
SOURCE_ROOT. A file that fails shows clang-format's first complaints; run
`clang-format -i FILE` to fix it. Skipped where clang-format is missing
(tools/install-deps.sh installs Debian's).
"""
import os
import shutil
import subprocess
import sys

FOLDERS = ['src', 'include', 'tests', 'bench', 'tools']


def main():
    if len(sys.argv) != 2:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    root = sys.argv[1]
    clang_format = shutil.which('clang-format')
    if clang_format is None:
        print('1..0 # SKIP clang-format is not installed')
        return 0
    if not os.path.isfile(os.path.join(root, '.clang-format')):
        print('not ok 1 - no .clang-format at %s: wrong SOURCE_ROOT?' % root)
        print('1..1')
        return 1
    sources = []
    for folder in FOLDERS:
        for parent, dirs, files in os.walk(os.path.join(root, folder)):
            dirs.sort()
            sources += [os.path.join(parent, f) for f in sorted(files)
                        if f.endswith(('.c', '.h'))]
    failed = 0
    for n, path in enumerate(sources, 1):
        shown = os.path.relpath(path, root)
        r = subprocess.run([clang_format, '--dry-run', '--Werror', '--style=file', path],
                           cwd=root, capture_output=True, text=True)
        if r.returncode == 0:
            print('ok %d - %s' % (n, shown))
            continue
        failed += 1
        print('not ok %d - %s' % (n, shown))
        for line in r.stderr.splitlines()[:6]:
            print('#   ' + line)
    print('1..%d' % len(sources))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
