#!/usr/bin/env bash
# shuffle-model.sh - flat against node shuffle: measured on one machine with
# --ranks-per-host, then modelled to 1,000 and 10,000 ranks.
#
# Weak scaling: at each np in RANKS the input is the first np * MB_PER_RANK
# MiB of mpiwc-gen's natural text (Zipf 1.0 over 50,000 words, as bench/run.sh),
# and mpiwc runs oversubscribed with --ranks-per-host=PER_HOST, once with
# --shuffle=flat and once with --shuffle=node, writing --report. Then at np 12
# with 3 ranks a host (the size of the 4-host test cluster, tests/cluster/
# multihost.sh) on 12 MiB. Every pair of tables must be identical. Then
# bench/shuffle_model.py fits the model to the reports and writes OUT_DIR/
# shuffle-model.md, .csv and .gp, and gnuplot draws shuffle-model.png.
#
# Knobs (environment): RANKS ("8 16 32 64"), PER_HOST (8), MB_PER_RANK (1),
# SEED (1), BUILD_DIR (build-bench; built release if missing), CACHE_DIR
# (bench/cache), OUT_DIR (bench/results/shuffle). OUT_DIR/shuffle.log has
# every command.
set -euo pipefail
cd "$(dirname "$0")/.."

RANKS=${RANKS:-"8 16 32 64"}
PER_HOST=${PER_HOST:-8}
MB_PER_RANK=${MB_PER_RANK:-1}
SEED=${SEED:-1}
BUILD_DIR=${BUILD_DIR:-build-bench}
CACHE_DIR=${CACHE_DIR:-bench/cache}
OUT_DIR=${OUT_DIR:-bench/results/shuffle}
mkdir -p "$OUT_DIR" "$CACHE_DIR"
BENCH=shuffle-model LOG=$OUT_DIR/shuffle.log
# shellcheck source=bench/lib.sh
. bench/lib.sh

build_bench "$BUILD_DIR"
MPIRUN=(timeout 600 "${MPIRUN[@]}" --oversubscribe)

max=0
for np in $RANKS 12; do [ "$np" -le "$max" ] || max=$np; done
corpus=$(natural_corpus $((max * MB_PER_RANK << 20))) || die "could not make the corpus (see $LOG)"

reports=()
pair() { # pair NP PER_HOST
    local np=$1 k=$2 input=$OUT_DIR/input.txt mode
    head -c $((np * MB_PER_RANK << 20)) "$corpus" >"$input"
    cat "$input" >/dev/null # the page cache does not stay warm here
    for mode in flat node; do
        run "${MPIRUN[@]}" -np "$np" "$MPIWC" --shuffle=$mode --ranks-per-host="$k" \
            --report="$OUT_DIR/np$np-k$k-$mode.json" -o "$OUT_DIR/np$np-k$k-$mode.tsv" "$input" ||
            die "np $np, $k a host, $mode: mpirun failed (see $LOG)"
        reports+=("$OUT_DIR/np$np-k$k-$mode.json")
    done
    cmp -s "$OUT_DIR/np$np-k$k-flat.tsv" "$OUT_DIR/np$np-k$k-node.tsv" ||
        die "np $np, $k a host: the tables differ"
    rm -f "$OUT_DIR/np$np-k$k-flat.tsv" "$OUT_DIR/np$np-k$k-node.tsv" "$input"
    echo "shuffle-model: np $np, $k a host: flat and node, identical tables"
}

for np in $RANKS; do pair "$np" "$PER_HOST"; done
model=("${reports[@]}")
pair 12 3

run python3 bench/shuffle_model.py "$OUT_DIR" "${model[@]}" >/dev/null
python3 - "${reports[@]:${#model[@]}}" <<'PY'
import json, sys
f, n = (json.load(open(p))['counters'] for p in sys.argv[1:3])
print('shuffle-model: np 12, 3 a host: inter-host bytes node/flat %.2fx, messages %d/%d'
      % (n['internode_bytes']['sum'] / f['internode_bytes']['sum'],
         n['internode_messages']['sum'], f['internode_messages']['sum']))
PY
if command -v gnuplot >/dev/null; then
    run gnuplot "$OUT_DIR/shuffle-model.gp" >>"$LOG" 2>&1 || die "gnuplot failed (see $LOG)"
fi
cat "$OUT_DIR/shuffle-model.md"
