#!/usr/bin/env bash
# multihost.sh - the node shuffle against flat between real hosts: 4 network
# namespace hosts with 3 ranks each (np 12), talking TCP over a bridge, on
# natural text.
#
# The hosts are made as tests/cluster/multihost.sh makes its own (the same
# lib.sh; here mpiwc-b1..b4 on 10.78.3.0/24, so the two never meet), and
# mpirun starts the remote ranks through tests/cluster/netns-rsh. For each
# corpus in CORPORA, REPEAT pairs of runs alternate --shuffle=flat and
# --shuffle=node; every table must equal the first flat one. From each run's
# --report: the inter-host bytes and messages summed over the ranks, the
# shuffle phase and the whole run; then the medians and node/flat.
#
#   natural   mpiwc-gen text of SIZE bytes (Zipf 1.0 over 50,000 words, as
#             bench/run.sh makes it)
#   bible     the King James Bible repeated to SIZE bytes (bench/bible-corpus.sh)
#
# Knobs (environment): CORPORA ("natural bible"), SIZE (67108864), REPEAT (3),
# SEED (1), BUILD_DIR (build-bench; built release if missing), CACHE_DIR
# (bench/cache), OUT_DIR (bench/results). Results: OUT_DIR/multihost.csv (a row
# a run), OUT_DIR/multihost.md (the medians). Needs root and network
# namespaces; exits 77 where they are missing.
# shellcheck disable=SC2034 # used by lib.sh
TEST_NAME=bench-multihost
# shellcheck source=tests/cluster/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../tests/cluster/lib.sh"
cd "$REPO" || die "cannot enter $REPO"

CORPORA=${CORPORA:-natural bible}
SIZE=${SIZE:-67108864}
REPEAT=${REPEAT:-3}
SEED=${SEED:-1}
BUILD_DIR=${BUILD_DIR:-build-bench}
CACHE_DIR=$(realpath -m "${CACHE_DIR:-bench/cache}")
OUT_DIR=$(realpath -m "${OUT_DIR:-bench/results}")
mkdir -p "$CACHE_DIR" "$OUT_DIR"

need_root
install_deps
need_netns
[ -f "$BUILD_DIR/build.ninja" ] ||
    run meson setup "$BUILD_DIR" --buildtype=release -Dtests=false >/dev/null
run meson compile -C "$BUILD_DIR" mpiwc:executable mpiwc-gen >/dev/null || die "build failed"
MPIWC=$(realpath "$BUILD_DIR/mpiwc")
GEN=$(realpath "$BUILD_DIR/tools/gen/mpiwc-gen")
begin_work

NET=10.78.3
HOSTS=(mpiwc-b1 mpiwc-b2 mpiwc-b3 mpiwc-b4)
netns_up mpiwc-bbr "$NET" "${HOSTS[@]}"
HOSTFILE=$WORK/hostfile
printf '%s slots=3\n' "${HOSTS[@]}" >"$HOSTFILE"

corpus() { # corpus NAME: the path of corpus NAME, made once in CACHE_DIR
    local path
    case $1 in
    natural)
        path=$CACHE_DIR/natural-$SIZE-s$SEED-$(sha1sum tools/gen/mpiwc-gen.c | cut -c1-8).txt
        [ -s "$path" ] || run "$GEN" --size="$SIZE" --seed="$SEED" -o "$path" >&2
        echo "$path"
        ;;
    bible) bash bench/bible-corpus.sh "$CACHE_DIR" "$SIZE" ;;
    *) die "unknown corpus '$1' (natural, bible)" ;;
    esac
}

CSV=$OUT_DIR/multihost.csv
echo "corpus,shuffle,run,internode_bytes,internode_messages,shuffle_s,wall_s" >"$CSV"
for name in $CORPORA; do
    input=$(corpus "$name")
    cat "$input" >/dev/null # the page cache does not stay warm here
    for r in $(seq 1 "$REPEAT"); do
        for mode in flat node; do
            out=$WORK/$name-$mode-$r
            run timeout 600 ip netns exec mpiwc-b1 unshare --uts /bin/sh -c 'hostname mpiwc-b1; exec "$@"' sh \
                mpirun -q --oversubscribe -np 12 --hostfile "$HOSTFILE" --map-by slot \
                --mca plm_rsh_agent "$REPO/tests/cluster/netns-rsh" \
                --mca pml ob1 --mca btl tcp,vader,self \
                --mca btl_tcp_if_include "$NET.0/24" --mca oob_tcp_if_include "$NET.0/24" \
                "$MPIWC" --shuffle="$mode" --report="$out.json" -o "$out.tsv" "$input" ||
                die "$name, $mode, run $r: mpirun failed"
            [ -e "$WORK/$name.tsv" ] || cp "$out.tsv" "$WORK/$name.tsv"
            cmp -s "$WORK/$name.tsv" "$out.tsv" || die "$name, $mode, run $r: the table differs"
            rm -f "$out.tsv"
            python3 - "$out.json" "$name,$mode,$r" "$mode ${#HOSTS[@]}" >>"$CSV" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
shuffle = '%s %d' % (r['shuffle'], r['shuffle_hosts'] if r['shuffle'] == 'node' else len(set(r['rank_hosts'])))
if shuffle != sys.argv[3] or r['ranks'] != 12:
    sys.exit('ran %s on %d ranks, not %s on 12' % (shuffle, r['ranks'], sys.argv[3]))
c = r['counters']
print('%s,%d,%d,%.4f,%.4f' % (sys.argv[2], c['internode_bytes']['sum'],
                              c['internode_messages']['sum'], r['phases']['shuffle']['wall_s'],
                              r['wall_s']))
PY
            log "$name, $mode, run $r: $(tail -n 1 "$CSV")"
        done
    done
done

python3 - "$CSV" "$OUT_DIR/multihost.md" "$SIZE" "$REPEAT" <<'PY'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1])))
out = ['# Node shuffle against flat, 4 namespace hosts x 3 ranks (np 12, TCP)', '',
       '%d MiB a corpus, median of %s runs of each, alternating.' % (int(sys.argv[3]) >> 20, sys.argv[4]), '',
       '| corpus | shuffle | inter-host bytes | inter-host messages | shuffle phase s | run s |',
       '|---|---|---|---|---|---|']
ratios = []
for corpus in dict.fromkeys(r['corpus'] for r in rows):
    med = {}
    for mode in ('flat', 'node'):
        rs = [r for r in rows if r['corpus'] == corpus and r['shuffle'] == mode]
        med[mode] = {k: statistics.median(float(r[k]) for r in rs)
                     for k in ('internode_bytes', 'internode_messages', 'shuffle_s', 'wall_s')}
        m = med[mode]
        out.append('| %s | %s | %d | %d | %.3f | %.3f |' % (corpus, mode, m['internode_bytes'],
                   m['internode_messages'], m['shuffle_s'], m['wall_s']))
    f, n = med['flat'], med['node']
    ratios.append('- %s: node/flat inter-host bytes %.2fx, messages %.2fx, shuffle phase %.2fx, run %.2fx'
                  % (corpus, n['internode_bytes'] / f['internode_bytes'],
                     n['internode_messages'] / f['internode_messages'],
                     n['shuffle_s'] / f['shuffle_s'], n['wall_s'] / f['wall_s']))
text = '\n'.join(out + [''] + ratios) + '\n'
open(sys.argv[2], 'w').write(text)
print(text, end='')
PY
log "results in $CSV and $OUT_DIR/multihost.md"
