# Copyright (c) mmunirep contributors. All rights reserved.
"""What knows UniRepLKNet's checkpoints: the catalogue of published files,
downloading and verifying them, reading checkpoint files, loading pretrained
weights into a backbone, and structure-aware strict loading into whole
models."""
from .catalogue import (LOST, PUBLISHED, PublishedCheckpoint, checkpoint_url,
                        how_to_get, published_checkpoint)
from .download import (default_checkpoint_dir, download_checkpoint,
                       pretrained_checkpoints, published_checkpoints_of,
                       verify_checkpoint)
from .files import (check_checkpoint_file, read_checkpoint, unpickling_refusal,
                    weights_of)
from .model_builder import build_model
from .pretrained import PretrainedUniRepLKNetInit, load_pretrained
from .structure_loading import (StructureMismatchError, fit_to_model,
                                load_checkpoint_strict, unwrap_model)

__all__ = [
    'LOST', 'PUBLISHED', 'PretrainedUniRepLKNetInit', 'PublishedCheckpoint',
    'StructureMismatchError', 'build_model', 'check_checkpoint_file',
    'checkpoint_url', 'default_checkpoint_dir', 'download_checkpoint',
    'fit_to_model', 'how_to_get', 'load_checkpoint_strict', 'load_pretrained',
    'pretrained_checkpoints', 'published_checkpoint',
    'published_checkpoints_of', 'read_checkpoint', 'unpickling_refusal',
    'unwrap_model', 'verify_checkpoint', 'weights_of'
]
