#!/usr/bin/env bash
# Sourced by the launch scripts: sets TOOLS to this directory and PYTHON to
# the repository's .venv interpreter unless a virtual environment is active or
# PYTHON is already set.
TOOLS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [ -z "${PYTHON:-}" ]; then
  if [ -z "${VIRTUAL_ENV:-}" ] && [ -x "$TOOLS/../.venv/bin/python" ]; then
    PYTHON=$TOOLS/../.venv/bin/python
  else
    PYTHON=python
  fi
fi
