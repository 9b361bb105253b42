#!/usr/bin/env bash
# progress.sh - what --progress costs: the same run with --progress=never and
# --progress=always, interleaved (never, always, always, never, ...).
#
# --progress=always makes rank 0 print a line a few times per second, fed by
# the non-blocking rounds in which every rank reports its bytes (job.c); the
# issue's bound is a cost under 1% of throughput. For each rank count in
# RANKS, REPEAT pairs on the King James Bible repeated to SIZE (the corpus
# bench/run.sh makes, in CACHE), after one untimed pair. Measured: the whole
# command's wall time (mpirun start-up included) and the map phase from
# --report (reading and counting, where the rounds run), and the CPU time
# (user + system) of mpirun and all ranks (GNU time), which other load on a
# shared machine disturbs less than wall time. Writes OUT_DIR/progress.csv
# (ranks, mode, run, wall_s, map_s, cpu_s) and prints the medians and the
# ratio always/never of each.
#
#   bash bench/progress.sh                    # 430 MiB, np 1 and 2, 7 pairs
#   SIZE=100M REPEAT=5 RANKS=2 bash bench/progress.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build-bench}
SIZE=${SIZE:-430M}
REPEAT=${REPEAT:-7}
RANKS=${RANKS:-"1 2"}
OUT_DIR=${OUT_DIR:-bench/results}
CACHE=${CACHE:-bench/cache}

mkdir -p "$OUT_DIR" "$CACHE"
BENCH=progress LOG=$OUT_DIR/progress.log
# shellcheck source=bench/lib.sh
. bench/lib.sh
build_bench "$BUILD"
bytes=$(numfmt --from=iec "$SIZE")
corpus=$(CACHE_DIR=$CACHE bible_corpus "$bytes")
cat "$corpus" >/dev/null # into the page cache

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
csv="$OUT_DIR/progress.csv"
echo "ranks,mode,run,wall_s,map_s,cpu_s" >"$csv"
for np in $RANKS; do
    for run in $(seq 0 "$REPEAT"); do
        order="never always"
        [ $((run % 2)) -eq 0 ] || order="always never" # ABBA: no mode always runs first
        for mode in $order; do
            t0=$(date +%s.%N)
            /usr/bin/time -f '%U %S' -o "$tmp/cpu" "${MPIRUN[@]}" --oversubscribe -np "$np" \
                "$BUILD/mpiwc" --progress="$mode" --report="$tmp/r.json" -o "$tmp/out.tsv" "$corpus" \
                2>"$tmp/err"
            t1=$(date +%s.%N)
            [ "$run" -gt 0 ] || continue # the untimed pair
            map=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["phases"]["map"]["wall_s"])' "$tmp/r.json")
            cpu=$(awk '{ print $1 + $2 }' "$tmp/cpu")
            echo "$np,$mode,$run,$(echo "$t1 - $t0" | bc),$map,$cpu" >>"$csv"
        done
    done
    [ -s "$tmp/err" ] && echo "np=$np --progress=always printed $(wc -l <"$tmp/err") lines; the last: $(tail -n 1 "$tmp/err")"
done
python3 - "$csv" "$bytes" <<'PY'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1])))
size = int(sys.argv[2])
print('%5s %-7s %10s %10s %10s %10s' % ('ranks', 'mode', 'wall_s', 'map_s', 'cpu_s', 'map_MB/s'))
for np in sorted({r['ranks'] for r in rows}, key=int):
    med = {}
    for mode in ('never', 'always'):
        sel = [r for r in rows if r['ranks'] == np and r['mode'] == mode]
        med[mode] = [statistics.median(float(r[k]) for r in sel)
                     for k in ('wall_s', 'map_s', 'cpu_s')]
        print('%5s %-7s %10.3f %10.3f %10.3f %10.1f' % (np, mode, *med[mode],
                                                        size / med[mode][1] / 1e6))
    print('%5s always/never: wall %.4f, map %.4f, cpu %.4f (medians of %d pairs)'
          % (np, *(a / b for a, b in zip(med['always'], med['never'])), len(sel)))
PY
echo "wrote $csv"
