#!/usr/bin/env bash
# The lint CI runs before the tests (the same checks as .pre-commit-config.yaml):
#   bash tools/lint.sh          # from anywhere; exits 1 naming what to fix
# flake8 (pycodestyle + pyflakes) and isort, configured in setup.cfg.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=tools/env_python.sh
source "$ROOT/tools/env_python.sh"
cd "$ROOT"
PATHS=(mmunirep tools tests configs setup.py)
status=0
"$PYTHON" -m flake8 "${PATHS[@]}" || status=1
"$PYTHON" -m isort --check-only --diff --quiet "${PATHS[@]}" || {
  echo "[lint] imports out of order: run '$PYTHON -m isort ${PATHS[*]}'" >&2
  status=1
}
if grep -rnI --exclude-dir=.mim --include='*.py' --include='*.sh' --include='*.md' --include='*.yml' \
     --include='*.cfg' -E '[[:space:]]+$' "${PATHS[@]}" README.md docs; then
  echo '[lint] trailing whitespace on the lines above' >&2
  status=1
fi
[ "$status" -eq 0 ] && echo '[lint] flake8, isort and whitespace: clean'
exit "$status"
