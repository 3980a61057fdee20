# Copyright (c) mmunirep contributors. All rights reserved.
from .cpu_allocator import tune_cpu_allocator
from .hub import (CheckpointError, default_checkpoint_dir, download_checkpoint,
                  pretrained_checkpoints, published_checkpoints_of,
                  verify_checkpoint)
from .safe_globals import allow_mmengine_checkpoints
from .state_dict_diff import StateDictDiff, compare_state_dicts

__all__ = [
    'CheckpointError', 'StateDictDiff', 'allow_mmengine_checkpoints',
    'compare_state_dicts', 'default_checkpoint_dir', 'download_checkpoint',
    'pretrained_checkpoints', 'published_checkpoints_of', 'tune_cpu_allocator',
    'verify_checkpoint'
]
