#!/usr/bin/env bash
# The installed library as a C program uses it: meson install into a DESTDIR,
# build tests/lib/count.c with nothing but the installed header and
# `pkg-config --cflags --libs mpiwc` (the .pc file relocated to the DESTDIR),
# then run it under mpirun at np 1, 2 and 3 against tests/reference.py.
#
#   lib.sh BUILD_DIR
#
# PYTHON3: the interpreter of the reference counter (meson passes Debian's).
# SANITIZE: the build's b_sanitize; the client is built with it too.
set -euo pipefail

build=$(cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
py=${PYTHON3:-python3}
ref=$here/../reference.py
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT
TAP_LOG=$dest/check.log
# shellcheck source=tests/tap.sh
source "$here/../tap.sh"
option() { # option NAME: a meson option's value
    meson introspect "$build" --buildoptions |
        "$py" -c 'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"]==sys.argv[1]))' "$1"
}
meson install -C "$build" --destdir "$dest/root" --no-rebuild --quiet >/dev/null
prefix=$(option prefix)
libdir=$(option libdir)
case $libdir in /*) ;; *) libdir=$prefix/$libdir ;; esac
root=$dest/root$prefix
lib=$dest/root$libdir

check "libmpiwc.so has the soname libmpiwc.so.0" \
    sh -c "readelf -d '$lib/libmpiwc.so' | grep -q 'SONAME.*\[libmpiwc\.so\.0\]'"
check "libmpiwc exports the calls of mpiwc.h and nothing else" \
    sh -c "! nm -D --defined-only '$lib/libmpiwc.so' | awk '\$2 == \"T\" || \$2 == \"D\" || \$2 == \"B\" {print \$3}' | grep -v '^mpiwc_[a-z_]*@@MPIWC_0\$' | grep ."
check "mpiwc.h is installed" test -s "$root/include/mpiwc.h"

# The .pc file as installed, its prefix moved to where DESTDIR put it.
mkdir -p "$dest/pc"
sed "s|^prefix=.*|prefix=$root|" "$lib/pkgconfig/mpiwc.pc" >"$dest/pc/mpiwc.pc"
flags=$(PKG_CONFIG_PATH=$dest/pc pkg-config --cflags --libs mpiwc)
case ${SANITIZE:-none} in none | '') ;; *) flags="-fsanitize=$SANITIZE $flags" ;; esac
check "a program builds with pkg-config --cflags --libs mpiwc alone" \
    cc -std=c11 -Wall -Wextra -Werror -o "$dest/count" "$here/count.c" $flags

export LD_LIBRARY_PATH=$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
root_flags=()
[ "$(id -u)" -ne 0 ] || root_flags=(--allow-run-as-root)
mpi() { # mpi NP ARGS...
    local np=$1
    shift
    timeout 120 mpirun -q "${root_flags[@]}" --oversubscribe -x LD_LIBRARY_PATH -np "$np" "$@"
}

# A small corpus: the shipped samples and a file of mixed scripts, cases and numbers.
text=$dest/text
mkdir -p "$text"
cp -r "$here/../../samples" "$text/samples"
printf 'Straße STRASSE naïve Naïve ΑΒΓ αβγ 42 4.2 x_y don'"'"'t\nthe The THE end. 日本語 end\n' >"$text/mixed.txt"
"$py" "$ref" "$text" >"$dest/want.tsv"

gather_all() { # NP
    mpi "$1" "$dest/count" gather "$dest/got" -- "$text" && cmp "$dest/got" "$dest/want.tsv"
}
gather_some() { # NP
    mpi "$1" "$dest/count" gather "$dest/got" split=space sort=word top=7 -- "$text" &&
        "$py" "$ref" --split=space --sort=word --top=7 "$text" | cmp "$dest/got" -
}
own_words() { # NP
    rm -f "$dest"/own.*
    mpi "$1" "$dest/count" local "$dest/own" -- "$text" &&
        test "$(cat "$dest/own.words")" = "$(awk -F '\t' '{n += $2} END {print n}' "$dest/want.tsv")" &&
        rm "$dest/own.words" &&
        cat "$dest"/own.* | LC_ALL=C sort | cmp - <(LC_ALL=C sort "$dest/want.tsv")
}
write_json() { # NP
    mpi "$1" "$dest/count" write "$dest/got.json" format=json case=keep -- "$text" &&
        "$py" "$ref" --format=json --case=keep "$text" | cmp "$dest/got.json" -
}
errors() { # NP PATTERN ARGS...: every rank's "status<TAB>message" is one line, rank 0's matches
    local np=$1 pattern=$2
    shift 2
    rm -f "$dest"/err.*
    mpi "$np" "$dest/count" error "$dest/err" "$@" &&
        test "$(ls "$dest"/err.* | wc -l)" = "$np" &&
        test "$(cat "$dest"/err.* | sort -u | wc -l)" = 1 &&
        grep -q "$pattern" "$dest/err.0"
}
for np in 1 2 3; do
    check "np $np: gathered at the last rank, the table is the reference's" gather_all $np
    check "np $np: split=space sort=word top=7, gathered, as the reference" gather_some $np
    check "np $np: each rank's own words, together, are the reference's table; the words counted, its sum" own_words $np
    check "np $np: mpiwc_result_write with format=json writes the reference's json" write_json $np
    check "np $np: a missing file fails every rank with one message naming it" \
        errors $np '^1	mpiwc: .*missing.txt: No such file or directory$' -- "$text" "$dest/missing.txt"
done
check "a bad value is refused where it is set, with the command's message" \
    errors 2 "^2	mpiwc: invalid value 'bogus' for '--split'" split=bogus -- "$text"
check "an option of the command only is refused" \
    errors 1 "^2	mpiwc: option '--output' is the command's" output=x -- "$text"
tap_end
