#!/usr/bin/env bash
# Distributed training with torchrun, on one machine or several.
#   NNODES=2 NODE_RANK=0 MASTER_ADDR=10.0.0.1 PORT=29500 \
#     bash tools/dist_train.sh CONFIG GPUS_PER_NODE [train.py args]
# Without CUDA, each process trains on the CPU (gloo backend). PYTHON picks
# the interpreter (default: python). The launch: tools/dist_launch.sh.
set -euo pipefail
if [ $# -lt 2 ]; then
    echo "usage: $0 CONFIG GPUS_PER_NODE [train.py args]" >&2
    exit 2
fi
exec bash "$(dirname "$0")/dist_launch.sh" train.py "$2" "$1" \
    --launcher pytorch "${@:3}"
