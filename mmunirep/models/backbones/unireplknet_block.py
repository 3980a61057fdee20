# Copyright (c) mmunirep contributors. All rights reserved.
"""The UniRepLKNet block and its re-parameterization."""
from contextlib import contextmanager, nullcontext
from typing import Callable, List

import torch
import torch.utils.checkpoint as cp
from mmcv.cnn import build_norm_layer
from mmcv.cnn.bricks import DropPath
from torch import Tensor, nn
from torch.nn.modules.batchnorm import _BatchNorm

from ..layers import (GRN, DilatedReparamBlock, FFNLinear, SEBlock,
                      depthwise_conv, fuse_bn, grn_linear, linear_act,
                      plain_ops_required)

#: The FFN runs on groups of samples whose hidden activation (4C channels)
#: stays under this many bytes (see :meth:`UniRepLKNetBlock._sample_groups`).
FFN_GROUP_BYTES = 8 << 20

#: Depthwise kernel sizes a block accepts: 3 and 5 are plain depthwise convs,
#: 7 and larger are Dilated Reparam Blocks.
BLOCK_KERNEL_SIZES = (3, 5, 7, 9, 11, 13, 15, 17)


class ToChannelsLast(nn.Module):
    """(N, C, H, W) -> (N, H, W, C) view."""

    def forward(self, x: Tensor) -> Tensor:
        return x.permute(0, 2, 3, 1)


class ToChannelsFirst(nn.Module):
    """(N, H, W, C) -> (N, C, H, W) view."""

    def forward(self, x: Tensor) -> Tensor:
        return x.permute(0, 3, 1, 2)


@contextmanager
def keep_bn_running_stats(module: nn.Module):
    """Restore every BatchNorm buffer of ``module`` on exit.

    Gradient checkpointing runs the forward pass twice; without this the
    training-mode BatchNorms would update their running statistics twice.
    """
    saved = [(buf, buf.clone()) for m in module.modules()
             if isinstance(m, _BatchNorm) for buf in m.buffers()]
    try:
        yield
    finally:
        with torch.no_grad():
            for buf, value in saved:
                buf.copy_(value)


