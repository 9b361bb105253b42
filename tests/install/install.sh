#!/usr/bin/env bash
# meson install into a DESTDIR, then run the installed program and check that
# the man page and the launch scripts are in place.
#
#   install.sh BUILD_DIR
#
# PYTHON3: the interpreter of the other Python tests (meson passes it: Debian's
# /usr/bin/python3 where there is one); python3 from PATH without it.
set -euo pipefail

build=$1
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT
n=0
check() { # check DESCRIPTION COMMAND...
    n=$((n + 1))
    if "${@:2}" >/dev/null 2>&1; then
        echo "ok $n - $1"
    else
        echo "not ok $n - $1"
        failed=1
    fi
}
failed=0
echo "1..10"
meson install -C "$build" --destdir "$dest" --no-rebuild --quiet >/dev/null
prefix=$(meson introspect "$build" --buildoptions |
    "${PYTHON3:-python3}" -c 'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"]=="prefix"))')
libdir=$(meson introspect "$build" --buildoptions |
    "${PYTHON3:-python3}" -c 'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"]=="libdir"))')
case $libdir in /*) ;; *) libdir=$prefix/$libdir ;; esac
root=$dest$prefix
# The program finds libmpiwc in the prefix (its run path); under DESTDIR the
# library is not there yet, so point the loader at the copy under DESTDIR.
export LD_LIBRARY_PATH=$dest$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
check "mpiwc is installed and runs" test -x "$root/bin/mpiwc"
check "mpiwc-gen is installed" test -x "$root/bin/mpiwc-gen"
check "the installed mpiwc looks for libmpiwc in the prefix's libdir" \
    sh -c "readelf -d '$root/bin/mpiwc' | grep -E 'R(UN)?PATH' | grep -qF '[$libdir]'"
check "the mpiwc-gen man page is installed" test -s "$root/share/man/man1/mpiwc-gen.1"
check "mpiwc --version names the program" sh -c "'$root/bin/mpiwc' --version | grep -q '^mpiwc '"
check "the man page is installed" test -s "$root/share/man/man1/mpiwc.1"
check "slurm/mpiwc.sbatch is installed" test -s "$root/share/mpiwc/slurm/mpiwc.sbatch"
check "hostfiles are installed" test -s "$root/share/mpiwc/hostfiles/localhost"
# the installed slurm/scaling.sh runs ../bench/scaling.py
check "bench/scaling.py is installed beside slurm/" \
    "${PYTHON3:-python3}" "$root/share/mpiwc/slurm/../bench/scaling.py" csv "$dest/s.csv" strong "" ""

# The installed program counts a small input like the reference does.
text=$dest/in.txt
printf 'The cat and THE dog\nthe end\n' >"$text"
root_flags=()
[ "$(id -u)" -ne 0 ] || root_flags=(--allow-run-as-root)
got=$(timeout 60 mpirun -q "${root_flags[@]}" --oversubscribe -x LD_LIBRARY_PATH -np 2 "$root/bin/mpiwc" "$text")
want=$("${PYTHON3:-python3}" "$(dirname "$0")/../reference.py" "$text")
check "the installed mpiwc at np 2 matches the reference" test "$got" = "$want"
exit "$failed"
