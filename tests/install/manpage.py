#!/usr/bin/env python3
"""Every long option in `mpiwc --help` is in the man page, and vice versa.

Usage: manpage.py MPIWC MANPAGE
"""
import re
import subprocess
import sys


def options(text):
    return set(re.findall(r"(?<![\w-])--[a-z][a-z-]*[a-z]", text))


def main():
    mpiwc, manpage = sys.argv[1], sys.argv[2]
    help_text = subprocess.run([mpiwc, "--help"], capture_output=True, text=True,
                               check=True).stdout
    # roff writes a hyphen as \- ; drop font escapes such as \fB.
    roff = open(manpage, encoding="utf-8").read()
    man_text = re.sub(r"\\f[BIRP]", "", roff.replace("\\-", "-"))
    in_help, in_man = options(help_text), options(man_text)
    # Both also name mpirun's and sbatch's options in their examples.
    launcher = {"--hostfile", "--nodes", "--ntasks-per-node", "--allow-run-as-root", "--mca"}
    in_help -= launcher
    in_man -= launcher
    ok = True
    print("1..2")
    missing = sorted(in_help - in_man)
    print(("ok" if not missing else "not ok") + " 1 - every --help option is in the man page"
          + (f" (missing: {', '.join(missing)})" if missing else ""))
    ok &= not missing
    extra = sorted(in_man - in_help)
    print(("ok" if not extra else "not ok") + " 2 - every man page option is in --help"
          + (f" (not in --help: {', '.join(extra)})" if extra else ""))
    ok &= not extra
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
