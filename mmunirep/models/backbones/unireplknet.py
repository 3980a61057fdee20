# Copyright (c) mmunirep contributors. All rights reserved.
"""UniRepLKNet backbone for classification, detection and segmentation."""
from typing import Optional, Sequence, Tuple, Union

from mmengine.logging import MMLogger
from mmengine.model import BaseModule
from mmengine.model.weight_init import initialize
from torch import Tensor, nn
from torch.nn.modules.batchnorm import _BatchNorm

from mmunirep.registry import MODELS
from ..layers import LayerNorm2d, impl_of, set_kernels
from .arch_spec import (ARCH_ALIASES, ARCH_SETTINGS, NUM_STAGES, ArchSpec,
                        check_norm_cfg, check_scalars, checked_out_indices)
from .layer_ids import layer_wise_id, natural_num_layers
from .pretrained_argument import init_cfg_of_pretrained
from .unireplknet_block import UniRepLKNetBlock


def _stem(in_channels: int, dim: int) -> nn.Sequential:
    """Stride-4 stem: conv 3x3 s2, LayerNorm, GELU, conv 3x3 s2, LayerNorm
    (Sequential positions are the authors' checkpoint keys)."""
    return nn.Sequential(
        nn.Conv2d(in_channels, dim // 2, 3, stride=2, padding=1),
        LayerNorm2d(dim // 2), nn.GELU(),
        nn.Conv2d(dim // 2, dim, 3, stride=2, padding=1), LayerNorm2d(dim))


def _downsample(in_dim: int, out_dim: int) -> nn.Sequential:
    """Stride-2 conv 3x3 and LayerNorm between stages."""
    return nn.Sequential(
        nn.Conv2d(in_dim, out_dim, 3, stride=2, padding=1),
        LayerNorm2d(out_dim))


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
    checkpoint=...)``, strictly but for the classifier head and the output
    norms (see :mod:`mmunirep.checkpoints.pretrained`).

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
            :func:`~.arch_spec.default_kernel_sizes`). Defaults to None.
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
            checkpoint=..., prefix=None)`` loads a checkpoint after that; a
            missing file, a checkpoint of another arch or of the other
            structure raises an error that says so. Defaults to None.
        pretrained (str, optional): Deprecated: taken as a ``Pretrained``
            ``init_cfg`` (see :mod:`.pretrained_argument`). Defaults to None.

    Example:
        >>> import torch
        >>> from mmunirep.models import UniRepLKNet
        >>> model = UniRepLKNet(arch='a').eval()
        >>> [tuple(o.shape) for o in model(torch.rand(1, 3, 224, 224))]
        [(1, 40, 56, 56), (1, 80, 28, 28), (1, 160, 14, 14), (1, 320, 7, 7)]
    """

    arch_settings = ARCH_SETTINGS
    arch_aliases = ARCH_ALIASES
    num_stages = NUM_STAGES
    default_init_cfg = [
        dict(type='TruncNormal', layer=['Conv2d', 'Linear'], std=.02, bias=0.)
    ]

    def __init__(self,
                 arch: Union[str, dict] = 't',
                 in_channels: int = 3,
                 out_indices: Sequence[int] = (0, 1, 2, 3),
                 drop_path_rate: float = 0.,
                 layer_scale_init_value: float = 1e-6,
                 kernel_sizes: Optional[Sequence[Sequence[int]]] = None,
                 deploy: bool = False,
                 with_cp: bool = False,
                 frozen_stages: int = -1,
                 norm_eval: bool = False,
                 norm_cfg: dict = dict(type='BN'),
                 gap_before_final_norm: bool = False,
                 kernels: str = 'auto',
                 init_cfg: Optional[Union[dict, list]] = None,
                 pretrained: Optional[str] = None) -> None:
        init_cfg = init_cfg_of_pretrained(pretrained, init_cfg)
        pretrained_cfg = None
        if isinstance(init_cfg, dict) and init_cfg.get('type') == 'Pretrained':
            # loaded by init_weights after the default init (strictly, see
            # mmunirep.checkpoints.pretrained)
            pretrained_cfg, init_cfg = dict(init_cfg), None
        super().__init__(init_cfg=init_cfg or self.default_init_cfg)
        self.pretrained_cfg = pretrained_cfg
        self.pretrained_argument = pretrained
        check_scalars(in_channels, drop_path_rate, frozen_stages)
        spec = ArchSpec.parse(arch, kernel_sizes)
        self.depths, self.dims = list(spec.depths), list(spec.dims)
        self.kernel_sizes = spec.kernel_sizes
        self.out_indices = checked_out_indices(out_indices)
        check_norm_cfg(norm_cfg)
        self.in_channels = in_channels
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval
        self.gap_before_final_norm = gap_before_final_norm
        self.deploy = deploy
        self._kernels = kernels
        impl = impl_of(kernels)

        dims = self.dims
        self.downsample_layers = nn.ModuleList(
            [_stem(in_channels, dims[0])] +
            [_downsample(dims[i], dims[i + 1])
             for i in range(self.num_stages - 1)])
        total = sum(self.depths)
        rates = iter(drop_path_rate * i / max(total - 1, 1)
                     for i in range(total))
        self.stages = nn.ModuleList(
            nn.Sequential(*[
                UniRepLKNetBlock(
                    dims[i], kernel, drop_path=next(rates),
                    layer_scale_init_value=layer_scale_init_value,
                    deploy=deploy, with_cp=with_cp, norm_cfg=norm_cfg,
                    impl=impl) for kernel in self.kernel_sizes[i]
            ]) for i in range(self.num_stages))
        for i in self.out_indices:
            norm = nn.LayerNorm(dims[i], 1e-6) if gap_before_final_norm \
                else LayerNorm2d(dims[i])
            self.add_module(self.norm_name(i), norm)
        self._freeze_stages()

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

    def init_weights(self) -> None:
        """Default init, then the pretrained checkpoint if one is set."""
        super().init_weights()
        if self.pretrained_cfg is not None:
            initialize(self, dict(
                self.pretrained_cfg, type='mmunirep.PretrainedUniRepLKNet',
                from_argument=self.pretrained_argument is not None))

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
        """N of the authors' layer-decay ids for this depth."""
        return natural_num_layers(self.depths)

    def get_layer_depth(self,
                        param_name: str,
                        prefix: str = '',
                        num_layers: Optional[int] = None) -> Tuple[int, int]:
        """Layer id of a parameter for layer-wise learning-rate decay, by
        the authors' scheme (:func:`~.layer_ids.layer_wise_id`), as
        mmpretrain's ``LearningRateDecayOptimWrapperConstructor`` expects.

        Args:
            param_name (str): E.g. ``'backbone.stages.2.7.fc1.weight'``.
            prefix (str): The prefix of backbone parameters in
                ``param_name``; names without it belong to other modules.
                Defaults to ''.
            num_layers (int, optional): N; defaults to :attr:`num_layers`.

        Returns:
            tuple[int, int]: The layer id and the number of ids (N + 2).
        """
        n = self.num_layers if num_layers is None else num_layers
        if not param_name.startswith(prefix):
            return n + 1, n + 2
        return layer_wise_id(param_name[len(prefix):], n), n + 2

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
