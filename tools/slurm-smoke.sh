#!/usr/bin/env bash
# slurm-smoke.sh - submit slurm/mpiwc.sbatch to a real, private, single-node
# Slurm and check what comes back. Exit 0 means it passed.
#
#   bash tools/slurm-smoke.sh [MPIWC]
#
# MPIWC is the program the job runs: $1 if given, else build-mpi/mpiwc or
# build/mpiwc from this repository if built, else a stand-in shell script that
# prints its arguments and writes small output files (enough to check the
# sbatch plumbing before the real program exists).
#
# Needs root (slurmd runs as root). Installs slurmctld, slurmd and slurm-client
# with apt when missing; never touches /etc/slurm: slurmctld and slurmd are
# started by hand with a private slurm.conf in a temporary work directory,
# bound to 127.0.0.1 with auth/none, and stopped by PID from an EXIT trap.
#
# Jobs (2 tasks each):
#   1. LAUNCHER=srun, all defaults: MPIWC found as build/mpiwc in the submit
#      directory, OUTPUT, report and log land there as mpiwc-JOBID.*
#   2. LAUNCHER=mpirun, OUTPUT and MPIWC_ARGS set
#   3. a missing input path: the job must fail with mpiwc's status 1
#
# Knobs: SLURM_SMOKE_WORK (work dir; default a new mktemp -d), SLURM_SMOKE_KEEP=1
# (leave the daemons and the work dir), SLURM_SMOKE_NO_APT=1, SLURM_SMOKE_PORT
# (slurmctld port, slurmd uses the next one; default 16817),
# SLURM_SMOKE_JOB_TIMEOUT (seconds to wait for each job; default 120).
# Settings borrowed from shared/recipes/slurm-ci.sh.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
KEEP=${SLURM_SMOKE_KEEP:-0}
CTLD_PORT=${SLURM_SMOKE_PORT:-16817}
SLURMD_PORT=$((CTLD_PORT + 1))
JOB_TIMEOUT=${SLURM_SMOKE_JOB_TIMEOUT:-120}
NODE=$(hostname -s)
NCPU=$(nproc)
NTASKS=2

log() { printf '[slurm-smoke %(%H:%M:%S)T] %s\n' -1 "$*"; }
die() {
    log "FAIL: $*"
    exit 1
}

[ "$(id -u)" -eq 0 ] || die "must run as root (slurmd runs as root)"
[ "$NCPU" -ge "$NTASKS" ] || die "need at least $NTASKS CPUs, have $NCPU"

# ------------------------------------------------------------------ install
if [ "${SLURM_SMOKE_NO_APT:-0}" != 1 ]; then
    missing=()
    for pkg in slurmctld slurmd slurm-client; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' ||
            missing+=("$pkg")
    done
    if [ "${#missing[@]}" -gt 0 ]; then
        log "installing: ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
fi
bash "$REPO/tools/install-deps.sh"

# ------------------------------------------------------------------ the program
WORK=${SLURM_SMOKE_WORK:-$(mktemp -d "${TMPDIR:-/tmp}/mpiwc-slurm-smoke.XXXXXX")}
STANDIN=0
if [ $# -ge 1 ]; then
    MPIWC_BIN=$(realpath "$1")
elif [ -x "$REPO/build-mpi/mpiwc" ]; then
    MPIWC_BIN=$REPO/build-mpi/mpiwc
elif [ -x "$REPO/build/mpiwc" ]; then
    MPIWC_BIN=$REPO/build/mpiwc
else
    STANDIN=1
    MPIWC_BIN=$WORK/standin/mpiwc
fi
[ "$STANDIN" = 1 ] || [ -x "$MPIWC_BIN" ] || die "not an executable: $MPIWC_BIN"

# ------------------------------------------------------------------ teardown
teardown() {
    local rc=$?
    set +e
    if [ "$KEEP" = 1 ]; then
        log "SLURM_SMOKE_KEEP=1: daemons left running, SLURM_CONF=$WORK/etc/slurm.conf"
        return "$rc"
    fi
    local pids=() f p st alive
    for f in "$WORK/run/slurmd.pid" "$WORK/run/slurmctld.pid"; do
        [ -s "$f" ] && pids+=("$(cat "$f")")
    done
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
    # wait up to 15 s; a zombie (state Z, not yet reaped by init) counts as gone
    for _ in $(seq 1 150); do
        alive=()
        for p in "${pids[@]}"; do
            st=$(awk '{print $3}' "/proc/$p/stat" 2>/dev/null)
            [ -n "$st" ] && [ "$st" != Z ] && alive+=("$p")
        done
        [ "${#alive[@]}" -eq 0 ] && break
        sleep 0.1
    done
    if [ "${#alive[@]}" -gt 0 ]; then
        log "still alive after 15 s, SIGKILL: ${alive[*]}"
        kill -KILL "${alive[@]}" 2>/dev/null
    fi
    if [ "$rc" -eq 0 ]; then
        rm -rf "$WORK"
    else
        log "work dir kept for inspection: $WORK"
    fi
    log "teardown done (exit $rc)"
    return "$rc"
}
trap teardown EXIT

mkdir -p "$WORK"/{etc,state,spool,log,run,standin,submit/build}
log "work dir $WORK"

if [ "$STANDIN" = 1 ]; then
    # Behaves like mpiwc as far as the batch script can tell: takes -o FILE and
    # --report=FILE, fails with 1 when an input path is missing (the pre-flight
    # check), and rank 0 alone writes the files.
    cat >"$MPIWC_BIN" <<'STANDIN'
#!/usr/bin/env bash
set -euo pipefail
rank=${OMPI_COMM_WORLD_RANK:-${PMIX_RANK:-${SLURM_PROCID:-0}}}
size=${OMPI_COMM_WORLD_SIZE:-${SLURM_NTASKS:-1}}
echo "standin rank $rank/$size args: $*"
out="" report="" paths=()
while [ $# -gt 0 ]; do
    case $1 in
        -o) out=$2; shift ;;
        --report=*) report=${1#--report=} ;;
        --top) shift ;;
        -*) ;;
        *) paths+=("$1") ;;
    esac
    shift
