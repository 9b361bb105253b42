#!/usr/bin/env bash
# ngram-spill.sh - n-grams past memory: --ngram=1:3 on SIZE bytes of natural
# text, each rank held to a memory limit, at every rank count of RANKS.
#
#   bash bench/ngram-spill.sh            # 2 GiB, --ngram=1:3, 256 MiB a rank
#
# The corpus is bench/run.sh's natural one (mpiwc-gen, Zipf 1.0 over 50000
# words), made once into CACHE_DIR under the name run.sh gives it, and read
# into the page cache first. Then, once each: `LC_ALL=C wc -w` (the
# baseline), and for each N in RANKS `mpirun -np N mpiwc --ngram=NGRAM
# --memory-limit=LIMIT -o FILE`, each rank under GNU time
# (bench/rank-rss.sh) for its peak RSS. The table is written to a file in
# TMPDIR (its size is the output's, several times the corpus's) so that the
# rank counts can be compared: their SHA-256 must agree, then the file is
# removed. Spill files go to mpiwc's default --spill-dir (TMPDIR, else /tmp).
#
# Knobs (environment): SIZE (2G; K, M, G: powers of 1024), NGRAM (1:3),
# LIMIT (256M), RANKS ("1 2"), SEED (1), BUILD_DIR (build-bench), CACHE_DIR
# (bench/cache), OUT_DIR (bench/results), DOCS_DIR (docs/bench; empty: no
# copy).
# Results: OUT_DIR/ngram-spill.csv (one row a run), OUT_DIR/ngram-spill.md
# (the table, with the configuration; copied to DOCS_DIR),
# OUT_DIR/ngram-spill.log (every command); the --report JSON of each run in
# OUT_DIR/reports/. Exit status 1 if a run fails or the tables differ.
set -euo pipefail
cd "$(dirname "$0")/.."

SIZE=${SIZE:-2G}
NGRAM=${NGRAM:-1:3}
LIMIT=${LIMIT:-256M}
RANKS=${RANKS:-"1 2"}
SEED=${SEED:-1}
BUILD_DIR=${BUILD_DIR:-build-bench}
CACHE_DIR=${CACHE_DIR:-bench/cache}
OUT_DIR=${OUT_DIR:-bench/results}
DOCS_DIR=${DOCS_DIR-docs/bench}
TMP=${TMPDIR:-/tmp}
mkdir -p "$OUT_DIR/reports" "$CACHE_DIR"
BENCH=ngram-spill LOG=$OUT_DIR/ngram-spill.log
# shellcheck source=bench/lib.sh
. bench/lib.sh
CSV=$OUT_DIR/ngram-spill.csv

bytes=$(bytes_of "$SIZE") || die "SIZE=$SIZE is not a size"
need_pkg time || die "GNU time (package time) is needed for peak RSS"
build_bench "$BUILD_DIR"
corpus=$(natural_corpus "$bytes") || die "could not make the corpus (see $LOG)"
run cat "$corpus" >/dev/null # into the page cache

echo "program,ranks,options,wall_s,rss_kib,sha256,report" >"$CSV"
t0=$(now)
run /usr/bin/time -f %M -o "$OUT_DIR/ngram-spill.rss" env LC_ALL=C wc -w "$corpus" >/dev/null
echo "wc -w,1,LC_ALL=C,$(since "$t0"),$(cat "$OUT_DIR/ngram-spill.rss"),," | tee -a "$CSV"

out=$TMP/ngram-spill.$$.txt
trap 'rm -f "$out" "$OUT_DIR"/ngram-spill.rss*' EXIT
for np in $RANKS; do
    flags=("${MPIRUN[@]}")
    [ "$np" -le "$(nproc)" ] || flags+=(--oversubscribe)
    report=$OUT_DIR/reports/ngram-spill-np$np.json
    rm -f "$OUT_DIR"/ngram-spill.rss.*
    t0=$(now)
    run "${flags[@]}" -np "$np" bench/rank-rss.sh "$OUT_DIR/ngram-spill.rss" "$MPIWC" \
        --ngram="$NGRAM" --memory-limit="$LIMIT" --report="$report" -o "$out" "$corpus" \
        >>"$LOG" 2>&1 || die "failed: mpiwc at np $np (see $LOG)"
    wall=$(since "$t0")
    rss=$(cat "$OUT_DIR"/ngram-spill.rss.* | sort -n | tail -n 1)
    sum=$(sha256sum <"$out" | cut -d ' ' -f 1)
    echo "table: $(stat -c %s "$out") bytes, sha256 $sum" >>"$LOG"
    rm -f "$out"
    echo "mpiwc,$np,--ngram=$NGRAM --memory-limit=$LIMIT,$wall,$rss,$sum,$report" | tee -a "$CSV"
done

config="$(date -u +%Y-%m-%dT%H:%M:%SZ), commit $(git describe --always --dirty 2>/dev/null ||
    echo unknown), $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1),"
config+=" nproc $(nproc), $(awk '/MemTotal/ {printf "%.1f", $2 / 2^20}' /proc/meminfo) GiB;"
config+=" SIZE=$SIZE NGRAM=$NGRAM LIMIT=$LIMIT RANKS='$RANKS' SEED=$SEED"
python3 - "$CSV" "$bytes" "$corpus" "$OUT_DIR/ngram-spill.md" "$config" <<'PY'
import csv, json, sys
rows = list(csv.DictReader(open(sys.argv[1])))
size, corpus, md, config = int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
base = float(rows[0]['wall_s'])
sums = {r['sha256'] for r in rows[1:]}
lines = ['| program | np | options | wall | MB/s | vs `LC_ALL=C wc -w` | peak RSS/rank'
         ' | distinct n-grams | spill runs | spilled |',
         '|---|---|---|---|---|---|---|---|---|---|']
for r in rows:
    wall = float(r['wall_s'])
    cells = [r['program'], r['ranks'], r['options'], '%.1f s' % wall,
             '%.0f' % (size / wall / 1e6), '%.2f' % (base / wall),
             '%d MiB' % (int(r['rss_kib']) // 1024), '', '', '']
    if r['report']:
        c = json.load(open(r['report']))['counters']
        get = lambda k: c.get(k, {}).get('sum', 0)
        cells[7:] = ['{:,}'.format(get('owned_distinct')), str(get('spill_runs')),
                     '%.2f GB' % (get('spill_written') / 1e9)]
    lines.append('| ' + ' | '.join(cells) + ' |')
verdict = ('tables byte-identical across rank counts, sha256 %s' % sums.pop()[:16]
           if len(sums) == 1 else 'TABLES DIFFER across rank counts')
text = ('# N-grams past memory\n\nWritten by `bash bench/ngram-spill.sh`: %s. Corpus: %s'
        ' (%d bytes, read into the page cache first); each run once, its table written to'
        ' a file; wall time includes mpirun; peak RSS from GNU time, the largest rank.\n\n'
        '%s\n\n%s.\n' % (config, corpus, size, '\n'.join(lines), verdict))
open(md, 'w').write(text)
print(text, end='')
sys.exit(0 if verdict.startswith('tables') else 1)
PY
if [ -n "$DOCS_DIR" ]; then
    mkdir -p "$DOCS_DIR"
    cp "$OUT_DIR/ngram-spill.md" "$DOCS_DIR/"
fi
