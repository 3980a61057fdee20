# Copyright (c) mmunirep contributors. All rights reserved.
"""The authors' keys -> ours.

``imagenet``
    Their timm-style classifier (``downsample_layers.*``, ``stages.*``,
    ``norm.*``, ``head.*``) becomes the mmpretrain ``ImageClassifier``:
    ``backbone.<key>``, and ``head.*`` -> ``head.fc.*``
    (``LinearClsHead.fc``). Their ``norm`` is our classification-mode
    backbone's final LayerNorm ``backbone.norm``.
``mmdet2``
    No key of CascadeRCNN / FPN / RPNHead / ConvFCBBoxHead / FCNMaskHead
    changed between mmdet 2.28 and 3.3 (``neck.lateral_convs|fpn_convs.<i>.
    conv``, ``rpn_head.rpn_conv|rpn_cls|rpn_reg``, ``roi_head.bbox_head.<s>.
    shared_convs.<i>.conv|bn``, ``...shared_fcs.0``, ``...fc_cls|fc_reg``,
    ``roi_head.mask_head.<s>.convs.<i>.conv``, ``...upsample``,
    ``...conv_logits``); what has no place in the 3.x model is dropped.
``mmseg0``
    No key of EncoderDecoder / UPerHead / FCNHead changed between mmseg 0.27
    and 1.2 (``decode_head.conv_seg``, ``...psp_modules.<j>.1.conv|bn``,
    ``...bottleneck``, ``...lateral_convs``, ``...fpn_convs``,
    ``...fpn_bottleneck``, ``auxiliary_head.convs.0``,
    ``auxiliary_head.conv_seg``).

Structure: the authors' files come in the training structure, or
re-parameterized by their own code (deploy files), whose large-kernel blocks
keep their merged kernel under ``dwconv.lk_origin``; ours is ``dwconv``, so
those keys are renamed and the result loads into our ``configs/deploy/``
twins.
"""
import re
from collections import OrderedDict
from typing import List, Tuple

from mmunirep.models import Structure, state_dict_structure
from .errors import ConversionError
from .formats import FORMATS, MODULES, StateDict
from .source import is_unireplknet


def adopt_deploy_layout(state_dict: StateDict,
                        prefix: str = '') -> Tuple[StateDict, int]:
    """Rename the authors' deploy keys to ours.

    Their re-parameterized large-kernel blocks keep the merged kernel as
    ``dwconv.lk_origin.weight|bias``; ours is ``dwconv.weight|bias``. Only
    inference-structure files are touched (in the training structure,
    ``dwconv.lk_origin`` is the large kernel's own conv).

    Args:
        state_dict (dict[str, Tensor]): The weights.
        prefix (str): Where the backbone's keys start, e.g. 'backbone.'.
            Defaults to ''.

    Returns:
        tuple[dict, int]: ``(state dict, number of renamed keys)``.
    """
    if state_dict_structure(state_dict, prefix) != Structure.DEPLOY:
        return state_dict, 0
    pattern = re.compile(
        rf'^({re.escape(prefix)}stages\.\d+\.\d+\.dwconv)\.lk_origin\.')
    renamed = OrderedDict(
        (pattern.sub(r'\1.', k), v) for k, v in state_dict.items())
    return renamed, sum(1 for k in state_dict if pattern.match(k))


def convert_imagenet(state_dict: StateDict) -> StateDict:
    """The authors' classifier -> mmpretrain ImageClassifier keys.

    Args:
        state_dict (dict[str, Tensor]): Their classifier's weights.

    Returns:
        dict[str, Tensor]: ``backbone.*`` and ``head.fc.*`` keys.

    Raises:
        ConversionError: The keys are no UniRepLKNet's.
    """
    if not is_unireplknet(state_dict):
        raise ConversionError('not a UniRepLKNet ImageNet checkpoint: no '
                              'downsample_layers.0.0.weight / stages.* keys')
    converted = OrderedDict()
    for key, value in state_dict.items():
        if key.startswith('head.'):
            converted['head.fc.' + key[len('head.'):]] = value
        else:
            converted['backbone.' + key] = value
    return converted


def convert_dense(state_dict: StateDict,
                  fmt: str) -> Tuple[StateDict, List[str]]:
    """mmdet 2.x / mmseg 0.x keys -> mmdet 3.x / mmseg 1.x keys.

    The names are the same in both generations (see the module docstring),
    so this keeps the model's modules and drops anything else.

    Args:
        state_dict (dict[str, Tensor]): The detector's or segmentor's
            weights, without ``ema_*`` buffers.
        fmt (str): 'mmdet2' or 'mmseg0'.

    Returns:
        tuple[dict, list[str]]: ``(state dict, warnings)``.

    Raises:
        ConversionError: The backbone is no UniRepLKNet, or a module of the
            format has no keys.
    """
    if not is_unireplknet(state_dict, 'backbone.'):
        raise ConversionError(
            f'not a UniRepLKNet {FORMATS[fmt]} checkpoint: no '
            'backbone.downsample_layers.0.0.weight / backbone.stages.* keys')
    modules = MODULES[fmt]
    kept = OrderedDict(
        (k, v) for k, v in state_dict.items() if k.split('.', 1)[0] in modules)
    dropped = sorted({k.split('.', 1)[0] for k in state_dict} - set(modules))
    warnings = [f'dropped keys outside the {FORMATS[fmt]} modules '
                f'({", ".join(modules)}): top-level names {dropped}'
                ] if dropped else []
    absent = [
        m for m in modules if not any(k.startswith(m + '.') for k in kept)
    ]
    if absent and absent != ['auxiliary_head']:
        raise ConversionError(
            f'no {", ".join(m + ".*" for m in absent)} keys: not an '
            f'{FORMATS[fmt]} checkpoint (try --type auto)')
    return kept, warnings
