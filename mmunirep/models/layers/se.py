# Copyright (c) mmunirep contributors. All rights reserved.
"""Squeeze-and-Excitation block as used by UniRepLKNet."""
import torch.nn.functional as F
from torch import Tensor, nn


class SEBlock(nn.Module):
    """Squeeze-and-Excitation: avg-pool, 1x1 conv down, ReLU, 1x1 conv up,
    sigmoid, channel-wise multiply.

    Parameter names (``down``, ``up``) follow the authors' checkpoints.

    Args:
        channels (int): C.
        internal_channels (int): Width of the bottleneck (C / 4 in
            UniRepLKNet).
    """

    def __init__(self, channels: int, internal_channels: int) -> None:
        super().__init__()
        self.down = nn.Conv2d(channels, internal_channels, 1, bias=True)
        self.up = nn.Conv2d(internal_channels, channels, 1, bias=True)

    def forward(self, x: Tensor) -> Tensor:
        """(N, C, H, W) -> (N, C, H, W)."""
        weight = x.mean(dim=(2, 3), keepdim=True)
        weight = self.up(F.relu(self.down(weight), inplace=True))
        return x * weight.sigmoid()
