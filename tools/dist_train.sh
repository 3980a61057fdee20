#!/usr/bin/env bash
# Distributed training with torchrun:
#   tools/dist_train.sh CONFIG GPUS [train.py options]
# Multi-node: set NNODES, NODE_RANK, MASTER_ADDR and PORT on every node, e.g.
#   NNODES=2 NODE_RANK=0 MASTER_ADDR=10.1.1.1 tools/dist_train.sh CONFIG 8
# Without CUDA, GPUS processes run on the CPU (gloo backend).
#
# SIGTERM and SIGUSR1 sent to this script go to the training processes, which
# finish the iteration, save a checkpoint and exit; the script then exits with
# the status the run stopped with (75 preempted, 65 diverged, 74 disk full;
# docs/troubleshooting.md, "Long runs"), where torchrun alone would give 1.
set -euo pipefail
CONFIG=$1
GPUS=$2
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}
# shellcheck source=tools/env_python.sh
source "$(dirname "${BASH_SOURCE[0]}")/env_python.sh"

MMUNIREP_EXIT_STATUS_FILE=$(mktemp)
export MMUNIREP_EXIT_STATUS_FILE
trap 'rm -f "$MMUNIREP_EXIT_STATUS_FILE"' EXIT

"$PYTHON" -m torch.distributed.run \
  --nnodes="$NNODES" --node_rank="$NODE_RANK" --master_addr="$MASTER_ADDR" \
  --nproc_per_node="$GPUS" --master_port="$PORT" \
  "$TOOLS/train.py" "$CONFIG" --launcher pytorch "${@:3}" &
LAUNCHER=$!

# The workers, not torchrun, get the signal: torchrun would kill them after
# 30 s (SIGTERM) or die itself (SIGUSR1).
forward() {
  pkill "-$1" -P "$LAUNCHER" || true
}
trap 'forward TERM' TERM
trap 'forward USR1' USR1
trap ':' INT  # Ctrl-C reaches torchrun and the workers directly; wait for them

# a trapped signal interrupts `wait` while torchrun runs on
while kill -0 "$LAUNCHER" 2>/dev/null; do
  wait "$LAUNCHER" || true
done
wait "$LAUNCHER" && status=0 || status=$?
if [ "$status" -ne 0 ] && [ -s "$MMUNIREP_EXIT_STATUS_FILE" ]; then
  status=$(cat "$MMUNIREP_EXIT_STATUS_FILE")
fi
exit "$status"
