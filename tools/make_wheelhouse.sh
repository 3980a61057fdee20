#!/usr/bin/env bash
# Collect the wheels mmunirep needs beyond torch, for a machine without
# internet (an air-gapped cluster, a lent GPU box):
#
#   bash tools/make_wheelhouse.sh DIR            # wheels for this Python
#   MMUNIREP_WHEEL_PYTHON=3.12 bash tools/make_wheelhouse.sh DIR
#
# then, on the offline machine (which has torch):
#
#   pip install --no-index --no-deps DIR/*.whl
#
# DIR gets: mmunirep (this checkout), mmcv-lite 2.1.0 (mmcv without its
# compiled ops, pure Python, imported as `mmcv`: the backbone, classification
# and the benchmarks run; mmdet / mmseg need the ops and say so), mmengine,
# mmpretrain and
# the pure-Python packages they import that a torch installation usually
# lacks. Wheels already in DIR are kept.
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: bash tools/make_wheelhouse.sh DIR" >&2; exit 2; }
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DIR=$1
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
source "$ROOT/tools/env_python.sh"
PYVER=${MMUNIREP_WHEEL_PYTHON:-$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')}
PIP=("$PYTHON" -m pip --disable-pip-version-check)
CONSTRAINTS=$ROOT/requirements/constraints.txt
#: pure-Python packages of mmengine / mmcv / mmpretrain that a machine with
#: torch, numpy, Pillow, PyYAML, matplotlib, rich and OpenCV may lack
PURE=(mmcv-lite==2.1.0 mmengine mmpretrain addict yapf platformdirs termcolor
      modelindex model-index ordered-set mat4py einops importlib-metadata zipp)
say() { printf '[wheelhouse] %s\n' "$*"; }

say "mmunirep from $ROOT"
"${PIP[@]}" wheel -q --no-deps --no-build-isolation -w "$DIR" "$ROOT"

say "pure-Python dependencies for Python $PYVER: ${PURE[*]}"
"${PIP[@]}" download -q --no-deps --only-binary=:all: --python-version "$PYVER" \
  --implementation py --abi none --platform any -c "$CONSTRAINTS" \
  -d "$DIR" "${PURE[@]}"

say "$(ls "$DIR"/*.whl | wc -l) wheels in $DIR; install offline with:"
say "  pip install --no-index --no-deps $DIR/*.whl"
