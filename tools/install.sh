#!/usr/bin/env bash
# One-command, idempotent installer for lemevit-mm and its OpenMMLab stack.
#
#   bash tools/install.sh [--force]            (what `make install` runs)
#   STACK=openmmlab bash tools/install.sh      (`make install STACK=...`)
#
# STACK picks one of the two OpenMMLab stacks, requirements/<STACK>.txt:
#   onedl      the maintained OneDL forks (default on a fresh Python)
#   openmmlab  the 2023 OpenMMLab release set
# Unset, it is the stack this Python already has, else onedl. Both
# install the same modules (mmcv, mmdet, ...) under different distribution
# names, so one Python holds one stack; for the other, use a virtual
# environment (PYTHON=.venv/bin/python).
#
# Installs into the Python found as $PYTHON (default: python3). Every step
# first checks whether its work is already done, so a second run takes
# seconds. The mmcv wheel (compiled ops) is built once and cached under
# $LEMEVIT_CACHE (default: ~/.cache/lemevit_mm)/wheels/torch-<torch
# version>-<cpXY>/, named after its stack's distribution and version.
# A failure names its step and runs the environment check
# (`python -m lemevit_mm.env`), which names each problem and its fix.
set -euo pipefail

PYTHON=${PYTHON:-python3}
# The interpreter's absolute path: the checks below run from / so that
# they see lemevit_mm as installed, not the checkout in the current
# directory.
if ! PYTHON=$("$PYTHON" -c 'import sys; print(sys.executable)'); then
  echo "install.sh: no working Python at PYTHON=${PYTHON}" >&2
  exit 1
fi
DEFAULT_STACK=onedl
CACHE=${LEMEVIT_CACHE:-$HOME/.cache/lemevit_mm}
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

read_requirements() {
  sed -e 's/#.*//' -e 's/[[:space:]]//g' -e '/^$/d' "$REPO/requirements/$1.txt"
}
# "name==version ..." of the stack's pinned distributions found in $PYTHON.
installed_of() {
  "$PYTHON" - $(read_requirements "$1" | grep '==' | sed 's/==.*//') \
    "${@:2}" <<'PY'
import importlib.metadata as md
import sys
for name in sys.argv[1:]:
    try:
        print(f'{name}=={md.version(name)}', end=' ')
    except md.PackageNotFoundError:
        pass
PY
}
if [ -z "${STACK:-}" ]; then
  STACK=$DEFAULT_STACK
  if [ -n "$(installed_of openmmlab mmcv-lite 2>/dev/null)" ] && \
      [ -z "$(installed_of onedl 2>/dev/null)" ]; then
    STACK=openmmlab
  fi
fi

case "$STACK" in
  openmmlab|onedl) ;;
  *) echo "install.sh: STACK must be 'onedl' or 'openmmlab', got" \
          "'$STACK'" >&2; exit 2 ;;
esac

TORCH_VERSION=2.14.1
TORCHVISION_VERSION=0.29.1
# Build tools for both stacks: onedl-mmcv's license field needs
# setuptools>=80, mmcv 2.0.1's setup.py the pkg_resources that 82 drops.
# Repeated in every pip call because torch's wheel pulls the newest.
BUILD_TOOLS=("setuptools>=80,<82" wheel ninja "packaging>=24.2")
PIP=(pip_quiet install -q "${BUILD_TOOLS[0]}")

# The stack's pins (requirements/$STACK.txt, also setup.py's extras):
# mmengine, mmcv (built here), the four model packages, and unpinned
# runtime dependencies the wheels forget to declare.
mapfile -t STACK_REQS < <(read_requirements "$STACK")
pin_of() { printf '%s\n' "${STACK_REQS[@]}" | grep -E "^(onedl-)?$1==" ; }
MMENGINE_PIN=$(pin_of mmengine)
MMCV_PIN=$(pin_of mmcv)
MMCV_DIST=${MMCV_PIN%%==*}
MMCV_VERSION=${MMCV_PIN##*==}
MODEL_PINS=()
UNDECLARED_DEPS=()
for req in "${STACK_REQS[@]}"; do
  case "$req" in
    "$MMENGINE_PIN"|"$MMCV_PIN") ;;
    *==*) MODEL_PINS+=("$req") ;;
    *) UNDECLARED_DEPS+=("$req") ;;
  esac
done
# Dependencies of lemevit_mm itself (setup.py install_requires) and what
# the `tests` extra of setup.py brings.
EXTRA_DEPS=("${UNDECLARED_DEPS[@]}" rasterio)
# (distribution names; TEST_MODULES: what the step imports to check them)
TEST_DEPS=(pytest onnx onnxscript onnxruntime openvino rio-cogeo pystac
           rio-stac matplotlib scipy)
