#!/usr/bin/env bash
# The Python package as installed: meson install into a DESTDIR, import mpiwc
# from there (never from the source tree), and run check.py under mpirun at
# np 1, 2 and 3 and as a plain python3 (one rank, no mpirun) against
# tests/reference.py; then `python3 -m mpiwc`.
#
#   python.sh BUILD_DIR
#
# PYTHON3: Debian's interpreter (meson passes it). SANITIZE: the build's
# b_sanitize; a sanitized library cannot be loaded into an interpreter that
# was not started with the sanitizer's runtime, so there every test is
# skipped (tests/lib covers the library under the sanitizers).
set -euo pipefail

build=$(cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
py=${PYTHON3:-python3}
ref=$here/../reference.py
case ${SANITIZE:-none} in
none | '') ;;
*)
    echo "1..0 # SKIP a sanitized libmpiwc is not loaded into python3"
    exit 0
    ;;
esac
if ! "$py" -c 'import mpi4py, pandas' 2>/dev/null; then
    echo "not ok 1 - python3-mpi4py and python3-pandas are installed (tools/install-deps.sh)"
    echo "1..1"
    exit 1
fi
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT
meson install -C "$build" --destdir "$dest/root" --no-rebuild --quiet >/dev/null
init=$(find "$dest/root" -path '*/mpiwc/__init__.py' | head -1)
export PYTHONPATH=$(dirname "$(dirname "$init")")
TAP_LOG=$dest/check.log
# shellcheck source=tests/tap.sh
source "$here/../tap.sh"
check "mpiwc is imported from the installed prefix" \
    sh -c "cd / && '$py' -c 'import mpiwc, sys; sys.exit(not mpiwc.__file__.startswith(\"$dest/root/\"))'"
check "mpiwc.version() is the library's" sh -c "cd / && test \"\$('$py' -c 'import mpiwc; print(mpiwc.version())')\" = \"\$('$build/mpiwc' --version | head -1 | cut -d' ' -f2)\""

text=$dest/text
mkdir -p "$text"
cp -r "$here/../../samples" "$text/samples"
printf 'Straße STRASSE naïve Naïve ΑΒΓ αβγ 42 4.2 x_y don'"'"'t\nthe The THE end. 日本語 end\n' >"$text/mixed.txt"
"$py" "$ref" "$text" >"$dest/want.tsv"
"$py" "$ref" --split=space --sort=word --top=7 "$text" >"$dest/want-some.tsv"
"$py" "$ref" --compat=hadoop "$text" >"$dest/want-hadoop.tsv"

root_flags=()
[ "$(id -u)" -ne 0 ] || root_flags=(--allow-run-as-root)
mpi() { # mpi NP ARGS...
    local np=$1
    shift
    (cd / && timeout 180 mpirun -q "${root_flags[@]}" --oversubscribe -x PYTHONPATH -np "$np" "$@")
}
alone() { # alone IGNORED ARGS...: without mpirun, as a program started on its own
    shift
    (cd / && CHECK_LAUNCH=alone timeout 180 "$@")
}
for np in 1 2 3 alone; do
    launch=(mpi "$np")
    [ "$np" != alone ] || launch=(alone -)
    # check.py prints its own TAP lines; renumber them into this plan.
    if ! "${launch[@]}" "$py" "$here/check.py" "$text" "$dest/want.tsv" "$dest/want-some.tsv" \
        "$dest/want-hadoop.tsv" "$dest/missing.txt" >"$dest/np$np.tap" 2>"$dest/np$np.err"; then
        n=$((n + 1))
        echo "not ok $n - np $np: check.py ran to the end"
        sed 's/^/# /' "$dest/np$np.err" | head -20
        failed=1
    fi
    while IFS= read -r line; do
        case $line in
        "ok "* | "not ok "*)
            n=$((n + 1))
            [[ $line != "not ok "* ]] || failed=1
            echo "$line" | sed -E "s/^(ok|not ok) [0-9]+/\1 $n/"
            ;;
        *) echo "$line" ;;
        esac
    done <"$dest/np$np.tap"
done
module_table() {
    mpi 2 "$py" -m mpiwc "$text" | cmp - "$dest/want.tsv"
}
module_bad_option() {
    local rc=0
    mpi 1 "$py" -m mpiwc --split=bogus "$text" 2>"$dest/bad.err" || rc=$?
    test "$rc" = 2 && grep -q "invalid value 'bogus' for '--split'" "$dest/bad.err"
}
check "python3 -m mpiwc at np 2 writes the reference's table" module_table
check "python3 -m mpiwc with a bad option exits 2 with the command's message" module_bad_option
tap_end
