# Copyright (c) mmunirep contributors. All rights reserved.
"""The backbones an ERF is measured on: that of any mmunirep config, or an
mmpretrain model to compare with (ConvNeXt, ResNet, ...)."""
import logging
import os.path as osp
import re
from contextlib import contextmanager
from typing import Optional, Tuple

from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.runner import load_checkpoint
from torch import nn

from mmunirep.checkpoints import build_model
from mmunirep.utils import load_config


@contextmanager
def _init_info_muted():
    """Keep ``init_weights`` from logging one INFO line per parameter (what
    MMEngine does when the logger has no file to write them to)."""
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(max(level, logging.WARNING))
    try:
        yield
    finally:
        logger.setLevel(level)


def _drop_missing_pretrained(cfg: Config) -> bool:
    """Set the backbone's ``init_cfg`` to None when it points at a local
    checkpoint file that does not exist; returns whether it did."""
    init_cfg = cfg.model.get('backbone', {}).get('init_cfg')
    if not init_cfg or init_cfg.get('type') != 'Pretrained':
        return False
    path = init_cfg.get('checkpoint', '')
    if '://' in path or osp.isfile(path):
        return False
    MMLogger.get_current_instance().warning(
        f'the backbone init_cfg checkpoint {path} does not exist: the '
        'backbone is randomly initialised')
    cfg.model.backbone.init_cfg = None
    return True


def config_backbone(cfg: Config,
                    checkpoint: Optional[str] = None,
                    name: Optional[str] = None) -> Tuple[str, nn.Module]:
    """The backbone of any mmunirep config (classifier, segmentor, detector).

    Args:
        cfg (Config): The config.
        checkpoint (str, optional): Weights of the whole model, training or
            deploy structure (loaded strictly by
            :func:`mmunirep.apis.build_model`). Without one, the model is
            initialised as training starts: ``init_weights``, with the
            backbone's ``init_cfg`` checkpoint if that file exists, random
            otherwise.
        name (str, optional): Label; defaults to the config's file name.

    Returns:
        tuple[str, nn.Module]: A label saying which weights were used, and
        the backbone in its inference structure (same function, faster).
    """
    name = name or osp.splitext(osp.basename(cfg.filename))[0]
    if checkpoint is not None:
        model = build_model(cfg, checkpoint, deploy=True)
        label = f'{name} ({osp.basename(checkpoint)})'
    else:
        random = _drop_missing_pretrained(cfg) or not cfg.model.get(
            'backbone', {}).get('init_cfg')
        with _init_info_muted():
            model = build_model(cfg, deploy=True, pretrained=True)
        label = f"{name} ({'random init' if random else 'init_cfg weights'})"
    return label, getattr(model, 'backbone', model)


def mmpretrain_model_name(name: str) -> str:
    """An mmpretrain model-zoo name for ``name``.

    Accepts a full name (``convnext-tiny_32xb128_in1k``) or a short one
    (``convnext-tiny``, ``resnet50``), which stands for its single
    ImageNet-1k recipe ``<name>_<G>xb<B>_in1k``.

    Raises:
        ValueError: Unknown, or the short name is ambiguous.
    """
    from mmpretrain import list_models
    if name in list_models():
        return name
    recipe = re.compile(re.escape(name) + r'_\d+xb\d+_in1k')
    candidates = [m for m in list_models(f'{name}_*')
                  if recipe.fullmatch(m)]
    if len(candidates) != 1:
        others = list_models(f'{name}*')[:8]
        raise ValueError(
            f'--compare {name}: not an mmpretrain model name, and not the '
            f'short name of exactly one ImageNet-1k recipe (found '
            f'{candidates or "none"}); similar models: {others or "none"}')
    return candidates[0]


def compare_backbone(spec: str) -> Tuple[str, nn.Module]:
    """A backbone to compare with, from ``NAME[=CHECKPOINT]``.

    Args:
        spec (str): An mmpretrain model (see :func:`mmpretrain_model_name`)
            or an mmunirep config file (``.py``), optionally followed by
            ``=`` and a checkpoint of that model. An mmpretrain model
            without a checkpoint is randomly initialised with its own
            ``init_weights``; its checkpoint is loaded strictly.

    Returns:
        tuple[str, nn.Module]: Label and backbone.
    """
    name, _, checkpoint = spec.partition('=')
    checkpoint = checkpoint or None
    if name.endswith('.py'):
        return config_backbone(load_config(name), checkpoint)
    from mmpretrain import get_model
    model = get_model(mmpretrain_model_name(name))
    if checkpoint is None:
        with _init_info_muted():
            model.init_weights()
        label = f'{name} (random init)'
    else:
        load_checkpoint(model, checkpoint, map_location='cpu', strict=True)
        label = f'{name} ({osp.basename(checkpoint)})'
    return label, model.backbone
