# Copyright (c) mmunirep contributors. All rights reserved.
"""Squeeze-and-Excitation block as used by UniRepLKNet."""
from torch import Tensor, nn

from mmunirep.ops import squeeze_excite
from .kernel_choice import OpsCaller


class SEBlock(nn.Module, OpsCaller):
    """Squeeze-and-Excitation: avg-pool, 1x1 conv down, ReLU, 1x1 conv up,
    sigmoid, channel-wise multiply.

    Parameter names (``down``, ``up``) follow the authors' checkpoints.

    Args:
        channels (int): C.
        internal_channels (int): Width of the bottleneck (C / 4 in
            UniRepLKNet).
        impl (str): The ops implementation. Defaults to 'auto'.
    """

    def __init__(self, channels: int, internal_channels: int,
                 impl: str = 'auto') -> None:
        super().__init__()
        self.impl = impl
        self.down = nn.Conv2d(channels, internal_channels, 1, bias=True)
        self.up = nn.Conv2d(internal_channels, channels, 1, bias=True)

    def forward(self, x: Tensor) -> Tensor:
        """(N, C, H, W) -> (N, C, H, W)."""
        return squeeze_excite(x, self.down.weight, self.down.bias,
                              self.up.weight, self.up.bias, self.impl)
