#!/usr/bin/env bash
# Distributed evaluation with torchrun, on one machine or several.
#   NNODES=1 NODE_RANK=0 MASTER_ADDR=127.0.0.1 PORT=29500 \
#     bash tools/dist_test.sh CONFIG CHECKPOINT GPUS_PER_NODE [test.py args]
# Without CUDA, each process evaluates on the CPU (gloo backend). PYTHON
# picks the interpreter (default: python). The launch: tools/dist_launch.sh.
set -euo pipefail
if [ $# -lt 3 ]; then
    echo "usage: $0 CONFIG CHECKPOINT GPUS_PER_NODE [test.py args]" >&2
    exit 2
fi
exec bash "$(dirname "$0")/dist_launch.sh" test.py "$3" "$1" "$2" \
    --launcher pytorch "${@:4}"