TEST_MODULES=(pytest onnx onnxscript onnxruntime openvino rio_cogeo pystac
              rio_stac matplotlib scipy)
ALL_PINS=("torch==${TORCH_VERSION}" "torchvision==${TORCHVISION_VERSION}"
          "$MMENGINE_PIN" "$MMCV_PIN" "${MODEL_PINS[@]}")

CURRENT_STEP=""
on_error() {
  echo "install.sh: FAILED at step: ${CURRENT_STEP} (STACK=${STACK})" >&2
  echo "install.sh: the environment check says (python -m lemevit_mm.env):" >&2
  "$PYTHON" "$REPO/lemevit_mm/env.py" >&2 || true
}
trap on_error ERR
done_steps=()

step() { CURRENT_STEP=$1; }
say() { echo "[install] $*"; }
# pip, minus the warnings about this machine's absent local index mirrors.
pip_quiet() {
  "$PYTHON" -m pip --disable-pip-version-check "$@" \
    2> >(grep -v -e "is ignored: it is neither" -e "as the 'root' user" >&2)
}
# Runs a Python snippet quietly; true when it exits 0.
py_ok() { (cd / && "$PYTHON" - "$@") >/dev/null 2>&1; }

# Checks everything the steps below provide, then imports what the
# self-check needs; prints the summary line. Used first as the fast path.
self_check() {
  (cd / && PINS="${ALL_PINS[*]}" DEPS="${EXTRA_DEPS[*]} ${TEST_DEPS[*]}" \
    "$PYTHON" - "$REPO" "$STACK" "$@") <<'PY'
import importlib.metadata as md
import os
import sys

repo, stack, status = sys.argv[1], sys.argv[2], ' '.join(sys.argv[3:])
for pin in os.environ['PINS'].split():
    name, version = pin.split('==')
    found = md.version(name).split('+')[0]
    assert found == version, f'{name} {found} installed, {version} needed'
for name in os.environ['DEPS'].split():
    md.version(name)
import site  # noqa: E402
assert any(os.path.isfile(os.path.join(d, 'lemevit_mm_startup.pth'))
           for d in site.getsitepackages() + [site.getusersitepackages()]), \
    'the start-up hook lemevit_mm_startup.pth is not installed'
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
print(f'[install] OK ({stack} stack): torch {torch.__version__}, mmcv '
      f'{mmcv.__version__} (ops), mmdet, mmrotate, mmseg, mmpretrain, '
      f'lemevit_mm {lemevit_mm.__version__} (editable); {status}')
PY
}

if [ "${1:-}" != "--force" ] && \
    self_check "everything was already installed" 2>/dev/null; then
  exit 0
fi

step "one stack per Python (STACK=${STACK})"
if [ "$STACK" = openmmlab ]; then
  other=onedl; found=$(installed_of onedl)
else
  other=openmmlab; found=$(installed_of openmmlab mmcv-lite mmengine-lite)
fi
if [ -n "$found" ]; then
  echo "install.sh: $PYTHON has the ${other} stack (${found% }); the" \
       "${STACK} stack installs the same modules, so it needs its own" \
       "environment: python3 -m venv .venv-${STACK} &&" \
       "PYTHON=.venv-${STACK}/bin/python make install STACK=${STACK}" >&2
  exit 1
fi

step "build tools (${BUILD_TOOLS[*]})"
if ! py_ok <<'PY'
import setuptools, wheel, ninja, packaging
assert 80 <= int(setuptools.__version__.split('.')[0]) < 82
assert tuple(map(int, packaging.__version__.split('.')[:2])) >= (24, 2)
PY
then
  say "$CURRENT_STEP"
  "${PIP[@]}" "${BUILD_TOOLS[@]}"
  done_steps+=("build-tools")
fi

step "torch ${TORCH_VERSION} + torchvision ${TORCHVISION_VERSION}"
if ! py_ok "$TORCH_VERSION" "$TORCHVISION_VERSION" <<'PY'
import sys, torch, torchvision
assert torch.__version__.split('+')[0] == sys.argv[1]
assert torchvision.__version__.split('+')[0] == sys.argv[2]
PY
then
  say "$CURRENT_STEP (large)"
  "${PIP[@]}" "torch==${TORCH_VERSION}" "torchvision==${TORCHVISION_VERSION}"
  done_steps+=("torch")
fi

