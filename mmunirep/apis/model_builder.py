# Copyright (c) mmunirep contributors. All rights reserved.
"""Build the model of any mmunirep config outside the Runner (tools)."""
from typing import Optional

from mmengine.config import Config, DictAction  # noqa: F401 (re-export)
from mmengine.logging import MMLogger
from mmengine.model import revert_sync_batchnorm
from mmengine.registry import MODELS, init_default_scope
from torch import nn

from mmunirep.env_check import require_mmcv_ops
from mmunirep.models.strict_loading import load_checkpoint_strict
from mmunirep.models.utils import reparameterize_model
from .config_options import check_cfg_options


def load_config(path: str,
                cfg_options: Optional[dict] = None,
                strict_options: bool = False) -> Config:
    """Read a config and apply ``--cfg-options`` overrides.

    Args:
        path (str): The config file.
        cfg_options (dict, optional): Overrides, ``{'a.b': value}``.
        strict_options (bool): Refuse overrides that add a top-level or
            second-level key the config does not have (otherwise: a
            warning with the nearest keys). Defaults to False.

    Returns:
        Config: The config.
    """
    cfg = Config.fromfile(path)
    if cfg_options:
        check_cfg_options(cfg, cfg_options, strict_options)
        cfg.merge_from_dict(cfg_options)
    return cfg


def task_of(cfg: Config) -> str:
    """'mmdet', 'mmseg' or 'mmpretrain': the default scope of a config."""
    scope = cfg.get('default_scope')
    if scope not in ('mmdet', 'mmseg', 'mmpretrain'):
        raise ValueError(
            f'config default_scope is {scope!r}; mmunirep tools handle '
            "'mmdet', 'mmseg' and 'mmpretrain' configs")
    return scope


def runnable_task_of(cfg: Config) -> str:
    """:func:`task_of`, after checking that the installed mmcv can run it
    (mmdet and mmseg need mmcv's compiled ops; mmpretrain does not).

    Raises:
        EnvironmentMismatchError: The task needs ops that do not load.
    """
    task = task_of(cfg)
    require_mmcv_ops(task)
    return task


def build_model(cfg: Config,
                checkpoint: Optional[str] = None,
                deploy: bool = False,
                device: Optional[str] = 'cpu',
                pretrained: bool = False) -> nn.Module:
    """Build ``cfg.model`` in eval mode, optionally load and re-parameterize.

    SyncBN is reverted to BN (no process group outside the Runner). The
    checkpoint is loaded by
    :func:`mmunirep.models.strict_loading.load_checkpoint_strict`: a
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
