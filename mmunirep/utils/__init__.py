# Copyright (c) mmunirep contributors. All rights reserved.
from .atomic_io import (DiskFullError, OutputPathError, atomic_torch_save,
                        atomic_write, atomic_write_bytes, atomic_write_text,
                        check_output_path)
from .checkpoint_file import (CheckpointError, check_checkpoint_file,
                              read_checkpoint, weights_of)
from .disk_space import format_bytes, free_bytes
from .hub import (default_checkpoint_dir, download_checkpoint,
                  pretrained_checkpoints, published_checkpoints_of,
                  verify_checkpoint)
from .image_files import IMAGE_SUFFIXES, image_files
from .safe_globals import allow_mmengine_checkpoints
from .state_dict_diff import StateDictDiff, compare_state_dicts

__all__ = [
    'CheckpointError', 'DiskFullError', 'IMAGE_SUFFIXES', 'OutputPathError',
    'StateDictDiff', 'allow_mmengine_checkpoints', 'atomic_torch_save',
    'atomic_write', 'atomic_write_bytes', 'atomic_write_text',
    'check_checkpoint_file', 'check_output_path', 'compare_state_dicts',
    'default_checkpoint_dir', 'download_checkpoint', 'format_bytes',
    'free_bytes', 'image_files', 'pretrained_checkpoints',
    'published_checkpoints_of', 'read_checkpoint',
    'verify_checkpoint', 'weights_of'
]
