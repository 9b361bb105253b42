#!/usr/bin/env bash
# checkpoint.sh - what --checkpoint-dir costs on a large input.
#
# Three ways to count the same corpus at NP ranks, interleaved, REPEAT times
# each after one untimed round:
#   plain     no checkpoint options
#   steps     --checkpoint-dir with the default --checkpoint-interval (300 s):
#             the map reads in 64 MiB steps with one allreduce after each,
#             and no checkpoint is written in a run this short
#   every     --checkpoint-interval=0: a checkpoint after every step
#             (MPIWC_CHECKPOINT_STEP, default 64M): the worst case
# Measured: the whole command's wall time, and from --report the number of
# checkpoints, their bytes and the time spent writing them (sum over ranks).
# Writes OUT_DIR/checkpoint.csv and prints the medians and each mode's ratio
# to plain. The corpus is the King James Bible repeated to SIZE (CACHE, as
# bench/run.sh makes it); the checkpoint directory is under TMPDIR.
#
#   bash bench/checkpoint.sh                   # 2 GiB, np 2, 5 rounds
#   SIZE=1G NP=2 REPEAT=3 bash bench/checkpoint.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build-bench}
SIZE=${SIZE:-2G}
NP=${NP:-2}
REPEAT=${REPEAT:-5}
OUT_DIR=${OUT_DIR:-bench/results}
CACHE=${CACHE:-bench/cache}

mkdir -p "$OUT_DIR" "$CACHE"
BENCH=checkpoint LOG=$OUT_DIR/checkpoint.log
# shellcheck source=bench/lib.sh
. bench/lib.sh
build_bench "$BUILD"
bytes=$(numfmt --from=iec "$SIZE")
corpus=$(CACHE_DIR=$CACHE bible_corpus "$bytes")
cat "$corpus" >/dev/null # into the page cache

tmp=$(mktemp -d "${TMPDIR:-/tmp}/mpiwc-ckbench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
csv="$OUT_DIR/checkpoint.csv"
echo "mode,run,wall_s,checkpoints,checkpoint_bytes,checkpoint_s" >"$csv"
for run in $(seq 0 "$REPEAT"); do
    for mode in plain steps every; do
        case $mode in
        plain) args=() ;;
        steps) args=(--checkpoint-dir="$tmp/ck") ;;
        every) args=(--checkpoint-dir="$tmp/ck" --checkpoint-interval=0) ;;
        esac
        rm -rf "$tmp/ck"
        t0=$(date +%s.%N)
        "${MPIRUN[@]}" --oversubscribe -np "$NP" "$BUILD/mpiwc" "${args[@]}" \
            --report="$tmp/r.json" -o "$tmp/out.tsv" "$corpus"
        t1=$(date +%s.%N)
        [ "$run" -gt 0 ] || continue # the untimed round
        python3 - "$tmp/r.json" "$mode" "$run" "$(echo "$t1 - $t0" | bc)" >>"$csv" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
c = r.get('counters', {})
def total(name):
    v = c.get(name, 0)
    return v.get('sum', 0) if isinstance(v, dict) else v
print('%s,%s,%s,%d,%d,%.4f' % (sys.argv[2], sys.argv[3], sys.argv[4], total('checkpoints'),
                               total('checkpoint_bytes'), total('checkpoint_us') / 1e6))
PY
    done
done
python3 - "$csv" "$bytes" "$NP" <<'PY'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1])))
size, np = int(sys.argv[2]), sys.argv[3]
med = {}
print('np=%s, %d bytes' % (np, size))
print('%-6s %8s %8s %12s %12s %8s' % ('mode', 'wall_s', 'ckpts', 'ckpt_MB', 'ckpt_s', 'x plain'))
for mode in ('plain', 'steps', 'every'):
    sel = [r for r in rows if r['mode'] == mode]
    m = [statistics.median(float(r[k]) for r in sel)
         for k in ('wall_s', 'checkpoints', 'checkpoint_bytes', 'checkpoint_s')]
    med[mode] = m
    print('%-6s %8.3f %8.0f %12.2f %12.3f %8.3f' % (mode, m[0], m[1], m[2] / 1e6, m[3],
                                                  m[0] / med['plain'][0]))
PY
echo "wrote $csv"
