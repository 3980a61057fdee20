#!/usr/bin/env bash
# Set up the environment when needed (see tools/setup_env.sh), lint
# (tools/lint.sh), then run the test suite on MMUNIREP_TEST_WORKERS (2)
# pytest-xdist processes, one file (or unit of files, tests/conftest.py) at a
# time each; 0 runs it in this process. Extra arguments go to pytest, e.g.
# `-k unireplknet` or `-x`.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$ROOT/tools/setup_env.sh"
cd "$ROOT"
PYTHON="$ROOT/.venv/bin/python" bash "$ROOT/tools/lint.sh"
exec "$ROOT/.venv/bin/python" -m pytest -n "${MMUNIREP_TEST_WORKERS:-2}" \
  --dist loadfile "$@"
