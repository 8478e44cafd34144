#!/usr/bin/env bash
# The torchrun launch that dist_train.sh, dist_test.sh and dist_infer.sh
# share, on one machine or several:
#   NNODES=2 NODE_RANK=0 MASTER_ADDR=10.0.0.1 PORT=29500 \
#     bash tools/dist_launch.sh SCRIPT PROCS_PER_NODE [SCRIPT args]
# SCRIPT is a file of tools/ (train.py, test.py, infer.py); its arguments
# include `--launcher pytorch`. Without CUDA, each process runs on the CPU
# (gloo backend). PYTHON picks the interpreter (default: python).
set -euo pipefail
if [ $# -lt 2 ]; then
    echo "usage: $0 SCRIPT PROCS_PER_NODE [SCRIPT args]" >&2
    exit 2
fi
SCRIPT=$1
GPUS=$2
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-127.0.0.1}
ROOT=$(cd "$(dirname "$0")/.." && pwd)

PYTHONPATH="$ROOT:${PYTHONPATH:-}" \
exec "${PYTHON:-python}" -m torch.distributed.run \
    --nnodes="$NNODES" --node_rank="$NODE_RANK" \
    --master_addr="$MASTER_ADDR" --master_port="$PORT" \
    --nproc_per_node="$GPUS" \
    "$ROOT/tools/$SCRIPT" "${@:3}"
