# Copyright (c) mmunirep contributors. All rights reserved.
"""How much disk the checkpoints of a training run take, and what to say
when they do not fit."""
from typing import Optional, Tuple

import torch
from torch import nn

from mmunirep.utils.disk_space import format_bytes

#: State tensors per parameter that torch's optimizers keep (Adam's
#: exp_avg and exp_avg_sq ...); optimizers not listed are taken as Adam.
STATE_TENSORS_PER_PARAM = dict(
    Adam=2, AdamW=2, Adamax=2, NAdam=2, RAdam=2, Adadelta=2, Adagrad=1,
    RMSprop=1, Lion=1)


def tensor_bytes(obj) -> int:
    """Bytes of all tensors nested in ``obj`` (dicts, lists, tuples)."""
    if torch.is_tensor(obj):
        return obj.numel() * obj.element_size()
    if isinstance(obj, dict):
        return sum(tensor_bytes(value) for value in obj.values())
    if isinstance(obj, (list, tuple)):
        return sum(tensor_bytes(value) for value in obj)
    return 0


def _optimizer_state_bytes(optimizer: torch.optim.Optimizer) -> int:
    """The optimizer's state in bytes: measured if it has any (a resumed
    run), else estimated from its type and parameters."""
    if optimizer.state:
        return tensor_bytes(list(optimizer.state.values()))
    name = type(optimizer).__name__
    per_param = STATE_TENSORS_PER_PARAM.get(name, 2)
    if name == 'SGD':
        per_param = int(optimizer.defaults.get('momentum', 0) != 0)
    if optimizer.defaults.get('amsgrad'):
        per_param += 1
    return per_param * sum(
        param.numel() * param.element_size()
        for group in optimizer.param_groups for param in group['params']
        if param.requires_grad)


def estimate_checkpoint_bytes(model: nn.Module,
                              optim_wrapper) -> Tuple[int, int]:
    """Bytes of a training checkpoint: ``(model, optimizer state)``.

    Args:
        model (nn.Module): The model (wrapped or not).
        optim_wrapper (OptimWrapper | OptimWrapperDict): Its optimizers.

    Returns:
        tuple[int, int]: The state dict's and the optimizer state's bytes.
    """
    model = getattr(model, 'module', model)
    wrappers = optim_wrapper.values() if hasattr(optim_wrapper, 'values') \
        else [optim_wrapper]
    return (tensor_bytes(model.state_dict()),
            sum(_optimizer_state_bytes(w.optimizer) for w in wrappers))


def space_warning(model_bytes: int, optimizer_bytes: int,
                  max_keep_ckpts: int, saves: int, keeps_best: bool,
                  free: int, out_dir: str) -> Optional[str]:
    """A warning if the checkpoints a run keeps would not fit, else None.

    Args:
        model_bytes (int): The weights' bytes (a best checkpoint holds only
            them).
        optimizer_bytes (int): The optimizer state's bytes.
        max_keep_ckpts (int): The checkpoint hook's; <= 0 keeps all.
        saves (int): Periodic saves of the whole run.
        keeps_best (bool): Whether a best checkpoint is kept too.
        free (int): Bytes free where they are saved.
        out_dir (str): Where they are saved.

    Returns:
        str | None: The warning.
    """
    checkpoint = model_bytes + optimizer_bytes
    if 0 < max_keep_ckpts < saves:
        # an atomic save writes the new file before the oldest one goes
        files = max_keep_ckpts + 1
        kept = (f'the hook keeps {max_keep_ckpts} (max_keep_ckpts), plus one '
                'while the next is written')
    else:
        files = saves
        kept = f'the run saves {saves} and keeps them all'
    needed = checkpoint * files + (2 * model_bytes if keeps_best else 0)
    if free >= needed:
        return None
    best = (', and the best one (weights only, two while it is '
            'replaced)') if keeps_best else ''
    return (f'The checkpoints of this run may not fit in {out_dir}: '
            f'{format_bytes(free)} free, about {format_bytes(needed)} '
            f'needed. A checkpoint is about {format_bytes(checkpoint)} '
            f'(weights {format_bytes(model_bytes)} + optimizer state '
            f'{format_bytes(optimizer_bytes)}); {kept}{best}. Free some '
            'space, lower default_hooks.checkpoint.max_keep_ckpts, or save '
            'elsewhere (default_hooks.checkpoint.out_dir).')


def disk_full_message(path: str, checkpoint_bytes: Optional[int], free: int,
                      last_checkpoint: Optional[str], resume_command: str
                      ) -> str:
    """What a user needs to know when a checkpoint did not fit on the disk.

    Args:
        path (str): The file being written.
        checkpoint_bytes (int, optional): The checkpoint's size, if known.
        free (int): Bytes free there now.
        last_checkpoint (str, optional): The newest complete checkpoint.
        resume_command (str): How to continue once there is space.

    Returns:
        str: The message.
    """
    size = (f'A checkpoint of this run is {format_bytes(checkpoint_bytes)}; '
            if checkpoint_bytes else '')
    earlier = (f'the earlier checkpoints are intact (newest: '
               f'{last_checkpoint})' if last_checkpoint else
               'there is no earlier checkpoint')
    return (f'No space left on the device while writing {path}. {size}'
            f'{format_bytes(free)} is free there. Nothing is lost: the save '
            f'is atomic, so no partial file was left, and {earlier}. Free '
            'some space (or lower default_hooks.checkpoint.max_keep_ckpts, '
            'or save elsewhere with default_hooks.checkpoint.out_dir), then '
            f'continue with --resume: {resume_command}')
