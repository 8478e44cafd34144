#!/usr/bin/env bash
# Archive inference with torchrun, on one machine or several: the scenes
# of INPUTS (a folder, a glob, a list file or a CSV) are shared among all
# processes, balanced by pixel count.
#   bash tools/dist_infer.sh CONFIG CHECKPOINT GPUS_PER_NODE INPUTS \
#       -o OUT_DIR [infer.py options, e.g. --resume --cog --stac --mosaic]
#   NNODES=2 NODE_RANK=0 MASTER_ADDR=10.0.0.1 PORT=29500 \
#       bash tools/dist_infer.sh ...
# Without CUDA, each process runs on the CPU (gloo backend; --threads N
# sets its torch threads). PYTHON picks the interpreter (default: python).
# The launch: tools/dist_launch.sh.
set -euo pipefail
if [ $# -lt 4 ]; then
    echo "usage: $0 CONFIG CHECKPOINT GPUS_PER_NODE INPUTS -o OUT_DIR" \
        "[infer.py options]" >&2
    exit 2
fi
exec bash "$(dirname "$0")/dist_launch.sh" infer.py "$3" "$1" "$2" "$4" \
    "${@:5}" --launcher pytorch
