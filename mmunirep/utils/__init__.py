# Copyright (c) mmunirep contributors. All rights reserved.
from .atomic_io import (OutputPathError, atomic_torch_save, atomic_write,
                        atomic_write_bytes, atomic_write_text,
                        check_output_path)
from .checkpoint_file import (CheckpointError, check_checkpoint_file,
                              read_checkpoint, weights_of)
from .cpu_allocator import tune_cpu_allocator
from .safe_globals import allow_mmengine_checkpoints
from .state_dict_diff import StateDictDiff, compare_state_dicts

__all__ = [
    'CheckpointError', 'OutputPathError', 'StateDictDiff',
    'allow_mmengine_checkpoints',
    'atomic_torch_save', 'atomic_write', 'atomic_write_bytes',
    'atomic_write_text', 'check_checkpoint_file', 'check_output_path',
    'compare_state_dicts', 'read_checkpoint', 'tune_cpu_allocator',
    'weights_of'
]
