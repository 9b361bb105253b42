#!/usr/bin/env bash
# run.sh - the mpiwc benchmark: build, generate corpora, time, summarise, plot.
#
#   bash bench/run.sh
#
# 1. Builds mpiwc and mpiwc-gen in BUILD_DIR (release) if needed.
# 2. Generates the corpora into CACHE_DIR, once (the names carry the size, the
#    seed and a hash of mpiwc-gen.c):
#      natural   mpiwc-gen text of SIZE bytes (Zipf 1.0 over 50000 words)
#      bible     the King James Bible (package bible-kjv) repeated to SIZE bytes
#      many      natural text of SIZE bytes in FILES files (a directory)
#      highcard  HIGHCARD_SIZE bytes of uniform draws over HIGHCARD_VOCAB words
#                (1G over 40M words: about 37.5M distinct)
#      huge      with HUGE=1: HUGE_SIZE bytes of uniform draws over HUGE_VOCAB
#                words (4G over 150M words: about 140M distinct), made only
#                where CACHE_DIR's disk has 3x its size free (the corpus, then
#                spill files and sort's temporary files; see below)
# 3. For each corpus: `LC_ALL=C wc -w` (the baseline), `LC_ALL=C.UTF-8 wc -w`
#    and `mpirun -np N mpiwc` for N in RANKS and each option set in VARIANTS
#    run in rounds, each round every one of them once, the two wc -w first:
#    WARMUP untimed rounds (page cache, first-touch), then REPEAT timed ones.
#    The baseline is `LC_ALL=C wc -w`, the C locale named on purpose: wc
#    counts bytes between ASCII whitespace without decoding UTF-8, its
#    fastest mode (about 1.45x faster here than under C.UTF-8, where it
#    decodes every character; both ratios are reported). On highcard and huge,
#    `tr -s ' ' '\n' | LC_ALL=C sort | uniq -c` follows where it fits.
#    highcard runs each option set of HIGHCARD_VARIANTS (by default in memory
#    and spilling under --memory-limit=256M); after its timed rounds each of
#    them runs once more at the smallest np with -o to a file, whose SHA-256
#    must be the first option set's: the verdict (byte-identical or not, with
#    the spill runs of each) goes to the log and to results.json's meta
#    (highcard_identical). huge runs np in HUGE_RANKS once each with default
#    options (the default --memory-limit=auto: half the host's memory shared
#    by its ranks), no warm-up. Spill files go to mpiwc's default --spill-dir
#    (TMPDIR, else /tmp), logged with its free space. mpiwc writes its table
#    with -o /dev/null: through mpirun, standard output is forwarded by Open
#    MPI at a few MB/s (the highcard table, 431 MB, took 120 s that way
#    against 11 s written by mpiwc itself). Wall time: date +%s.%N around the whole command
#    (mpirun start-up included). Peak RSS: GNU time's %M, per rank through
#    bench/rank-rss.sh (mpiwc's --report has no RSS), max over ranks.
#    Every mpiwc run keeps its --report JSON (phase times) in RESULTS_DIR/reports.
# 4. bench/summarize.py writes RESULTS_DIR/results.csv, results.json and
#    table.md: one row per (corpus, bytes, program, ranks, options) with
#    median/min/max wall, MB/s (10^6 bytes/s, from the median), vs_wc (wc -w's
#    median wall / this median: how many times faster than wc -w measured in the
#    same run; vs_wc_utf8 the same against the C.UTF-8 one), speedup vs np=1 and efficiency, peak RSS, phase and step medians,
#    words/s, peak RSS bytes per distinct word, the spill counters and the
#    per-rank memory limit (see the docstring of bench/summarize.py).
# 5. Plots (gnuplot, package gnuplot-nox) from results.csv into RESULTS_DIR
#    (throughput.png, speedup.png, phases.png), copied to docs/bench/.
# 6. results.csv and results.json (whose "meta" holds this run's
#    configuration: date, commit, CPU, knobs, the exact commands of the first
#    timed round) are copied to docs/bench/, and bench/performance.py writes
#    docs/PERFORMANCE.md from them and the text of bench/PERFORMANCE.md.in.
#    The page is never edited by hand; to rebuild it from the committed data:
#      python3 bench/performance.py docs/bench/results.csv docs/bench/results.json docs/PERFORMANCE.md
#
# Every command run is echoed into RESULTS_DIR/log.txt. Missing Debian
# packages (time, gnuplot-nox, bible-kjv) are installed with apt-get.
#
# Knobs (environment variables, with defaults):
#   SIZE=430M            corpus size (K, M, G: powers of 1024); per rank if WEAK=1
#   RANKS="1 .. nproc"   rank counts for mpiwc
#   REPEAT=5             timed runs per configuration
#   WARMUP=1             untimed runs before them
#   VARIANTS="default --split=space"   mpiwc option sets; "default" is none
#   MPIWC_ARGS=""        extra options for every mpiwc run
#   MPIRUN_ARGS=""       extra options for mpirun (e.g. --bind-to none)
#   CORPORA="natural bible many"       which SIZE corpora to run
#   NGRAM_VARIANTS="--ngram=2 --ngram=1:3"   more option sets for the bible
#                        corpus, in the same rounds as VARIANTS, so that
#                        n-grams compare with words measured beside them
#                        (empty: none)
#   FILES=64             files in the "many" corpus
#   HIGHCARD=1           0 skips the high-cardinality corpus
#   HIGHCARD_SIZE=1G  HIGHCARD_VOCAB=40000000
#   HIGHCARD_REPEAT=1  HIGHCARD_WARMUP=0
#                        (its runs take minutes each; the file is read once into
#                        the page cache instead of a warm-up run)
#   HIGHCARD_VARIANTS="default --memory-limit=256M"   its option sets: in
#                        memory and spilling (the first is the reference of the
#                        byte-identity check)
#   HUGE=0               1: also the huge corpus (skipped, with a line in the
#                        log, where the disk lacks 3x HUGE_SIZE)
#   HUGE_SIZE=4G  HUGE_VOCAB=150000000  HUGE_RANKS="1 2"
#   SORT_BASELINE=auto   sort|uniq -c on highcard and huge: auto = if TMPDIR has
#                        3x the corpus free and memory holds it; 1 always; 0 never
#   WEAK=0               1: weak scaling, np=N reads a corpus of N * SIZE
#   SEED=1  BUILD_DIR=build-bench  CACHE_DIR=bench/cache  RESULTS_DIR=bench/results
#   DOCS_DIR=docs/bench  (empty: do not copy the plots and results, and write
#                        no PERFORMANCE_MD)
#   PERFORMANCE_MD=docs/PERFORMANCE.md
#   NOTE=""              a sentence on the machine's state for the page (e.g.
#                        "shared with other jobs"), shown under its configuration
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

