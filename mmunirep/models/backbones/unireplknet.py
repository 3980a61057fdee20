# Copyright (c) mmunirep contributors. All rights reserved.
"""UniRepLKNet backbone for classification, detection and segmentation."""
import os
import os.path as osp
import re
import warnings
from typing import Dict, Optional, Sequence, Tuple, Union

from mmcv.cnn import build_norm_layer
from mmengine.logging import MMLogger
from mmengine.model import BaseModule
from torch import Tensor, nn
from torch.nn.modules.batchnorm import _BatchNorm

from mmunirep.checkpoints import how_to_get
from mmunirep.registry import MODELS
from mmunirep.utils.checkpoint_file import (CheckpointError, read_checkpoint,
                                            weights_of)
from mmunirep.utils.state_dict_diff import compare_state_dicts
from ..layers import LayerNorm2d, impl_of, set_kernels
from ..utils.structure import DEPLOY, TRAINING, state_dict_structure
from .unireplknet_block import BLOCK_KERNEL_SIZES, UniRepLKNetBlock

KernelSizes = Sequence[Sequence[int]]


def default_kernel_sizes(depths: Sequence[int]) -> Tuple[Tuple[int, ...], ...]:
    """The authors' per-block kernel sizes for a given depth configuration.

    Stage 0 uses 3x3 everywhere, stages 1 and 3 use 13x13. Stage 2 uses 13
    everywhere when it has at most 8 blocks (A, F, P, N), alternates
    (13, 3) below 27 blocks (T: 18) and repeats (13, 3, 3) from 27 on
    (S, B, L, XL).

    Args:
        depths (Sequence[int]): Blocks per stage, length 4.

    Returns:
        tuple[tuple[int, ...], ...]: One kernel size per block and stage.
    """
    depth2 = depths[2]
    if depth2 <= 8:
        pattern = (13, )
    elif depth2 < 27:
        pattern = (13, 3)
    else:
        pattern = (13, 3, 3)
    stage2 = tuple(pattern[i % len(pattern)] for i in range(depth2))
    return ((3, ) * depths[0], (13, ) * depths[1], stage2, (13, ) * depths[3])


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


