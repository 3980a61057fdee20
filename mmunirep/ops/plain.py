# Copyright (c) mmunirep contributors. All rights reserved.
"""The plain PyTorch formula of every op: what each faster implementation
must equal, and what runs wherever none is faster.

Shapes: ``N`` samples, ``C`` channels, ``H x W`` positions; the FFN's
hidden width is ``D`` (4C in UniRepLKNet).
"""
from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

#: GRN's epsilon in ``Gx / (mean_C(Gx) + eps)``.
GRN_EPS = 1e-6

_LOW_PRECISION = (torch.float16, torch.bfloat16)


def depthwise_conv2d_torch(x: Tensor,
                           weight: Tensor,
                           bias: Optional[Tensor] = None,
                           dilation: int = 1) -> Tensor:
    """A stride-1, size-keeping depthwise convolution through ``F.conv2d``.

    Args:
        x (Tensor): (N, C, H, W).
        weight (Tensor): (C, 1, k, k), k odd.
        bias (Tensor, optional): (C,).
        dilation (int): Defaults to 1.

    Returns:
        Tensor: (N, C, H, W).
    """
    return F.conv2d(x, weight, bias,
                    padding=dilation * (weight.shape[-1] - 1) // 2,
                    dilation=dilation, groups=weight.shape[0])


def grn_statistics_torch(x: Tensor) -> Tuple[Tensor, Tensor]:
    """GRN's global norm ``Gx`` and the channel mean of it plus eps, in
    float32 or wider (in float16 the sum of squares over a large feature
    map overflows).

    Args:
        x (Tensor): (N, H, W, C).

    Returns:
        tuple[Tensor, Tensor]: ``Gx`` (N, 1, 1, C) and
        ``mean_C(Gx) + eps`` (N, 1, 1, 1).
    """
    gx = torch.linalg.vector_norm(
        x, dim=(1, 2), keepdim=True,
        dtype=torch.float32 if x.dtype in _LOW_PRECISION else None)
    return gx, gx.mean(dim=-1, keepdim=True) + GRN_EPS


def grn_torch(x: Tensor, gamma: Tensor,
              beta: Optional[Tensor] = None) -> Tensor:
    """Global Response Normalization (ConvNeXt V2), through autograd.

    ``(gamma * Nx + 1) * x + beta`` with ``Nx = Gx / (mean_C(Gx) + eps)``
    and ``Gx`` the L2 norm of ``x`` over (H, W).

    Args:
        x (Tensor): (N, H, W, C).
        gamma (Tensor): (1, 1, 1, C).
        beta (Tensor, optional): (1, 1, 1, C).

    Returns:
        Tensor: (N, H, W, C), in the dtype of ``x``.
    """
    gx, denom = grn_statistics_torch(x)
    out = x * (gamma * (gx / denom) + 1).to(x.dtype)
    return out if beta is None else out + beta.to(x.dtype)


def grn_ffn_torch(x: Tensor, weight1: Tensor, bias1: Optional[Tensor],
                  gamma: Tensor, beta: Optional[Tensor], weight2: Tensor,
                  bias2: Optional[Tensor]) -> Tensor:
    """UniRepLKNet's FFN on channels-first input: per position, Linear
    C -> D, GELU, GRN over D channels, Linear D -> C.

    Args:
        x (Tensor): (N, C, H, W).
        weight1 (Tensor): (D, C); ``bias1`` (D,) or None.
        gamma (Tensor): GRN's (1, 1, 1, D); ``beta`` the same or None.
        weight2 (Tensor): (C, D); ``bias2`` (C,) or None.

    Returns:
        Tensor: (N, C, H, W), a channels-last view of the (N, H, W, C)
        result (no copy).
    """
    hidden = F.gelu(F.linear(x.permute(0, 2, 3, 1), weight1, bias1))
    out = F.linear(grn_torch(hidden, gamma, beta), weight2, bias2)
    return out.permute(0, 3, 1, 2)


def squeeze_excite_torch(x: Tensor, down_weight: Tensor,
                         down_bias: Optional[Tensor], up_weight: Tensor,
                         up_bias: Optional[Tensor]) -> Tensor:
    """Squeeze-and-Excitation with 1x1 convolutions: average pool, conv
    C -> R, ReLU, conv R -> C, sigmoid, channel-wise product.

    Args:
        x (Tensor): (N, C, H, W).
        down_weight (Tensor): (R, C, 1, 1); ``down_bias`` (R,) or None.
        up_weight (Tensor): (C, R, 1, 1); ``up_bias`` (C,) or None.

    Returns:
        Tensor: (N, C, H, W).
    """
    pooled = x.mean(dim=(2, 3), keepdim=True)
    hidden = F.relu(F.conv2d(pooled, down_weight, down_bias))
    return x * torch.sigmoid(F.conv2d(hidden, up_weight, up_bias))
