#!/usr/bin/env bash
# tools/gpu_check.py on a machine with torch but without the OpenMMLab
# packages (the lent GPU machine): installs the wheels that `make
# gpu-wheels` put in .gpu_wheels/ into a private folder, then runs the
# check on this checkout (on PYTHONPATH: the package need not be
# installed). Without a GPU: bash tools/gpu_check.sh report.md --device cpu
#
#   bash tools/gpu_check.sh REPORT.md [gpu_check.py options]
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PYTHON=${PYTHON:-python3}
WHEELS=${LEMEVIT_GPU_WHEELS:-$REPO/.gpu_wheels}
SITE=${LEMEVIT_GPU_SITE:-/tmp/lemevit_gpu_site}
if [ $# -lt 1 ]; then
  echo "usage: bash tools/gpu_check.sh REPORT.md [gpu_check.py options]" >&2
  exit 2
fi
if ! "$PYTHON" -c 'import mmengine, mmcv.cnn' >/dev/null 2>&1; then
  if ! compgen -G "$WHEELS/*.whl" >/dev/null; then
    echo "gpu_check.sh: mmengine/mmcv missing and no wheels in $WHEELS;" \
      "run 'make gpu-wheels' where pip reaches the package index" >&2
    exit 2
  fi
  "$PYTHON" -m pip install -q --no-index --no-deps --no-compile \
    --no-cache-dir --upgrade --target "$SITE" "$WHEELS"/*.whl
  export PYTHONPATH="$SITE${PYTHONPATH:+:$PYTHONPATH}"
fi
# this checkout's lemevit_mm first (an installed copy may be older)
export PYTHONPATH="$REPO${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONUNBUFFERED=1
exec "$PYTHON" "$REPO/tools/gpu_check.py" --out "$1" "${@:2}"
