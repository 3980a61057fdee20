# Copyright (c) mmunirep contributors. All rights reserved.
"""Load a checkpoint into a model for inference or evaluation, strictly.

The one place where mmunirep decides whether a checkpoint fits a model
(``mmunirep.apis.build_model`` and every tool built on it, the Runner of
``tools/test.py`` through :class:`~mmunirep.engine.StrictCheckpointLoadHook`):

- a training-structure checkpoint under a model built in the inference
  (deploy) structure is re-parameterized on the fly, and the log says so;
- an inference-structure checkpoint under a training-structure model is
  refused, naming both structures and the deploy config to use;
- any other missing, unexpected or differently shaped key is an error.
"""
import os.path as osp
import re
from collections import OrderedDict
from typing import Dict, Mapping, Optional

from mmengine.logging import MMLogger
from mmengine.model import BaseTTAModel, is_model_wrapper
from torch import Tensor, nn

from mmunirep.utils.checkpoint_file import (CheckpointError, read_checkpoint,
                                            weights_of)
from mmunirep.utils.state_dict_diff import compare_state_dicts
from .backbones import UniRepLKNet
from .utils.structure import DEPLOY, TRAINING, state_dict_structure

StateDict = Dict[str, Tensor]


class StructureMismatchError(CheckpointError):
    """An inference-structure checkpoint for a training-structure model."""


def unwrap_model(model: nn.Module) -> nn.Module:
    """The model that owns the weights: inside DDP-like wrappers and
    test-time-augmentation models, as MMEngine loads checkpoints."""
    while is_model_wrapper(model) or isinstance(model, BaseTTAModel):
        model = model.module
    return model


def unireplknets(model: nn.Module) -> Dict[str, UniRepLKNet]:
    """Every UniRepLKNet in ``model``, by state-dict prefix ('backbone.')."""
    return OrderedDict((f'{name}.' if name else '', module)
                       for name, module in model.named_modules()
                       if isinstance(module, UniRepLKNet))


def deploy_config_of(config: Optional[str]) -> str:
    """The deploy twin of a training config, or how to get one.

    ``configs/x.py`` -> ``configs/deploy/x.py`` (also for configs/demo/).
    """
    if config:
        twin = osp.join(osp.dirname(config), 'deploy', osp.basename(config))
        if osp.isfile(twin):
            return twin
    return ('a config that builds the inference structure (configs/deploy/'
            '<same name>.py, or --cfg-options model.backbone.deploy=True)')


def training_twin(backbone: UniRepLKNet, layer_scale: bool) -> UniRepLKNet:
    """A training-structure UniRepLKNet with the arch of ``backbone``.

    Args:
        backbone (UniRepLKNet): Any UniRepLKNet (usually a deploy one).
        layer_scale (bool): Whether the twin has layer-scale ``gamma``.

    Returns:
        UniRepLKNet: Built with default weights, in eval mode.
    """
    return UniRepLKNet(
        arch=dict(depths=list(backbone.depths), dims=list(backbone.dims),
                  kernel_sizes=backbone.kernel_sizes),
        in_channels=backbone.downsample_layers[0][0].in_channels,
        out_indices=backbone.out_indices,
        layer_scale_init_value=1. if layer_scale else 0.,
        gap_before_final_norm=backbone.gap_before_final_norm,
        deploy=False).eval()


def reparameterize_state_dict(state: StateDict, prefix: str,
                              backbone: UniRepLKNet,
                              source: str) -> StateDict:
    """Replace the training-structure weights under ``prefix`` by their
    re-parameterized (inference-structure) equivalent.

    Raises:
        CheckpointError: The checkpoint's backbone is not ``backbone``'s
            arch.
    """
    part = {k[len(prefix):]: v for k, v in state.items()
            if k.startswith(prefix)}
    twin = training_twin(
        backbone, layer_scale=any(k.endswith('.gamma') and k.count('.') == 3
                                  for k in part))
    diff = compare_state_dicts(twin.state_dict(), part)
    if diff:
        raise CheckpointError(
            f'{source}: the training-structure UniRepLKNet under '
            f"'{prefix}' does not fit the model's arch (depths "
            f'{backbone.depths}, dims {backbone.dims}): {diff.describe()}. '
            'Use the config the checkpoint was trained with.')
    twin.load_state_dict(part, strict=True)
    twin.switch_to_deploy()
    converted = OrderedDict(
        (k, v) for k, v in state.items() if not k.startswith(prefix))
    converted.update((prefix + k, v) for k, v in twin.state_dict().items())
    return converted


def fit_state_dict(model: nn.Module,
                   state_dict: Mapping[str, Tensor],
                   source: str,
                   config: Optional[str] = None) -> StateDict:
    """Check a checkpoint's weights against ``model``; convert if needed.

    Args:
        model (nn.Module): The model about to receive the weights (wrappers
            and TTA models are looked through).
        state_dict (Mapping[str, Tensor]): The checkpoint's weights;
            ``module.`` prefixes are removed, as MMEngine does.
        source (str): The checkpoint, for messages.
        config (str, optional): The config that built ``model``, for
            messages.

    Returns:
        dict: Weights that load into ``model`` with strict keys.

    Raises:
        StructureMismatchError: An inference-structure checkpoint for a
            training-structure model.
        CheckpointError: Any other missing, unexpected or mis-shaped key.
    """
    model = unwrap_model(model)
    state = OrderedDict((re.sub(r'^module\.', '', k), v)
                        for k, v in state_dict.items())
    what = config or 'the model'
    for prefix, backbone in unireplknets(model).items():
        theirs = state_dict_structure(state, prefix)
        ours = DEPLOY if backbone.deploy else TRAINING
        if theirs is None or theirs == ours:
            continue
        if theirs == DEPLOY:
            raise StructureMismatchError(
                f'{source} holds UniRepLKNet in the {DEPLOY} structure '
                '(already re-parameterized, e.g. by tools/reparameterize.py),'
                f' but {what} builds the {TRAINING} structure. Use it with '
                f'{deploy_config_of(config)} (no --deploy needed).')
        state = reparameterize_state_dict(state, prefix, backbone, source)
        MMLogger.get_current_instance().info(
            f'{source} holds UniRepLKNet in the {TRAINING} structure and '
            f'{what} builds the {DEPLOY} structure: re-parameterized the '
            f"checkpoint's '{prefix}' weights on the fly")
    diff = compare_state_dicts(model.state_dict(), state)
    if diff:
        raise CheckpointError(
            f'{source} does not fit {what}: {diff.describe()}. Use the config '
            'the checkpoint was trained with (the authors\' released files '
            'need tools/model_converters/unireplknet_to_mmunirep.py first).')
    return state


def load_checkpoint_strict(model: nn.Module,
                           checkpoint: str,
                           config: Optional[str] = None) -> dict:
    """Read ``checkpoint`` and load it into ``model`` with strict keys.

    Structure differences are handled as :func:`fit_state_dict` says; the
    checkpoint's ``meta['dataset_meta']`` becomes ``model.dataset_meta``.

    Args:
        model (nn.Module): The model.
        checkpoint (str): A file or URL.
        config (str, optional): The config that built ``model``, for
            messages.

    Returns:
        dict: The checkpoint as read.
    """
    data = read_checkpoint(checkpoint)
    state = fit_state_dict(model, weights_of(data, checkpoint), checkpoint,
                           config)
    unwrap_model(model).load_state_dict(state, strict=True)
    meta = data.get('meta')
    if isinstance(meta, dict) and 'dataset_meta' in meta:
        model.dataset_meta = meta['dataset_meta']
    return data
