#!/usr/bin/env bash
# Set up (or check) the mmunirep environment in <repo>/.venv.
#
#   bash tools/setup_env.sh          # idempotent; a second run takes seconds
#
# What it does, each step skipped when already satisfied:
#   1. create .venv with Python 3.11 (or $MMUNIREP_PYTHON);
#   2. install torch + torchvision (2.14.1 / 0.29.1) unless a working pair is there;
#   3. build mmcv 2.1.0 with its C++ ops from the source archive (C++20 when the torch
#      headers need it; CUDA ops when nvcc and a GPU are present), keep the wheel in a
#      cache keyed by mmcv, torch, CUDA/CPU and Python, and install from that cache;
#   4. install mmunirep itself, editable, with its extras `mim` (mmengine, mmdet,
#      mmsegmentation, mmpretrain; pinned in requirements/constraints.txt; the mmcv of
#      step 3 satisfies its mmcv range, so nothing rebuilds it), `tests` and `deploy`.
#
# Environment knobs:
#   MMUNIREP_VENV        venv path (default <repo>/.venv)
#   MMUNIREP_PYTHON      interpreter used to create the venv (default python3.11)
#   MMUNIREP_CACHE       wheel cache (default ${XDG_CACHE_HOME:-~/.cache}/mmunirep)
#   MMUNIREP_TORCH       torch pip spec (default torch==2.14.1)
#   MMUNIREP_TORCHVISION torchvision pip spec (default torchvision==0.29.1)
#   MAX_JOBS             parallel compile jobs for mmcv (default: number of cores)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=${MMUNIREP_VENV:-$ROOT/.venv}
CACHE=${MMUNIREP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mmunirep}
TORCH_SPEC=${MMUNIREP_TORCH:-torch==2.14.1}
TORCHVISION_SPEC=${MMUNIREP_TORCHVISION:-torchvision==0.29.1}
MMCV_VERSION=2.1.0
CONSTRAINTS=$ROOT/requirements/constraints.txt
STAMP=$VENV/.mmunirep-setup.stamp
START=$SECONDS

say() { printf '[setup] %s\n' "$*"; }
die() { printf '[setup] ERROR: %s\n' "$*" >&2; exit 1; }
# Run a pip command, hiding pip's per-package warnings about unusable index locations
# (machine-wide pip configs with file:// indexes print one per package).
pip_filtered() { "$@" 2> >(grep -v "is ignored: it is neither a file nor a directory" >&2); }

# ---------------------------------------------------------------- 1. the venv
if [ ! -x "$VENV/bin/python" ]; then
  PY=${MMUNIREP_PYTHON:-}
  if [ -z "$PY" ]; then
    for cand in python3.11 python3; do
      command -v "$cand" >/dev/null 2>&1 && { PY=$cand; break; }
    done
  fi
  [ -n "$PY" ] || die "no python3 found; install Python 3.11 or set MMUNIREP_PYTHON"
  say "creating $VENV with $($PY --version 2>&1)"
  "$PY" -m venv "$VENV"
fi
PY=$VENV/bin/python
PIP=(pip_filtered "$PY" -m pip --disable-pip-version-check)
"$PY" -c 'import sys; sys.exit(sys.version_info[:2] < (3, 8))' \
  || die "$($PY --version) is too old; mmunirep needs Python >= 3.8 (3.11 is tested)"