SIZE=${SIZE:-430M}
RANKS=${RANKS:-$(seq -s ' ' 1 "$(nproc)")}
REPEAT=${REPEAT:-5}
WARMUP=${WARMUP:-1}
VARIANTS=${VARIANTS:-default --split=space}
MPIWC_ARGS=${MPIWC_ARGS:-}
MPIRUN_ARGS=${MPIRUN_ARGS:-}
CORPORA=${CORPORA:-natural bible many}
NGRAM_VARIANTS=${NGRAM_VARIANTS---ngram=2 --ngram=1:3}
FILES=${FILES:-64}
HIGHCARD=${HIGHCARD:-1}
HIGHCARD_SIZE=${HIGHCARD_SIZE:-1G}
HIGHCARD_VOCAB=${HIGHCARD_VOCAB:-40000000}
HIGHCARD_REPEAT=${HIGHCARD_REPEAT:-1}
HIGHCARD_WARMUP=${HIGHCARD_WARMUP:-0}
HIGHCARD_VARIANTS=${HIGHCARD_VARIANTS:-default --memory-limit=256M}
HUGE=${HUGE:-0}
HUGE_SIZE=${HUGE_SIZE:-4G}
HUGE_VOCAB=${HUGE_VOCAB:-150000000}
HUGE_RANKS=${HUGE_RANKS:-1 2}
SORT_BASELINE=${SORT_BASELINE:-auto}
WEAK=${WEAK:-0}
SEED=${SEED:-1}
BUILD_DIR=${BUILD_DIR:-build-bench}
CACHE_DIR=${CACHE_DIR:-bench/cache}
RESULTS_DIR=${RESULTS_DIR:-bench/results}
DOCS_DIR=${DOCS_DIR-docs/bench}
PERFORMANCE_MD=${PERFORMANCE_MD:-docs/PERFORMANCE.md}
NOTE=${NOTE:-}

