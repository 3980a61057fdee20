# Copyright (c) mmunirep contributors. All rights reserved.
"""Checkpoint weights in the training structure -> the inference structure."""
from typing import Dict, Optional, Tuple

from mmengine.logging import MMLogger
from torch import Tensor

from mmunirep.models.utils import reparameterize_model
from mmunirep.utils import compare_state_dicts
from .model_builder import build_model, load_config


def inference_weights(checkpoint: dict,
                      raw_weights: bool = False
                      ) -> Tuple[Dict[str, Tensor], str]:
    """The weights of a checkpoint that inference should use.

    MMEngine's EMAHook stores the averaged weights in ``state_dict`` and the
    raw ones, prefixed ``module.``, in ``ema_state_dict``.

    Args:
        checkpoint (dict): A loaded checkpoint, or a plain state dict.
        raw_weights (bool): Take the raw weights of a checkpoint written with
            EMA. Defaults to False.

    Returns:
        tuple[dict, str]: The state dict and where it came from.
    """
    if 'state_dict' not in checkpoint:
        return checkpoint, 'plain state dict'
    if 'ema_state_dict' not in checkpoint:
        if raw_weights:
            MMLogger.get_current_instance().warning(
                'the checkpoint has no EMA state; --raw-weights has nothing '
                'to choose')
        return checkpoint['state_dict'], 'state_dict (no EMA)'
    if not raw_weights:
        return checkpoint['state_dict'], 'EMA weights'
    raw = {k[len('module.'):]: v
           for k, v in checkpoint['ema_state_dict'].items()
           if k.startswith('module.')}
    return raw, 'raw weights (ema_state_dict)'


def reparameterized_state_dict(config: str,
                               state: Dict[str, Tensor],
                               checkpoint_name: str = 'the checkpoint',
                               cfg_options: Optional[dict] = None
                               ) -> Dict[str, Tensor]:
    """Load training-structure weights into ``config``'s model strictly,
    re-parameterize it and return the inference-structure state dict.

    Args:
        config (str): The training config the weights belong to.
        state (dict): Its state dict.
        checkpoint_name (str): Named in error messages.
        cfg_options (dict, optional): Overrides for the config.

    Returns:
        dict: A state dict that loads strictly into the deploy config.

    Raises:
        ValueError: The config builds the inference structure, the weights do
            not fit it, or nothing in it can be re-parameterized.
    """
    cfg = load_config(config, cfg_options)
    backbone = cfg.model.get('backbone', {})
    if backbone.get('deploy'):
        raise ValueError(f'{config} already builds the inference structure; '
                         'pass the training config')
    if backbone.get('init_cfg') is not None:
        backbone.init_cfg = None
    model = build_model(cfg)
    diff = compare_state_dicts(model.state_dict(), state)
    if diff:
        hint = 'Use the config the checkpoint was trained with.'
        if any('dil_conv' in k or 'origin_bn' in k for k in diff.missing):
            hint = ('The checkpoint looks re-parameterized already: use it '
                    'with the deploy config directly.')
        raise ValueError(f'{checkpoint_name} does not match {config}: '
                         f'{diff.describe()}. {hint}')
    model.load_state_dict(state, strict=True)
    if reparameterize_model(model) == 0:
        raise ValueError(f'nothing in {config} can be re-parameterized')
    return model.state_dict()