@MODELS.register_module()
class UniRepLKNet(BaseModule):
    """UniRepLKNet: a universal perception large-kernel ConvNet.

    A PyTorch implementation of `UniRepLKNet: A Universal Perception
    Large-Kernel ConvNet for Audio, Video, Point Cloud, Time-Series and
    Image Recognition <https://arxiv.org/abs/2311.15599>`_ (CVPR 2024) and
    `Scaling Up Your Kernels <https://arxiv.org/abs/2410.08049>`_.

    Parameter names equal those of the authors' released checkpoints
    (``downsample_layers.*``, ``stages.*``, ``norm0``..``norm3``, ``norm``),
    so their files load directly with ``init_cfg=dict(type='Pretrained',
    checkpoint=...)``. Which keys are expected to differ:

    - dense prediction (``gap_before_final_norm=False``) from an ImageNet
      checkpoint: ``norm{i}`` for ``i`` in ``out_indices`` are missing (the
      classifier has none; they start as identity-like LayerNorms) and the
      classifier's ``norm.*`` and ``head.*`` are unexpected;
    - classification (``gap_before_final_norm=True``, ``out_indices=(3,)``)
      from an ImageNet checkpoint: only ``head.*`` is unexpected (it belongs
      to the classifier head, not the backbone);
    - from the authors' COCO/ADE20K checkpoints (``backbone.`` prefix
      stripped): none.

    Any other difference, and a checkpoint of the other structure (training
    vs. inference), is an error.

    Args:
        arch (str | dict): One of 'a', 'f', 'p', 'n', 't', 's', 'b', 'l',
            'xl' (case-insensitive, 'atto' ... 'xlarge' accepted too), or a
            dict with ``depths`` and ``dims`` (4 ints each) and optionally
            ``kernel_sizes``. Defaults to 't'.
        in_channels (int): Input channels. Defaults to 3.
        out_indices (Sequence[int]): Stages whose outputs are returned
            (0..3; negative values count from the end).
            Defaults to (0, 1, 2, 3).
        drop_path_rate (float): Stochastic depth rate, rising linearly from 0
            over all blocks to this value. Defaults to 0.
        layer_scale_init_value (float): Initial layer scale. Defaults to 1e-6.
        kernel_sizes (Sequence[Sequence[int]], optional): Per-stage, per-block
            depthwise kernel sizes; None takes the arch's (see
            :func:`default_kernel_sizes`). Defaults to None.
        deploy (bool): Build the inference structure directly.
            Defaults to False.
        with_cp (bool): Gradient checkpointing in every block (less memory,
            same outputs and gradients). Defaults to False.
        frozen_stages (int): Freeze (no gradient, eval mode) the stem and
            stages 0..frozen_stages with their downsampling layers and output
            norms; -1 freezes nothing. Defaults to -1.
        norm_eval (bool): Keep every BatchNorm in eval mode during training.
            Defaults to False.
        norm_cfg (dict): BatchNorm config, ``dict(type='BN')`` or
            ``dict(type='SyncBN')``. Defaults to ``dict(type='BN')``.
        gap_before_final_norm (bool): Classification mode: global average
            pool each selected stage, then a LayerNorm (named ``norm`` for
            stage 3, ``norm{i}`` otherwise), returning (N, C) vectors. When
            False, each selected stage output goes through a channels-first
            LayerNorm ``norm{i}`` and stays (N, C, H, W). Defaults to False.
        kernels (str): Which implementation of its ops the backbone runs:
            'auto' (the fastest exact one for the device: Triton kernels on
            CUDA, paths timed per shape on the CPU), 'plain' (plain PyTorch
            everywhere) or 'triton' (the Triton kernels also off CUDA, e.g.
            under ``TRITON_INTERPRET=1``). Settable later as
            ``model.kernels = ...``. Defaults to 'auto'.
        init_cfg (dict | list[dict], optional): Initialization config. None
            gives truncated-normal (std 0.02) Conv2d/Linear weights with zero
            biases, as the authors do. ``dict(type='Pretrained',
            checkpoint=..., prefix=None)`` loads a checkpoint after that: a
            plain state dict, or one wrapped in ``state_dict`` or ``model``
            (the authors' files), with strict keys but for the documented
            differences (see :meth:`load_pretrained`); a missing file, a
            checkpoint of another arch or of the other structure raises an
            error that says so. Defaults to None.

    Example:
        >>> import torch
        >>> from mmunirep.models import UniRepLKNet
        >>> model = UniRepLKNet(arch='a').eval()
        >>> [tuple(o.shape) for o in model(torch.rand(1, 3, 224, 224))]
        [(1, 40, 56, 56), (1, 80, 28, 28), (1, 160, 14, 14), (1, 320, 7, 7)]
    """

    arch_settings: Dict[str, Dict[str, list]] = {
        'a': dict(depths=[2, 2, 6, 2], dims=[40, 80, 160, 320]),
        'f': dict(depths=[2, 2, 6, 2], dims=[48, 96, 192, 384]),
        'p': dict(depths=[2, 2, 6, 2], dims=[64, 128, 256, 512]),
        'n': dict(depths=[2, 2, 8, 2], dims=[80, 160, 320, 640]),
        't': dict(depths=[3, 3, 18, 3], dims=[80, 160, 320, 640]),
        's': dict(depths=[3, 3, 27, 3], dims=[96, 192, 384, 768]),
        'b': dict(depths=[3, 3, 27, 3], dims=[128, 256, 512, 1024]),
        'l': dict(depths=[3, 3, 27, 3], dims=[192, 384, 768, 1536]),
        'xl': dict(depths=[3, 3, 27, 3], dims=[256, 512, 1024, 2048]),
    }
    arch_aliases = {
        'atto': 'a', 'femto': 'f', 'pico': 'p', 'nano': 'n', 'tiny': 't',
        'small': 's', 'base': 'b', 'large': 'l', 'xlarge': 'xl'
    }
    num_stages = 4
    default_init_cfg = [
        dict(type='TruncNormal', layer=['Conv2d', 'Linear'], std=.02, bias=0.)
    ]

    def __init__(self,
                 arch: Union[str, dict] = 't',
                 in_channels: int = 3,
                 out_indices: Sequence[int] = (0, 1, 2, 3),
                 drop_path_rate: float = 0.,
                 layer_scale_init_value: float = 1e-6,
                 kernel_sizes: Optional[KernelSizes] = None,
                 deploy: bool = False,
                 with_cp: bool = False,
                 frozen_stages: int = -1,
                 norm_eval: bool = False,
                 norm_cfg: dict = dict(type='BN'),
                 gap_before_final_norm: bool = False,
                 kernels: str = 'auto',
                 init_cfg: Optional[Union[dict, list]] = None,
                 pretrained: Optional[str] = None) -> None:
        init_cfg = self._init_cfg_of_pretrained(pretrained, init_cfg)
        pretrained_cfg = None
        if isinstance(init_cfg, dict) and init_cfg.get('type') == 'Pretrained':
            # loaded by :meth:`init_weights` after the default init, so the
            # authors' files (state dict, or wrapped in 'model') load as-is
            pretrained_cfg, init_cfg = dict(init_cfg), None
        super().__init__(init_cfg=init_cfg or self.default_init_cfg)
        self.pretrained_cfg = pretrained_cfg
        self.pretrained_argument = pretrained
        self._check_scalars(in_channels, drop_path_rate)
        depths, dims, arch_kernels = self._parse_arch(arch)
        self.depths, self.dims = depths, dims
        self.kernel_sizes = self._check_kernel_sizes(
            kernel_sizes or arch_kernels or default_kernel_sizes(depths),
            depths)
        self.out_indices = self._check_out_indices(out_indices)
        if not -1 <= frozen_stages < self.num_stages:
            raise ValueError(f'frozen_stages must be in [-1, '
                             f'{self.num_stages - 1}], got {frozen_stages}')
        if not hasattr(build_norm_layer(norm_cfg, 4)[1], 'running_var'):
            raise ValueError(
                "norm_cfg must be a BatchNorm (dict(type='BN') or "
                f"dict(type='SyncBN')) so it can be fused, got {norm_cfg}")
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval
        self.gap_before_final_norm = gap_before_final_norm
        self.deploy = deploy
        impl = impl_of(kernels)
        self._kernels = kernels

        self.downsample_layers = nn.ModuleList([
            nn.Sequential(
                nn.Conv2d(in_channels, dims[0] // 2, 3, stride=2, padding=1),
                LayerNorm2d(dims[0] // 2), nn.GELU(),
                nn.Conv2d(dims[0] // 2, dims[0], 3, stride=2, padding=1),
                LayerNorm2d(dims[0]))
        ])
        for i in range(self.num_stages - 1):
            self.downsample_layers.append(
                nn.Sequential(
                    nn.Conv2d(dims[i], dims[i + 1], 3, stride=2, padding=1),
                    LayerNorm2d(dims[i + 1])))

        total = sum(depths)
        drop_rates = [
            drop_path_rate * i / max(total - 1, 1) for i in range(total)
        ]
        self.stages = nn.ModuleList()
        first = 0
        for i in range(self.num_stages):
            self.stages.append(
                nn.Sequential(*[
                    UniRepLKNetBlock(
                        dims[i], self.kernel_sizes[i][j],
                        drop_path=drop_rates[first + j],
                        layer_scale_init_value=layer_scale_init_value,
                        deploy=deploy, with_cp=with_cp, norm_cfg=norm_cfg,
                        impl=impl)
                    for j in range(depths[i])
                ]))
            first += depths[i]

        for i in self.out_indices:
            if gap_before_final_norm:
                self.add_module(self.norm_name(i), nn.LayerNorm(dims[i], 1e-6))
            else:
                self.add_module(self.norm_name(i), LayerNorm2d(dims[i]))
        self._freeze_stages()

    # ------------------------------------------------------------ arguments
    @staticmethod
    def _init_cfg_of_pretrained(pretrained, init_cfg):
        """The deprecated ``pretrained=`` argument as an ``init_cfg``."""
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
        if pretrained.startswith(MODEL_ZOO_SCHEMES):
            raise ValueError(
                f'UniRepLKNet got pretrained={pretrained!r}, the model-zoo '
                "name of another backbone's weights, which UniRepLKNet cannot "
                f'load (nothing was downloaded). {PRETRAINED_FROM_MODEL_HINT}')
        warnings.warn(
            f'UniRepLKNet: pretrained={pretrained!r} is deprecated and taken '
            "as init_cfg=dict(type='Pretrained', checkpoint=...). mmseg's "
            'EncoderDecoder hands its model-level `pretrained` to the '
            'backbone: if it comes from a base config made for another '
            'backbone, set `pretrained=None` in `model`.')
        return dict(type='Pretrained', checkpoint=pretrained)

    @classmethod
    def _parse_arch(cls, arch):
        if isinstance(arch, str):
            key = cls.arch_aliases.get(arch.lower(), arch.lower())
            if key not in cls.arch_settings:
                raise ValueError(
                    f'Unknown UniRepLKNet arch {arch!r}; choose one of '
                    f'{sorted(cls.arch_settings)} (or their long names '
                    f'{sorted(cls.arch_aliases)}), or pass a dict with '
                    "'depths' and 'dims'")
            setting = cls.arch_settings[key]
            return list(setting['depths']), list(setting['dims']), None
        if not isinstance(arch, dict):
            raise TypeError(f'arch must be a str or a dict, got {type(arch)}')
        missing = {'depths', 'dims'} - set(arch)
        unknown = set(arch) - {'depths', 'dims', 'kernel_sizes'}
        if missing or unknown:
            raise ValueError(
                "A custom arch dict needs the keys 'depths' and 'dims' (4 "
                "ints each) and may have 'kernel_sizes'; "
                f'missing {sorted(missing)}, unknown {sorted(unknown)}')
        depths, dims = arch['depths'], arch['dims']
        if not (cls._are_stage_ints(depths, 1)
                and cls._are_stage_ints(dims, 4)):
            raise ValueError(
                f'arch depths and dims must be lists of {cls.num_stages} ints '
                'each (blocks per stage >= 1, channels per stage >= 4), e.g. '
                "dict(depths=[2, 2, 6, 2], dims=[40, 80, 160, 320]); got "
                f'depths={depths!r}, dims={dims!r}')
        return list(depths), list(dims), arch.get('kernel_sizes')

    @classmethod
    def _are_stage_ints(cls, values, minimum: int) -> bool:
        """Whether ``values`` is one int >= ``minimum`` per stage."""
        return isinstance(values, (list, tuple)) \
            and len(values) == cls.num_stages \
            and all(isinstance(v, int) and not isinstance(v, bool)
                    and v >= minimum for v in values)

    @staticmethod
    def _check_scalars(in_channels: int, drop_path_rate: float) -> None:
        if not isinstance(in_channels, int) or in_channels < 1:
            raise ValueError(
                f'in_channels must be a positive int (3 for RGB images), got '
                f'{in_channels!r}')
        if not 0 <= drop_path_rate < 1:
            raise ValueError(
                'drop_path_rate must be in [0, 1) (the stochastic depth of '
                f'the last block), got {drop_path_rate!r}')

    @classmethod
    def _check_kernel_sizes(cls, kernel_sizes, depths):
        kernel_sizes = tuple(tuple(int(k) for k in ks) for ks in kernel_sizes)
        if [len(ks) for ks in kernel_sizes] != list(depths):
            raise ValueError(
                f'kernel_sizes must give one size per block, i.e. stages of '
                f'lengths {list(depths)}, got lengths '
                f'{[len(ks) for ks in kernel_sizes]}')
        bad = sorted({k for ks in kernel_sizes for k in ks} -
                     set(BLOCK_KERNEL_SIZES))
        if bad:
            raise ValueError(f'unsupported kernel sizes {bad}; each must be '
                             f'one of {BLOCK_KERNEL_SIZES}')
        return kernel_sizes

    @classmethod
    def _check_out_indices(cls, out_indices):
        if isinstance(out_indices, int):
            out_indices = [out_indices]
        indices = []
        for index in out_indices:
            if not -cls.num_stages <= index < cls.num_stages:
                raise ValueError(f'out_indices must be in [0, '
                                 f'{cls.num_stages - 1}] (or negative), got '
                                 f'{tuple(out_indices)}')
            indices.append(index % cls.num_stages)
        if not indices or len(set(indices)) != len(indices):
            raise ValueError('out_indices must be non-empty and without '
                             f'repeats, got {tuple(out_indices)}')
        return tuple(sorted(indices))

    @property
    def kernels(self) -> str:
        """The ops implementation choice (see the ``kernels`` argument)."""
        return self._kernels

    @kernels.setter
    def kernels(self, kernels: str) -> None:
        set_kernels(self, kernels)
        self._kernels = kernels

    def norm_name(self, stage: int) -> str:
        """Name of the output norm of ``stage`` (the authors' naming)."""
        if self.gap_before_final_norm and stage == self.num_stages - 1:
            return 'norm'
        return f'norm{stage}'

    # ------------------------------------------------------------ forward
    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        """Extract features.

        Args:
            x (Tensor): Images, shape (N, in_channels, H, W); any H, W >= 1.

        Returns:
            tuple[Tensor]: For each stage in ``out_indices``, shape
            (N, dims[i], ceil(H / 2**(i+2)), ...) in dense mode, or (N,
            dims[i]) with ``gap_before_final_norm``; always contiguous in the
            default (NCHW) memory format.
        """
        outs = []
        for i in range(self.out_indices[-1] + 1):
            x = self.stages[i](self.downsample_layers[i](x))
            if i in self.out_indices:
                norm = getattr(self, self.norm_name(i))
                if self.gap_before_final_norm:
                    outs.append(norm(x.mean(dim=(2, 3))))
                else:
                    # LayerNorm2d returns a channels-last view; compiled ops
                    # downstream (mmcv's RoIAlign, DCN, ...) read raw NCHW
                    # memory and would sample garbage from it
                    outs.append(norm(x).contiguous())
        return tuple(outs)

    # ------------------------------------------------------------ weights
    def init_weights(self) -> None:
        """Default init, then the pretrained checkpoint if one is set."""
        super().init_weights()
        if self.pretrained_cfg is None:
            return
        cfg = dict(self.pretrained_cfg)
        cfg.pop('type')
        try:
            self.load_pretrained(**cfg)
        except (FileNotFoundError, CheckpointError) as err:
            if self.pretrained_argument is None:
                raise
            raise type(err)(
                f'{err} It reached UniRepLKNet as pretrained='
                f'{self.pretrained_argument!r}: {PRETRAINED_FROM_MODEL_HINT}'
            ) from None

    def load_pretrained(self,
                        checkpoint: str,
                        prefix: Optional[str] = None,
                        map_location: str = 'cpu') -> None:
        """Load backbone weights from a checkpoint, strictly but for the
        documented differences.

        Only these keys may differ: the classifier's ``head.*`` and, in
        dense mode, its final ``norm.*`` may be in the checkpoint; the
        output norms ``norm0``..``norm3`` may be missing from it (the
        classifier has none). Anything else, a checkpoint of another arch
        or of the other structure (training vs. inference), is an error.

        Args:
            checkpoint (str): Path or URL.
            prefix (str, optional): Take only keys starting with it (e.g.
                'backbone.' in a detector checkpoint), with it stripped.
            map_location (str): Defaults to 'cpu'.

        Raises:
            FileNotFoundError: No such file.
            CheckpointError: An unreadable file, or keys that do not fit.
        """
        if '://' not in checkpoint and not osp.isfile(checkpoint):
            raise FileNotFoundError(
                f'UniRepLKNet pretrained checkpoint {checkpoint!r} not found '
                f'(working directory {os.getcwd()}). {how_to_get(checkpoint)} '
                'Point init_cfg.checkpoint at the file (e.g. --cfg-options '
                'model.backbone.init_cfg.checkpoint=PATH), or train from '
                'scratch with model.backbone.init_cfg=None.')
        state = weights_of(read_checkpoint(checkpoint, map_location),
                           checkpoint)
        if prefix:
            state = {k[len(prefix):]: v for k, v in state.items()
                     if k.startswith(prefix)}
            if not state:
                raise CheckpointError(f'{checkpoint} has no keys starting '
                                      f'with {prefix!r}')
        left_out = self._check_pretrained_keys(checkpoint, state)
        self.load_state_dict(state, strict=False)
        own = len(self.state_dict())
        MMLogger.get_current_instance().info(
            f'UniRepLKNet: loaded {own - len(left_out)} of {own} tensors from '
            f"{checkpoint}{f' (prefix {prefix!r})' if prefix else ''}"
            f"{'; not in it (new output norms): ' if left_out else ''}"
            f"{', '.join(sorted({k.split('.')[0] for k in left_out}))}")

    def _check_pretrained_keys(self, checkpoint: str, state: dict) -> list:
        """Raise unless ``state`` differs from ours only as documented in
        :meth:`load_pretrained`; return our keys it does not have."""
        structure = state_dict_structure(state)
        ours = DEPLOY if self.deploy else TRAINING
        if structure is not None and structure != ours:
            fix = ('Pretrained weights for training must be in the training '
                   "structure (the authors' released files are); a "
                   're-parameterized file only serves inference, with '
                   'model.backbone.deploy=True') if ours == TRAINING else (
                       'Build the training structure (deploy=False) and '
                       're-parameterize after loading (tools/'
                       'reparameterize.py), or test it with tools/test.py, '
                       'which re-parameterizes on the fly')
            raise CheckpointError(
                f'{checkpoint} holds UniRepLKNet in the {structure} structure '
                f'but this backbone is built in the {ours} structure '
                f'(deploy={self.deploy}). {fix}.')
        diff = compare_state_dicts(self.state_dict(), state)
        if diff.mismatched:
            key, theirs, ours_shape = diff.mismatched[0]
            raise CheckpointError(
                f'{checkpoint} does not fit this UniRepLKNet (depths '
                f'{self.depths}, dims {self.dims}): {key} has shape {theirs} '
                f'in the checkpoint but {ours_shape} here. Pick the arch the '
                'checkpoint was trained with.')
        if len(diff.missing) == len(self.state_dict()):
            raise CheckpointError(
                f'{checkpoint} shares no key with UniRepLKNet; is it a '
                "detector/segmentor checkpoint that needs prefix='backbone.'?")
        missing = [k for k in diff.missing if not re.match(r'norm\d\.', k)]
        unexpected = [k for k in diff.unexpected
                      if not k.startswith(('head.', 'norm.'))]
        if missing or unexpected:
            problems = []
            if missing:
                problems.append(f'{len(missing)} key(s) missing, first: '
                                f'{missing[0]}')
            if unexpected:
                problems.append(f'{len(unexpected)} unexpected key(s), '
                                f'first: {unexpected[0]}')
            raise CheckpointError(
                f'{checkpoint} does not fit this UniRepLKNet (depths '
                f"{self.depths}, dims {self.dims}): {'; '.join(problems)}. "
                'Only the classifier head (head.*, norm.*) and the output '
                'norms (norm0..norm3) may differ; use a UniRepLKNet '
                "checkpoint of this arch (with prefix='backbone.' for a "
                'detector or segmentor).')
        return diff.missing

    # ------------------------------------------------------------ training
    def _freeze_stages(self) -> None:
        for i in range(self.frozen_stages + 1):
            modules = [self.downsample_layers[i], self.stages[i]]
            if i in self.out_indices:
                modules.append(getattr(self, self.norm_name(i)))
            for module in modules:
                module.eval()
                for param in module.parameters():
                    param.requires_grad = False

    def train(self, mode: bool = True) -> 'UniRepLKNet':
        """Set train/eval mode, keeping frozen stages and, with
        ``norm_eval``, every BatchNorm in eval mode."""
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for module in self.modules():
                if isinstance(module, _BatchNorm):
                    module.eval()
        return self

    @property
    def num_layers(self) -> int:
        """The natural number of layer-decay ids N of this depth: stage 2 is
        split into groups of 3 blocks (ids 3, 4, ...), stage 3 gets N."""
        return 3 + (self.depths[2] + 2) // 3

    def get_layer_depth(self,
                        param_name: str,
                        prefix: str = '',
                        num_layers: Optional[int] = None) -> Tuple[int, int]:
        """Layer id of a parameter for layer-wise learning-rate decay.

        The authors' mapping, with N layers: stem (``downsample_layers.0``)
        -> 0, ``stages.0`` -> 1, ``downsample_layers.1`` and ``stages.1`` ->
        2, ``downsample_layers.2`` -> 3, block b of ``stages.2`` ->
        3 + b // 3, ``downsample_layers.3`` and ``stages.3`` -> N, anything
        else (output norms, necks, heads) -> N + 1.

        Args:
            param_name (str): Parameter name, e.g.
                ``'backbone.stages.2.7.fc1.weight'``.
            prefix (str): The prefix of backbone parameters in
                ``param_name``; names without it belong to other modules.
                Defaults to ''.
            num_layers (int, optional): N; defaults to :attr:`num_layers`.

        Returns:
            tuple[int, int]: The layer id and the total number of ids
            (N + 2), as mmpretrain's
            ``LearningRateDecayOptimWrapperConstructor`` expects (lr scale =
            rate ** (N + 2 - id - 1)).
        """
        n = self.num_layers if num_layers is None else num_layers
        if not param_name.startswith(prefix):
            return n + 1, n + 2
        parts = param_name[len(prefix):].split('.')
        if parts[0] == 'downsample_layers':
            layer_id = {0: 0, 1: 2, 2: 3}.get(int(parts[1]), n)
        elif parts[0] == 'stages':
            stage = int(parts[1])
            if stage < 2:
                layer_id = stage + 1
            elif stage == 2:
                layer_id = 3 + int(parts[2]) // 3
            else:
                layer_id = n
        else:
            layer_id = n + 1
        return layer_id, n + 2

    # ------------------------------------------------------------ deploy
    def switch_to_deploy(self) -> None:
        """Convert every block to the inference structure in place.

        Idempotent; keeps device, dtype and train/eval mode. A checkpoint of
        the converted model loads strictly into ``UniRepLKNet(deploy=True)``.
        """
        if self.deploy:
            return
        for stage in self.stages:
            for block in stage:
                block.switch_to_deploy()
        self.deploy = True
        MMLogger.get_current_instance().debug(
            'UniRepLKNet switched to the inference structure')
