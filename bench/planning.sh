#!/usr/bin/env bash
# planning.sh - what planning costs on inputs of many tiny files.
#
# Makes COUNTS tiny files (a few words each, 1000 per directory) in a
# temporary directory, then runs `mpirun -np N mpiwc --report` on the tree
# for each N in RANKS, REPEAT times, and records the plan phase (the walk
# and one open/fstat/pread/close per file, both shared by the ranks, the
# split and the broadcast of the plan), the map phase and the whole run, from
# each run's --report.
#
# Knobs (environment): COUNTS ("200000 1000000"), RANKS ("1 2"), REPEAT (3),
# BUILD_DIR (build-bench; built release if missing), BASELINE (another build
# directory, e.g. of an older commit, already built: its runs alternate with
# BUILD_DIR's in the same loop, column build of the CSV), WORK (a new temporary
# directory under TMPDIR; removed at the end unless KEEP=1), OUT_DIR
# (bench/results). Results: OUT_DIR/planning.csv (one row per run) and
# OUT_DIR/planning.log (every command).
set -euo pipefail
cd "$(dirname "$0")/.."

COUNTS=${COUNTS:-"200000 1000000"}
RANKS=${RANKS:-"1 2"}
REPEAT=${REPEAT:-3}
BUILD_DIR=${BUILD_DIR:-build-bench}
OUT_DIR=${OUT_DIR:-bench/results}
KEEP=${KEEP:-0}
WORK=${WORK:-$(mktemp -d "${TMPDIR:-/tmp}/mpiwc-planning.XXXXXX")}
mkdir -p "$OUT_DIR"
BENCH=planning LOG=$OUT_DIR/planning.log
# shellcheck source=bench/lib.sh
. bench/lib.sh
CSV=$OUT_DIR/planning.csv

cleanup() { [ "$KEEP" = 1 ] || rm -rf "$WORK"; }
trap cleanup EXIT

build_bench "$BUILD_DIR"
BUILDS=("$BUILD_DIR")
[ -z "${BASELINE:-}" ] || BUILDS+=("$BASELINE")
MPIRUN+=(--oversubscribe)

echo "build,files,ranks,run,plan_s,map_s,wall_s,elapsed_s" >"$CSV"
for count in $COUNTS; do
    tree=$WORK/files-$count
    if [ ! -d "$tree" ]; then
        echo "planning: making $count tiny files in $tree"
        run python3 - "$tree" "$count" <<'PY'
import os, sys
root, count = sys.argv[1], int(sys.argv[2])
words = [b'alpha', b'beta', b'gamma', b'delta', b'tiny', b'file']
for d in range((count + 999) // 1000):
    sub = os.path.join(root, 'd%04d' % d)
    os.makedirs(sub)
    for i in range(min(1000, count - d * 1000)):
        k = d * 1000 + i
        with open(os.path.join(sub, 'f%04d.txt' % i), 'wb') as f:
            f.write(b' '.join(words[(k + j) % 6] for j in range(1 + k % 5)) + b'\n')
PY
    fi
    for np in $RANKS; do
        for r in $(seq 1 "$REPEAT"); do
          for build in "${BUILDS[@]}"; do
            report=$WORK/report.json
            t0=$(date +%s.%N)
            run "${MPIRUN[@]}" -np "$np" "$build/mpiwc" -q --report="$report" -o "$WORK/out.tsv" "$tree"
            t1=$(date +%s.%N)
            row=$(python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
p = r["phases"]
print("%.3f,%.3f,%.3f" % (p["plan"]["wall_s"], p["map"]["wall_s"], r["wall_s"]))' "$report")
            elapsed=$(python3 -c "print('%.3f' % ($t1 - $t0))")
            echo "$build,$count,$np,$r,$row,$elapsed" | tee -a "$CSV"
          done
        done
    done
done
echo "planning: results in $CSV"
