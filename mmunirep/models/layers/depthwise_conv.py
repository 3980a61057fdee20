# Copyright (c) mmunirep contributors. All rights reserved.
"""Depthwise convolution in the memory layout that is fastest for its shape.

oneDNN's depthwise kernels favour different layouts for different kernel
sizes: on one AVX-512 machine a 13x13 kernel ran 1.4-2.2x faster on a
channels-first (NCHW) input than on a channels-last one, a 7x7 kernel the
other way round. UniRepLKNet's blocks keep their activations channels-last,
so at inference :data:`DEPTHWISE_SELECTOR` measures, per shape, whether
converting the input first pays off.
"""
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor

from .fast_paths import PathSelector, plain_ops_required, size_bucket


def _conv(x: Tensor, weight: Tensor, bias: Optional[Tensor]) -> Tensor:
    return F.conv2d(x, weight, bias, padding=weight.shape[-1] // 2,
                    groups=weight.shape[0])


def _conv_channels_first(x: Tensor, weight: Tensor,
                         bias: Optional[Tensor]) -> Tensor:
    return _conv(x.contiguous(), weight, bias)


def _conv_channels_last(x: Tensor, weight: Tensor,
                        bias: Optional[Tensor]) -> Tensor:
    return _conv(x.contiguous(memory_format=torch.channels_last), weight,
                 bias)


#: A same-padded depthwise conv in the input's layout, or after converting
#: the input to channels-first or channels-last.
DEPTHWISE_SELECTOR = PathSelector('depthwise conv', {
    'as given': _conv,
    'channels first': _conv_channels_first,
    'channels last': _conv_channels_last,
})


def depthwise_conv(x: Tensor, weight: Tensor,
                   bias: Optional[Tensor] = None) -> Tensor:
    """A depthwise KxK convolution with ``padding=K // 2``.

    Args:
        x (Tensor): (N, C, H, W), in any memory layout.
        weight (Tensor): (C, 1, K, K), K odd.
        bias (Tensor, optional): (C,).

    Returns:
        Tensor: (N, C, H, W), in the layout the chosen kernel produced.
    """
    if (x.device.type != 'cpu' or torch.is_grad_enabled()
            or plain_ops_required()):
        return _conv(x, weight, bias)
    n, c, h, w = x.shape
    layout = 'channels last' if x.is_contiguous(
        memory_format=torch.channels_last) and not x.is_contiguous() \
        else 'other'
    key = (layout, n, c, size_bucket(h * w), weight.shape[-1], x.dtype)
    return DEPTHWISE_SELECTOR(key, x, weight, bias)
