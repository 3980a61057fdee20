# Copyright (c) mmunirep contributors. All rights reserved.
"""Read one of the authors' files: its weights, its meta, its kind, its arch.

The file is first checked (an empty, truncated or non-PyTorch file is named
as such), then read with ``torch.load(weights_only=True)`` (with the safe
globals mmunirep registers for numpy values in old meta). A file that holds
other Python objects (e.g. ``argparse.Namespace`` in a training-script
checkpoint) is refused unless ``trust`` (``--trust``) is given, which
unpickles it fully -- only do that for files from a source you trust, such
as the authors' Hugging Face repository.
"""
import pickle
import re
from typing import List, Optional, Tuple

import torch

from mmunirep.checkpoints import check_checkpoint_file, unpickling_refusal
from mmunirep.models import UniRepLKNet
from mmunirep.utils import CheckpointError
from .errors import ConversionError
from .formats import StateDict


def load_source(path: str, trust: bool = False) -> Tuple[object, List[str]]:
    """``torch.load`` a file, weights-only unless ``trust`` is set.

    Args:
        path (str): The checkpoint.
        trust (bool): Unpickle the file fully when weights-only loading
            refuses it. Defaults to False.

    Returns:
        tuple[object, list[str]]: ``(what the file holds, warnings)``.

    Raises:
        ConversionError: The file is missing, not a PyTorch checkpoint, or
            refused by weights-only loading without ``trust``.
    """
    try:
        check_checkpoint_file(path)
    except (FileNotFoundError, CheckpointError) as err:
        raise ConversionError(str(err)) from err
    try:
        return torch.load(path, map_location='cpu', weights_only=True), []
    except pickle.UnpicklingError as err:
        if 'weights_only' not in str(err) and 'Weights only' not in str(err):
            raise ConversionError(
                f'{path} is not a PyTorch checkpoint ({err})') from err
        if not trust:
            raise ConversionError(
                f'{path} holds Python objects that safe (weights-only) '
                f'loading refuses ({unpickling_refusal(err)}). If the file '
                'comes from a source you trust (e.g. the authors\' Hugging '
                'Face repository DingXiaoH/UniRepLKNet), rerun with --trust '
                'to unpickle it fully; unpickling can run arbitrary code.'
            ) from err
    except Exception as err:  # a corrupt archive fails in many ways
        raise ConversionError(f'cannot read {path} as a PyTorch checkpoint '
                              f'({type(err).__name__}: {err})') from err
    warning = (f'trusting {path}: unpickling it fully (--trust); only do '
               'this for files from a source you trust')
    try:
        return torch.load(path, map_location='cpu',
                          weights_only=False), [warning]
    except (ImportError, AttributeError) as err:
        raise ConversionError(
            f'{path} refers to Python code that is not installed here '
            f'({err}); re-save its state dict where it was written') from err


def split_checkpoint(obj: object) -> Tuple[StateDict, dict, List[str]]:
    """The state dict and meta of a loaded checkpoint.

    Args:
        obj (object): What :func:`load_source` read: a plain state dict, or
            one wrapped in ``'state_dict'`` (mmcv 1.x) or ``'model'`` (the
            authors' training script).

    Returns:
        tuple[dict, dict, list[str]]: ``(state_dict, meta, notes)``; notes
        describe what else the file held and was left out.

    Raises:
        ConversionError: ``obj`` is no state dict of tensors, or already an
            OpenMMLab 2.0 checkpoint.
    """
    if not isinstance(obj, dict):
        raise ConversionError(
            f'the file holds a {type(obj).__name__}, not a checkpoint dict')
    notes = []
    meta = obj.get('meta') if isinstance(obj.get('meta'), dict) else {}
    if 'ema_state_dict' in obj or 'mmengine_version' in meta \
            or 'converted_from' in meta \
            or 'dataset_meta' in meta:
        raise ConversionError(
            'this is already an OpenMMLab 2.0 (mmengine) checkpoint; it '
            'loads into our configs as it is, no conversion needed')
    if isinstance(obj.get('state_dict'), dict):
        state_dict = obj['state_dict']
        wrapper = 'state_dict'
    elif isinstance(obj.get('model'), dict):
        state_dict = obj['model']
        wrapper = 'model'
    else:
        state_dict, wrapper = obj, None
    if wrapper == 'model' and not meta:  # the authors' training script
        meta = {k: obj[k] for k in ('epoch', ) if k in obj}
    if wrapper is not None:
        left = sorted(k for k in obj if k not in (wrapper, 'meta', *meta))
        if 'model_ema' in left:
            notes.append("the file also holds 'model_ema' (timm ModelEma of "
                         "the training script); it is not converted, the "
                         f"'{wrapper}' weights are")
        if left:
            notes.append(f'dropped from the file: {", ".join(left)}')
    not_tensors = [
        k for k, v in state_dict.items() if not isinstance(v, torch.Tensor)
    ]
    if not state_dict or not_tensors:
        raise ConversionError('the file is not a state dict of tensors' +
                              (f' (e.g. {not_tensors[0]!r} is a '
                               f'{type(state_dict[not_tensors[0]]).__name__})'
                               if not_tensors else ' (it is empty)'))
    if all(k.startswith('module.') for k in state_dict):
        state_dict = {k[len('module.'):]: v for k, v in state_dict.items()}
        notes.append("removed the 'module.' prefix of a wrapped model")
    return dict(state_dict), meta, notes