done
for p in "${paths[@]}"; do
    [ -e "$p" ] || { [ "$rank" != 0 ] || echo "mpiwc: $p: No such file or directory" >&2; exit 1; }
done
if [ "$rank" = 0 ]; then
    printf 'ranks\t%s\n' "$size" >"$out"
    printf 'path\t%s\n' "${paths[@]}" >>"$out"
    printf '{"standin": true, "ranks": %s}\n' "$size" >"$report"
fi
STANDIN
    chmod +x "$MPIWC_BIN"
    log "program: stand-in script (no built mpiwc found)"
else
    log "program: $MPIWC_BIN"
fi

# ------------------------------------------------------------------ configure
unset "${!SLURM_@}" # do not inherit an outer Slurm job's settings
CONF=$WORK/etc/slurm.conf
export SLURM_CONF=$CONF
cat >"$CONF" <<CONF
ClusterName=mpiwc-smoke
SlurmctldHost=$NODE(127.0.0.1)
SlurmUser=root
SlurmdUser=root
# auth/none: no munged needed; insecure, so every daemon binds to loopback only
AuthType=auth/none
CredType=cred/none
CommunicationParameters=NoInAddrAny,NoCtldInAddrAny
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
StateSaveLocation=$WORK/state
SlurmdSpoolDir=$WORK/spool
SlurmctldPidFile=$WORK/run/slurmctld.pid
SlurmdPidFile=$WORK/run/slurmd.pid
SlurmctldLogFile=$WORK/log/slurmctld.log
SlurmdLogFile=$WORK/log/slurmd.log
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
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$NCPU RealMemory=1000 State=UNKNOWN
PartitionName=smoke Nodes=ALL Default=YES MaxTime=10 State=UP
CONF

# ------------------------------------------------------------------ start
if ss -ltn 2>/dev/null | grep -qE "[:.]($CTLD_PORT|$SLURMD_PORT)[[:space:]]"; then
    die "ports $CTLD_PORT/$SLURMD_PORT already in use (set SLURM_SMOKE_PORT)"
fi
/usr/sbin/slurmctld -c -f "$CONF" # daemonizes; -c: clean job state
/usr/sbin/slurmd -f "$CONF" -N "$NODE"
state=""
for _ in $(seq 1 300); do
    state=$(timeout 10 sinfo -h -n "$NODE" -o '%T' 2>/dev/null || true)
    [ "$state" = idle ] && break
    sleep 0.1
done
if [ "$state" != idle ]; then
    tail -n 20 "$WORK"/log/*.log
    die "node not idle after 30 s (state '$state')"
fi
log "slurmctld pid $(cat "$WORK/run/slurmctld.pid"), slurmd pid $(cat "$WORK/run/slurmd.pid"), node idle"

# mpirun refuses root without these; srun ignores them
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

# ------------------------------------------------------------------ helpers
# wait_job JOBID: poll until the job ends (sbatch --wait reacts in 10 s steps);
# sets JOB_STATE and JOB_EXIT. On timeout the job is cancelled.
wait_job() {
    local job=$1 line="" deadline=$((SECONDS + JOB_TIMEOUT))
    JOB_STATE="" JOB_EXIT=""
    while [ "$SECONDS" -lt "$deadline" ]; do
        line=$(timeout 10 scontrol show job -o "$job" 2>/dev/null || true)
        JOB_STATE=$(sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p' <<<"$line")
        case $JOB_STATE in
            COMPLETED | FAILED | CANCELLED | TIMEOUT | NODE_FAIL | OUT_OF_MEMORY | PREEMPTED | BOOT_FAIL | DEADLINE)
                JOB_EXIT=$(sed -n 's/.* ExitCode=\([0-9:]*\).*/\1/p' <<<"$line")
                return 0
                ;;
        esac
        sleep 0.2
    done
    timeout 10 scancel "$job" || true
    JOB_STATE="NOT-FINISHED-IN-${JOB_TIMEOUT}s"
}

