#!/usr/bin/env bash
# Archive inference on a SLURM cluster, one task per GPU:
#   GPUS=16 GPUS_PER_NODE=8 bash tools/slurm_infer.sh PARTITION JOB_NAME \
#       CONFIG CHECKPOINT INPUTS -o OUT_DIR [infer.py options]
# srun starts the tasks; each finds its rank from SLURM's variables
# (--launcher slurm). SRUN_ARGS adds srun options, PYTHON picks the
# interpreter (default: python).
set -euo pipefail
if [ $# -lt 5 ]; then
    echo "usage: $0 PARTITION JOB_NAME CONFIG CHECKPOINT INPUTS -o OUT_DIR" \
        "[infer.py options]" >&2
    exit 2
fi
PARTITION=$1
JOB_NAME=$2
GPUS=${GPUS:-8}
GPUS_PER_NODE=${GPUS_PER_NODE:-8}
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
SRUN_ARGS=${SRUN_ARGS:-}
ROOT=$(cd "$(dirname "$0")/.." && pwd)

# shellcheck disable=SC2086
PYTHONPATH="$ROOT:${PYTHONPATH:-}" \
exec srun -p "$PARTITION" --job-name="$JOB_NAME" \
    --gres=gpu:"$GPUS_PER_NODE" --ntasks="$GPUS" \
    --ntasks-per-node="$GPUS_PER_NODE" --cpus-per-task="$CPUS_PER_TASK" \
    --kill-on-bad-exit=1 $SRUN_ARGS \
    "${PYTHON:-python}" -u "$ROOT/tools/infer.py" "${@:3}" \
    --launcher slurm --device cuda
