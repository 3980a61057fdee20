# Copyright (c) mmunirep contributors. All rights reserved.
"""Helpers that know nothing of UniRepLKNet."""
from .atomic_io import (DiskFullError, OutputPathError, atomic_torch_save,
                        atomic_write, atomic_write_bytes, atomic_write_text,
                        check_output_path)
from .config import TASKS, load_config, runnable_task_of, task_of
from .config_nodes import iter_config_nodes
from .config_options import ConfigOptionError, check_cfg_options
from .disk_space import format_bytes, free_bytes
from .image_files import IMAGE_SUFFIXES, image_files
from .plain_values import plain_value
from .safe_globals import allow_mmengine_checkpoints
from .state_dict_fit import (CheckpointError, StateDictFit,
                             StateDictMismatchError, fit_state_dict)

__all__ = [
    'CheckpointError', 'ConfigOptionError', 'DiskFullError',
    'IMAGE_SUFFIXES', 'OutputPathError', 'StateDictFit',
    'StateDictMismatchError', 'TASKS', 'allow_mmengine_checkpoints',
    'atomic_torch_save', 'atomic_write', 'atomic_write_bytes',
    'atomic_write_text', 'check_cfg_options', 'check_output_path',
    'fit_state_dict', 'format_bytes', 'free_bytes', 'image_files',
    'iter_config_nodes', 'load_config', 'plain_value', 'runnable_task_of',
    'task_of'
]
