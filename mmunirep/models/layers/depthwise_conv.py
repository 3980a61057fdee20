# Copyright (c) mmunirep contributors. All rights reserved.
"""Depthwise convolution as a module."""
from typing import Optional

from torch import Tensor, nn

from mmunirep.ops import depthwise_conv2d
from .kernel_choice import OpsCaller


class DepthwiseConv2d(nn.Conv2d, OpsCaller):
    """A depthwise ``nn.Conv2d`` (same parameters and state dict), stride 1,
    padded to keep the size, computed by :func:`mmunirep.ops.depthwise_conv2d`.

    Args:
        channels (int): C.
        kernel_size (int): k, odd.
        dilation (int): Defaults to 1.
        bias (bool): Defaults to False.
        impl (str): The ops implementation (see
            :func:`~.kernel_choice.set_kernels`). Defaults to 'auto'.
    """

    def __init__(self,
                 channels: int,
                 kernel_size: int,
                 dilation: int = 1,
                 bias: bool = False,
                 impl: str = 'auto',
                 **factory_kwargs) -> None:
        super().__init__(channels, channels, kernel_size,
                         padding=dilation * (kernel_size - 1) // 2,
                         dilation=dilation, groups=channels, bias=bias,
                         **factory_kwargs)
        self.impl = impl

    @classmethod
    def from_kernel(cls, kernel: Tensor, bias: Optional[Tensor],
                    impl: str = 'auto') -> 'DepthwiseConv2d':
        """A conv holding copies of ``kernel`` (C, 1, k, k) and ``bias``
        (C,), on their device and in their dtype."""
        conv = cls(kernel.shape[0], kernel.shape[-1], bias=bias is not None,
                   impl=impl, device=kernel.device, dtype=kernel.dtype)
        conv.weight.data.copy_(kernel.detach())
        if bias is not None:
            conv.bias.data.copy_(bias.detach())
        return conv

    def forward(self, x: Tensor) -> Tensor:
        """(N, C, H, W) -> (N, C, H, W)."""
        return depthwise_conv2d(x, self.weight, self.bias, self.dilation[0],
                                self.impl)
