# Copyright (c) mmunirep contributors. All rights reserved.
"""Dilated Reparam Block: a large depthwise kernel plus parallel dilated
small-kernel branches, all merged into one kernel for inference."""
from typing import Dict, Tuple

from mmcv.cnn import build_norm_layer
from torch import Tensor, nn

from mmunirep.ops import (depthwise_conv2d, dilated_to_dense, fuse_bn,
                          pad_to_size)
from .depthwise_conv import DepthwiseConv2d

#: Block kernel K -> (branch kernel sizes, branch dilations), from the paper.
DRB_BRANCHES: Dict[int, Tuple[Tuple[int, ...], Tuple[int, ...]]] = {
    17: ((5, 9, 3, 3, 3), (1, 2, 4, 5, 7)),
    15: ((5, 7, 3, 3, 3), (1, 2, 3, 5, 7)),
    13: ((5, 7, 3, 3, 3), (1, 2, 3, 4, 5)),
    11: ((5, 5, 3, 3, 3), (1, 2, 3, 4, 5)),
    9: ((5, 5, 3, 3), (1, 2, 3, 4)),
    7: ((5, 3, 3), (1, 2, 3)),
    5: ((3, 3), (1, 2)),
}


class DilatedReparamBlock(nn.Module):
    """Depthwise KxK conv + BN, plus dilated depthwise branches each + BN.

    Training structure (names follow the authors' checkpoints)::

        lk_origin (KxK DW conv, no bias) -> origin_bn
        dil_conv_k{k}_{r} (kxk DW conv, dilation r, no bias) -> dil_bn_k{k}_{r}
        output = sum of all branches

    Inference structure: ``lk_origin`` alone, a KxK DW conv with bias.

    Args:
        channels (int): C (input = output channels; depthwise).
        kernel_size (int): K, one of :data:`DRB_BRANCHES`.
        deploy (bool): Build the inference structure. Defaults to False.
        norm_cfg (dict): BatchNorm config (BN or SyncBN).
            Defaults to ``dict(type='BN')``.
        impl (str): The ops implementation of its convolutions.
            Defaults to 'auto'.
    """

    def __init__(self,
                 channels: int,
                 kernel_size: int,
                 deploy: bool = False,
                 norm_cfg: dict = dict(type='BN'),
                 impl: str = 'auto') -> None:
        super().__init__()
        if kernel_size not in DRB_BRANCHES:
            raise ValueError(
                f'DilatedReparamBlock supports kernel sizes '
                f'{sorted(DRB_BRANCHES)}, got {kernel_size}')
        self.kernel_size = kernel_size
        self.branch_kernels, self.branch_dilations = DRB_BRANCHES[kernel_size]
        self.lk_origin = DepthwiseConv2d(channels, kernel_size, bias=deploy,
                                         impl=impl)
        self.deploy = deploy
        if deploy:
            return
        self.origin_bn = build_norm_layer(norm_cfg, channels)[1]
        for k, r in zip(self.branch_kernels, self.branch_dilations):
            self.add_module(f'dil_conv_k{k}_{r}',
                            DepthwiseConv2d(channels, k, dilation=r,
                                            impl=impl))
            self.add_module(f'dil_bn_k{k}_{r}',
                            build_norm_layer(norm_cfg, channels)[1])

    def _branches(self):
        for k, r in zip(self.branch_kernels, self.branch_dilations):
            yield (getattr(self, f'dil_conv_k{k}_{r}'),
                   getattr(self, f'dil_bn_k{k}_{r}'))

    def forward(self, x: Tensor) -> Tensor:
        """(N, C, H, W) -> (N, C, H, W).

        With every BatchNorm in eval mode (validation, ``norm_eval``) the
        branches are merged on the fly into one KxK conv, which is exact and
        differentiable. In training mode each branch runs on its own.
        """
        if self.deploy:
            return self.lk_origin(x)
        if not any(bn.training for _, bn in self._branches()) \
                and not self.origin_bn.training:
            kernel, bias = self.get_equivalent_kernel_bias()
            return depthwise_conv2d(x, kernel, bias,
                                    impl=self.lk_origin.impl)
        out = self.origin_bn(self.lk_origin(x))
        for conv, bn in self._branches():
            # in place: no BN keeps its output for the backward
            out.add_(bn(conv(x)))
        return out

    def get_equivalent_kernel_bias(self) -> Tuple[Tensor, Tensor]:
        """The single KxK kernel and bias this block computes at inference.

        Returns:
            tuple[Tensor, Tensor]: Kernel of shape (C, 1, K, K), bias (C,).
        """
        if self.deploy:
            return self.lk_origin.weight, self.lk_origin.bias
        kernel, bias = fuse_bn(self.lk_origin.weight, self.origin_bn)
        for conv, bn in self._branches():
            branch_kernel, branch_bias = fuse_bn(conv.weight, bn)
            kernel = kernel + pad_to_size(
                dilated_to_dense(branch_kernel, conv.dilation[0]),
                self.kernel_size)
            bias = bias + branch_bias
        return kernel, bias

    def switch_to_deploy(self) -> None:
        """Merge all branches into ``lk_origin`` in place (idempotent)."""
        if self.deploy:
            return
        kernel, bias = self.get_equivalent_kernel_bias()
        merged = DepthwiseConv2d.from_kernel(kernel, bias,
                                             impl=self.lk_origin.impl)
        merged.train(self.training)
        for k, r in zip(self.branch_kernels, self.branch_dilations):
            delattr(self, f'dil_conv_k{k}_{r}')
            delattr(self, f'dil_bn_k{k}_{r}')
        del self.origin_bn
        self.lk_origin = merged
        self.deploy = True
