#!/usr/bin/env bash
# slurm-requeue.sh - slurm/mpiwc.sbatch with CHECKPOINT_DIR on a real
# single-node Slurm: stopped by Slurm's signal, requeued, resumed.
#
#   bash tests/cluster/slurm-requeue.sh BUILD/mpiwc      (meson: suite 'cluster')
#
# Starts slurmctld and slurmd by hand as slurm-single.sh does (private
# slurm.conf, auth/none on 127.0.0.1, ports 16847/16848; AuthInfo=
# cred_expire=5, Slurm's least, so that a requeued job may start again after
# 6 s, not 121, and sched_interval=1, so that the controller starts it then,
# not at its next full scheduling pass, up to 60 s later), then submits with
# 2 tasks and CHECKPOINT_DIR set, checkpointing after every step
# (MPIWC_CHECKPOINT_STEP, --checkpoint-interval=0):
#   1. and 2. LAUNCHER=mpirun, then srun, 16 MiB in steps of 32 KiB: once
#      the first checkpoint exists, the batch script gets SIGUSR1 the way
#      --signal=B:USR1@120 delivers it (scancel --batch --signal=USR1):
#      mpiwc checkpoints and exits 3, the script requeues the job, and the
#      job's second run resumes and completes;
#   3. LAUNCHER=mpirun with Slurm's own signal: --time=1 --signal=B:USR1@50,
#      so Slurm signals the script at the first time-limit check of each run
#      (the controller checks every 30 s, and 50 s + 30 s reach past the
#      limit): 0 to 30 s into it. The input is copies of an 8 MiB file
#      (each a file of its own: mpiwc counts a hard-linked file once), in
#      steps of 4 KiB: as many copies as make about 45 s of work on this
#      machine (timed by one run on one copy outside Slurm first), so the
#      first signal comes before the work is done however fast the machine is.
# Each job must end COMPLETED 0:0 with all its runs in its (appended) log:
# "exit status 3", "requeueing", "resuming from checkpoint", "exit status 0";
# its output identical to a plain mpirun run's, and no checkpoint left.
# Exit 0 passed, 1 failed, 77 skipped (not root; never under CI=true). Work
# directory: ${TMPDIR:-/tmp}/mpiwc-cluster/slurm-requeue, removed when the
# test passes.
# shellcheck disable=SC2034 # used by lib.sh
TEST_NAME=slurm-requeue
# shellcheck source=tests/cluster/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[ $# -eq 1 ] || die "usage: $0 MPIWC"
MPIWC=$(realpath "$1")
[ -x "$MPIWC" ] || die "not an executable: $MPIWC"
need_root
install_deps
begin_work

NODE=$(hostname -s)
CTLD_PORT=16847
SLURMD_PORT=16848
unset "${!SLURM_@}" # nothing from an outer Slurm job
export SLURM_CONF=$WORK/slurm.conf
export OMPI_MCA_btl=self,vader OMPI_MCA_oob_tcp_if_include=lo

# ------------------------------------------------------------------ cluster
slurm_dirs "$NODE"
{
    cat <<EOF
ClusterName=mpiwc-requeue
SlurmctldHost=$NODE(127.0.0.1)
CommunicationParameters=NoInAddrAny,NoCtldInAddrAny
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
JobRequeue=1
# A requeued job waits for the credential lifetime before it starts again
# (default 120 s, least 5); starting it earlier makes Slurm fail it
# ("credential revoked").
AuthInfo=cred_expire=5
EOF
    # Once that wait is over no event wakes the scheduler: the job started at
    # the next full scheduling pass, every sched_interval (default 60 s).
    slurm_conf_common | sed 's/^SchedulerParameters=.*/&,sched_interval=1/'
    echo "NodeName=$NODE NodeAddr=127.0.0.1 CPUs=2 RealMemory=1000 State=UNKNOWN"
    echo "PartitionName=requeue Nodes=ALL Default=YES MaxTime=10 State=UP"
} >"$SLURM_CONF"

if ss -ltn | grep -qE "[:.]($CTLD_PORT|$SLURMD_PORT)[[:space:]]"; then
    die "ports $CTLD_PORT/$SLURMD_PORT are in use by something this test did not start"
fi
run /usr/sbin/slurmctld -c -f "$SLURM_CONF"
run /usr/sbin/slurmd -f "$SLURM_CONF" -N "$NODE"
wait_idle 1
log "slurmctld pid $(cat "$WORK/run/slurmctld.pid"), slurmd pid $(cat "$WORK/run/slurmd.$NODE.pid"), node $NODE idle"

