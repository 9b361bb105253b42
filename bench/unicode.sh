#!/usr/bin/env bash
# unicode.sh - throughput of each word rule on ASCII and on Chinese text.
#
# Runs `mpiwc -np NP` with --split=alnum, space, unicode, uax29 and
# --compat=hadoop on an ASCII corpus (mpiwc-gen, Zipf words) and a Chinese
# one (shuffled sentences, made here), REPEAT times each, interleaved, and
# takes the map phase's wall time from --report (reading and tokenizing,
# without start-up or output). Writes OUT_DIR/unicode.csv (corpus, mode,
# bytes, best and median map seconds, MB/s of the best) and prints a table
# with the unicode/alnum ratio, the number issue 6 sets a bound on (unicode
# within 15% of alnum on ASCII). Then the same rules through the tokenizer
# alone, in memory, timed in CPU seconds (bench/tokenize_bench.c: less
# sensitive to a busy machine), into OUT_DIR/unicode-tokenizer.csv.
#
#   bash bench/unicode.sh                      # build-bench, 200 MiB ASCII
#   SIZE=64M REPEAT=3 bash bench/unicode.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build-bench}
SIZE=${SIZE:-200M}
ZH_SIZE_MB=${ZH_SIZE_MB:-20}
REPEAT=${REPEAT:-5}
NP=${NP:-1}
OUT_DIR=${OUT_DIR:-bench/results}
CACHE=${CACHE:-bench/cache}
MODES=${MODES:-"alnum space unicode uax29 hadoop"}

mkdir -p "$OUT_DIR" "$CACHE"
BENCH=unicode LOG=$OUT_DIR/unicode.log
# shellcheck source=bench/lib.sh
. bench/lib.sh
build_bench "$BUILD"
ascii="$CACHE/ascii-zipf-$SIZE.txt"
[ -s "$ascii" ] || "$BUILD/tools/gen/mpiwc-gen" --size="$SIZE" -o "$ascii"
zh="$CACHE/zh-$ZH_SIZE_MB.txt"
[ -s "$zh" ] || python3 - "$zh" "$ZH_SIZE_MB" <<'PY'
import random, sys
sentences = """云计算是一种基于互联网的计算资源共享和分配模式。
我们今天在北京大学图书馆学习中文和数学。
人工智能技术正在改变世界经济的发展方向，
这个城市的交通非常方便，地铁和公交车都很多。
他说明天早上要去银行办理信用卡业务。
中华人民共和国成立于一九四九年十月一日。
研究人员发现气候变化对农业生产有重要影响；
我们应该保护环境，节约能源，减少污染！
学生们在操场上踢足球，老师在旁边看着。
这家公司的软件产品在国际市场上很受欢迎。""".split('\n')
rng = random.Random(6)
target = int(sys.argv[2]) << 20
out, size = [], 0
while size < target:
    s = rng.choice(sentences) + ('\n' if rng.random() < 0.2 else '')
    out.append(s)
    size += len(s.encode())
open(sys.argv[1], 'wb').write(''.join(out).encode()[:target].decode('utf-8', 'ignore').encode())
PY

args_of() {
    case "$1" in
    hadoop) echo "--compat=hadoop" ;;
    *) echo "--split=$1" ;;
    esac
}
csv="$OUT_DIR/unicode.csv"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for corpus in ascii zh; do
    file=${!corpus}
    for r in $(seq 1 "$REPEAT"); do
        for mode in $MODES; do
            cmd=("${MPIRUN[@]}" --oversubscribe -np "$NP" "$BUILD/mpiwc" $(args_of "$mode")
                 -q --report="$tmp/r.json" -o "$tmp/out.tsv" "$file")
            echo "${cmd[*]}" >>"$tmp/log"
            "${cmd[@]}"
            python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(r["phases"]["map"]["wall_s"])' \
                "$tmp/r.json" >>"$tmp/$corpus-$mode"
        done
    done
done
python3 - "$csv" "$tmp" "$ascii" "$zh" "$MODES" <<'PY'
import os, statistics, sys
csv, tmp, ascii, zh, modes = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5].split()
rows = []
for corpus, path in (('ascii', ascii), ('zh', zh)):
    size = os.path.getsize(path)
    for mode in modes:
        t = [float(x) for x in open(f'{tmp}/{corpus}-{mode}')]
        rows.append((corpus, mode, size, min(t), statistics.median(t), size / min(t) / 1e6))
with open(csv, 'w') as f:
    f.write('corpus,mode,bytes,best_s,median_s,best_MBps\n')
    for r in rows:
        f.write('%s,%s,%d,%.4f,%.4f,%.1f\n' % r)
best = {(r[0], r[1]): r[5] for r in rows}
print('%-6s %-8s %10s %10s %10s' % ('corpus', 'mode', 'best_s', 'median_s', 'MB/s'))
for r in rows:
    print('%-6s %-8s %10.3f %10.3f %10.1f' % (r[0], r[1], r[3], r[4], r[5]))
if ('ascii', 'unicode') in best and ('ascii', 'alnum') in best:
    print('unicode / alnum on ASCII: %.3f' % (best[('ascii', 'unicode')] / best[('ascii', 'alnum')]))
PY
# The tokenizer alone: built against the core library of $BUILD.
cc -O2 -std=c11 -D_GNU_SOURCE -Iinclude -I"$BUILD" bench/tokenize_bench.c \
    "$BUILD/src/libmpiwc_core.a" $(pkg-config --libs icu-uc) -o "$tmp/tokenize_bench"
tcsv="$OUT_DIR/unicode-tokenizer.csv"
echo "corpus,mode,bytes,best_cpu_s,median_cpu_s,best_MBps" >"$tcsv"
for corpus in ascii zh; do
    file=${!corpus}
    "$tmp/tokenize_bench" "$file" "$REPEAT" $MODES |
        while read -r mode best median mbps; do
            echo "$corpus,$mode,$(stat -c %s "$file"),$best,$median,$mbps"
        done >>"$tcsv"
done
column -s, -t "$tcsv"
echo "wrote $csv $tcsv"