class UniRepLKNetBlock(nn.Module):
    """UniRepLKNet block: large-kernel token mixer, SE, GRN FFN, layer scale.

    Training structure, on (N, C, H, W) input ``x`` (parameter names follow
    the authors' checkpoints)::

        y = se(norm(dwconv(x)))            # dwconv: DW conv or Dilated
                                           # Reparam Block; norm: BN
        y = pwconv1(y)                     # to channels-last, Linear C->4C
        y = act(y)                         # GELU, GRN
        y = pwconv2(y)                     # Linear 4C->C, to channels-first, BN
        out = x + drop_path(gamma * y)     # gamma: layer scale

    Inference structure (``deploy=True`` or after :meth:`switch_to_deploy`):
    ``dwconv`` is one biased KxK DW conv, ``norm`` is identity, GRN has no
    ``beta``, ``pwconv2`` is one biased Linear with the BN and layer scale
    folded in, and ``gamma`` is gone.

    Args:
        dim (int): C.
        kernel_size (int): Depthwise kernel size, one of
            :data:`BLOCK_KERNEL_SIZES`.
        drop_path (float): Stochastic depth rate. Defaults to 0.
        layer_scale_init_value (float): Initial layer scale; 0 or None
            disables it. Defaults to 1e-6.
        deploy (bool): Build the inference structure. Defaults to False.
        with_cp (bool): Gradient checkpointing of the residual branch.
            Defaults to False.
        norm_cfg (dict): BatchNorm config. Defaults to ``dict(type='BN')``.
        ffn_ratio (int): FFN expansion. Defaults to 4.
    """

    def __init__(self,
                 dim: int,
                 kernel_size: int,
                 drop_path: float = 0.,
                 layer_scale_init_value: float = 1e-6,
                 deploy: bool = False,
                 with_cp: bool = False,
                 norm_cfg: dict = dict(type='BN'),
                 ffn_ratio: int = 4) -> None:
        super().__init__()
        if kernel_size not in BLOCK_KERNEL_SIZES:
            raise ValueError(f'UniRepLKNetBlock kernel_size must be one of '
                             f'{BLOCK_KERNEL_SIZES}, got {kernel_size}')
        self.deploy = deploy
        self.with_cp = with_cp
        if deploy:
            self.dwconv = nn.Conv2d(dim, dim, kernel_size,
                                    padding=kernel_size // 2, groups=dim,
                                    bias=True)
            self.norm = nn.Identity()
        else:
            if kernel_size >= 7:
                self.dwconv = DilatedReparamBlock(dim, kernel_size,
                                                  norm_cfg=norm_cfg)
            else:
                self.dwconv = nn.Conv2d(dim, dim, kernel_size,
                                        padding=kernel_size // 2, groups=dim,
                                        bias=False)
            self.norm = build_norm_layer(norm_cfg, dim)[1]
        self.se = SEBlock(dim, dim // 4)
        ffn_dim = int(ffn_ratio * dim)
        self.pwconv1 = nn.Sequential(ToChannelsLast(), FFNLinear(dim, ffn_dim))
        self.act = nn.Sequential(nn.GELU(), GRN(ffn_dim, use_bias=not deploy))
        if deploy:
            self.pwconv2 = nn.Sequential(
                FFNLinear(ffn_dim, dim), ToChannelsFirst())
        else:
            self.pwconv2 = nn.Sequential(
                FFNLinear(ffn_dim, dim, bias=False), ToChannelsFirst(),
                build_norm_layer(norm_cfg, dim)[1])
        if not deploy and layer_scale_init_value:
            self.gamma = nn.Parameter(
                layer_scale_init_value * torch.ones(dim))
        else:
            self.gamma = None
        self.drop_path = DropPath(drop_path) if drop_path > 0 \
            else nn.Identity()

    def residual(self, x: Tensor) -> Tensor:
        """The residual branch: (N, C, H, W) -> (N, C, H, W)."""
        y = self.norm(self._token_mixer(x))
        if torch.is_grad_enabled():
            y = self._ffn(self.pwconv1[0](self.se(y)))
        else:
            y = self._inference_ffn(y)
        if self.gamma is not None:
            y = y * self.gamma.view(1, -1, 1, 1)
        return self.drop_path(y)

    def _token_mixer(self, x: Tensor) -> Tensor:
        """``dwconv``, through the depthwise kernels chosen for the shape."""
        if isinstance(self.dwconv, nn.Conv2d):
            return depthwise_conv(x, self.dwconv.weight, self.dwconv.bias)
        return self.dwconv(x)

    def _sample_groups(self, y: Tensor) -> List[slice]:
        """Groups of samples whose FFN activation (4C channels) stays under
        :data:`FFN_GROUP_BYTES`. GRN's statistics are per sample, so the FFN
        up to its last Linear may run group by group; large blocks would be
        served by fresh ``mmap`` calls, whose pages glibc's kernel faults in
        and zeroes on every call. One group while traced or exported: the
        grouping would fix the batch size in the graph."""
        if plain_ops_required():
            return [slice(None)]
        first = self.pwconv1[1]
        per_sample = (y[0].numel() * first.out_features //
                      first.in_features * y.element_size())
        group = max(1, FFN_GROUP_BYTES // per_sample)
        return [slice(i, i + group) for i in range(0, y.shape[0], group)]

    def _grouped_ffn(self, ffn: Callable[[Tensor], Tensor],
                     y: Tensor) -> Tensor:
        """``ffn`` on channels-last (N, H, W, C) group by group, then back to
        channels-first and the block's last BN over the whole batch."""
        outs = [ffn(y[group]) for group in self._sample_groups(y)]
        return self.pwconv2[1:](outs[0] if len(outs) == 1 else
                                torch.cat(outs))

    def _ffn(self, y: Tensor) -> Tensor:
        """Linear, GELU, GRN, Linear (training: autograd records it)."""
        first, second = self.pwconv1[1], self.pwconv2[0]
        return self._grouped_ffn(lambda g: second(self.act(first(g))), y)

    def _inference_ffn(self, x: Tensor) -> Tensor:
        """SE and FFN without autograd: the intermediates are private, so
        SE writes the FFN's channels-last input directly, GELU is fused into
        the first Linear and GRN into the second (groups as in :meth:`_ffn`).
        """
        first, grn, second = self.pwconv1[1], self.act[1], self.pwconv2[0]
        return self._grouped_ffn(
            lambda g: grn_linear(
                linear_act(g, first.weight, first.bias, gelu=True), grn,
                second), self.se.forward_channels_last(x))

    def _residual_add(self, x: Tensor) -> Tensor:
        return x + self.residual(x)

    def forward(self, x: Tensor) -> Tensor:
        """(N, C, H, W) -> (N, C, H, W)."""
        if self.with_cp and torch.is_grad_enabled():
            return cp.checkpoint(
                self._residual_add, x, use_reentrant=False,
                context_fn=lambda: (nullcontext(), keep_bn_running_stats(self)))
        return self._residual_add(x)

    @torch.no_grad()
    def switch_to_deploy(self) -> None:
        """Convert to the inference structure in place (idempotent).

        Keeps device, dtype and train/eval mode; the removed BNs, branches,
        GRN beta and layer scale are freed.
        """
        if self.deploy:
            return
        if isinstance(self.dwconv, DilatedReparamBlock):
            kernel, bias = self.dwconv.get_equivalent_kernel_bias()
        else:
            kernel, bias = self.dwconv.weight, None
        kernel, bias = fuse_bn(kernel, self.norm, bias)
        dwconv = nn.Conv2d(
            kernel.shape[0], kernel.shape[0], kernel.shape[-1],
            padding=kernel.shape[-1] // 2, groups=kernel.shape[0], bias=True,
            device=kernel.device, dtype=kernel.dtype)
        dwconv.weight.copy_(kernel)
        dwconv.bias.copy_(bias)
        self.dwconv = dwconv
        self.norm = nn.Identity()

        linear, bn = self.pwconv2[0], self.pwconv2[2]
        grn_beta = self.act[1].remove_bias()
        linear_bias = linear.weight @ grn_beta
        if linear.bias is not None:
            linear_bias = linear_bias + linear.bias
        weight, bias = fuse_bn(linear.weight, bn, linear_bias)
        if self.gamma is not None:
            weight = weight * self.gamma.view(-1, 1)
            bias = bias * self.gamma
        new_linear = FFNLinear(
            linear.in_features, linear.out_features, bias=True,
            device=weight.device, dtype=weight.dtype)
        new_linear.weight.copy_(weight)
        new_linear.bias.copy_(bias)
        self.pwconv2 = nn.Sequential(new_linear, ToChannelsFirst())
        self.gamma = None
        self.deploy = True
        self.train(self.training)
