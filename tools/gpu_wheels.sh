#!/usr/bin/env bash
# Download the pure-Python wheels that tools/gpu_check.py needs on a GPU
# machine without network (torch, numpy, matplotlib, pyyaml, rich, Pillow
# and opencv already there): mmengine and mmcv-lite (mmcv without compiled
# ops) at this project's versions, and their small dependencies. They go
# to $LEMEVIT_GPU_WHEELS (default .gpu_wheels/, ignored by git), built for
# Python $GPU_PYTHON (default 3.12); tools/gpu_check.sh installs them
# there with `pip install --no-index`.
#
#   make gpu-wheels      (or: bash tools/gpu_wheels.sh)
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PYTHON=${PYTHON:-python3}
DEST=${LEMEVIT_GPU_WHEELS:-$REPO/.gpu_wheels}
GPU_PYTHON=${GPU_PYTHON:-3.12}
# The versions install.sh pins (mmcv-lite is mmcv's ops-free build).
pin() { sed -n "s/^$1=//p" "$REPO/tools/install.sh" | head -n 1; }
MMENGINE=${MMENGINE_VERSION:-$(pin MMENGINE_VERSION)}
MMCV=${MMCV_VERSION:-$(pin MMCV_VERSION)}
MMENGINE=${MMENGINE:-0.11.0rc3}
MMCV=${MMCV:-2.0.1}
# What mmengine and mmcv import at run time beyond the GPU machine's own
# packages (yapf needs platformdirs).
WHEELS=("mmengine==$MMENGINE" "mmcv-lite==$MMCV" addict termcolor yapf
        platformdirs)

mkdir -p "$DEST"
rm -f "$DEST"/*.whl
"$PYTHON" -m pip --disable-pip-version-check download --quiet --no-deps \
  --only-binary=:all: --python-version "$GPU_PYTHON" --implementation cp \
  --platform any --platform manylinux2014_x86_64 -d "$DEST" "${WHEELS[@]}" \
  2> >(grep -v -e "is ignored: it is neither" -e "as the 'root' user" >&2)
echo "[gpu-wheels] $(ls "$DEST" | wc -l) wheels in $DEST:" \
  "$(cd "$DEST" && ls | tr '\n' ' ')"