def is_unireplknet(state_dict: StateDict, prefix: str = '') -> bool:
    """Whether the keys under ``prefix`` are a UniRepLKNet's.

    Args:
        state_dict (dict[str, Tensor]): The weights.
        prefix (str): Where the backbone's keys start, e.g. 'backbone.'.
            Defaults to ''.

    Returns:
        bool: Whether a stem and stages are there.
    """
    return f'{prefix}downsample_layers.0.0.weight' in state_dict and any(
        k.startswith(f'{prefix}stages.') for k in state_dict)


def detect_type(state_dict: StateDict) -> str:
    """The format of the authors' state dict, told from its keys.

    Args:
        state_dict (dict[str, Tensor]): The weights as the file holds them.

    Returns:
        str: 'imagenet', 'mmdet2' or 'mmseg0'.

    Raises:
        ConversionError: The keys are of none of these, or already in the
            mmpretrain layout.
    """
    tops = {k.split('.', 1)[0] for k in state_dict if not k.startswith('ema_')}
    if 'backbone' in tops:
        if 'head' in tops and any(
                k.startswith('head.fc.') for k in state_dict):
            raise ConversionError(
                'the keys are already in the mmpretrain layout '
                '(backbone.*, head.fc.*); no conversion needed')
        if 'decode_head' in tops:
            return 'mmseg0'
        if tops & {'rpn_head', 'roi_head'}:
            return 'mmdet2'
    elif {'downsample_layers', 'stages'} <= tops:
        return 'imagenet'
    raise ConversionError(
        'cannot tell what kind of UniRepLKNet checkpoint this is: expected '
        'the ImageNet classifier (downsample_layers.*, stages.*, head.*), '
        'an mmdet 2.x detector (backbone.*, neck.*, rpn_head.*, roi_head.*) '
        'or an mmseg 0.x segmentor (backbone.*, decode_head.*); found '
        f'top-level names {sorted(tops)[:8]}. If it is one of these, pass '
        '--type; otherwise it is not a file this tool converts.')


def find_arch(state_dict: StateDict,
              prefix: str = '') -> Tuple[Optional[str], str]:
    """The backbone's arch, from the shapes and numbers of its keys.

    Args:
        state_dict (dict[str, Tensor]): The weights.
        prefix (str): Where the backbone's keys start, e.g. 'backbone.'.
            Defaults to ''.

    Returns:
        tuple[str | None, str]: ``(arch name such as 't', or None when it is
        no standard arch; a description such as 'UniRepLKNet-T (depths
        [3, 3, 18, 3], dims [80, 160, 320, 640])')``.
    """
    try:
        dims = [state_dict[f'{prefix}downsample_layers.0.3.weight'].shape[0]]
        dims += [
            state_dict[f'{prefix}downsample_layers.{i}.0.weight'].shape[0]
            for i in (1, 2, 3)
        ]
    except KeyError:
        return None, 'an unknown backbone'
    depths = [0] * 4
    for key in state_dict:
        m = re.match(rf'{re.escape(prefix)}stages\.(\d)\.(\d+)\.', key)
        if m and int(m.group(1)) < 4:
            i, b = int(m.group(1)), int(m.group(2))
            depths[i] = max(depths[i], b + 1)
    name = next((n for n, s in UniRepLKNet.arch_settings.items()
                 if s['depths'] == depths and s['dims'] == dims), None)
    arch = f'UniRepLKNet-{name.upper()}' if name else 'a UniRepLKNet'
    return name, f'{arch} (depths {depths}, dims {dims})'
