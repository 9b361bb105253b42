#!/usr/bin/env bash
# fresh-pages.sh - how much of a high-cardinality run is the machine's price
# of fresh memory rather than mpiwc's work.
#
#   bash bench/fresh-pages.sh            # 1 GiB of highcard text, np 1, 3 pairs
#
# On a virtual machine whose host takes back the memory that the guest leaves
# free (free page reporting, ballooning), the first write to a page that no
# process has used for a while waits for the host to back it again; a page
# freed a moment ago is still backed. A table of tens of millions of words is
# mostly fresh pages, so such a machine times mpiwc slower than bare metal
# would, and by an amount that depends on what ran before. This script runs
# `mpiwc -o /dev/null` on bench/run.sh's highcard corpus in pairs:
#   fresh   after PAUSE seconds with nothing running;
#   reused  right after another process wrote TOUCH bytes of memory (huge
#           pages where the kernel gives them) and freed them;
# then `LC_ALL=C wc -w`, the baseline of bench/run.sh, once a pair. On bare
# metal the two modes should time alike; the difference is the machine's.
# Each mode's words and distinct words (--report) must agree.
#
# Knobs (environment): SIZE (1G), VOCAB (40000000: the highcard corpus of
# bench/run.sh), NP (1), ROUNDS (3), PAUSE (25), TOUCH (2G), SEED (1),
# BUILD_DIR (build-bench), CACHE_DIR (bench/cache), OUT_DIR (bench/results),
# DOCS_DIR (docs/bench; empty: no copy).
# Results: OUT_DIR/fresh-pages.csv (every run), OUT_DIR/fresh-pages.md (the
# medians; copied to DOCS_DIR), OUT_DIR/fresh-pages.log (every command); the
# --report JSON of each run in OUT_DIR/reports/. Exit status 1 if a run
# fails or the modes' counts differ.
set -euo pipefail
cd "$(dirname "$0")/.."

SIZE=${SIZE:-1G}
VOCAB=${VOCAB:-40000000}
NP=${NP:-1}
ROUNDS=${ROUNDS:-3}
PAUSE=${PAUSE:-25}
TOUCH=${TOUCH:-2G}
SEED=${SEED:-1}
BUILD_DIR=${BUILD_DIR:-build-bench}
CACHE_DIR=${CACHE_DIR:-bench/cache}
OUT_DIR=${OUT_DIR:-bench/results}
DOCS_DIR=${DOCS_DIR-docs/bench}
mkdir -p "$OUT_DIR/reports" "$CACHE_DIR"
BENCH=fresh-pages LOG=$OUT_DIR/fresh-pages.log
# shellcheck source=bench/lib.sh
. bench/lib.sh
CSV=$OUT_DIR/fresh-pages.csv

bytes=$(bytes_of "$SIZE") || die "SIZE=$SIZE is not a size"
touch_bytes=$(bytes_of "$TOUCH") || die "TOUCH=$TOUCH is not a size"
build_bench "$BUILD_DIR"
corpus=$(uniform_corpus highcard "$bytes" "$VOCAB") || die "could not make the corpus (see $LOG)"
run cat "$corpus" >/dev/null # into the page cache
[ "$NP" -le "$(nproc)" ] || MPIRUN+=(--oversubscribe)

# Write a byte to every 4 KiB of touch_bytes of fresh memory, then free it.
touch_memory() {
    run python3 - "$touch_bytes" <<'PY'
import mmap, sys
n = int(sys.argv[1])
# private: MAP_SHARED, the default, is shmem, which gets no huge pages here
m = mmap.mmap(-1, n, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
if hasattr(m, 'madvise') and hasattr(mmap, 'MADV_HUGEPAGE'):
    m.madvise(mmap.MADV_HUGEPAGE)
for i in range(0, n, 4096):
    m[i] = 1
m.close()
PY
}

echo "mode,round,wall_s,tokenize_s,report" >"$CSV"
for r in $(seq 1 "$ROUNDS"); do
    for mode in fresh reused; do
        if [ "$mode" = fresh ]; then
            log "round $r: $PAUSE s with nothing running"
            sleep "$PAUSE"
        else
            touch_memory
        fi
        report=$OUT_DIR/reports/fresh-pages-$mode-r$r.json
        t0=$(now)
        run "${MPIRUN[@]}" -np "$NP" "$MPIWC" -o /dev/null --report="$report" "$corpus" \
            >>"$LOG" 2>&1 || die "failed: mpiwc ($mode, round $r; see $LOG)"
        wall=$(since "$t0")
        tok=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["steps"]["tokenize"]["max_s"])' "$report")
        echo "$mode,$r,$wall,$tok,$report" | tee -a "$CSV"
    done
    t0=$(now)
    run env LC_ALL=C wc -w "$corpus" >/dev/null
    echo "wc -w,$r,$(since "$t0"),," | tee -a "$CSV"
done

config="$(date -u +%Y-%m-%dT%H:%M:%SZ), commit $(git describe --always --dirty 2>/dev/null ||
    echo unknown), $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1),"
config+=" nproc $(nproc); SIZE=$SIZE VOCAB=$VOCAB NP=$NP ROUNDS=$ROUNDS PAUSE=$PAUSE TOUCH=$TOUCH"
python3 - "$CSV" "$corpus" "$OUT_DIR/fresh-pages.md" "$config" <<'PY'
import csv, json, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1])))
corpus, md, config = sys.argv[2], sys.argv[3], sys.argv[4]
walls = {}
for r in rows:
    walls.setdefault(r['mode'], []).append(r)
base = statistics.median(float(r['wall_s']) for r in walls['wc -w'])
lines = ['| run | runs | median s | min-max s | median tokenize s | vs `LC_ALL=C wc -w` |',
         '|---|---|---|---|---|---|']
counts = {}
for mode in ('fresh', 'reused', 'wc -w'):
    w = [float(r['wall_s']) for r in walls[mode]]
    tok = [float(r['tokenize_s']) for r in walls[mode] if r['tokenize_s']]
    lines.append('| %s | %d | %.2f | %.2f-%.2f | %s | %.2f |' % (
        mode, len(w), statistics.median(w), min(w), max(w),
        '%.2f' % statistics.median(tok) if tok else '', base / statistics.median(w)))
    for r in walls[mode]:
        if r['report']:
            c = json.load(open(r['report']))['counters']
            counts.setdefault((c['words']['sum'], c['owned_distinct']['sum']), []).append(mode)
fresh = statistics.median(float(r['wall_s']) for r in walls['fresh'])
reused = statistics.median(float(r['wall_s']) for r in walls['reused'])
verdict = ('every run counted %d words, %d distinct' % next(iter(counts))
           if len(counts) == 1 else 'THE RUNS COUNTED DIFFERENTLY: %r' % counts)
text = ('# Fresh pages against reused ones\n\nWritten by `bash bench/fresh-pages.sh`: %s.'
        ' Corpus: %s, read into the page cache first.\n\n%s\n\nfresh / reused (medians):'
        ' %.2f; %s.\n' % (config, corpus, '\n'.join(lines), fresh / reused, verdict))
open(md, 'w').write(text)
print(text, end='')
sys.exit(0 if len(counts) == 1 else 1)
PY
if [ -n "$DOCS_DIR" ]; then
    mkdir -p "$DOCS_DIR"
    cp "$OUT_DIR/fresh-pages.md" "$DOCS_DIR/"
fi
