# Copyright (c) mmunirep contributors. All rights reserved.
"""Layer-wise learning-rate decay for models that contain UniRepLKNet."""
from collections import OrderedDict
from typing import Dict, List, Tuple

from mmengine.logging import MMLogger
from mmengine.model import is_model_wrapper
from torch import nn

from mmunirep.models.backbones import UniRepLKNet
from mmunirep.models.backbones.layer_ids import LAYER_ID_SCHEMES
from mmunirep.models.layers import GRN
from mmunirep.registry import OPTIM_WRAPPER_CONSTRUCTORS
from .plain_groups_constructor import PlainGroupsOptimWrapperConstructor

DECAY_TYPES = tuple(LAYER_ID_SCHEMES)
PARAMWISE_KEYS = {'decay_rate', 'decay_type', 'num_layers', 'decay_grn'}


def is_scale_or_shift(name: str, shape: Tuple[int, ...]) -> bool:
    """Whether a parameter is a per-channel scale or shift (a bias, a norm
    weight, a layer scale, GRN gamma/beta): at most one dimension > 1."""
    return name.endswith('.bias') or sum(s > 1 for s in shape) <= 1


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class UniRepLKNetLayerDecayConstructor(PlainGroupsOptimWrapperConstructor):
    """Optimizer wrapper with layer-wise lr decay for UniRepLKNet models.

    Every UniRepLKNet found anywhere in the model (``backbone.`` in a
    detector, segmentor or classifier; ``module.`` prefixes of DDP wrappers
    are handled) has its parameters mapped to a layer id with the authors'
    scheme or the stage-wise one
    (:data:`~mmunirep.models.backbones.layer_ids.LAYER_ID_SCHEMES`); all
    other parameters (necks, heads) get the top id N + 1. A parameter with
    id i gets ``lr = base_lr * decay_rate ** (N + 1 - i)``.

    Weight decay: 0 for biases and for per-channel scales and shifts
    (1-D parameters such as norms and layer scale). GRN's ``gamma`` and
    ``beta`` are stored as (1, 1, 1, C) tensors, so the authors' "1-D" test
    missed them and they were decayed; they are per-channel scale/shift
    parameters initialised at 0 (GRN off), and decaying them only pulls GRN
    back to off, so by default they are exempt too. Set ``decay_grn=True``
    to reproduce the authors' optimizer exactly.

    ``paramwise_cfg`` keys:

    - ``decay_rate`` (float): The per-layer factor. Defaults to 1.
    - ``decay_type`` (str): 'layer_wise' (default) or 'stage_wise'.
    - ``num_layers`` (int): N; defaults to the backbone's natural depth
      (:attr:`UniRepLKNet.num_layers`: 9 for T, 12 for S..XL).
    - ``decay_grn`` (bool): Apply weight decay to GRN gamma/beta, as the
      authors did. Defaults to False.

    The parameter groups are logged once as a compact table.

    Example:
        >>> optim_wrapper = dict(
        ...     type='OptimWrapper',
        ...     optimizer=dict(type='AdamW', lr=1e-4, weight_decay=0.05),
        ...     constructor='mmunirep.UniRepLKNetLayerDecayConstructor',
        ...     paramwise_cfg=dict(decay_rate=0.9, num_layers=12))
    """

    def __init__(self, optim_wrapper_cfg: dict, paramwise_cfg=None) -> None:
        paramwise_cfg = dict(paramwise_cfg or {})
        unknown = set(paramwise_cfg) - PARAMWISE_KEYS
        if unknown:
            raise ValueError(
                f'UniRepLKNetLayerDecayConstructor does not understand '
                f'paramwise_cfg keys {sorted(unknown)}; it takes '
                f'{sorted(PARAMWISE_KEYS)}')
        if paramwise_cfg.get('decay_type', 'layer_wise') not in DECAY_TYPES:
            raise ValueError(f'decay_type must be one of {DECAY_TYPES}, got '
                             f"{paramwise_cfg['decay_type']!r}")
        self.decay_rate = float(paramwise_cfg.get('decay_rate', 1.))
        self.decay_type = paramwise_cfg.get('decay_type', 'layer_wise')
        self.num_layers = paramwise_cfg.get('num_layers')
        if self.num_layers is not None and (
                not isinstance(self.num_layers, int) or self.num_layers < 1):
            raise ValueError('paramwise_cfg num_layers must be a positive int '
                             f'(or None), got {self.num_layers!r}')
        if self.decay_rate <= 0:
            raise ValueError('paramwise_cfg decay_rate must be > 0, got '
                             f'{self.decay_rate}')
        self.decay_grn = bool(paramwise_cfg.get('decay_grn', False))
        # a non-empty paramwise_cfg makes the parent call add_params
        super().__init__(
            optim_wrapper_cfg,
            dict(decay_rate=self.decay_rate, decay_type=self.decay_type,
                 num_layers=self.num_layers, decay_grn=self.decay_grn))

    def _layer_id(self, name: str, backbones: Dict[str, UniRepLKNet]
                  ) -> Tuple[int, int]:
        """(layer id, N) of a parameter of the whole model."""
        for prefix, backbone in backbones.items():
            n = self.num_layers or backbone.num_layers
            if name.startswith(prefix):
                scheme = LAYER_ID_SCHEMES[self.decay_type]
                return scheme(name[len(prefix):], n), n
        backbone = next(iter(backbones.values()))
        n = self.num_layers or backbone.num_layers
        return n + 1, n

    def add_params(self, params: List[dict], module: nn.Module,
                   **kwargs) -> None:
        """Fill ``params`` with one group per (layer id, weight decay)."""
        if is_model_wrapper(module):
            module = module.module
        backbones = OrderedDict(
            (f'{name}.' if name else '', m)
            for name, m in module.named_modules()
            if isinstance(m, UniRepLKNet))
        if not backbones:
            raise ValueError(
                'UniRepLKNetLayerDecayConstructor found no UniRepLKNet in '
                f'the model ({type(module).__name__}); use the default '
                'constructor (remove `constructor=` from optim_wrapper) or '
                'mmpretrain/mmdet/mmseg layer-decay constructors for other '
                'backbones')
        self._check_num_layers(backbones)
        weight_decay = self.base_wd or 0.
        groups: Dict[Tuple[int, bool], dict] = {}
        grn_params = {id(p) for m in module.modules() if isinstance(m, GRN)
                      for p in m.parameters()}
        for name, param in module.named_parameters():
            if not param.requires_grad:
                continue
            layer_id, n = self._layer_id(name, backbones)
            no_decay = is_scale_or_shift(name, tuple(param.shape)) and not (
                id(param) in grn_params and self.decay_grn)
            key = (layer_id, no_decay)
            if key not in groups:
                scale = self.decay_rate**(n + 1 - layer_id)
                groups[key] = dict(
                    params=[], param_names=[], lr=self.base_lr * scale,
                    lr_scale=scale, layer_id=layer_id,
                    weight_decay=0. if no_decay else weight_decay)
            groups[key]['params'].append(param)
            groups[key]['param_names'].append(name)
        ordered = [groups[key] for key in sorted(groups)]
        params.extend(ordered)
        self._log_groups(ordered)

    def _check_num_layers(self, backbones: Dict[str, UniRepLKNet]) -> None:
        """Refuse a ``num_layers`` below a backbone's depth: its deepest
        layer ids would exceed N + 1 and get lr scales above 1."""
        for prefix, backbone in backbones.items():
            if self.num_layers is not None and \
                    self.num_layers < backbone.num_layers:
                raise ValueError(
                    f'paramwise_cfg num_layers={self.num_layers} is below the '
                    'depth of the UniRepLKNet '
                    f"{prefix.rstrip('.') or 'model'} (depths "
                    f'{backbone.depths}): its stage-2 blocks take '
                    f'layer ids up to {backbone.num_layers - 1}, so '
                    f'num_layers must be >= {backbone.num_layers} (None takes '
                    'exactly that), otherwise those layers get learning-rate '
                    'scales above 1')

    def _log_groups(self, groups: List[dict]) -> None:
        header = f"{'layer id':>8} | {'lr scale':>10} | {'weight decay':>12} "\
            f"| {'tensors':>7} | {'elements':>10}"
        lines = [header, '-' * len(header)]
        for group in groups:
            lines.append(
                f"{group['layer_id']:>8} | {group['lr_scale']:>10.4g} | "
                f"{group['weight_decay']:>12.4g} | {len(group['params']):>7} "
                f"| {sum(p.numel() for p in group['params']):>10}")
        MMLogger.get_current_instance().info(
            f'Layer-wise lr decay ({self.decay_type}, rate '
            f'{self.decay_rate}): {len(groups)} parameter groups\n' +
            '\n'.join(lines))
