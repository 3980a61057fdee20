# Copyright (c) mmunirep contributors. All rights reserved.
"""The GPU benchmark (see :mod:`.runner`), in parts with one job each:
settings and budget, the models and steps, correctness checks, the row
groups (models, depthwise conv, headline segmentor, profile, compile), the
parallel Triton warm-up and the report."""
from .runner import DEFAULT_BUDGET_S, HARD_STOP_GRACE_S, run_gpu_benchmark

__all__ = ['DEFAULT_BUDGET_S', 'HARD_STOP_GRACE_S', 'run_gpu_benchmark']
