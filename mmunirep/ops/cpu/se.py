# Copyright (c) mmunirep contributors. All rights reserved.
"""Squeeze-and-Excitation on the CPU at inference."""
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor

from ..plain import squeeze_excite_torch


def cpu_squeeze_excite(x: Tensor, down_weight: Tensor,
                       down_bias: Optional[Tensor], up_weight: Tensor,
                       up_bias: Optional[Tensor]) -> Tensor:
    """SE of a CPU tensor. Without autograd, the 1x1 convolutions on the
    pooled (N, C, 1, 1) tensor run as the Linears they are (a 1x1 conv call
    costs ~10x more), and the product is written channels-last, the layout
    the FFN's Linears read, in the one pass that applies the weights.

    Args:
        x (Tensor): (N, C, H, W), in any memory layout.
        down_weight (Tensor): (R, C, 1, 1); ``down_bias`` (R,) or None.
        up_weight (Tensor): (C, R, 1, 1); ``up_bias`` (C,) or None.

    Returns:
        Tensor: (N, C, H, W); channels-last memory without autograd.
    """
    if torch.is_grad_enabled():
        return squeeze_excite_torch(x, down_weight, down_bias, up_weight,
                                    up_bias)
    n, c, h, w = x.shape
    hidden = F.relu(F.linear(x.mean(dim=(2, 3)), down_weight.flatten(1),
                             down_bias), inplace=True)
    weights = torch.sigmoid_(F.linear(hidden, up_weight.flatten(1), up_bias))
    out = x.new_empty((n, h, w, c)).permute(0, 3, 1, 2)
    return torch.mul(x, weights.view(n, c, 1, 1), out=out)