step "$MMENGINE_PIN"
if ! py_ok "$MMENGINE_PIN" <<'PY'
import importlib.metadata as md, sys
name, version = sys.argv[1].split('==')
assert md.version(name) == version
import mmengine  # noqa: F401
PY
then
  say "$CURRENT_STEP"
  "${PIP[@]}" "$MMENGINE_PIN"
  done_steps+=("mmengine")
fi

step "$MMCV_PIN with compiled ops"
if ! py_ok "$MMCV_PIN" <<'PY'
import importlib.metadata as md, sys
name, version = sys.argv[1].split('==')
assert md.version(name) == version
from mmcv.ops import nms_rotated  # noqa: F401 (needs the compiled ext)
PY
then
  torch_tag=$("$PYTHON" -c "import torch; print(torch.__version__)" \
              | tr '+' '_')
  py_tag=$("$PYTHON" -c "import sys; print('cp%d%d' % sys.version_info[:2])")
  wheel_dir="$CACHE/wheels/torch-${torch_tag}-${py_tag}"
  wheel_name="${MMCV_DIST//-/_}-${MMCV_VERSION}-${py_tag}-*.whl"
  wheel=$(ls "$wheel_dir"/$wheel_name 2>/dev/null | head -n1 || true)
  if [ -z "$wheel" ]; then
    say "$CURRENT_STEP: building the wheel once (about 15 min on 2 cores)"
    build_dir=$(mktemp -d)
    pip_quiet download -q --no-deps --no-binary :all: \
      --no-build-isolation "$MMCV_PIN" -d "$build_dir"
    tar -xzf "$build_dir"/*.tar.gz -C "$build_dir"
    src=$(ls -d "$build_dir"/*mmcv-"${MMCV_VERSION}")
    # torch 2.14's headers need C++20; mmcv 2.0.1 asks for C++14,
    # onedl-mmcv for C++17.
    sed -i -e 's/-std=c++14/-std=c++20/g' -e 's/-std=c++17/-std=c++20/g' \
      "$src/setup.py"
    mkdir -p "$wheel_dir"
    # --no-build-isolation: setup.py builds the ops only where it can
    # import torch (onedl-mmcv always then; mmcv 2.0.1 with MMCV_WITH_OPS).
    (cd "$src" && MMCV_WITH_OPS=1 FORCE_CUDA=0 \
       MAX_JOBS=${MAX_JOBS:-$(nproc)} \
       pip_quiet wheel -q --no-build-isolation --no-deps . -w "$wheel_dir")
    rm -rf "$build_dir"
    wheel=$(ls "$wheel_dir"/$wheel_name | head -n1)
  fi
  say "$CURRENT_STEP: installing $(basename "$wheel")"
  "${PIP[@]}" --no-deps --force-reinstall "$wheel"
  done_steps+=("mmcv")
fi

step "OpenMMLab packages (${MODEL_PINS[*]})"
if ! PINS="${MODEL_PINS[*]}" DEPS="${EXTRA_DEPS[*]}" py_ok <<'PY'
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
# mmrotate 1.0.0rc1 imports Sequence from `collections`, removed in 3.10
# (onedl-mmrotate is fixed).
rotate_file=$("$PYTHON" -c "import importlib.util, os; \
s = importlib.util.find_spec('mmrotate'); \
print(os.path.join(os.path.dirname(s.origin), 'models', 'detectors', \
'refine_single_stage.py'))")
if grep -q '^from collections import Sequence' "$rotate_file" 2>/dev/null
then
  sed -i '/^from collections import Sequence/s/collections/collections.abc/' \
    "$rotate_file"
  done_steps+=("mmrotate-fix")
fi

step "lemevit_mm (editable) and test tools"
if ! py_ok "$REPO" "${TEST_MODULES[@]}" <<'PY'
import importlib, os, sys
import lemevit_mm
for name in sys.argv[2:]:
    importlib.import_module(name)
here = os.path.dirname(os.path.dirname(os.path.abspath(lemevit_mm.__file__)))
assert os.path.samefile(here, sys.argv[1])
# the start-up hook (config scopes) of this version of setup.py
import site
assert any(os.path.isfile(os.path.join(d, 'lemevit_mm_startup.pth'))
           for d in site.getsitepackages() + [site.getusersitepackages()])
PY
then
  say "$CURRENT_STEP"
  # The stack is installed above (extra `$STACK` of setup.py names it).
  (cd "$REPO" && "${PIP[@]}" --no-build-isolation -e ".[tests]")
  done_steps+=("lemevit_mm")
fi

step "self-check"
if [ ${#done_steps[@]} -eq 0 ]; then
  self_check "nothing needed installing"
else
  self_check "installed now: ${done_steps[*]}"
fi