# expect_job STATE EXITCODE WHAT
expect_job() {
    if [ "$JOB_STATE" != "$1" ] || [ "$JOB_EXIT" != "$2" ]; then
        die "$3: expected state $1 and ExitCode $2, got $JOB_STATE and ${JOB_EXIT:-none}"
    fi
}

show_log() {
    log "job log $1:"
    sed 's/^/    | /' "$1" || true
}

# check_outputs TSV JSON: the result and the report are there and look right
check_outputs() {
    local tsv=$1 json=$2
    [ -s "$tsv" ] || die "no output file $tsv"
    [ -s "$json" ] || die "no report $json"
    python3 -m json.tool "$json" >/dev/null || die "report is not JSON: $json"
    if [ "$STANDIN" = 1 ]; then
        grep -qx "ranks	$NTASKS" "$tsv" || die "stand-in saw the wrong rank count: $(head -n 1 "$tsv")"
    else
        grep -qw the "$tsv" || die "'the' missing from $tsv"
    fi
    log "ok: $tsv ($(wc -l <"$tsv") lines), $json"
}

SBATCH=(timeout 30 sbatch --parsable --ntasks="$NTASKS" --time=2)
cp -r "$REPO/samples" "$WORK/submit/samples"
ln -s "$MPIWC_BIN" "$WORK/submit/build/mpiwc"

# ------------------------------------------------------------------ job 1: srun, defaults
log "job 1: LAUNCHER=srun, MPIWC/OUTPUT/log left to their defaults"
job=$(cd "$WORK/submit" && env -u MPIWC -u OUTPUT -u MPIWC_ARGS LAUNCHER=srun \
    "${SBATCH[@]}" "$REPO/slurm/mpiwc.sbatch" samples/)
wait_job "$job"
log "job $job: state $JOB_STATE, ExitCode $JOB_EXIT"
show_log "$WORK/submit/mpiwc-$job.log"
expect_job COMPLETED 0:0 "job 1"
grep -qF "+ srun --mpi=pmix $WORK/submit/build/mpiwc --report=$WORK/submit/mpiwc-$job.json -o $WORK/submit/mpiwc-$job.tsv samples/" \
    "$WORK/submit/mpiwc-$job.log" || die "job 1: the echoed command is not the expected one"
check_outputs "$WORK/submit/mpiwc-$job.tsv" "$WORK/submit/mpiwc-$job.json"

# ------------------------------------------------------------------ job 2: mpirun, knobs set
log "job 2: LAUNCHER=mpirun, OUTPUT and MPIWC_ARGS set"
mkdir -p "$WORK/out"
job=$(cd "$WORK/submit" && env MPIWC="$MPIWC_BIN" OUTPUT="$WORK/out/words.tsv" \
    MPIWC_ARGS="--top 5" LAUNCHER=mpirun \
    "${SBATCH[@]}" --output="$WORK/out/job-%j.log" "$REPO/slurm/mpiwc.sbatch" samples/)
wait_job "$job"
log "job $job: state $JOB_STATE, ExitCode $JOB_EXIT"
show_log "$WORK/out/job-$job.log"
expect_job COMPLETED 0:0 "job 2"
grep -qF "+ mpirun $MPIWC_BIN --top 5 --report=$WORK/out/words.json -o $WORK/out/words.tsv samples/" \
    "$WORK/out/job-$job.log" || die "job 2: the echoed command is not the expected one"
check_outputs "$WORK/out/words.tsv" "$WORK/out/words.json"
if [ "$STANDIN" = 0 ] && [ "$(wc -l <"$WORK/out/words.tsv")" -gt 6 ]; then
    die "job 2: --top 5 gave more than 6 lines"
fi

# ------------------------------------------------------------------ job 3: failure is passed on
log "job 3: a missing input path, the job must fail with status 1"
job=$(cd "$WORK/submit" && env MPIWC="$MPIWC_BIN" OUTPUT="$WORK/out/fail.tsv" LAUNCHER=srun \
    "${SBATCH[@]}" --output="$WORK/out/job-%j.log" "$REPO/slurm/mpiwc.sbatch" samples/ no-such-dir/)
wait_job "$job"
log "job $job: state $JOB_STATE, ExitCode $JOB_EXIT"
show_log "$WORK/out/job-$job.log"
expect_job FAILED 1:0 "job 3"
[ ! -e "$WORK/out/fail.tsv" ] || die "job 3: a failed run left an output file"
grep -q 'exit status 1' "$WORK/out/job-$job.log" || die "job 3: the log does not report the status"

log "PASS: slurm/mpiwc.sbatch via srun --mpi=pmix and mpirun, defaults and knobs, failure status"
