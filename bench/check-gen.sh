#!/usr/bin/env bash
# check-gen.sh - quick sanity check of mpiwc-gen (not a test suite; run it by hand).
#
#   bash bench/check-gen.sh
#
# Builds mpiwc-gen if needed, then for a few option sets generates the same
# corpus twice and checks: identical md5, exactly the requested size, a
# different seed gives different bytes, --files=1 equals -o, the parts of
# --files=N add up to the size, --vocab=N --zipf=0 yields as many distinct words
# as expected (all words unique per index), --non-ascii gives UTF-8 letters, and
# usage errors exit 2 with one line. Prints one line per check; exits 1 on the
# first failure.
# Knobs: BUILD_DIR (default build-bench), GEN (the binary; default
# $BUILD_DIR/tools/gen/mpiwc-gen), TMP (scratch directory; default a mktemp dir).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
BUILD_DIR=${BUILD_DIR:-build-bench}
GEN=${GEN:-$BUILD_DIR/tools/gen/mpiwc-gen}
TMP=${TMP:-$(mktemp -d)}
trap 'rm -rf "$TMP"' EXIT

if [ ! -x "$GEN" ] || [ tools/gen/mpiwc-gen.c -nt "$GEN" ]; then
    [ -d "$BUILD_DIR" ] || meson setup "$BUILD_DIR" --buildtype=release -Dtests=false >/dev/null
    meson compile -C "$BUILD_DIR" mpiwc-gen >/dev/null
fi

fail() {
    printf 'FAIL: %s\n' "$*"
    exit 1
}
ok() {
    printf 'ok: %s\n' "$*"
}
bytes_of() {
    # bytes in SIZE with K/M/G (powers of 1024), as mpiwc-gen reads it
    numfmt --from=iec "$1"
}

for opts in "--size=1M" "--size=7777 --seed=9" "--size=3M --vocab=100 --zipf=1.5" \
    "--size=2M --vocab=2000000 --zipf=0" "--size=1M --non-ascii --seed=4" "--size=1" "--size=0"; do
    # shellcheck disable=SC2086  # opts is a word list on purpose
    "$GEN" $opts -o "$TMP/a"
    # shellcheck disable=SC2086
    "$GEN" $opts >"$TMP/b"
    a=$(md5sum <"$TMP/a" | cut -d' ' -f1)
    b=$(md5sum <"$TMP/b" | cut -d' ' -f1)
    [ "$a" = "$b" ] || fail "$opts: two runs differ ($a vs $b)"
    want=$(bytes_of "$(sed 's/.*--size=\([^ ]*\).*/\1/' <<<"$opts")")
    got=$(stat -c %s "$TMP/a")
    [ "$got" -eq "$want" ] || fail "$opts: $got bytes, want $want"
    ok "$opts: md5 $a twice, $got bytes"
done

"$GEN" --size=1M --seed=1 -o "$TMP/a"
"$GEN" --size=1M --seed=2 -o "$TMP/b"
! cmp -s "$TMP/a" "$TMP/b" || fail "--seed=1 and --seed=2 give the same bytes"
ok "--seed=1 and --seed=2 differ"

"$GEN" --size=1M --files=1 --out-dir="$TMP/one"
cmp -s "$TMP/a" "$TMP/one/part-00000.txt" || fail "--files=1 differs from -o"
ok "--files=1 equals -o"

"$GEN" --size=1000003 --files=7 --out-dir="$TMP/many"
n=$(find "$TMP/many" -name 'part-*.txt' | wc -l)
total=$(cat "$TMP/many"/part-*.txt | wc -c)
[ "$n" -eq 7 ] && [ "$total" -eq 1000003 ] || fail "--files=7: $n files, $total bytes"
ok "--files=7: 7 files, 1000003 bytes in all"

# Uniform draws over V words: about V * (1 - exp(-draws / V)) distinct, and
# every index must be a different string (compare folded alnum words).
"$GEN" --size=20M --vocab=1000000 --zipf=0 -o "$TMP/hc"
read -r draws distinct < <(tr -cs 'A-Za-z' '\n' <"$TMP/hc" | tr 'A-Z' 'a-z' | grep -v '^$' |
    LC_ALL=C sort | uniq -c | awk '{d++; w += $1} END {print w, d}')
expect=$(awk -v n="$draws" 'BEGIN {printf "%d", 1000000 * (1 - exp(-n / 1000000))}')
awk -v d="$distinct" -v e="$expect" 'BEGIN {exit !(d > 0.99 * e && d <= 1000000)}' ||
    fail "--vocab=1000000 --zipf=0: $distinct distinct of $draws words, expected about $expect"
ok "--vocab=1000000 --zipf=0: $distinct distinct of $draws words (expected about $expect)"

"$GEN" --size=1M --non-ascii -o "$TMP/u"
grep -q 'é' "$TMP/u" && grep -q 'ß' "$TMP/u" && grep -qP '[\x{0430}-\x{044f}]' "$TMP/u" ||
    fail "--non-ascii: no é, ß or Cyrillic"
iconv -f UTF-8 -t UTF-8 "$TMP/u" >/dev/null || fail "--non-ascii: not valid UTF-8"
! LC_ALL=C grep -q '[^ -~]' "$TMP/a" || fail "without --non-ascii: bytes outside printable ASCII"
ok "--non-ascii: valid UTF-8 with é, ß and Cyrillic; ASCII otherwise"

for bad in "--bogus" "--size=12Q" "--size" "--zipf=-1" "--vocab=0" "--files=2" "extra"; do
    set +e
    "$GEN" $bad >/dev/null 2>"$TMP/err"
    rc=$?
    set -e
    lines=$(wc -l <"$TMP/err")
    [ "$rc" -eq 2 ] && [ "$lines" -eq 1 ] || fail "$bad: exit $rc with $lines lines on stderr"
done
ok "usage errors: exit 2, one line"

printf 'all mpiwc-gen checks passed\n'
