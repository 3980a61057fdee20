#!/usr/bin/env bash
# Training on a slurm cluster (one task per GPU), as a batch job that survives
# preemption and time limits:
#   [GPUS=16] [GPUS_PER_NODE=8] tools/slurm_train.sh PARTITION JOB_NAME CONFIG WORK_DIR [train.py options]
#
# The job is submitted with sbatch (its output goes to WORK_DIR/slurm-JOBID.out)
# and is requeued by slurm when it is preempted. SIGNAL seconds before the time
# limit slurm signals the job; the training processes finish the iteration,
# save a checkpoint and exit with 75, and the job requeues itself. A requeued
# job (SLURM_RESTART_COUNT > 0) resumes from the newest complete checkpoint of
# WORK_DIR (train.py --resume).
#
# Environment:
#   GPUS (8), GPUS_PER_NODE (8), CPUS_PER_TASK (5)
#   SIGNAL   sbatch --signal value (default B:USR1@180: USR1 to this script 180 s
#            before the limit, which passes it on to the training processes)
#   REQUEUE  1 (default): sbatch --requeue, and requeue after a stop on a signal;
#            0: neither
#   SBATCH_ARGS  more sbatch options (e.g. "--time=48:00:00 --account=X")
#   SRUN_ARGS    more srun options
set -euo pipefail
PARTITION=$1
JOB_NAME=$2
CONFIG=$3
WORK_DIR=$4
GPUS=${GPUS:-8}
GPUS_PER_NODE=${GPUS_PER_NODE:-8}
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
SIGNAL=${SIGNAL:-B:USR1@180}
REQUEUE=${REQUEUE:-1}
SBATCH_ARGS=${SBATCH_ARGS:-""}
SRUN_ARGS=${SRUN_ARGS:-""}
#: The status train.py exits with after saving on SIGTERM / SIGUSR1
#: (mmunirep.engine.training_stop.EXIT_PREEMPTED).
EXIT_PREEMPTED=75

if [ -z "${MMUNIREP_SLURM_BATCH:-}" ]; then
  # submit this script as the batch job; sbatch runs a copy of it, so the
  # tools folder and the interpreter travel in the environment
  # shellcheck source=tools/env_python.sh
  source "$(dirname "${BASH_SOURCE[0]}")/env_python.sh"
  mkdir -p "$WORK_DIR"
  REQUEUE_ARG=--no-requeue
  [ "$REQUEUE" = 1 ] && REQUEUE_ARG=--requeue
  # shellcheck disable=SC2086
  exec sbatch --partition="$PARTITION" --job-name="$JOB_NAME" \
    --gres=gpu:"$GPUS_PER_NODE" --ntasks="$GPUS" \
    --ntasks-per-node="$GPUS_PER_NODE" --cpus-per-task="$CPUS_PER_TASK" \
    --signal="$SIGNAL" "$REQUEUE_ARG" --open-mode=append \
    --output="$WORK_DIR/slurm-%j.out" \
    --export=ALL,MMUNIREP_SLURM_BATCH=1,TOOLS="$TOOLS",PYTHON="$PYTHON" \
    $SBATCH_ARGS "${BASH_SOURCE[0]}" "$@"
fi

# ---- inside the batch job
RESUME=()
if [ "${SLURM_RESTART_COUNT:-0}" -gt 0 ]; then
  RESUME=(--resume)  # last on the line, so it wins over a --resume PATH
  echo "slurm_train.sh: restart ${SLURM_RESTART_COUNT} of job ${SLURM_JOB_ID:-?}, resuming"
fi
# shellcheck disable=SC2086
srun --kill-on-bad-exit=1 $SRUN_ARGS \
  "$PYTHON" -u "$TOOLS/train.py" "$CONFIG" --work-dir="$WORK_DIR" \
  --launcher=slurm "${@:5}" "${RESUME[@]}" &
STEP=$!
# with SIGNAL=B:..., slurm signals this script only: srun passes the signal
# on to every training process
trap 'kill -USR1 "$STEP" 2>/dev/null || true' USR1
trap 'kill -TERM "$STEP" 2>/dev/null || true' TERM
while kill -0 "$STEP" 2>/dev/null; do
  wait "$STEP" || true
done
wait "$STEP" && status=0 || status=$?
if [ "$status" -eq "$EXIT_PREEMPTED" ] && [ "$REQUEUE" = 1 ]; then
  echo "slurm_train.sh: stopped on a signal with a checkpoint; requeueing job ${SLURM_JOB_ID}"
  scontrol requeue "$SLURM_JOB_ID" || true  # slurm may be requeueing it already
fi
exit "$status"
