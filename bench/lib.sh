# shellcheck shell=bash
# lib.sh - what the bench scripts share. Each sources it from the checkout's
# root, after setting BENCH (its name, for messages) and LOG (the file that
# every command run through `run` is echoed to; made empty here):
#
#     BENCH=gzip LOG=$OUT_DIR/gzip.log
#     . bench/lib.sh
#
# It gives:
#   log MSG...        MSG on standard output and in LOG
#   die MSG...        "BENCH: MSG" on standard error and in LOG, then exit 1
#   run CMD...        CMD echoed into LOG, then run
#   as_root CMD...    CMD as root (sudo unless root already)
#   need_pkg PKG      the Debian package PKG installed unless it is; 1 if that fails
#   bytes_of SIZE     SIZE (K, M, G: powers of 1024) in bytes
#   now, since T0     the time in seconds; seconds since T0, to 0.0001
#   free_bytes DIR    bytes free for an unprivileged user on DIR's file system
#   build_bench DIR   mpiwc and mpiwc-gen built (release) in DIR; sets MPIWC, GEN
#   MPIRUN            mpirun and its options for this user: -q, and
#                     --allow-run-as-root when root
#   natural_corpus BYTES
#                     mpiwc-gen's natural text (Zipf 1.0 over 50000 words) of
#                     BYTES bytes, seed SEED (1), made once in CACHE_DIR
#                     (bench/cache) under a name that carries the size, the
#                     seed and a hash of mpiwc-gen.c (GEN_HASH); prints its path
#   uniform_path KIND BYTES VOCAB, uniform_corpus KIND BYTES VOCAB
#                     the same for uniform draws (Zipf 0) over VOCAB words, the
#                     high-cardinality corpora: where it lies; made once
#   bible_corpus BYTES
#                     the King James Bible (package bible-kjv, installed when
#                     missing) repeated to BYTES bytes, made once as
#                     CACHE_DIR/bible-BYTES.txt; prints its path

: "${BENCH:?BENCH must name the script}" "${LOG:?LOG must name the log file}"
mkdir -p "$(dirname "$LOG")"
: >"$LOG"

log() {
    printf '%s\n' "$*" | tee -a "$LOG"
}
die() {
    printf '%s: %s\n' "$BENCH" "$*" | tee -a "$LOG" >&2
    exit 1
}
run() {
    printf '+ %s\n' "$(printf '%q ' "$@")" >>"$LOG"
    "$@"
}
as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}
need_pkg() {
    if dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; then
        return 0
    fi
    log "installing $1"
    run as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$1" >>"$LOG" 2>&1 ||
        { run as_root apt-get update -q >>"$LOG" 2>&1 &&
            run as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$1" >>"$LOG" 2>&1; }
}
bytes_of() {
    numfmt --from=iec "$1"
}
now() {
    date +%s.%N
}
since() {
    awk -v a="$1" -v b="$(now)" 'BEGIN {printf "%.4f", b - a}'
}
free_bytes() {
    df -Pk "$1" | awk 'NR == 2 {printf "%.0f", $4 * 1024}'
}

build_bench() {
    if [ ! -f "$1/build.ninja" ]; then
        run meson setup "$1" --buildtype=release -Dtests=false >>"$LOG" 2>&1 ||
            die "meson setup failed (see $LOG)"
    fi
    run meson compile -C "$1" mpiwc:executable mpiwc-gen >>"$LOG" 2>&1 ||
        die "build failed (see $LOG)"
    # shellcheck disable=SC2034  # for the scripts that source this
    MPIWC=$1/mpiwc
    GEN=$1/tools/gen/mpiwc-gen
}

MPIRUN=(mpirun -q)
[ "$(id -u)" -ne 0 ] || MPIRUN+=(--allow-run-as-root)

GEN_HASH=$(sha1sum tools/gen/mpiwc-gen.c | cut -c1-8)

natural_corpus() {
    local path=${CACHE_DIR:-bench/cache}/natural-$1-s${SEED:-1}-$GEN_HASH.txt
    if [ ! -s "$path" ]; then
        mkdir -p "$(dirname "$path")"
        run "$GEN" --size="$1" --seed="${SEED:-1}" -o "$path.tmp" >&2 && mv "$path.tmp" "$path"
    fi || return 1
    printf '%s\n' "$path"
}

uniform_path() {
    printf '%s\n' "${CACHE_DIR:-bench/cache}/$1-$2-v$3-s${SEED:-1}-$GEN_HASH.txt"
}

uniform_corpus() {
    local path
    path=$(uniform_path "$@")
    if [ ! -s "$path" ]; then
        mkdir -p "$(dirname "$path")"
        run "$GEN" --size="$2" --vocab="$3" --zipf=0 --seed="${SEED:-1}" -o "$path.tmp" >&2 &&
            mv "$path.tmp" "$path"
    fi || return 1
    printf '%s\n' "$path"
}

bible_corpus() {
    local cache=${CACHE_DIR:-bench/cache} bytes=$1
    local kjv=$cache/bible-kjv.txt path=$cache/bible-$1.txt
    mkdir -p "$cache"
    if [ ! -s "$kjv" ]; then
        { need_pkg bible-kjv &&
            run env -u COLUMNS bible 'Gen1:1-Rev22:21' >"$kjv.tmp" && mv "$kjv.tmp" "$kjv"; } >&2 ||
            return 1
    fi
    if [ ! -s "$path" ]; then
        local one copies i
        one=$(stat -c %s "$kjv")
        copies=$(((bytes + one - 1) / one))
        printf '+ repeat %s %d times | head -c %s > %s\n' "$kjv" "$copies" "$bytes" "$path" >>"$LOG"
        # head stops reading at BYTES: the last cat may die of SIGPIPE, which is fine.
        for ((i = 0; i < copies; i++)); do cat "$kjv"; done | head -c "$bytes" >"$path.tmp" ||
            [ "$(stat -c %s "$path.tmp")" -eq "$bytes" ] || return 1
        mv "$path.tmp" "$path"
    fi
    printf '%s\n' "$path"
}
