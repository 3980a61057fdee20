# Copyright (c) mmunirep contributors. All rights reserved.
"""Choose the checkpoint ``--resume`` continues from.

MMEngine resumes from whatever ``last_checkpoint`` names; if that file is
gone or was cut short by a kill, ``--resume`` fails. Here every checkpoint
of the work directory is checked, and the newest complete one is taken.
"""
import glob
import os.path as osp
from typing import List, Optional, Tuple

import torch

from mmunirep.checkpoints import check_checkpoint_file
from mmunirep.models import Structure, state_dict_structure
from mmunirep.utils import CheckpointError

#: What a checkpoint needs for ``Runner.resume``.
RESUME_KEYS = ('meta', 'state_dict', 'message_hub')


def _load_lazily(path: str) -> object:
    """``torch.load`` without reading the tensors where the format allows
    (memory-mapped zip archives)."""
    try:
        return torch.load(path, map_location='cpu', mmap=True,
                          weights_only=True)
    except RuntimeError as err:
        if 'mmap' not in str(err):
            raise
        return torch.load(path, map_location='cpu', weights_only=True)


def read_resume_point(path: str) -> Tuple[Optional[int], Optional[str]]:
    """The iteration a checkpoint resumes from, or why it cannot be resumed.

    Returns:
        tuple: ``(iteration, None)`` for a complete training checkpoint,
        ``(None, reason)`` otherwise.
    """
    try:
        check_checkpoint_file(path)
        checkpoint = _load_lazily(path)
    except (FileNotFoundError, CheckpointError) as err:
        return None, str(err)
    except Exception as err:  # a corrupt archive fails in many ways
        return None, (f'cannot read checkpoint {path} '
                      f'({type(err).__name__}: {err})')
    if not isinstance(checkpoint, dict):
        return None, f'{path} is not a checkpoint dict'
    missing = [key for key in RESUME_KEYS if key not in checkpoint]
    if not missing:
        return int(checkpoint['meta'].get('iter', 0)), None
    state = checkpoint.get('state_dict', checkpoint)
    kind = 'it holds no training state'
    if isinstance(state, dict) and any(
            state_dict_structure(state, prefix) == Structure.DEPLOY
            for prefix in ('', 'backbone.')):
        kind = (f'it holds the {Structure.DEPLOY} structure, which cannot be '
                'trained further (resume from the training checkpoint it was '
                'made from)')
    return None, (f'{path} is not a checkpoint of a training run: {kind} '
                  f'(no {", ".join(missing)}; e.g. written by '
                  'tools/reparameterize.py, the converter or publish_model)')


def find_resumable_checkpoint(work_dir: str) -> Tuple[Optional[str],
                                                      List[str]]:
    """The newest complete training checkpoint of a work directory.

    Candidates are the file ``last_checkpoint`` names and every ``*.pth``
    beside it and in ``work_dir`` (the hook's ``out_dir`` may differ) except
    ``best_*`` (saved without optimizer state); the complete one with the
    highest iteration wins (``last_checkpoint``'s on a tie).

    Args:
        work_dir (str): The run's work directory.

    Returns:
        tuple: ``(path or None, [why each skipped candidate was skipped])``.
    """
    candidates, folders = [], [work_dir]
    pointer = osp.join(work_dir, 'last_checkpoint')
    if osp.isfile(pointer):
        with open(pointer) as f:
            named = f.read().strip()
        if named:
            candidates.append(named)
            folders.append(osp.dirname(named))
    candidates += sorted(
        p for folder in folders for p in glob.glob(osp.join(folder, '*.pth'))
        if not osp.basename(p).startswith('best_'))
    best, best_iter, skipped, seen = None, -1, [], set()
    for path in candidates:
        if osp.realpath(path) in seen:
            continue
        seen.add(osp.realpath(path))
        iteration, problem = read_resume_point(path)
        if problem is not None:
            skipped.append(problem)
        elif iteration > best_iter:
            best, best_iter = path, iteration
    return best, skipped
