# Copyright (c) mmunirep contributors. All rights reserved.
"""LayerNorm over the channel axis of (N, C, H, W) tensors."""
import torch.nn.functional as F
from torch import Tensor, nn


class LayerNorm2d(nn.LayerNorm):
    """LayerNorm that normalises the channels of an (N, C, H, W) tensor.

    Its parameters are ``weight`` and ``bias`` of shape (C,), the layout of
    the authors' channels-first LayerNorm, so their checkpoints load. The
    computation runs channels-last with ``F.layer_norm``; on a
    channels-last-contiguous input the permutes are free views and the
    result is channels-last-contiguous too.

    Args:
        num_channels (int): C.
        eps (float): Added to the variance. Defaults to 1e-6.
    """

    def __init__(self, num_channels: int, eps: float = 1e-6) -> None:
        super().__init__(num_channels, eps=eps)

    def forward(self, x: Tensor) -> Tensor:
        """(N, C, H, W) -> (N, C, H, W)."""
        x = x.permute(0, 2, 3, 1)
        x = F.layer_norm(x, self.normalized_shape, self.weight, self.bias,
                         self.eps)
        return x.permute(0, 3, 1, 2)