# The stamp records the inputs of the last successful set-up; equal inputs and a
# working import mean there is nothing to do.
inputs_hash() {
  cat "$ROOT/tools/setup_env.sh" "$ROOT/setup.py" "$CONSTRAINTS" \
      "$ROOT"/requirements/*.txt 2>/dev/null | sha256sum | cut -c1-16
}
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$(inputs_hash)" ] \
   && "$PY" -c 'import mmunirep, mmdet, mmseg, mmpretrain' >/dev/null 2>&1; then
  say "environment is up to date ($VENV); nothing to do ($((SECONDS - START)) s)"
  exit 0
fi
rm -f "$STAMP"

"${PIP[@]}" install -q -c "$CONSTRAINTS" "setuptools>=77,<81" wheel

# ---------------------------------------------------------------- 2. torch
torch_ok() {
  "$PY" - <<'EOF' >/dev/null 2>&1
import torch, torchvision
from torchvision.ops import nms
nms(torch.tensor([[0., 0., 1., 1.]]), torch.tensor([1.]), 0.5)
EOF
}
if torch_ok; then
  say "torch $("$PY" -c 'import torch; print(torch.__version__)') with a working torchvision is present; keeping it"
else
  say "installing $TORCH_SPEC $TORCHVISION_SPEC (about a minute from a local wheel store, longer from the internet)"
  "${PIP[@]}" install -q "$TORCH_SPEC" "$TORCHVISION_SPEC"
  torch_ok || die "torch/torchvision installed but torchvision.ops.nms fails; set MMUNIREP_TORCH and MMUNIREP_TORCHVISION to a matching pair"
fi

# ---------------------------------------------------------------- 3. mmcv with ops
read -r TORCH_VERSION BUILD_CUDA TORCH_CUDA PYTAG < <("$PY" - <<'EOF'
import shutil, sys, torch
cuda = bool(torch.version.cuda and shutil.which('nvcc') and torch.cuda.is_available())
print(torch.__version__.replace('+', '_'), int(cuda), torch.version.cuda or 'none',
      f'cp{sys.version_info[0]}{sys.version_info[1]}')
EOF
)
if [ "$BUILD_CUDA" = 1 ]; then FLAVOUR="cuda${TORCH_CUDA}"; else FLAVOUR=cpu; fi
MMCV_KEY="mmcv${MMCV_VERSION}-torch${TORCH_VERSION}-${FLAVOUR}-${PYTAG}-$(uname -m)"
WHEEL_DIR=$CACHE/wheels/$MMCV_KEY
MMCV_MARK=$VENV/.mmcv-build-key

mmcv_ok() {
  [ -f "$MMCV_MARK" ] && [ "$(cat "$MMCV_MARK")" = "$MMCV_KEY" ] || return 1
  "$PY" - <<EOF >/dev/null 2>&1
import mmcv
assert mmcv.__version__ == '$MMCV_VERSION'
from mmcv.ops import nms
EOF
}

build_mmcv_wheel() {
  local work src log jobs total
  work=$(mktemp -d)
  log=$CACHE/mmcv-build-$MMCV_KEY.log
  mkdir -p "$CACHE"
  say "fetching the mmcv $MMCV_VERSION source archive"
  "${PIP[@]}" download -q --no-deps --no-binary mmcv --no-build-isolation \
      -d "$work" "mmcv==$MMCV_VERSION" >"$log" 2>&1 \
    || { tail -20 "$log"; die "could not download the mmcv $MMCV_VERSION source archive (see $log)"; }
  tar -xzf "$work"/mmcv-$MMCV_VERSION.tar.gz -C "$work"
  src=$work/mmcv-$MMCV_VERSION
  # mmcv 2.1.0 hard-codes -std=c++17 (c++14 for nvcc); newer torch headers refuse anything
  # below C++20. Raise the standard only when the installed torch demands it.
  if grep -rqs "C++20 or later compatible compiler is required" \
       "$("$PY" -c 'import torch, os; print(os.path.dirname(torch.__file__))')/include/ATen/ATen.h"; then
    say "torch $TORCH_VERSION needs C++20: patching mmcv's setup.py (-std=c++17/14 -> -std=c++20)"
    sed -i 's/-std=c++17/-std=c++20/g; s/-std=c++14/-std=c++20/g' "$src/setup.py"
  fi
  jobs=${MAX_JOBS:-$(nproc)}
  total=$(find "$src/mmcv/ops/csrc/pytorch" -maxdepth 1 -name '*.cpp' | wc -l)
  total=$((total + $(find "$src/mmcv/ops/csrc/pytorch/cpu" -name '*.cpp' | wc -l)))
  if [ "$BUILD_CUDA" = 1 ]; then
    total=$((total + $(find "$src/mmcv/ops/csrc/pytorch/cuda" -name '*.cu' -o -name '*.cpp' | wc -l)))
  fi
  say "building mmcv $MMCV_VERSION with ops ($FLAVOUR, $jobs jobs, ~$total sources)."
  say "This takes about 13 minutes on 2 cores (much less on more); it happens once per"
  say "torch version: the wheel is cached in $WHEEL_DIR. Full log: $log"
  (cd "$src" && MMCV_WITH_OPS=1 FORCE_CUDA=$BUILD_CUDA MAX_JOBS=$jobs \
     "${PIP[@]}" wheel -v --no-deps --no-build-isolation -w "$work/dist" . >>"$log" 2>&1) &
  local pid=$! t0=$SECONDS
  while kill -0 "$pid" 2>/dev/null; do
    sleep 20
    local done_n
    done_n=$(find "$src/build" -name '*.o' 2>/dev/null | wc -l)
    say "mmcv build: $done_n/~$total objects compiled, $(( (SECONDS - t0) / 60 ))m$(( (SECONDS - t0) % 60 ))s elapsed"
  done
  wait "$pid" || { tail -30 "$log"; die "mmcv build failed (full log: $log)"; }
  mkdir -p "$WHEEL_DIR"
  mv "$work"/dist/mmcv-*.whl "$WHEEL_DIR"/
  rm -rf "$work"
  say "mmcv wheel built in $(( (SECONDS - t0) / 60 ))m$(( (SECONDS - t0) % 60 ))s and cached"
}

if mmcv_ok; then
  say "mmcv $MMCV_VERSION with ops built for this torch is present; keeping it"
else
  if ! ls "$WHEEL_DIR"/mmcv-*.whl >/dev/null 2>&1; then
    build_mmcv_wheel
  else
    say "reusing the cached mmcv wheel $(basename "$WHEEL_DIR"/mmcv-*.whl) ($MMCV_KEY)"
  fi
  "${PIP[@]}" install -q -c "$CONSTRAINTS" --force-reinstall --no-deps "$WHEEL_DIR"/mmcv-*.whl
  "${PIP[@]}" install -q -c "$CONSTRAINTS" "$WHEEL_DIR"/mmcv-*.whl
  echo "$MMCV_KEY" >"$MMCV_MARK"
  mmcv_ok || die "mmcv installed from $WHEEL_DIR but its ops do not load; delete that folder and rerun"
fi

# ---------------------------------------------------------------- 4. OpenMMLab + mmunirep
say "installing mmunirep (editable) with mmengine, mmdet, mmsegmentation, mmpretrain, test and deploy tools"
"${PIP[@]}" install -q -c "$CONSTRAINTS" --no-build-isolation -e "$ROOT[mim,tests,deploy]"
"$PY" -c 'import mmunirep, mmdet, mmseg, mmpretrain' \
  || die "the stack is installed but does not import (see the message above)"
inputs_hash >"$STAMP"
say "done in $((SECONDS - START)) s: activate with 'source ${VENV#$PWD/}/bin/activate'"
