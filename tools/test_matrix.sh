#!/usr/bin/env bash
# The test suite on each OpenMMLab stack, each in its own virtual
# environment, and one table of the results.
#
#   bash tools/test_matrix.sh [STACK:PYTHON ...]
#   bash tools/test_matrix.sh            # onedl:3.11 onedl:3.12 openmmlab:3.11
#   bash tools/test_matrix.sh onedl:3.12 # one entry
#
# STACK is onedl or openmmlab (requirements/<STACK>.txt), PYTHON a version
# (an interpreter pythonX.Y on PATH or in pyenv) or a path. The virtual
# environments live under $LEMEVIT_CACHE (default ~/.cache/lemevit_mm)/
# venvs/<stack>-cpXY and are filled by tools/install.sh, whose fast path
# and cached mmcv wheels make a second run cost only the test suites.
# PYTEST_ARGS (default "tests") is passed to pytest; the logs go to
# $LEMEVIT_CACHE/matrix/. Prints a Markdown table (the README's); exits 1
# when an entry failed to install or has failing tests.
set -uo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${LEMEVIT_CACHE:-$HOME/.cache/lemevit_mm}
LOGS="$CACHE/matrix"
ENTRIES=("$@")
[ ${#ENTRIES[@]} -eq 0 ] && ENTRIES=(onedl:3.11 onedl:3.12 openmmlab:3.11)
read -r -a PYTEST_ARGV <<< "${PYTEST_ARGS:-tests}"
mkdir -p "$LOGS"

# The interpreter of a version ("3.12") or a path.
find_python() {
  if [[ "$1" == */* ]]; then echo "$1"; return; fi
  if command -v "python$1" >/dev/null 2>&1 && \
      "python$1" -c '' >/dev/null 2>&1; then
    command -v "python$1"; return
  fi
  if command -v pyenv >/dev/null 2>&1; then
    ls -d "$(pyenv root)"/versions/"$1".*/bin/python 2>/dev/null \
      | sort -V | tail -n1
  fi
}

# The number before "$1" in the pytest summary line $closing, or 0.
count() { echo "$closing" | grep -oE "[0-9]+ $1" | grep -oE '[0-9]+' \
          || echo 0; }

rows=()
status=0
for entry in "${ENTRIES[@]}"; do
  stack=${entry%%:*}
  version=${entry#*:}
  python=$(find_python "$version")
  if [ -z "$python" ] || ! "$python" -c '' 2>/dev/null; then
    echo "test_matrix: no Python $version found for $entry" >&2
    rows+=("| $stack | $version | no interpreter |")
    status=1
    continue
  fi
  tag=$("$python" -c "import sys; print('cp%d%d' % sys.version_info[:2])")
  venv="$CACHE/venvs/$stack-$tag"
  log="$LOGS/$stack-$tag"
  [ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
  echo "test_matrix: $stack on $("$venv/bin/python" -V) in $venv"
  start=$SECONDS
  if ! PYTHON="$venv/bin/python" STACK=$stack bash "$REPO/tools/install.sh" \
      > "$log.install.log" 2>&1; then
    tail -n 30 "$log.install.log" >&2
    rows+=("| $stack | $version | install failed: $log.install.log |")
    status=1
    continue
  fi
  install_s=$((SECONDS - start))
  versions=$("$venv/bin/python" - <<'PY'
import importlib.metadata as md
import platform
import torch
names = {'mmcv': ('mmcv', 'onedl-mmcv'),
         'mmdet': ('mmdet', 'onedl-mmdetection'),
         'mmrotate': ('mmrotate', 'onedl-mmrotate'),
         'mmseg': ('mmsegmentation', 'onedl-mmsegmentation'),
         'mmpretrain': ('mmpretrain', 'onedl-mmpretrain'),
         'mmengine': ('mmengine', 'onedl-mmengine')}
found = []
for module in ('mmengine', 'mmcv', 'mmdet', 'mmrotate', 'mmseg',
               'mmpretrain'):
    for dist in names[module]:
        try:
            found.append(md.version(dist))
            break
        except md.PackageNotFoundError:
            pass
    else:
        found.append('-')
print(' | '.join([platform.python_version(),
                  torch.__version__.split('+')[0], *found]))
PY
)
  start=$SECONDS
  (cd "$REPO" && "$venv/bin/python" -m pytest "${PYTEST_ARGV[@]}" -q \
     -p no:cacheprovider) > "$log.pytest.log" 2>&1
  rc=$?
  test_s=$((SECONDS - start))
  closing=$(grep -E '^=* ?[0-9]+ (passed|failed|error)|no tests ran' \
            "$log.pytest.log" | tail -n1)
  failed=$(( $(count failed) + $(count error) ))
  echo "test_matrix: $stack $tag: ${closing:-no pytest summary} (rc $rc)"
  [ "$rc" -ne 0 ] && status=1
  times="$((install_s / 60))m$((install_s % 60))s"
  times+=" | $((test_s / 60))m$((test_s % 60))s"
  rows+=("| $stack | $versions | $(count passed) | $failed |\
 $(count skipped) | $(count warning) | $times |")
done

echo
echo "| stack | python | torch | mmengine | mmcv | mmdet | mmrotate" \
     "| mmseg | mmpretrain | passed | failed | skipped | warnings" \
     "| install | tests |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
exit $status