LOG=$RESULTS_DIR/log.txt
COMMANDS=$RESULTS_DIR/commands.txt
RAW=$RESULTS_DIR/raw.csv

# ---- 0. set-up ----------------------------------------------------------

mkdir -p "$RESULTS_DIR" "$CACHE_DIR"
rm -rf "$RESULTS_DIR/reports" "$RESULTS_DIR/rss"
rm -f "$RESULTS_DIR"/*.png "$RESULTS_DIR"/results.* "$RESULTS_DIR/table.md" "$RAW" "$COMMANDS"
mkdir -p "$RESULTS_DIR/reports" "$RESULTS_DIR/rss"
BENCH=run.sh
# shellcheck source=bench/lib.sh
. bench/lib.sh
log "mpiwc benchmark $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(hostname), $(nproc) cores"
log "knobs: SIZE=$SIZE RANKS='$RANKS' REPEAT=$REPEAT WARMUP=$WARMUP VARIANTS='$VARIANTS'" \
    "MPIWC_ARGS='$MPIWC_ARGS' MPIRUN_ARGS='$MPIRUN_ARGS' CORPORA='$CORPORA' FILES=$FILES" \
    "NGRAM_VARIANTS='$NGRAM_VARIANTS'" \
    "HIGHCARD=$HIGHCARD HIGHCARD_SIZE=$HIGHCARD_SIZE HIGHCARD_VOCAB=$HIGHCARD_VOCAB" \
    "HIGHCARD_REPEAT=$HIGHCARD_REPEAT HIGHCARD_VARIANTS='$HIGHCARD_VARIANTS' HUGE=$HUGE" \
    "HUGE_SIZE=$HUGE_SIZE HUGE_VOCAB=$HUGE_VOCAB HUGE_RANKS='$HUGE_RANKS'" \
    "SORT_BASELINE=$SORT_BASELINE WEAK=$WEAK SEED=$SEED"
log "baseline: LC_ALL=C wc -w (the C locale: bytes between ASCII whitespace, no UTF-8 decoding);" \
    "LC_ALL=C.UTF-8 wc -w measured beside it"

need_pkg time || die "GNU time (package time) is needed for peak RSS"

# ---- 1. build -----------------------------------------------------------

build_bench "$BUILD_DIR"
log "built $("$MPIWC" --version 2>/dev/null | head -n 1) in $BUILD_DIR"

mpirun_flags=("${MPIRUN[@]:1}")
# shellcheck disable=SC2206  # MPIRUN_ARGS is a word list on purpose
mpirun_flags+=($MPIRUN_ARGS)

# ---- 2. corpora ---------------------------------------------------------

# corpus_path KIND BYTES: generate the corpus unless cached; prints its path.
corpus_path() {
    local kind=$1 bytes=$2 path
    case $kind in
    natural)
        path=$(natural_corpus "$bytes") || return 1
        ;;
    many)
        path=$CACHE_DIR/many-$bytes-f$FILES-s$SEED-$GEN_HASH
        [ -d "$path" ] || {
            rm -rf "$path.tmp" &&
                run "$GEN" --size="$bytes" --files="$FILES" --seed="$SEED" --out-dir="$path.tmp" &&
                mv "$path.tmp" "$path"
        } >&2
        ;;
    highcard | huge)
        local vocab=$HIGHCARD_VOCAB
        [ "$kind" = highcard ] || vocab=$HUGE_VOCAB
        path=$(uniform_corpus "$kind" "$bytes" "$vocab") || return 1
        ;;
    bible)
        path=$(bible_corpus "$bytes") || return 1
        ;;
    *) die "unknown corpus '$kind'" ;;
    esac
    printf '%s\n' "$path"
}

# ---- 3. runs ------------------------------------------------------------

printf 'corpus,bytes,files,program,ranks,options,rep,wall_s,rss_kib,report\n' >"$RAW"

# measure CORPUS BYTES NFILES PROGRAM RANKS OPTIONS REP REPORT -- CMD...
# REP 0 is a warm-up: run and logged, not recorded.
measure() {
    local corpus=$1 bytes=$2 nfiles=$3 program=$4 ranks=$5 options=$6 rep=$7 report=$8
    shift 9
    local rss_prefix=$RESULTS_DIR/rss/rss t0 t1 rss
    rm -f "$rss_prefix".*
    printf '+ %s%s\n' "$(printf '%q ' "$@")" "$([ "$rep" -gt 0 ] || echo ' # warm-up')" >>"$LOG"
    # the first timed round's commands, for docs/PERFORMANCE.md
    [ "$rep" != 1 ] || printf '%s\n' "$(printf '%q ' "$@")" >>"$COMMANDS"
    t0=$(now)
    "$@" >/dev/null 2>>"$RESULTS_DIR/stderr.txt" ||
        die "failed (exit $?): $* (stderr in $RESULTS_DIR/stderr.txt)"
    t1=$(now)
    rss=$(for f in "$rss_prefix".*; do tail -n 1 "$f"; done | sort -n | tail -n 1)
    [ "$rep" -gt 0 ] || return 0
    local wall
    wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.4f", b - a}')
    printf '%s,%s,%s,%s,%s,"%s",%s,%s,%s,%s\n' "$corpus" "$bytes" "$nfiles" "$program" "$ranks" \
        "$options" "$rep" "$wall" "$rss" "$report" >>"$RAW"
    printf '  %-9s %-13s np=%-2s %-22s rep %s: %8.3f s %9s KiB\n' "$corpus" "$program" "$ranks" \
        "$options" "$rep" "$wall" "$rss" | tee -a "$LOG"
}

# bench_corpus KIND BYTES RANKLIST REPEAT WARMUP VARIANTS
bench_corpus() {
    local kind=$1 bytes=$2 ranklist=$3 repeat=$4 warmup=$5 variants=$6
    local path nfiles rep n variant
    path=$(corpus_path "$kind" "$bytes") || {
        log "skipping corpus $kind: cannot make it (see $LOG)"
        return 0
    }
    local inputs=("$path")
    if [ -d "$path" ]; then
        mapfile -t inputs < <(find "$path" -type f -name '*.txt' | LC_ALL=C sort)
    fi
    nfiles=${#inputs[@]}
    log "corpus $kind: $bytes bytes in $nfiles file(s): $path"
    run cat "${inputs[@]}" >/dev/null # into the page cache

    # Rounds: each runs wc -w, then every mpiwc configuration once. The
    # machine is shared and its speed drifts over minutes; interleaved, the
    # drift reaches the baseline and every configuration alike, where runs
    # grouped by configuration gave ratios that moved with it.
    local reps
    reps=$(seq $((1 - warmup)) "$repeat")
    for rep in $reps; do
        measure "$kind" "$bytes" "$nfiles" "wc -w" 1 default "$rep" "" -- \
            /usr/bin/time -f %M -o "$RESULTS_DIR/rss/rss.0" env LC_ALL=C wc -w "${inputs[@]}"
        measure "$kind" "$bytes" "$nfiles" "wc -w C.UTF-8" 1 default "$rep" "" -- \
            /usr/bin/time -f %M -o "$RESULTS_DIR/rss/rss.0" env LC_ALL=C.UTF-8 wc -w "${inputs[@]}"
        for n in $ranklist; do
            local flags=("${mpirun_flags[@]}")
            [ "$n" -le "$(nproc)" ] || flags+=(--oversubscribe)
            for variant in $variants; do
                local vopts=() slug=default
                if [ "$variant" != default ]; then
                    vopts=("$variant")
                    slug=$(tr -c 'A-Za-z0-9\n' '_' <<<"${variant#--}")
                fi
                local report=$RESULTS_DIR/reports/$kind-$bytes-np$n-$slug-r$rep.json
                # shellcheck disable=SC2086  # MPIWC_ARGS is a word list on purpose
                measure "$kind" "$bytes" "$nfiles" mpiwc "$n" "$variant" "$rep" "$report" -- \
                    mpirun "${flags[@]}" -np "$n" bench/rank-rss.sh "$RESULTS_DIR/rss/rss" \
                    "$MPIWC" -o /dev/null --report="$report" $MPIWC_ARGS "${vopts[@]}" "$path"
            done
        done
    done

    if [ "$kind" = highcard ]; then
        check_identical "$path" "${ranklist%% *}" "$variants"
    fi

    if [ "$kind" = highcard ] || [ "$kind" = huge ]; then
        local do_sort=$SORT_BASELINE
        if [ "$do_sort" = auto ]; then
            local tmp_free mem_avail
            tmp_free=$(df -Pk "${TMPDIR:-/tmp}" | awk 'NR == 2 {printf "%.0f", $4 * 1024}')
            mem_avail=$(awk '/MemAvailable/ {printf "%.0f", $2 * 1024}' /proc/meminfo)
            do_sort=0
            if [ "$tmp_free" -gt $((3 * bytes)) ] && [ "$mem_avail" -gt "$bytes" ]; then
                do_sort=1
            fi
            log "sort|uniq -c baseline: $([ "$do_sort" = 1 ] && echo runs || echo skipped)" \
                "(TMPDIR free $tmp_free bytes, MemAvailable $mem_avail bytes)"
        fi
        if [ "$do_sort" = 1 ]; then
            for rep in $reps; do
                measure "$kind" "$bytes" "$nfiles" "sort|uniq -c" 1 "--split=space --case=keep" \
                    "$rep" "" -- /usr/bin/time -f %M -o "$RESULTS_DIR/rss/rss.0" \
                    bash -c 'tr -s " " "\n" <"$1" | LC_ALL=C sort | uniq -c' sort-uniq "$path"
            done
        fi
    fi
}

# check_identical PATH NP VARIANTS: run every option set once more at np NP
# with -o to a file, hash the table and drop it; the first option set is the
# reference. Sets HIGHCARD_IDENTICAL, the verdict for results.json's meta
# (with WEAK=1, one verdict per corpus size, joined by "; ").
HIGHCARD_IDENTICAL="not checked (HIGHCARD=0)"
identical_checks=0
check_identical() {
    local path=$1 n=$2 variants=$3 variant ref="" refname="" differ="" parts="" verdict
    local out=$RESULTS_DIR/identical.tmp report=$RESULTS_DIR/identical.json
    local flags=("${mpirun_flags[@]}")
    [ "$n" -le "$(nproc)" ] || flags+=(--oversubscribe)
    # shellcheck disable=SC2086  # a word list on purpose
    set -- $variants
    if [ $# -lt 2 ]; then
        HIGHCARD_IDENTICAL="not checked (one option set)"
        log "byte-identity of the tables: $HIGHCARD_IDENTICAL"
        return 0
    fi
    [ "$identical_checks" -gt 0 ] || HIGHCARD_IDENTICAL=""
    identical_checks=$((identical_checks + 1))
    log "byte-identity of the tables: each option set once more at np=$n, -o to a file"
    for variant in $variants; do
        local vopts=() sum size spills
        [ "$variant" = default ] || vopts=("$variant")
        # shellcheck disable=SC2086  # MPIWC_ARGS is a word list on purpose
        run mpirun "${flags[@]}" -np "$n" "$MPIWC" -o "$out" --report="$report" $MPIWC_ARGS \
            "${vopts[@]}" "$path" >/dev/null 2>>"$RESULTS_DIR/stderr.txt" ||
            die "failed (exit $?): mpiwc $variant -o $out (stderr in $RESULTS_DIR/stderr.txt)"
        sum=$(sha256sum <"$out" | cut -d ' ' -f 1)
        size=$(stat -c %s "$out")
        spills=$(python3 -c 'import json, sys
print(json.load(open(sys.argv[1]))["counters"].get("spill_runs", {}).get("sum", "unknown"))' \
            "$report")
        rm -f "$out" "$report"
        log "  np=$n $variant: table of $size bytes, sha256 $sum, $spills spill runs"
        parts+="${parts:+, }$variant ($spills spill runs)"
        if [ -z "$ref" ]; then
            ref=$sum refname=$variant
        elif [ "$sum" != "$ref" ]; then
            differ+=" $variant"
        fi
    done
    if [ -z "$differ" ]; then
        verdict="byte-identical at np=$n: $parts; sha256 $ref"
    else
        verdict="DIFFERENT at np=$n:$differ against $refname; $parts"
    fi
    [ "$WEAK" != 1 ] || verdict="$(stat -c %s "$path") bytes: $verdict"
    HIGHCARD_IDENTICAL+="${HIGHCARD_IDENTICAL:+; }$verdict"
    log "byte-identity of the tables: $verdict"
}

spill_dir=${TMPDIR:-/tmp}
log "spill files: mpiwc's default --spill-dir, $spill_dir ($(free_bytes "$spill_dir") bytes free)"

size_bytes=$(bytes_of "$SIZE")
for kind in $CORPORA; do
    variants=$VARIANTS
    [ "$kind" != bible ] || variants+=" $NGRAM_VARIANTS"
    if [ "$WEAK" = 1 ]; then
        for n in $RANKS; do
            bench_corpus "$kind" $((n * size_bytes)) "$n" "$REPEAT" "$WARMUP" "$variants"
        done
    else
        bench_corpus "$kind" "$size_bytes" "$RANKS" "$REPEAT" "$WARMUP" "$variants"
    fi
done
if [ "$HIGHCARD" = 1 ]; then
    hc_bytes=$(bytes_of "$HIGHCARD_SIZE")
    if [ "$WEAK" = 1 ]; then
        for n in $RANKS; do
            bench_corpus highcard $((n * hc_bytes)) "$n" "$HIGHCARD_REPEAT" "$HIGHCARD_WARMUP" \
                "$HIGHCARD_VARIANTS"
        done
    else
        bench_corpus highcard "$hc_bytes" "$RANKS" "$HIGHCARD_REPEAT" "$HIGHCARD_WARMUP" \
            "$HIGHCARD_VARIANTS"
    fi
fi
HUGE_STATUS="not run (HUGE=0)"
if [ "$HUGE" = 1 ]; then
    # The corpus, unless cached, on CACHE_DIR; spill files and sort's
    # temporary files, up to twice its size, on TMPDIR: 3x on one disk.
    huge_bytes=$(bytes_of "$HUGE_SIZE")
    huge_path=$(uniform_path huge "$huge_bytes" "$HUGE_VOCAB")
    need_cache=$huge_bytes
    [ ! -s "$huge_path" ] || need_cache=0
    need_tmp=$((2 * huge_bytes))
    cache_free=$(free_bytes "$CACHE_DIR")
    tmp_free=$(free_bytes "$spill_dir")
    room="$CACHE_DIR has $cache_free bytes free, $need_cache needed; $spill_dir has"
    room+=" $tmp_free, $need_tmp needed"
    if [ "$(stat -c %d "$CACHE_DIR")" = "$(stat -c %d "$spill_dir")" ]; then
        need_cache=$((need_cache + need_tmp)) need_tmp=0
        room="$CACHE_DIR and $spill_dir, one file system, have $cache_free bytes free,"
        room+=" $need_cache needed"
    fi
    if [ "$cache_free" -ge "$need_cache" ] && [ "$tmp_free" -ge "$need_tmp" ]; then
        HUGE_STATUS=run
        log "huge corpus: room enough ($room)"
        bench_corpus huge "$huge_bytes" "$HUGE_RANKS" 1 0 default
    else
        HUGE_STATUS="skipped, not 3x HUGE_SIZE free for the corpus, spill files and sort's"
        HUGE_STATUS+=" temporary files: $room"
        log "huge corpus $HUGE_STATUS"
    fi
fi

# ---- 4. summary ---------------------------------------------------------

run python3 bench/summarize.py --weak="$WEAK" --meta "size=$SIZE" "ranks=$RANKS" \
    "repeat=$REPEAT" "warmup=$WARMUP" "variants=$VARIANTS" "ngram_variants=$NGRAM_VARIANTS" \
    "mpiwc_args=$MPIWC_ARGS" \
    "mpirun_args=$MPIRUN_ARGS" "highcard_size=$HIGHCARD_SIZE" "highcard_vocab=$HIGHCARD_VOCAB" \
    "highcard_repeat=$HIGHCARD_REPEAT" "highcard_warmup=$HIGHCARD_WARMUP" \
    "highcard_variants=$HIGHCARD_VARIANTS" "highcard_identical=$HIGHCARD_IDENTICAL" \
    "huge=$HUGE" "huge_size=$HUGE_SIZE" "huge_vocab=$HUGE_VOCAB" "huge_ranks=$HUGE_RANKS" \
    "huge_status=$HUGE_STATUS" "sort_baseline=$SORT_BASELINE" \
    "spill_dir=$spill_dir" "seed=$SEED" "weak=$WEAK" \
    "commit=$(git describe --always --dirty 2>/dev/null || echo unknown)" \
    "host=$(hostname)" "nproc=$(nproc)" "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
    "corpora=$CORPORA" "files=$FILES" "highcard=$HIGHCARD" \
    "cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)" \
    "mem_gib=$(awk '/MemTotal/ {printf "%.1f", $2 / 2^20}' /proc/meminfo)" \
    "wc=$(wc --version | head -n 1)" "mpirun=$(mpirun --version 2>&1 | head -n 1)" \
    "mpiwc=$("$MPIWC" --version 2>/dev/null | head -n 1)" "note=$NOTE" \
    "commands=$(cat "$COMMANDS")" \
    -- "$RAW" "$RESULTS_DIR" | tee -a "$LOG"

# ---- 5. plots -----------------------------------------------------------

if need_pkg gnuplot-nox; then
    run python3 bench/summarize.py --plots "$RESULTS_DIR/results.csv" "$RESULTS_DIR" >>"$LOG"
    run gnuplot "$RESULTS_DIR/plots.gp" >>"$LOG" 2>&1 || die "gnuplot failed (see $LOG)"
    if [ -n "$DOCS_DIR" ]; then
        mkdir -p "$DOCS_DIR"
        run cp "$RESULTS_DIR"/throughput.png "$RESULTS_DIR"/speedup.png "$RESULTS_DIR"/phases.png \
            "$DOCS_DIR"/
    fi
    log "plots: $RESULTS_DIR/*.png${DOCS_DIR:+ (copied to $DOCS_DIR/)}"
else
    log "no gnuplot (package gnuplot-nox): plots skipped"
fi

# ---- 6. docs/PERFORMANCE.md ---------------------------------------------

if [ -n "$DOCS_DIR" ]; then
    mkdir -p "$DOCS_DIR" "$(dirname "$PERFORMANCE_MD")"
    run cp "$RESULTS_DIR"/results.csv "$RESULTS_DIR"/results.json "$DOCS_DIR"/
    run python3 bench/performance.py "$DOCS_DIR"/results.csv "$DOCS_DIR"/results.json \
        "$PERFORMANCE_MD" >>"$LOG" 2>&1 || die "bench/performance.py failed (see $LOG)"
    log "wrote $PERFORMANCE_MD"
fi
log "results: $RESULTS_DIR/results.csv, results.json, table.md; log: $LOG"
