# Copyright (c) mmunirep contributors. All rights reserved.
from .atomic_io import atomic_write, atomic_write_text
from .cpu_allocator import tune_cpu_allocator
from .image_files import IMAGE_SUFFIXES, image_files
from .safe_globals import allow_mmengine_checkpoints
from .state_dict_diff import StateDictDiff, compare_state_dicts

__all__ = [
    'IMAGE_SUFFIXES', 'StateDictDiff', 'allow_mmengine_checkpoints',
    'atomic_write', 'atomic_write_text', 'compare_state_dicts',
    'image_files', 'tune_cpu_allocator'
]