# ------------------------------------------------------------------ input
mkdir -p "$WORK/submit/in" "$WORK/out"
# in/: 16 MiB in 2 files
python3 - "$WORK/submit" <<'EOF'
import random, sys
rnd = random.Random(9)
vocab = ['w%d' % i for i in range(20000)] + ['été', 'Straße', 'naïve']
weights = [1.0 / (i + 1) for i in range(len(vocab))]
for k in range(2):
    text = ' '.join(rnd.choices(vocab, weights, k=(8 << 20) // 5))
    with open('%s/in/part-%d.txt' % (sys.argv[1], k), 'w') as f:
        f.write(text)
EOF
(cd "$WORK/submit" && reference_run "$WORK/ref.tsv" in/)
SBATCH="$REPO/slurm/mpiwc.sbatch"

# wait_pieces JOB: wait_job for a job that requeues itself (each requeue waits
# cred_expire, 5 s here); 500 s at most. Sets JOB_STATE and JOB_EXIT.
wait_pieces() {
    local line deadline=$((SECONDS + ${2:-500}))
    JOB_STATE="" JOB_EXIT=""
    while [ "$SECONDS" -lt "$deadline" ]; do
        line=$(timeout 10 scontrol show job -o "$1" 2>/dev/null || true)
        JOB_STATE=$(sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p' <<<"$line")
        case $JOB_STATE in
            COMPLETED | FAILED | CANCELLED | TIMEOUT | NODE_FAIL | OUT_OF_MEMORY | PREEMPTED | BOOT_FAIL | DEADLINE)
                JOB_EXIT=$(sed -n 's/.* ExitCode=\([0-9:]*\).*/\1/p' <<<"$line")
                log "job $1: $JOB_STATE, ExitCode $JOB_EXIT, $(sed -n 's/.* Restarts=\([0-9]*\).*/\1/p' <<<"$line") restarts"
                return 0
                ;;
        esac
        sleep 0.2
    done
    timeout 10 scancel "$1" || true
    JOB_STATE=NOT-FINISHED-IN-500s
    log "job $1: $JOB_STATE"
}

# check_pieces N JOB LOG OUT CKDIR REF: job N completed in several runs, output = REF
check_pieces() {
    local n=$1 job=$2 logf=$3 out=$4 ck=$5 ref=$6
    expect_job COMPLETED 0:0 "$logf"
    grep -qF "mpiwc.sbatch: exit status 3;" "$logf" || die "job $n: no run stopped with status 3"
    grep -qF "mpiwc.sbatch: checkpoint in $ck; requeueing job $job to resume" "$logf" ||
        die "job $n: the script did not requeue"
    grep -qE "^mpiwc: resuming from checkpoint $ck/gen-[0-9]+ " "$logf" ||
        die "job $n: the second run did not resume"
    grep -qF "mpiwc.sbatch: exit status 0;" "$logf" || die "job $n: no run completed"
    cmp "$ref" "$out" || die "job $n: output differs from the plain mpirun run"
    ! compgen -G "$ck/gen-*" >/dev/null || die "job $n: checkpoints left after success"
}

# ------------------------------------------------------------------ 1. signal by hand
n=1
for launcher in mpirun srun; do
    log "job $n: LAUNCHER=$launcher, SIGUSR1 to the batch script once a checkpoint exists"
    CK=$WORK/submit/ck$n
    job=$(submit MPIWC="$MPIWC" OUTPUT="$WORK/out/r$n.tsv" LAUNCHER=$launcher CHECKPOINT_DIR="$CK" \
        CHECKPOINT_INTERVAL=0 MPIWC_CHECKPOINT_STEP=32K -- \
        --ntasks=2 --time=5 --output="$WORK/out/job-%j.log" "$SBATCH" in/)
    for _ in $(seq 1 600); do
        compgen -G "$CK/gen-*/MANIFEST" >/dev/null && break
        sleep 0.1
    done
    compgen -G "$CK/gen-*/MANIFEST" >/dev/null || die "job $n: no checkpoint within 60 s"
    run timeout 10 scancel --batch --signal=USR1 "$job"
    wait_pieces "$job"
    check_pieces $n "$job" "$WORK/out/job-$job.log" "$WORK/out/r$n.tsv" "$CK" "$WORK/ref.tsv"
    n=$((n + 1))
done

# ------------------------------------------------------------------ 2. Slurm's signal
# The work must outlast the signal (0 to 30 s into a run) whatever the
# machine's speed: time one uninterrupted checkpointing run of in/part-0.txt
# here, then give the job as many copies of it as make about 45 s of work.
# Copies, not hard links: mpiwc counts a file that several paths reach once,
# so links added no work (and a run could end before its signal).
(cd "$WORK/submit" && reference_run "$WORK/ref0.tsv" in/part-0.txt)
CAL=$WORK/submit/cal
t0=$(date +%s%N)
(cd "$WORK/submit" && run env MPIWC_CHECKPOINT_STEP=4K timeout 300 "${MPIRUN[@]:2}" -np 2 \
    --mca btl self,vader --mca oob_tcp_if_include lo "$MPIWC" --checkpoint-dir="$CAL" \
    --checkpoint-interval=0 -o "$WORK/out/cal.tsv" in/part-0.txt) || die "calibration run failed"
cmp "$WORK/ref0.tsv" "$WORK/out/cal.tsv" || die "the calibration run's output differs"
one_ms=$(( ($(date +%s%N) - t0) / 1000000 + 1 ))
copies=$(( (45000 + one_ms - 1) / one_ms ))
mkdir -p "$WORK/submit/in3"
for c in $(seq 1 "$copies"); do
    cp "$WORK/submit/in/part-0.txt" "$WORK/submit/in3/part-$c.txt"
done
(cd "$WORK/submit" && reference_run "$WORK/ref3.tsv" in3/)
log "job 3: --time=1 --signal=B:USR1@50: Slurm signals the script before the limit" \
    "($copies copies of in/part-0.txt: one took $one_ms ms)"
CK=$WORK/submit/ck3
job=$(submit MPIWC="$MPIWC" OUTPUT="$WORK/out/r3.tsv" LAUNCHER=mpirun CHECKPOINT_DIR="$CK" \
    CHECKPOINT_INTERVAL=0 MPIWC_CHECKPOINT_STEP=4K -- \
    --ntasks=2 --time=1 --signal=B:USR1@50 --output="$WORK/out/job-%j.log" "$SBATCH" in3/)
# Each piece: up to 30 s of work, a checkpoint, 6 s until the requeued job starts.
wait_pieces "$job" $((300 + 3 * copies * one_ms / 1000))
check_pieces 3 "$job" "$WORK/out/job-$job.log" "$WORK/out/r3.tsv" "$CK" "$WORK/ref3.tsv"

log "PASS (ran): sbatch slurm/mpiwc.sbatch with CHECKPOINT_DIR, stopped by SIGUSR1 (by hand and by --signal before the time limit), requeued, resumed; output = plain mpirun"
