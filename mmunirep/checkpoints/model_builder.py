# Copyright (c) mmunirep contributors. All rights reserved.
"""Build the model of any mmunirep config outside the Runner (tools)."""
from typing import Optional

from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.model import revert_sync_batchnorm
from mmengine.registry import MODELS, init_default_scope
from torch import nn

from mmunirep.models.utils import reparameterize_model
from mmunirep.utils.config import runnable_task_of
from .structure_loading import load_checkpoint_strict


def build_model(cfg: Config,
                checkpoint: Optional[str] = None,
                deploy: bool = False,
                device: Optional[str] = 'cpu',
                pretrained: bool = False) -> nn.Module:
    """Build ``cfg.model`` in eval mode, optionally load and re-parameterize.

    SyncBN is reverted to BN (no process group outside the Runner). The
    checkpoint is loaded by
    :func:`~.structure_loading.load_checkpoint_strict`: a
    training-structure checkpoint under a deploy config is re-parameterized
    on the fly, an inference-structure checkpoint under a training config
    (with or without ``deploy``) is refused naming the deploy config, and
    any other key mismatch is an error.

    Args:
        cfg (Config): A full config (its ``default_scope`` is used).
        checkpoint (str, optional): Weights to load strictly.
        deploy (bool): Switch re-parameterizable modules to the inference
            structure after loading. Defaults to False.
        device (str, optional): Where to put the model; None leaves it
            where it was built. Defaults to 'cpu'.
        pretrained (bool): Run ``init_weights`` (loads ``init_cfg``
            checkpoints). Defaults to False.

    Returns:
        nn.Module: The model.
    """
    init_default_scope(runnable_task_of(cfg))
    model = revert_sync_batchnorm(MODELS.build(cfg.model))
    if pretrained:
        model.init_weights()
    if checkpoint is not None:
        load_checkpoint_strict(model, checkpoint, cfg.filename)
    if deploy:
        if reparameterize_model(model) == 0:
            MMLogger.get_current_instance().warning(
                'deploy requested but the model has nothing to '
                're-parameterize')
    if device is not None:
        model = model.to(device)
    return model.eval()
