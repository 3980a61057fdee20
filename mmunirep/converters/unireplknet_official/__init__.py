# Copyright (c) mmunirep contributors. All rights reserved.
"""Convert the UniRepLKNet authors' released checkpoints to mmunirep.

The logic of ``tools/model_converters/unireplknet_to_mmunirep.py`` (a thin
command-line wrapper around :func:`convert`).

The authors (AILab-CVC/UniRepLKNet, Hugging Face DingXiaoH/UniRepLKNet)
released three kinds of files; each becomes an OpenMMLab 2.0 checkpoint
``{'meta': ..., 'state_dict': ...}`` that loads with strict keys into our
configs, so ``tools/test.py CONFIG CONVERTED.pth`` evaluates it:

``imagenet``
    Their timm-style classifier, a plain state dict or one wrapped in
    ``'model'`` (their training script) or ``'state_dict'``. Becomes the
    mmpretrain ``ImageClassifier`` of ``configs/unireplknet_*_in1k.py`` and
    ``configs/unireplknet_*_in22k_to_in1k_384.py``.
``mmdet2``
    Their COCO Cascade Mask R-CNN files (mmdet 2.28.1, mmcv-full 1.x).
    Becomes ``configs/cascade_mask_rcnn_unireplknet_*_coco.py``; the EMA
    buffers and the optimizer state are dropped.
``mmseg0``
    Their ADE20K UperNet files (mmseg 0.27). Becomes
    ``configs/upernet_unireplknet_*_ade20k.py``.

Their deploy (re-parameterized) files load into our ``configs/deploy/``
twins. One module per step:

- :mod:`.source`: reading the file (weights-only unless trusted), splitting
  weights from meta, telling the format and the arch;
- :mod:`.ema`: which side of an mmdet 2.x file's EMA buffers holds the
  average, and picking the averaged or raw weights;
- :mod:`.keys`: the authors' keys -> ours, and their deploy layout;
- :mod:`.meta`: mmcv 1.x meta -> mmengine meta;
- :mod:`.config_check`: the result against a config's model;
- :mod:`.conversion`: :func:`convert`, the whole flow.
"""
from .config_check import check_against_config
from .conversion import ConversionResult, convert
from .ema import (CHECKPOINT_HOOK_PRIORITY, PRIORITIES, ema_buffer_name,
                  ema_hook_settings, locate_ema, pair_ema_buffers, resolve_ema)
from .errors import ConversionError, ConvertedWeightsMismatchError
from .formats import CONFIG_NAMES, FORMATS, MODULES, SCOPES, StateDict
from .keys import adopt_deploy_layout, convert_dense, convert_imagenet
from .meta import SOURCE_META_KEYS, convert_meta
from .source import (detect_type, find_arch, is_unireplknet, load_source,
                     split_checkpoint)

__all__ = [
    'CHECKPOINT_HOOK_PRIORITY', 'CONFIG_NAMES', 'FORMATS', 'MODULES',
    'PRIORITIES', 'SCOPES', 'SOURCE_META_KEYS', 'ConversionError',
    'ConversionResult', 'ConvertedWeightsMismatchError', 'StateDict',
    'adopt_deploy_layout', 'check_against_config', 'convert',
    'convert_dense', 'convert_imagenet', 'convert_meta', 'detect_type',
    'ema_buffer_name', 'ema_hook_settings', 'find_arch', 'is_unireplknet',
    'load_source', 'locate_ema', 'pair_ema_buffers', 'resolve_ema',
    'split_checkpoint'
]
