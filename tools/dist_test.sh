#!/usr/bin/env bash
# Distributed evaluation with torchrun, on one machine or several.
#   NNODES=1 NODE_RANK=0 MASTER_ADDR=127.0.0.1 PORT=29500 \
#     bash tools/dist_test.sh CONFIG CHECKPOINT GPUS_PER_NODE [test.py args]
# Without CUDA, each process evaluates on the CPU (gloo backend). PYTHON
# picks the interpreter (default: python).
set -euo pipefail
CONFIG=$1
CHECKPOINT=$2
GPUS=$3
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-127.0.0.1}
ROOT=$(cd "$(dirname "$0")/.." && pwd)

PYTHONPATH="$ROOT:${PYTHONPATH:-}" \
"${PYTHON:-python}" -m torch.distributed.run \
    --nnodes="$NNODES" --node_rank="$NODE_RANK" \
    --master_addr="$MASTER_ADDR" --master_port="$PORT" \
    --nproc_per_node="$GPUS" \
    "$ROOT/tools/test.py" "$CONFIG" "$CHECKPOINT" --launcher pytorch \
    "${@:4}"
