#!/usr/bin/env bash
# multihost.sh - mpiwc across three hosts with mpirun --hostfile.
#
#   bash tests/cluster/multihost.sh BUILD/mpiwc      (meson: suite 'cluster')
#
# The hosts mpiwc-h1..mpiwc-h3 are network namespaces with their own
# hostnames on a private bridge (10.78.1.0/24, bridge in namespace mpiwc-hbr,
# no route out). mpirun runs on mpiwc-h1 with hostfiles/netns-test and starts
# the other hosts' daemons through tests/cluster/netns-rsh instead of ssh;
# ranks talk TCP between hosts (pml ob1, btl tcp,vader,self, restricted to the
# bridge subnet). At np 3 and 6 (--map-by node) the output must be identical
# to a plain single-host run, the --report must list the three host names,
# and every host must have sent at least a fifth of what its ranks shuffled
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
HOSTS=(mpiwc-h1 mpiwc-h2 mpiwc-h3) # as in hostfiles/netns-test
netns_up mpiwc-hbr "$NET" "${HOSTS[@]}"
[ "$(ip netns exec mpiwc-h1 getent hosts mpiwc-h2 | awk '{print $1}')" = "$NET.2" ] ||
    die "mpiwc-h2 does not resolve on mpiwc-h1"

# inputs, by relative path: the remote ranks must start in the same directory
mkdir -p "$WORK/in"
cp -r "$REPO/samples" "$WORK/in/samples"
big_vocab "$WORK/in/vocab.txt"
cd "$WORK" || die "cannot enter $WORK"
reference_run "$WORK/ref.tsv" in/samples in/vocab.txt

for np in 3 6; do
    declare -A before=()
    for h in "${HOSTS[@]}"; do before[$h]=$(txbytes "$h"); done
    t=$SECONDS
    run timeout 120 ip netns exec mpiwc-h1 unshare --uts /bin/sh -c 'hostname mpiwc-h1; exec "$@"' sh \
        mpirun -q --oversubscribe -np "$np" --hostfile "$REPO/hostfiles/netns-test" --map-by node \
        --mca plm_rsh_agent "$REPO/tests/cluster/netns-rsh" \
        --mca pml ob1 --mca btl tcp,vader,self \
        --mca btl_tcp_if_include "$NET.0/24" --mca oob_tcp_if_include "$NET.0/24" \
        "$MPIWC" --report="$WORK/np$np.json" -o "$WORK/np$np.tsv" in/samples in/vocab.txt ||
        die "np $np: mpirun over three hosts failed"
    log "np $np: ran in $((SECONDS - t)) s"
    cmp "$WORK/ref.tsv" "$WORK/np$np.tsv" || die "np $np: output differs from the single-host run"
    hosts=$(report_hosts "$WORK/np$np.json")
    [ "$hosts" = "${HOSTS[*]}" ] || die "np $np: the report lists hosts '$hosts', not '${HOSTS[*]}'"
    [ "$(report_ranks "$WORK/np$np.json")" = "$np $np" ] || die "np $np: the report does not show $np ranks"
    log "np $np: identical output; report hosts: $hosts"
    # what each host's ranks shuffled; most of it goes to the other hosts
    for h in "${HOSTS[@]}"; do
        shuffled=$(python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
print(r["counters"]["shuffle_sent"]["min"] * r["rank_hosts"].count(sys.argv[2]))' "$WORK/np$np.json" "$h")
        sent=$(($(txbytes "$h") - ${before[$h]}))
        log "np $np: $h sent $sent bytes over its bridge interface (its ranks shuffled >= $shuffled)"
        if [ "$sent" -lt $((shuffled / 5)) ] || [ "$sent" -le 100000 ]; then
            die "np $np: $h sent too little over TCP: $sent bytes"
        fi
    done
    for h in "${HOSTS[@]}"; do
        [ -z "$(ip netns pids "$h")" ] || die "np $np: processes left on $h: $(ip netns pids "$h" | tr '\n' ' ')"
    done
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

log "PASS (ran): mpirun --hostfile over 3 namespace hosts at np 3 and 6 = single-host output, 3 hosts in the report, TCP between hosts; a rank that cannot read its input names its host"
