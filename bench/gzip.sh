#!/usr/bin/env bash
# gzip.sh - throughput on a corpus of many gzip files, against `zcat | wc -w`.
#
# Makes FILES gzip files of FILE_MB MiB of text each (mpiwc-gen's Zipf text,
# gzip -6) once into bench/cache/, then times, REPEAT times each, after one
# untimed warm-up: `zcat FILES | LC_ALL=C wc -w` (the baseline, one core
# decompressing) and `mpirun -np N mpiwc` on the directory for each N in
# RANKS. The ratio is the baseline's wall time over mpiwc's (above 1: mpiwc
# is faster). MB/s counts decompressed bytes.
#
# Knobs (environment): FILES (64), FILE_MB (8), RANKS ("1 2"), REPEAT (5),
# BUILD_DIR (build-bench), OUT_DIR (bench/results), MPIWC_ARGS (extra options).
# Results: OUT_DIR/gzip.csv (every run), OUT_DIR/gzip.json (medians and
# ratios), OUT_DIR/gzip.log (every command).
set -euo pipefail
cd "$(dirname "$0")/.."

FILES=${FILES:-64}
FILE_MB=${FILE_MB:-8}
RANKS=${RANKS:-"1 2"}
REPEAT=${REPEAT:-5}
BUILD_DIR=${BUILD_DIR:-build-bench}
OUT_DIR=${OUT_DIR:-bench/results}
MPIWC_ARGS=${MPIWC_ARGS:-}
mkdir -p "$OUT_DIR" bench/cache
BENCH=gzip LOG=$OUT_DIR/gzip.log
# shellcheck source=bench/lib.sh
. bench/lib.sh
CSV=$OUT_DIR/gzip.csv

build_bench "$BUILD_DIR"
MPIRUN+=(--oversubscribe)

corpus=bench/cache/gzip-f$FILES-m$FILE_MB
if [ ! -f "$corpus/.done" ]; then
    echo "gzip: making $FILES x $FILE_MB MiB gzip files in $corpus"
    rm -rf "$corpus"
    mkdir -p "$corpus"
    for i in $(seq -w 0 $((FILES - 1))); do
        run "$GEN" --size=$((FILE_MB << 20)) --seed=$((10#$i + 1)) -o "$corpus/part-$i.txt" >>"$LOG" 2>&1
        run gzip -6 "$corpus/part-$i.txt"
    done
    touch "$corpus/.done"
fi
bytes=$(zcat "$corpus"/*.gz | wc -c)

timeit() { # command... -> seconds on stdout
    local t0
    t0=$(now)
    "$@" >/dev/null
    since "$t0"
}
baseline() { zcat "$corpus"/*.gz | LC_ALL=C wc -w; }

echo "config,ranks,run,seconds,decoded_bytes" >"$CSV"
echo "+ zcat $corpus/*.gz | LC_ALL=C wc -w" >>"$LOG"
baseline >/dev/null
for r in $(seq 1 "$REPEAT"); do
    echo "zcat|wc -w,1,$r,$(timeit baseline),$bytes" | tee -a "$CSV"
done
for np in $RANKS; do
    # shellcheck disable=SC2086
    cmd=("${MPIRUN[@]}" -np "$np" "$MPIWC" $MPIWC_ARGS -o /dev/null "$corpus")
    echo "+ ${cmd[*]}" >>"$LOG"
    "${cmd[@]}"
    for r in $(seq 1 "$REPEAT"); do
        echo "mpiwc,$np,$r,$(timeit "${cmd[@]}"),$bytes" | tee -a "$CSV"
    done
done
python3 - "$CSV" "$OUT_DIR/gzip.json" <<'PY'
import csv, json, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1])))
med = {}
for row in rows:
    med.setdefault((row['config'], int(row['ranks'])), []).append(float(row['seconds']))
base = statistics.median(med[('zcat|wc -w', 1)])
out = []
for (config, ranks), ts in sorted(med.items()):
    m = statistics.median(ts)
    mb = int(rows[0]['decoded_bytes']) / m / 1e6
    out.append({'config': config, 'ranks': ranks, 'median_s': m, 'min_s': min(ts),
                'max_s': max(ts), 'mb_s': mb, 'ratio_vs_zcat_wc': base / m})
    print('%-12s np=%d  median %.3f s  %.1f MB/s  ratio vs zcat|wc -w %.2f' % (
        config, ranks, m, mb, base / m))
json.dump(out, open(sys.argv[2], 'w'), indent=2)
PY
