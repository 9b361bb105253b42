#!/usr/bin/env bash
# multihost.sh - mpiwc across four hosts with mpirun --hostfile.
#
#   bash tests/cluster/multihost.sh BUILD/mpiwc      (meson: suite 'cluster')
#
# The hosts mpiwc-h1..mpiwc-h4 are network namespaces with their own
# hostnames on a private bridge (10.78.1.0/24, bridge in namespace mpiwc-hbr,
# no route out). mpirun runs on mpiwc-h1 with hostfiles/netns-test and starts
# the other hosts' daemons through tests/cluster/netns-rsh instead of ssh;
# ranks talk TCP between hosts (pml ob1, btl tcp,vader,self, restricted to the
# bridge subnet). The single-host table is checked against tests/reference.py
# first. At np 4 (one rank a host: the shuffle is flat), np 12
# (3 a host: node, and --shuffle=flat) and np 7 on uneven hosts (3+2+1+1:
# node and flat) the output must be identical to a plain single-host run,
# the --report must list the four host names and the shuffle that ran, the
# node shuffle must send fewer bytes and messages between hosts than flat,
# and every host must have sent at least what its ranks sent to other hosts
# over its bridge interface. Then an input that only mpiwc-h1 sees (netns-rsh
# hides its directory elsewhere): exit 1, and each rank that cannot read its
# part prints its error line with its rank and host. Every mpirun is wrapped
# in timeout; the namespaces
# are deleted at the end, also on failure, and at the start if a crashed run
# left them. Exit 0 passed, 1 failed, 77 skipped (not root, or no network
# namespaces; never under CI=true).
# shellcheck disable=SC2034 # used by lib.sh
TEST_NAME=multihost
# shellcheck source=tests/cluster/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[ $# -eq 1 ] || die "usage: $0 MPIWC"
MPIWC=$(realpath "$1")
[ -x "$MPIWC" ] || die "not an executable: $MPIWC"
need_root
install_deps
need_netns
begin_work

NET=10.78.1
HOSTS=(mpiwc-h1 mpiwc-h2 mpiwc-h3 mpiwc-h4) # as in hostfiles/netns-test
netns_up mpiwc-hbr "$NET" "${HOSTS[@]}"
[ "$(ip netns exec mpiwc-h1 getent hosts mpiwc-h2 | awk '{print $1}')" = "$NET.2" ] ||
    die "mpiwc-h2 does not resolve on mpiwc-h1"

# inputs, by relative path: the remote ranks must start in the same directory
mkdir -p "$WORK/in"
cp -r "$REPO/samples" "$WORK/in/samples"
big_vocab "$WORK/in/vocab.txt"
# the same text on every rank, so that a host's ranks share words to combine
for _ in $(seq 400); do cat "$REPO/samples/genesis-1-3.txt"; done >"$WORK/in/genesis.txt"
cd "$WORK" || die "cannot enter $WORK"
reference_run "$WORK/ref.tsv" in/samples in/vocab.txt in/genesis.txt
# ... which is the independent reference's table
/usr/bin/python3 "$REPO/tests/reference.py" in/samples in/vocab.txt in/genesis.txt >"$WORK/ref-py.tsv" ||
    die "tests/reference.py failed"
cmp "$WORK/ref.tsv" "$WORK/ref-py.tsv" || die "the single-host run differs from tests/reference.py"

# uneven hosts: 3+2+1+1 ranks at np 7, filled slot by slot
UNEVEN=$WORK/hostfile-uneven
printf '%s slots=%s\n' mpiwc-h1 3 mpiwc-h2 2 mpiwc-h3 1 mpiwc-h4 1 >"$UNEVEN"

