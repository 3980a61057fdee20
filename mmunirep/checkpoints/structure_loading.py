# Copyright (c) mmunirep contributors. All rights reserved.
"""Load a checkpoint into a model for inference or evaluation, strictly,
whatever the structure of its UniRepLKNets.

Used by ``mmunirep.apis.build_model`` and every tool built on it, and by
the Runner of any ``tools/test.py`` through
:class:`~mmunirep.engine.StrictCheckpointLoadHook`:

- a training-structure checkpoint under a model built in the inference
  (deploy) structure is re-parameterized on the fly, and the log says so;
- an inference-structure checkpoint under a training-structure model is
  refused (:class:`StructureMismatchError`), naming the deploy config;
- any other missing, unexpected or differently shaped key is an error
  (:class:`~mmunirep.utils.StateDictMismatchError`).
"""
import os.path as osp
import re
from collections import OrderedDict
from typing import Dict, Mapping, Optional

from mmengine.logging import MMLogger
from mmengine.model import BaseTTAModel, is_model_wrapper
from torch import Tensor, nn

from mmunirep.models import Structure, UniRepLKNet, state_dict_structure
from mmunirep.utils.state_dict_fit import (CheckpointError,
                                           StateDictMismatchError,
                                           fit_state_dict)
from .files import read_checkpoint, weights_of

StateDict = Dict[str, Tensor]


class StructureMismatchError(CheckpointError):
    """An inference-structure checkpoint for a training-structure model.

    Args:
        source (str): The checkpoint.
        target (str): The model's config, or 'the model'.
        deploy_config (str): The deploy twin of the config, or how to get
            one.

    Attributes:
        source, target, deploy_config: As given.
        checkpoint_structure (Structure): :attr:`Structure.DEPLOY`.
        model_structure (Structure): :attr:`Structure.TRAINING`.
    """
    checkpoint_structure = Structure.DEPLOY
    model_structure = Structure.TRAINING

    def __init__(self, source: str, target: str, deploy_config: str) -> None:
        self.source, self.target = source, target
        self.deploy_config = deploy_config
        super().__init__(
            f'{source} holds UniRepLKNet in the {Structure.DEPLOY} structure '
            '(already re-parameterized, e.g. by tools/reparameterize.py), '
            f'but {target} builds the {Structure.TRAINING} structure. Use it '
            f'with {deploy_config} (no --deploy needed).')


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
        in_channels=backbone.in_channels,
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
        StateDictMismatchError: The checkpoint's backbone is not
            ``backbone``'s arch.
    """
    part = {k[len(prefix):]: v for k, v in state.items()
            if k.startswith(prefix)}
    twin = training_twin(
        backbone, layer_scale=any(k.endswith('.gamma') and k.count('.') == 3
                                  for k in part))
    fit = fit_state_dict(twin, part)
    if not fit.fits:
        raise StateDictMismatchError(
            source, f"the model's arch (depths {backbone.depths}, dims "
            f"{backbone.dims}) as the training-structure UniRepLKNet under "
            f"'{prefix}'", fit,
            'Use the config the checkpoint was trained with.')
    twin.load_state_dict(part, strict=True)
    twin.switch_to_deploy()
    converted = OrderedDict(
        (k, v) for k, v in state.items() if not k.startswith(prefix))
    converted.update((prefix + k, v) for k, v in twin.state_dict().items())
    return converted


def fit_to_model(model: nn.Module,
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
        StateDictMismatchError: Any other missing, unexpected or mis-shaped
            key.
    """
    model = unwrap_model(model)
    state = OrderedDict((re.sub(r'^module\.', '', k), v)
                        for k, v in state_dict.items())
    target = config or 'the model'
    for prefix, backbone in unireplknets(model).items():
        theirs = state_dict_structure(state, prefix)
        ours = Structure.of(backbone.deploy)
        if theirs is None or theirs == ours:
            continue
        if theirs == Structure.DEPLOY:
            raise StructureMismatchError(source, target,
                                         deploy_config_of(config))
        state = reparameterize_state_dict(state, prefix, backbone, source)
        MMLogger.get_current_instance().info(
            f'{source} holds UniRepLKNet in the {Structure.TRAINING} '
            f'structure and {target} builds the {Structure.DEPLOY} structure:'
            f" re-parameterized the checkpoint's '{prefix}' weights on the "
            'fly')
    fit = fit_state_dict(model, state)
    if not fit.fits:
        raise StateDictMismatchError(
            source, target, fit,
            'Use the config the checkpoint was trained with (the authors\' '
            'released files need tools/model_converters/'
            'unireplknet_to_mmunirep.py first).')
    return state


def load_checkpoint_strict(model: nn.Module,
                           checkpoint: str,
                           config: Optional[str] = None) -> dict:
    """Read ``checkpoint`` and load it into ``model`` with strict keys.

    Structure differences are handled as :func:`fit_to_model` says; the
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
    state = fit_to_model(model, weights_of(data, checkpoint), checkpoint,
                         config)
    unwrap_model(model).load_state_dict(state, strict=True)
    meta = data.get('meta')
    if isinstance(meta, dict) and 'dataset_meta' in meta:
        model.dataset_meta = meta['dataset_meta']
    return data
