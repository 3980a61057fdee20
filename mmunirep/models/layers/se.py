# Copyright (c) mmunirep contributors. All rights reserved.
"""Squeeze-and-Excitation block as used by UniRepLKNet."""
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .fast_paths import plain_ops_required


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

    def channel_weights(self, x: Tensor) -> Tensor:
        """The excitation: (N, C, H, W) -> (N, C, 1, 1) factors in (0, 1).

        Without autograd the 1x1 convs on the pooled (N, C, 1, 1) tensor run
        as the Linears they are (a 1x1 conv call costs ~10x more).
        """
        weight = x.mean(dim=(2, 3), keepdim=True)
        if torch.is_grad_enabled() or plain_ops_required():
            return self.up(F.relu(self.down(weight), inplace=True)).sigmoid()
        down, up = self.down, self.up
        hidden = F.relu(F.linear(weight.flatten(1), down.weight.flatten(1),
                                 down.bias), inplace=True)
        return torch.sigmoid_(F.linear(hidden, up.weight.flatten(1),
                                       up.bias)).view_as(weight)

    def forward(self, x: Tensor) -> Tensor:
        """(N, C, H, W) -> (N, C, H, W)."""
        return x * self.channel_weights(x)

    def forward_channels_last(self, x: Tensor) -> Tensor:
        """The same result written as an (N, H, W, C) contiguous tensor, the
        layout the FFN's Linears need, in the one pass that applies the
        weights (whatever the memory layout of ``x``).

        Args:
            x (Tensor): (N, C, H, W).

        Returns:
            Tensor: (N, H, W, C).
        """
        n, c, h, w = x.shape
        out = x.new_empty((n, h, w, c))
        torch.mul(x, self.channel_weights(x), out=out.permute(0, 3, 1, 2))
        return out
