# Copyright (c) mmunirep contributors. All rights reserved.
"""Checkpoint weights in the training structure -> the inference structure
(``tools/reparameterize.py``, ``publish_model.py --deploy``)."""
from typing import Dict, Optional, Tuple

from mmengine.logging import MMLogger
from torch import Tensor, nn

from mmunirep.checkpoints import build_model, fit_to_model
from mmunirep.models import reparameterize_model
from mmunirep.utils import load_config


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


def reparameterized_model(config: str,
                          state: Dict[str, Tensor],
                          source: str,
                          cfg_options: Optional[dict] = None,
                          strict_options: bool = False) -> nn.Module:
    """``config``'s model with ``state`` loaded strictly, re-parameterized.

    Args:
        config (str): The training config the weights belong to.
        state (dict): Their state dict.
        source (str): The checkpoint, named in error messages.
        cfg_options (dict, optional): Overrides for the config.
        strict_options (bool): Refuse overrides of keys the config lacks.

    Returns:
        nn.Module: The model in the inference structure; its state dict
        loads strictly into the matching deploy config.

    Raises:
        ValueError: The config builds the inference structure already, or
            nothing in it can be re-parameterized.
        CheckpointError: The weights do not fit the config.
    """
    cfg = load_config(config, cfg_options, strict_options)
    if cfg.model.get('backbone', {}).get('deploy'):
        raise ValueError(f'{config} already builds the inference structure; '
                         'pass the training config')
    model = build_model(cfg)
    model.load_state_dict(fit_to_model(model, state, source, config),
                          strict=True)
    if reparameterize_model(model) == 0:
        raise ValueError(f'nothing in {config} can be re-parameterized')
    return model
