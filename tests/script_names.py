#!/usr/bin/env python3
"""No Python file of the project takes the name of a standard module.

usage: script_names.py SOURCE_ROOT

Python puts a script's own folder first on sys.path, so a test named
operator.py is what `import operator` finds for every module the script
imports (difflib -> collections -> operator): the script fails with an
ImportError under a python3 that does not load the real module at start-up
(Debian's /usr/bin/python3 does not; some other builds do, which hides it).
One TAP line per .py file under tests/, bench/ and tools/, checked against
sys.stdlib_module_names of the python3 that runs this (the tests' own).
"""
import os
import sys

FOLDERS = ['tests', 'bench', 'tools']


def main():
    if len(sys.argv) != 2:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    root = sys.argv[1]
    stdlib = sys.stdlib_module_names
    scripts = []
    for folder in FOLDERS:
        for parent, dirs, files in os.walk(os.path.join(root, folder)):
            dirs.sort()
            scripts += [os.path.join(parent, f) for f in sorted(files) if f.endswith('.py')]
    if not scripts:
        print('not ok 1 - no .py file under %s: wrong SOURCE_ROOT?' % root)
        print('1..1')
        return 1
    failed = 0
    for n, path in enumerate(scripts, 1):
        name = os.path.basename(path)[:-3]
        shown = os.path.relpath(path, root)
        if name in stdlib:
            failed += 1
            print('not ok %d - %s' % (n, shown))
            print('#   %r is a standard module of Python %d.%d: rename the file'
                  % (name, *sys.version_info[:2]))
        else:
            print('ok %d - %s' % (n, shown))
    print('1..%d' % len(scripts))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
