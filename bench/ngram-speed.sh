#!/usr/bin/env bash
# ngram-speed.sh - the n-gram speed ratios at the sizes issue 21 names:
# bigrams against single words on the Bible x100 (430 MiB) at np 1, and
# bigrams at np 2 against np 1 on 2 GiB of the Bible.
#
#   bash bench/ngram-speed.sh
#
# Two runs of bench/run.sh, which makes the corpora, reads them into the page
# cache, and times every option set and rank count in the same rounds
# (medians of REPEAT after WARMUP; wall time of the whole mpirun):
#   SIZE=430M RANKS=1     CORPORA=bible VARIANTS=default NGRAM_VARIANTS=--ngram=2
#   SIZE=2G   RANKS="1 2" CORPORA=bible VARIANTS=default NGRAM_VARIANTS=--ngram=2
# with HIGHCARD=0 HUGE=0 and no copy into docs (DOCS_DIR empty). The ratios
# are bench/performance.py's (the same lines as docs/PERFORMANCE.md's
# N-grams section), written to OUT_DIR/ngram-speed.md and copied to
# DOCS_DIR.
#
# Knobs (environment): REPEAT (5), WARMUP (1), OUT_DIR (bench/results),
# DOCS_DIR (docs/bench; empty: no copy); BUILD_DIR and CACHE_DIR pass
# through to run.sh. Results: OUT_DIR/ngram-speed-430M/ and
# OUT_DIR/ngram-speed-2G/ (run.sh's results, logs and reports),
# OUT_DIR/ngram-speed.md. Exit status: run.sh's, or 1 if a ratio is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

REPEAT=${REPEAT:-5}
WARMUP=${WARMUP:-1}
OUT_DIR=${OUT_DIR:-bench/results}
DOCS_DIR=${DOCS_DIR-docs/bench}
mkdir -p "$OUT_DIR"

sizes=()
for spec in "430M:1" "2G:1 2"; do
    size=${spec%%:*} ranks=${spec#*:}
    dir=$OUT_DIR/ngram-speed-$size
    echo "== bench/run.sh SIZE=$size RANKS='$ranks' (results in $dir)"
    SIZE=$size RANKS=$ranks REPEAT=$REPEAT WARMUP=$WARMUP CORPORA=bible VARIANTS=default \
        NGRAM_VARIANTS=--ngram=2 HIGHCARD=0 HUGE=0 RESULTS_DIR=$dir DOCS_DIR='' \
        bash bench/run.sh
    sizes+=("$dir")
done

config="$(date -u +%Y-%m-%dT%H:%M:%SZ), commit $(git describe --always --dirty 2>/dev/null ||
    echo unknown), $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1),"
config+=" nproc $(nproc), $(awk '/MemTotal/ {printf "%.1f", $2 / 2^20}' /proc/meminfo) GiB;"
config+=" REPEAT=$REPEAT WARMUP=$WARMUP"
python3 - "$OUT_DIR/ngram-speed.md" "$config" "${sizes[@]}" <<'PY'
import csv, sys
sys.path.insert(0, "bench")
from performance import ngrams, size_text

md, config, dirs = sys.argv[1], sys.argv[2], sys.argv[3:]
sections = []
for d in dirs:
    rows = list(csv.DictReader(open(d + "/results.csv")))
    lines = ngrams(rows)
    if not lines.startswith("- "):
        sys.exit("ngram-speed: no ratio in " + d)
    table = ["| np | options | runs | median | min-max | MB/s | vs `LC_ALL=C wc -w` |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        if r["program"] != "mpiwc":
            continue
        table.append("| %s | %s | %s | %.3f s | %.3f-%.3f s | %.0f | %.2f |" % (
            r["ranks"], r["options"], r["runs"], float(r["median_s"]), float(r["min_s"]),
            float(r["max_s"]), float(r["mb_s"]), float(r["vs_wc"])))
    head = "## bible %s, np %s" % (size_text(int(rows[0]["bytes"])),
                                    " and ".join(sorted({r["ranks"] for r in rows})))
    sections.append(head + "\n\n" + "\n".join(table) + "\n\n" + lines)
text = ("# N-gram speed\n\nWritten by `bash bench/ngram-speed.sh`: %s. Each table is one"
        " `bench/run.sh` run: every row's runs alternate in the same rounds, after a"
        " warm-up round, with the corpus in the page cache; wall time of the whole"
        " `mpirun`. Issue 21's targets: bigrams at least 0.5 x the throughput of words"
        " on the Bible x100 at np 1, and at np 2 at least 1.8 x their np 1 speed on"
        " 2 GB.\n\n%s\n" % (config, "\n\n".join(sections)))
open(md, "w").write(text)
print(text, end="")
PY
if [ -n "$DOCS_DIR" ]; then
    mkdir -p "$DOCS_DIR"
    cp "$OUT_DIR/ngram-speed.md" "$DOCS_DIR/"
fi
