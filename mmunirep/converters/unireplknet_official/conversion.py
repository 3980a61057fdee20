# Copyright (c) mmunirep contributors. All rights reserved.
"""The conversion of one file: read, pick weights, map keys, check, write."""
from dataclasses import dataclass, field
from typing import List, Optional

from mmunirep.models import Structure
from mmunirep.utils import (OutputPathError, atomic_torch_save,
                            check_output_path)
from .config_check import check_against_config
from .ema import resolve_ema
from .errors import ConversionError
from .keys import adopt_deploy_layout, convert_dense, convert_imagenet
from .meta import convert_meta
from .source import detect_type, find_arch, load_source, split_checkpoint


@dataclass
class ConversionResult:
    """What :func:`convert` did, for the command line to report.

    Attributes:
        fmt (str): The source format ('imagenet', 'mmdet2', 'mmseg0').
        detected (bool): Whether the format was told from the keys.
        arch (str): The backbone, e.g. 'UniRepLKNet-T (depths ..., dims
            ...)'.
        num_tensors (int): Tensors written.
        meta (dict): The written checkpoint's ``meta``.
        checked_config (str, optional): The config the result was loaded
            into with strict keys.
        notes (list[str]): What was changed or left out, and why.
        warnings (list[str]): What needs the user's attention.
    """
    fmt: str
    detected: bool
    arch: str
    num_tensors: int
    meta: dict
    checked_config: Optional[str] = None
    notes: List[str] = field(default_factory=list)
    warnings: List[str] = field(default_factory=list)


def convert(src: str,
            dst: str,
            fmt: str = 'auto',
            use_ema: bool = True,
            config: Optional[str] = None,
            cfg_options: Optional[dict] = None,
            trust: bool = False,
            strict_options: bool = False) -> ConversionResult:
    """Convert ``src`` to ``dst``; see the package docstring.

    Args:
        src (str): The authors' checkpoint.
        dst (str): Where to write ours (atomically; never onto ``src``).
        fmt (str): 'auto' (tell from the keys), 'imagenet', 'mmdet2' or
            'mmseg0'. Defaults to 'auto'.
        use_ema (bool): mmdet 2.x files with EMA buffers: write the average
            (True) or the raw training weights. Defaults to True.
        config (str, optional): Check that the result loads with strict keys
            into this config's model before writing.
        cfg_options (dict, optional): Overrides of ``config``.
        trust (bool): Unpickle ``src`` fully if weights-only loading refuses
            it. Defaults to False.
        strict_options (bool): Refuse ``cfg_options`` keys that are not in
            ``config``. Defaults to False.

    Returns:
        ConversionResult: What was written, with notes and warnings.

    Raises:
        ConversionError: Anything that stops the conversion; ``dst`` is not
            written then.
    """
    try:
        check_output_path(dst, [src], 'DST')
    except OutputPathError as err:
        raise ConversionError(str(err)) from err
    obj, warnings = load_source(src, trust)
    state_dict, meta, notes = split_checkpoint(obj)
    detected = detect_type(state_dict) if fmt == 'auto' else fmt
    ema_record = dict(ema_buffers=False, weights='as saved')
    if detected == 'imagenet':
        state_dict, renamed = adopt_deploy_layout(state_dict)
        converted = convert_imagenet(state_dict)
        if not use_ema:
            notes.append('--no-ema has no effect on ImageNet checkpoints')
    else:
        state_dict, ema_record, ema_notes = resolve_ema(
            state_dict, meta, use_ema)
        notes += ema_notes
        state_dict, renamed = adopt_deploy_layout(state_dict, 'backbone.')
        converted, dense_warnings = convert_dense(state_dict, detected)
        warnings += dense_warnings
    if renamed:
        notes.append(f"the authors' {Structure.DEPLOY} layout: renamed "
                     f'{renamed} dwconv.lk_origin.* keys to dwconv.* (load it '
                     'with a configs/deploy/ config)')
    if config is not None:
        check_against_config(converted, detected, config, cfg_options,
                             strict_options)
    new_meta = convert_meta(meta, src, detected, ema_record)
    atomic_torch_save({'meta': new_meta, 'state_dict': converted}, dst)
    return ConversionResult(
        fmt=detected, detected=fmt == 'auto',
        arch=find_arch(converted, 'backbone.')[1],
        num_tensors=len(converted), meta=new_meta, checked_config=config,
        notes=notes, warnings=warnings)
