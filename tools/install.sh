#!/usr/bin/env bash
# One-command, idempotent installer for lemevit-mm and its OpenMMLab stack.
#
#   bash tools/install.sh          (what `make install` runs)
#
# Installs into the Python found as $PYTHON (default: python3). Every step
# first checks whether its work is already done, so a second run takes
# seconds. The mmcv wheel (compiled ops) is built once and cached under
# $LEMEVIT_CACHE (default: ~/.cache/lemevit_mm), keyed by the torch version.
set -euo pipefail

PYTHON=${PYTHON:-python3}
CACHE=${LEMEVIT_CACHE:-$HOME/.cache/lemevit_mm}
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# setuptools<82 still ships pkg_resources, which mmcv's setup.py imports;
# it is repeated in every call because torch's wheel pulls the newest.
PIP=(pip_quiet install -q "setuptools<82")

TORCH_VERSION=2.14.1
TORCHVISION_VERSION=0.29.1
MMENGINE_VERSION=0.11.0rc3
MMCV_VERSION=2.0.1
# The only release set whose version asserts all agree with each other.
OPENMMLAB_PINS=(mmdet==3.1.0 mmrotate==1.0.0rc1 mmsegmentation==1.2.2
                mmpretrain==1.2.0)
# Runtime dependencies the OpenMMLab wheels forget to declare, and
# rasterio (GDAL bundled) for reading and writing rasters.
EXTRA_DEPS=(ftfy regex e2cnn einops rasterio)
# What the `tests` extra of setup.py brings.
TEST_DEPS=(pytest onnx onnxruntime)
ALL_PINS=("torch==${TORCH_VERSION}" "torchvision==${TORCHVISION_VERSION}"
          "mmengine==${MMENGINE_VERSION}" "mmcv==${MMCV_VERSION}"
          "${OPENMMLAB_PINS[@]}")

CURRENT_STEP=""
trap 'echo "install.sh: FAILED at step: ${CURRENT_STEP}" >&2' ERR
done_steps=()

step() { CURRENT_STEP=$1; }
say() { echo "[install] $*"; }
# pip, minus the warnings about this machine's absent local index mirrors.
pip_quiet() {
  "$PYTHON" -m pip --disable-pip-version-check "$@" \
    2> >(grep -v -e "is ignored: it is neither" -e "as the 'root' user" >&2)
}
# Runs a Python snippet quietly; true when it exits 0.
py_ok() { "$PYTHON" - "$@" >/dev/null 2>&1; }

# Checks everything the steps below provide, then imports what the
# self-check needs; prints the summary line. Used first as the fast path.
self_check() {
  PINS="${ALL_PINS[*]}" DEPS="${EXTRA_DEPS[*]} ${TEST_DEPS[*]}" \
    "$PYTHON" - "$REPO" "$@" <<'PY'
import importlib.metadata as md
import os
import sys

repo, status = sys.argv[1], ' '.join(sys.argv[2:])
for pin in os.environ['PINS'].split():
    name, version = pin.split('==')
    found = md.version(name).split('+')[0]
    assert found == version, f'{name} {found} installed, {version} needed'
for name in os.environ['DEPS'].split():
    md.version(name)
import mmcv.ops  # noqa: E402
from mmcv.ops import RoIAlignRotated, box_iou_rotated, nms_rotated  # noqa
import mmdet.models  # noqa: E402,F401
import mmpretrain.models  # noqa: E402,F401
import mmrotate.models  # noqa: E402,F401
import mmseg.models  # noqa: E402,F401
import torch  # noqa: E402

import lemevit_mm  # noqa: E402
here = os.path.dirname(os.path.dirname(os.path.abspath(lemevit_mm.__file__)))
assert os.path.samefile(here, repo), f'lemevit_mm is installed from {here}'
print(f'[install] OK: torch {torch.__version__}, mmcv {mmcv.__version__} '
      f'(ops), mmdet, mmrotate, mmseg, mmpretrain, lemevit_mm '
      f'{lemevit_mm.__version__} (editable); {status}')
PY
}

if [ "${1:-}" != "--force" ] && \
    self_check "everything was already installed" 2>/dev/null; then
  exit 0
fi

step "build tools (setuptools<82, wheel, ninja)"
if ! py_ok <<'PY'
import setuptools, wheel, ninja
assert int(setuptools.__version__.split('.')[0]) < 82
PY
then
  say "$CURRENT_STEP"
  "${PIP[@]}" "setuptools<82" wheel ninja
  done_steps+=("build-tools")
fi

step "torch ${TORCH_VERSION} + torchvision ${TORCHVISION_VERSION}"
if ! py_ok "$TORCH_VERSION" "$TORCHVISION_VERSION" <<'PY'
import sys, torch, torchvision
assert torch.__version__.split('+')[0] == sys.argv[1]
assert torchvision.__version__.split('+')[0] == sys.argv[2]
PY
then
  say "$CURRENT_STEP (large, from the local wheel store)"
  "${PIP[@]}" "torch==${TORCH_VERSION}" "torchvision==${TORCHVISION_VERSION}"
  done_steps+=("torch")