# run_hosts NAME NP HOSTFILE MAP MODE ARGS...: one run over the hosts, its
# output against the single-host run's, its report's hosts and shuffle, and
# each host's bytes on its bridge interface against what its ranks sent to
# other hosts (--report's internode_bytes)
run_hosts() {
    local name=$1 np=$2 hostfile=$3 map=$4 mode=$5 h
    shift 5
    declare -A before=()
    for h in "${HOSTS[@]}"; do before[$h]=$(txbytes "$h"); done
    t=$SECONDS
    run timeout 120 ip netns exec mpiwc-h1 unshare --uts /bin/sh -c 'hostname mpiwc-h1; exec "$@"' sh \
        mpirun -q --oversubscribe -np "$np" --hostfile "$hostfile" --map-by "$map" \
        --mca plm_rsh_agent "$REPO/tests/cluster/netns-rsh" \
        --mca pml ob1 --mca btl tcp,vader,self \
        --mca btl_tcp_if_include "$NET.0/24" --mca oob_tcp_if_include "$NET.0/24" \
        "$MPIWC" "$@" --report="$WORK/$name.json" -o "$WORK/$name.tsv" in/samples in/vocab.txt in/genesis.txt ||
        die "$name: mpirun over the hosts failed"
    log "$name: ran in $((SECONDS - t)) s"
    cmp "$WORK/ref.tsv" "$WORK/$name.tsv" || die "$name: output differs from the single-host run"
    hosts=$(report_hosts "$WORK/$name.json")
    [ "$hosts" = "${HOSTS[*]}" ] || die "$name: the report lists hosts '$hosts', not '${HOSTS[*]}'"
    [ "$(report_ranks "$WORK/$name.json")" = "$np $np" ] || die "$name: the report does not show $np ranks"
    shuffle=$(python3 -c 'import json, sys; r = json.load(open(sys.argv[1])); print(r["shuffle"], r["shuffle_hosts"])' "$WORK/$name.json")
    [ "$shuffle" = "$mode" ] || die "$name: the report's shuffle is '$shuffle', not '$mode'"
    log "$name: identical output; report hosts: $hosts; shuffle: $shuffle"
    for h in "${HOSTS[@]}"; do
        internode=$(python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
print(sum(b for b, h in zip(r["counters"]["internode_bytes"]["ranks"], r["rank_hosts"]) if h == sys.argv[2]))' "$WORK/$name.json" "$h")
        sent=$(($(txbytes "$h") - ${before[$h]}))
        log "$name: $h sent $sent bytes over its bridge interface (its ranks sent $internode record bytes to other hosts)"
        if [ "$sent" -lt "$internode" ] || [ "$internode" -le 0 ]; then
            die "$name: $h sent too little over TCP: $sent bytes for $internode record bytes"
        fi
    done
    for h in "${HOSTS[@]}"; do
        [ -z "$(ip netns pids "$h")" ] || die "$name: processes left on $h: $(ip netns pids "$h" | tr '\n' ' ')"
    done
}

# internode SUM|MESSAGES NAME: the report's total inter-host bytes or messages
internode() {
    python3 -c 'import json, sys; print(json.load(open(sys.argv[2]))["counters"]["internode_" + sys.argv[1]]["sum"])' "$1" "$WORK/$2.json"
}

run_hosts np4 4 "$REPO/hostfiles/netns-test" node "flat 0"
run_hosts np12-node 12 "$REPO/hostfiles/netns-test" node "node 4"
run_hosts np12-flat 12 "$REPO/hostfiles/netns-test" node "flat 0" --shuffle=flat
run_hosts uneven-node 7 "$UNEVEN" slot "node 4"
run_hosts uneven-flat 7 "$UNEVEN" slot "flat 0" --shuffle=flat
for layout in np12 uneven; do
    nb=$(internode bytes "$layout-node") fb=$(internode bytes "$layout-flat")
    nm=$(internode messages "$layout-node") fm=$(internode messages "$layout-flat")
    log "$layout: between hosts node sent $nb bytes in $nm messages, flat $fb bytes in $fm messages"
    if [ "$nb" -ge "$fb" ] || [ "$nm" -ge "$fm" ]; then
        die "$layout: the node shuffle sent no less between hosts than flat"
    fi
done

# an input that only mpiwc-h1 sees (not on a "shared file system"): rank 0
# plans it, the ranks on the other hosts cannot read their part
mkdir -p "$WORK/local"
cp "$WORK/in/vocab.txt" "$WORK/local/vocab.txt"
status=0
NETNS_RSH_HIDE=$WORK/local run timeout 120 ip netns exec mpiwc-h1 \
    unshare --uts /bin/sh -c 'hostname mpiwc-h1; exec "$@"' sh \
    mpirun -q --oversubscribe -np 3 --hostfile "$REPO/hostfiles/netns-test" --map-by node \
    --mca plm_rsh_agent "$REPO/tests/cluster/netns-rsh" \
    --mca pml ob1 --mca btl tcp,vader,self \
    --mca btl_tcp_if_include "$NET.0/24" --mca oob_tcp_if_include "$NET.0/24" \
    "$MPIWC" -o "$WORK/local.tsv" local/vocab.txt 2>"$WORK/local.err" || status=$?
sed 's/^/    | /' "$WORK/local.err"
[ "$status" -eq 1 ] || die "input missing on 2 hosts: exit status $status, not 1"
for r in 1 2; do
    grep -qxF "mpiwc: [rank $r on mpiwc-h$((r + 1))] local/vocab.txt: No such file or directory" "$WORK/local.err" ||
        die "input missing on 2 hosts: no error line from rank $r naming its host"
done
[ ! -e "$WORK/local.tsv" ] || die "input missing on 2 hosts: an output file was left"
log "input missing on 2 hosts: exit 1, each failing rank names itself and its host"

log "PASS (ran): mpirun --hostfile over 4 namespace hosts at np 4, 12 and 7 (3+2+1+1), node and flat shuffles = single-host output, 4 hosts in the report, node sends less between hosts, TCP between hosts; a rank that cannot read its input names its host"
