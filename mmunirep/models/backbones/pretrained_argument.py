# Copyright (c) mmunirep contributors. All rights reserved.
"""The backbone's deprecated ``pretrained=`` argument.

mmseg's ``EncoderDecoder`` hands its model-level ``pretrained`` to the
backbone, and mmseg's base configs set it for their ResNet, so a UniRepLKNet
placed in such a base receives another backbone's weights by that route.
"""
import warnings
from typing import Optional, Union

#: Where a ``pretrained=`` that does not fit usually comes from, and the fix.
PRETRAINED_FROM_MODEL_HINT = (
    "mmseg's EncoderDecoder hands the model-level `model.pretrained` to the "
    "backbone, and mmseg's base configs (fpn_r50, upernet_r50, ...) set it "
    'for their ResNet. Add `pretrained=None` to `model` in your config (or '
    '--cfg-options model.pretrained=None) and give UniRepLKNet its weights '
    "as backbone.init_cfg=dict(type='Pretrained', checkpoint=...).")
#: MMEngine's model-zoo schemes: they name other backbones' weights
#: (``open-mmlab://resnet50_v1c`` ...), never UniRepLKNet's.
MODEL_ZOO_SCHEMES = ('open-mmlab://', 'openmmlab://', 'torchvision://',
                     'modelzoo://', 'mmcls://')


def init_cfg_of_pretrained(pretrained: Optional[str],
                           init_cfg: Optional[Union[dict, list]]
                           ) -> Optional[Union[dict, list]]:
    """The ``init_cfg`` a backbone given ``pretrained`` and ``init_cfg``
    uses: ``init_cfg`` itself, or ``pretrained`` as a ``type='Pretrained'``
    config (with a deprecation warning). A model-zoo name of another
    backbone's weights is refused when the weights would be loaded, before
    anything is downloaded (:func:`check_loadable`): a model built for
    testing from a checkpoint never loads it.

    Raises:
        ValueError: Both given.
        TypeError: ``pretrained`` is not a string.
    """
    if pretrained is None:
        return init_cfg
    if init_cfg is not None:
        raise ValueError(
            f'UniRepLKNet got both pretrained={pretrained!r} and '
            f'init_cfg={init_cfg}; give only init_cfg. mmseg\'s '
            'EncoderDecoder passes its model-level `pretrained` to the '
            'backbone, and mmseg\'s base configs set it for their '
            'ResNet: add `pretrained=None` to `model` in your config.')
    if not isinstance(pretrained, str):
        raise TypeError('pretrained must be a checkpoint path or URL (or '
                        f'None), got {type(pretrained).__name__}')
    warnings.warn(
        f'UniRepLKNet: pretrained={pretrained!r} is deprecated and taken '
        "as init_cfg=dict(type='Pretrained', checkpoint=...). mmseg's "
        'EncoderDecoder hands its model-level `pretrained` to the '
        'backbone: if it comes from a base config made for another '
        'backbone, set `pretrained=None` in `model`.')
    return dict(type='Pretrained', checkpoint=pretrained)


def check_loadable(pretrained: str) -> None:
    """Refuse a ``pretrained=`` that names another backbone's weights in a
    model zoo (``open-mmlab://resnet50_v1c`` ...), before it is fetched.

    Raises:
        ValueError: Naming the cause (a base config's ``model.pretrained``)
            and the fix.
    """
    if pretrained.startswith(MODEL_ZOO_SCHEMES):
        raise ValueError(
            f'UniRepLKNet got pretrained={pretrained!r}, the model-zoo '
            "name of another backbone's weights, which UniRepLKNet cannot "
            f'load (nothing was downloaded). {PRETRAINED_FROM_MODEL_HINT}')