fi

step "mmengine ${MMENGINE_VERSION}"
if ! py_ok "$MMENGINE_VERSION" <<'PY'
import sys, mmengine
assert mmengine.__version__ == sys.argv[1]
PY
then
  say "$CURRENT_STEP"
  "${PIP[@]}" "mmengine==${MMENGINE_VERSION}"
  done_steps+=("mmengine")
fi

step "mmcv ${MMCV_VERSION} with compiled ops"
if ! py_ok "$MMCV_VERSION" <<'PY'
import sys, mmcv
assert mmcv.__version__ == sys.argv[1]
from mmcv.ops import nms_rotated  # noqa: F401 (needs the compiled ext)
PY
then
  torch_tag=$("$PYTHON" -c "import torch; print(torch.__version__)" \
              | tr '+' '_')
  py_tag=$("$PYTHON" -c "import sys; print('cp%d%d' % sys.version_info[:2])")
  wheel_dir="$CACHE/wheels/torch-${torch_tag}-${py_tag}"
  wheel=$(ls "$wheel_dir"/mmcv-"${MMCV_VERSION}"-*.whl 2>/dev/null | head -n1 \
          || true)
  if [ -z "$wheel" ]; then
    say "$CURRENT_STEP: building the wheel once (about 12 min on 2 cores)"
    build_dir=$(mktemp -d)
    pip_quiet download -q --no-deps \
      --no-binary mmcv --no-build-isolation "mmcv==${MMCV_VERSION}" \
      -d "$build_dir"
    tar -xzf "$build_dir"/mmcv-"${MMCV_VERSION}".tar.gz -C "$build_dir"
    src="$build_dir/mmcv-${MMCV_VERSION}"
    # torch>=2.1 headers need C++17 and 2.14 needs C++20; mmcv asks C++14.
    sed -i 's/-std=c++14/-std=c++20/g' "$src/setup.py"
    mkdir -p "$wheel_dir"
    (cd "$src" && MMCV_WITH_OPS=1 FORCE_CUDA=0 MAX_JOBS=${MAX_JOBS:-$(nproc)} \
       pip_quiet wheel -q --no-build-isolation --no-deps . \
       -w "$wheel_dir")
    rm -rf "$build_dir"
    wheel=$(ls "$wheel_dir"/mmcv-"${MMCV_VERSION}"-*.whl | head -n1)
  fi
  say "$CURRENT_STEP: installing $(basename "$wheel")"
  "${PIP[@]}" --no-deps --force-reinstall "$wheel"
  done_steps+=("mmcv")
fi

step "OpenMMLab packages (${OPENMMLAB_PINS[*]})"
if ! PINS="${OPENMMLAB_PINS[*]}" DEPS="${EXTRA_DEPS[*]}" py_ok <<'PY'
import importlib.metadata as md
import os
for pin in os.environ['PINS'].split():
    name, version = pin.split('==')
    assert md.version(name) == version, name
for name in os.environ['DEPS'].split():
    md.version(name)
PY
then
  say "$CURRENT_STEP"
  "${PIP[@]}" "${ALL_PINS[@]}" "${EXTRA_DEPS[@]}"
  done_steps+=("openmmlab")
fi

step "mmrotate Python 3.11 fix"
# mmrotate 1.0.0rc1 imports Sequence from `collections`, removed in 3.10.
rotate_file=$("$PYTHON" -c "import importlib.util, os; \
s = importlib.util.find_spec('mmrotate'); \
print(os.path.join(os.path.dirname(s.origin), 'models', 'detectors', \
'refine_single_stage.py'))")
if grep -q '^from collections import Sequence' "$rotate_file"; then
  sed -i 's/^from collections import Sequence/from collections.abc import Sequence/' \
    "$rotate_file"
  done_steps+=("mmrotate-fix")
fi

step "lemevit_mm (editable) and test tools"
if ! py_ok "$REPO" "${TEST_DEPS[@]}" <<'PY'
import importlib, os, sys
import lemevit_mm
for name in sys.argv[2:]:
    importlib.import_module(name)
here = os.path.dirname(os.path.dirname(os.path.abspath(lemevit_mm.__file__)))
assert os.path.samefile(here, sys.argv[1])
PY
then
  say "$CURRENT_STEP"
  (cd "$REPO" && "${PIP[@]}" --no-build-isolation -e ".[tests]")
  done_steps+=("lemevit_mm")
fi

step "self-check"
if [ ${#done_steps[@]} -eq 0 ]; then
  self_check "nothing needed installing"
else
  self_check "installed now: ${done_steps[*]}"
fi
