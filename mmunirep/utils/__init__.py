# Copyright (c) mmunirep contributors. All rights reserved.
from .cpu_allocator import tune_cpu_allocator
from .safe_globals import allow_mmengine_checkpoints

__all__ = ['allow_mmengine_checkpoints', 'tune_cpu_allocator']
