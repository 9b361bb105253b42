# shellcheck shell=bash
# lib.sh - shared by the cluster tests (sourced, never run): logging, the
# skip rule, teardown hooks, a private Slurm started by hand, network
# namespaces as hosts, and the plain mpirun run every test compares against.
#
# The caller sets TEST_NAME before sourcing and then calls, in this order:
#   need_root; install_deps; [need_netns]; begin_work
# Everything a test starts is stopped by PID (daemons from their pid files,
# checked against the work directory in their command line) or by namespace
# (processes still inside a namespace the test made), from the EXIT trap, also
# on failure. The same cleanup runs first, on the fixed work directory and
# namespace names, so a crashed earlier run leaves nothing in the way.
# See docs/CLUSTERS.md, "Tests on a pretend cluster".

set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# Fixed, so that the next run finds a crashed run's pid files.
WORK=${MPIWC_CLUSTER_WORK:-${TMPDIR:-/tmp}/mpiwc-cluster}/$TEST_NAME

log() { printf '[%s %(%H:%M:%S)T] %s\n' "$TEST_NAME" -1 "$*"; }
die() {
    log "FAIL: $*"
    exit 1
}
# run CMD...: echo the exact command (to stderr, so $(run ...) is clean),
# then run it
run() {
    {
        printf '+'
        printf ' %q' "$@"
        printf '\n'
    } >&2
    "$@"
}

# skip REASON: meson's "skipped" (77), except in CI, where every cluster test
# must run: there a missing prerequisite is a failure.
skip() {
    if [ "${CI:-}" = true ]; then
        die "CI=true, so not skipping: $*"
    fi
    echo "SKIP: $*"
    exit 77
}

need_root() {
    [ "$(id -u)" -eq 0 ] || skip "needs root (starts slurmd / creates network namespaces)"
}

need_netns() {
    command -v ip >/dev/null || die "ip (iproute2) is missing after install-deps"
    unshare --net --uts true 2>/dev/null || skip "network namespaces unavailable (unshare --net --uts failed)"
}

# The Debian packages (slurmctld slurmd slurm-client gnuplot-nox iproute2 ...)
# are on tools/install-deps.sh's one list; it does nothing when all are there.
install_deps() {
    bash "$REPO/tools/install-deps.sh" || die "tools/install-deps.sh failed"
}

