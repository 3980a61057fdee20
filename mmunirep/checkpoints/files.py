# Copyright (c) mmunirep contributors. All rights reserved.
"""Read checkpoint files with errors that say what is wrong with the file.

``torch.load`` reports an empty file as a bare ``EOFError``, a text file as
``KeyError: 101`` and a truncated one as a zip-reader error; these helpers
check the file first and name the problem and the fix. Loading stays
weights-only (safe): a pickle that would run code is refused.
"""
import os.path as osp
import pickle
import zipfile
from typing import Mapping, Optional

import torch
from mmengine.runner.checkpoint import CheckpointLoader

from mmunirep.utils.state_dict_fit import CheckpointError

#: The first bytes of the two formats ``torch.save`` writes: a zip archive
#: (torch >= 1.6) or the legacy pickle stream (protocol 2).
ZIP_MAGIC = b'PK\x03\x04'
LEGACY_MAGIC = b'\x80\x02'
#: Where a checkpoint may keep its weights.
STATE_DICT_KEYS = ('state_dict', 'model', 'module')


def unpickling_refusal(err: pickle.UnpicklingError) -> str:
    """The line of torch's weights-only refusal that names the global."""
    lines = str(err).strip().splitlines() or ['']
    line = next((line for line in lines if 'Unsupported global' in line),
                lines[0])
    return line.split(' Please use')[0].strip()


def check_checkpoint_file(path: str) -> None:
    """Check that a local ``path`` looks like a complete checkpoint file.

    Cheap: reads the first bytes and the zip directory, not the tensors.
    URLs (``'://'``) are not checked.

    Raises:
        FileNotFoundError: Nothing at ``path``.
        CheckpointError: A directory, an empty, truncated or non-PyTorch
            file.
    """
    if '://' in path:
        return
    if not osp.exists(path):
        raise FileNotFoundError(f'checkpoint {path} not found')
    if osp.isdir(path):
        raise CheckpointError(f'checkpoint {path} is a directory, not a '
                              'checkpoint file')
    size = osp.getsize(path)
    if size == 0:
        raise CheckpointError(
            f'checkpoint {path} is empty (0 bytes): its save was interrupted '
            'or the copy failed. Use an earlier checkpoint or copy it again.')
    with open(path, 'rb') as f:
        head = f.read(64)
    if head.startswith(ZIP_MAGIC):
        if not zipfile.is_zipfile(path):
            raise CheckpointError(
                f'checkpoint {path} is truncated ({size} bytes, the end of '
                'the archive is missing): its save was interrupted or the '
                'copy is incomplete. Use an earlier checkpoint or copy it '
                'again.')
        return
    if head.startswith(LEGACY_MAGIC):
        return
    raise CheckpointError(
        f'{path} is not a PyTorch checkpoint (it starts with {head[:16]!r}); '
        'pass the .pth file written by training, tools/reparameterize.py or '
        'the converter')


def read_checkpoint(path: str, map_location: str = 'cpu') -> dict:
    """Load a checkpoint file (weights only) or URL, with clear errors.

    Args:
        path (str): A local file or a URL.
        map_location (str): Defaults to 'cpu'.

    Returns:
        dict: What the file holds.

    Raises:
        FileNotFoundError: Nothing at ``path``.
        CheckpointError: Unreadable, unsafe or not a dict.
    """
    check_checkpoint_file(path)
    try:
        checkpoint = CheckpointLoader.load_checkpoint(path, map_location)
    except pickle.UnpicklingError as err:
        raise CheckpointError(
            f'{path} holds Python objects besides weights, which torch '
            'refuses to load safely (unpickling them could run code; '
            f'{unpickling_refusal(err)}). If you trust the file, convert it '
            'once with tools/model_converters/unireplknet_to_mmunirep.py SRC '
            'DST --trust.') from err
    except (RuntimeError, EOFError, ValueError, KeyError) as err:
        raise CheckpointError(
            f'cannot read checkpoint {path}: it is corrupt '
            f'({type(err).__name__}: {err}). Use an earlier checkpoint or '
            'copy it again.') from err
    if not isinstance(checkpoint, dict):
        raise CheckpointError(
            f'{path} holds a {type(checkpoint).__name__}, not a checkpoint '
            'dict (a state dict, or one under state_dict / model)')
    return checkpoint


def weights_of(checkpoint: Mapping, path: Optional[str] = None) -> dict:
    """The state dict of a loaded checkpoint: under ``state_dict``,
    ``model`` or ``module``, or the checkpoint itself.

    Raises:
        CheckpointError: It holds no tensors.
    """
    state = checkpoint
    for key in STATE_DICT_KEYS:
        if isinstance(checkpoint.get(key), Mapping):
            state = checkpoint[key]
            break
    tensors = {k: v for k, v in state.items() if isinstance(v, torch.Tensor)}
    if not tensors:
        raise CheckpointError(
            f'{path or "the checkpoint"} holds no weights (keys: '
            f'{sorted(checkpoint)[:6]})')
    return dict(state)
