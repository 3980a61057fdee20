# Copyright (c) mmunirep contributors. All rights reserved.
from .safe_globals import allow_mmengine_checkpoints

__all__ = ['allow_mmengine_checkpoints']