# ------------------------------------------------------------------ teardown
HOOKS=()
# at_exit CMD...: run at exit, last registered first
at_exit() { HOOKS+=("$(printf '%q ' "$@")"); }
on_exit() {
    local rc=$? i f
    set +e
    trap - EXIT
    for ((i = ${#HOOKS[@]} - 1; i >= 0; i--)); do eval "${HOOKS[i]}"; done
    if [ "$rc" -eq 0 ]; then
        rm -rf "$WORK"
    else
        for f in "$WORK"/log/*.log; do
            [ -s "$f" ] || continue
            log "last lines of $f:"
            tail -n 15 "$f" | sed 's/^/    | /'
        done
        log "work directory kept for inspection: $WORK"
    fi
    log "teardown done (exit $rc)"
    exit "$rc"
}

# begin_work: take the test's lock (a second run of the same test, from
# another build directory, waits here instead of stopping this one's daemons
# as stale), stop what a crashed earlier run left, start a clean WORK, and
# arm the teardown
begin_work() {
    mkdir -p "$(dirname "$WORK")"
    exec 9>"$WORK.lock"
    flock -w 300 9 || die "another run of $TEST_NAME held $WORK.lock for 300 s"
    trap on_exit EXIT
    trap 'exit 143' TERM
    trap 'exit 130' INT
    stop_daemons
    rm -rf "$WORK"
    mkdir -p "$WORK"
    at_exit stop_daemons
    log "work directory $WORK"
}

# gone PID: the process has exited (a zombie not yet reaped counts as gone)
gone() {
    local st
    st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 0
    [ -z "$st" ] || [ "$st" = Z ]
}

# kill_pids PID...: TERM, wait up to 15 s, then KILL
kill_pids() {
    local p alive=("$@")
    [ "$#" -gt 0 ] || return 0
    kill -TERM "$@" 2>/dev/null
    for _ in $(seq 1 150); do
        alive=()
        for p in "$@"; do gone "$p" || alive+=("$p"); done
        [ "${#alive[@]}" -eq 0 ] && return 0
        sleep 0.1
    done
    log "still alive after 15 s, SIGKILL: ${alive[*]}"
    kill -KILL "${alive[@]}" 2>/dev/null
    return 0
}

# stop_daemons: the Slurm daemons whose pid files are in WORK/run, only if
# their command line names this WORK (a recycled PID is left alone)
stop_daemons() {
    local f p pids=()
    for f in "$WORK"/run/*.pid; do
        [ -s "$f" ] || continue
        p=$(cat "$f")
        if tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -qF "$WORK/"; then
            pids+=("$p")
        fi
    done
    [ "${#pids[@]}" -eq 0 ] || log "stopping daemons ${pids[*]}"
    kill_pids "${pids[@]}"
}

# ------------------------------------------------------------------ MPI
# mpirun as the tests use it: -q (no banner on a non-zero exit), more ranks
# than cores allowed, root allowed (the tests run as root). Jobs under Slurm
# get the root permission from the environment (mpiwc.sbatch runs mpirun).
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
MPIRUN=(timeout 120 mpirun -q --oversubscribe)

# reference_run OUT INPUT...: the plain single-host mpirun run (np 2) that
# every cluster run must match byte for byte; kept to loopback and shared
# memory
reference_run() {
    local out=$1
    shift
    run "${MPIRUN[@]}" -np 2 --mca btl self,vader --mca oob_tcp_if_include lo \
        "$MPIWC" -o "$out" "$@" || die "plain mpirun run failed"
    [ -s "$out" ] || die "plain mpirun run wrote no output"
}

# report_hosts REPORT: the report's distinct host names, sorted, one line
report_hosts() {
    python3 -c 'import json, sys; print(" ".join(sorted(set(json.load(open(sys.argv[1]))["hosts"]))))' "$1"
}
# report_ranks REPORT: the report's rank count, and how many rank_hosts it has
report_ranks() {
    python3 -c 'import json, sys; r = json.load(open(sys.argv[1])); print(r["ranks"], len(r["rank_hosts"]))' "$1"
}

# ------------------------------------------------------------------ Slurm
# Client commands run through CLIENT (empty on the single-node cluster; the
# multi-node test sets it to enter the controller's namespace).
CLIENT=()

# slurm_conf_common: the slurm.conf lines both clusters share; per-node
# files through %n. auth/none is insecure: every daemon listens only on
# loopback or on the test's own namespaces.
slurm_conf_common() {
    cat <<EOF
SlurmUser=root
SlurmdUser=root
AuthType=auth/none
CredType=cred/none
StateSaveLocation=$WORK/state
SlurmctldPidFile=$WORK/run/slurmctld.pid
SlurmctldLogFile=$WORK/log/slurmctld.log
SlurmdPidFile=$WORK/run/slurmd.%n.pid
SlurmdLogFile=$WORK/log/slurmd.%n.log
SlurmdSpoolDir=$WORK/spool.%n
TmpFS=$WORK/tmp.%n
MailProg=/bin/true
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
SchedulerParameters=batch_sched_delay=0
ReturnToService=2
KillWait=5
SlurmdParameters=config_overrides
EOF
}

# slurm_dirs NODE...: the directories slurm.conf names
slurm_dirs() {
    local n
    mkdir -p "$WORK"/{state,run,log}
    for n in "$@"; do mkdir -p "$WORK/spool.$n" "$WORK/tmp.$n"; done
}

# wait_idle N: until N nodes are idle (30 s at most)
wait_idle() {
    local n=""
    for _ in $(seq 1 300); do
        n=$(timeout 10 "${CLIENT[@]}" sinfo -h -t idle -o '%D' 2>/dev/null || true)
        [ "$n" = "$1" ] && return 0
        sleep 0.1
    done
    tail -n 20 "$WORK"/log/*.log
    die "only '${n:-0}' of $1 nodes idle after 30 s"
}

# submit ENV... -- SBATCH-ARGS...: sbatch from WORK/submit with the extra
# environment; prints the job id
submit() {
    local envs=()
    while [ "$1" != -- ]; do
        envs+=("$1")
        shift
    done
    shift
    (cd "$WORK/submit" && run env "${envs[@]}" timeout 30 "${CLIENT[@]}" sbatch --parsable "$@")
}

# wait_job JOBID: poll scontrol (sbatch --wait reacts only every 10 s) until
# the job ends, 120 s at most (then cancel it); sets JOB_STATE and JOB_EXIT
wait_job() {
    local line deadline=$((SECONDS + 120))
    JOB_STATE="" JOB_EXIT=""
    while [ "$SECONDS" -lt "$deadline" ]; do
        line=$(timeout 10 "${CLIENT[@]}" scontrol show job -o "$1" 2>/dev/null || true)
        JOB_STATE=$(sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p' <<<"$line")
        case $JOB_STATE in
            COMPLETED | FAILED | CANCELLED | TIMEOUT | NODE_FAIL | OUT_OF_MEMORY | PREEMPTED | BOOT_FAIL | DEADLINE)
                JOB_EXIT=$(sed -n 's/.* ExitCode=\([0-9:]*\).*/\1/p' <<<"$line")
                log "job $1: $JOB_STATE, ExitCode $JOB_EXIT"
                return 0
                ;;
        esac
        sleep 0.2
    done
    timeout 10 "${CLIENT[@]}" scancel "$1" || true
    JOB_STATE=NOT-FINISHED-IN-120s
    log "job $1: $JOB_STATE"
}

# expect_job STATE EXITCODE LOG: the job ended as expected (the log is shown)
expect_job() {
    log "job log $3:"
    sed 's/^/    | /' "$3" || true
    if [ "$JOB_STATE" != "$1" ] || [ "$JOB_EXIT" != "$2" ]; then
        die "expected state $1 and ExitCode $2, got $JOB_STATE and ${JOB_EXIT:-none}"
    fi
}

# ------------------------------------------------------------------ namespaces
# A host is a network namespace of the same name, with its own hostname (UTS
# namespace), on a bridge that lives in a namespace of its own. No interface
# is added to the root namespace and no host has a route out, so the traffic
# stays among the namespaces the test made.
# /run/netns and /etc/netns, when a run of this test created them, are
# listed here (outside WORK, so a crashed run's list survives) and removed
# again once empty.
MADE_DIRS=$WORK.made-dirs

# netns_down NS...: kill what still runs inside (started by this test or a
# crashed run of it), delete the namespaces and their /etc/netns entries
netns_down() {
    local ns pids=()
    stop_daemons
    for ns in "$@"; do
        [ -e "/run/netns/$ns" ] && mapfile -t -O "${#pids[@]}" pids < <(ip netns pids "$ns" 2>/dev/null)
    done
    [ "${#pids[@]}" -eq 0 ] || log "killing leftover processes in the namespaces: ${pids[*]}"
    kill_pids "${pids[@]}"
    for ns in "$@"; do
        [ -e "/run/netns/$ns" ] && ip netns del "$ns"
        rm -rf "/etc/netns/$ns"
    done
    # "ip netns add" made /run/netns a mount point; undo it when we made it
    local d
    while read -r d; do
        if [ ! -d "$d" ] || [ -n "$(ls -A "$d")" ]; then continue; fi
        while mountpoint -q "$d"; do umount "$d" || break; done
        rmdir "$d"
    done < <(cat "$MADE_DIRS" 2>/dev/null)
    rm -f "$MADE_DIRS"
    return 0
}

# netns_up BRIDGE_NS NET HOST...: host K gets NET.K/24 on its interface mpi0
# and an /etc/netns/HOST/hosts naming every host (ip netns exec mounts it
# over /etc/hosts). The teardown is registered first.
netns_up() {
    local br=$1 net=$2 h i=0 d
    shift 2
    netns_down "$br" "$@"
    at_exit netns_down "$br" "$@"
    for d in /run/netns /etc/netns; do
        [ -d "$d" ] || echo "$d" >>"$MADE_DIRS"
    done
    ip netns add "$br"
    ip -n "$br" link set lo up
    ip -n "$br" link add br0 type bridge
    ip -n "$br" link set br0 up
    for h in "$@"; do
        i=$((i + 1))
        ip netns add "$h"
        ip link add "v$h" netns "$br" type veth peer name mpi0 netns "$h"
        ip -n "$br" link set "v$h" master br0 up
        ip -n "$h" link set lo up
        ip -n "$h" addr add "$net.$i/24" dev mpi0
        ip -n "$h" link set mpi0 up
        ip netns exec "$h" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 || true
        [ -z "$(ip -n "$h" route show default)" ] || die "$h has a default route"
    done
    for h in "$@"; do
        mkdir -p "/etc/netns/$h"
        {
            echo "127.0.0.1 localhost"
            i=0
            for x in "$@"; do
                i=$((i + 1))
                echo "$net.$i $x"
            done
        } >"/etc/netns/$h/hosts"
    done
    log "hosts $* on $net.0/24 (bridge in namespace $br)"
}

# txbytes HOST: bytes sent so far on the host's bridge interface
txbytes() { ip netns exec "$1" cat /sys/class/net/mpi0/statistics/tx_bytes; }

# big_vocab FILE: a deterministic input with many distinct words, so the
# shuffle moves a good amount of data between hosts
big_vocab() {
    python3 -c '
import sys
with open(sys.argv[1], "w") as f:
    for i in range(300000):
        f.write("w%d%s" % (i * 7919 % 1000003, "\n" if i % 12 == 11 else " "))
' "$1"
}
