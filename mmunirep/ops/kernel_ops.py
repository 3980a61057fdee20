# Copyright (c) mmunirep contributors. All rights reserved.
"""Pure kernel arithmetic for structural re-parameterization.

Every function takes and returns tensors, never modules, so the maths can be
tested on its own and runs on any device and dtype.
"""
from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def fuse_bn(kernel: Tensor,
            bn: nn.modules.batchnorm._BatchNorm,
            conv_bias: Optional[Tensor] = None) -> Tuple[Tensor, Tensor]:
    """Fold an inference-mode BatchNorm into the convolution before it.

    ``bn(conv(x, kernel) + conv_bias)`` equals ``conv(x, k) + b`` for the
    returned ``(k, b)``, with the BatchNorm using its running statistics.

    Args:
        kernel (Tensor): Conv kernel of shape (C_out, C_in/groups, kh, kw), or
            a Linear weight of shape (C_out, C_in).
        bn (_BatchNorm): The BatchNorm (or SyncBatchNorm) over C_out channels.
        conv_bias (Tensor, optional): Bias of the conv, shape (C_out,).

    Returns:
        tuple[Tensor, Tensor]: The fused kernel (same shape as ``kernel``) and
        bias of shape (C_out,).
    """
    std = (bn.running_var + bn.eps).sqrt()
    weight = bn.weight if bn.affine else torch.ones_like(std)
    shift = bn.bias if bn.affine else torch.zeros_like(std)
    scale = weight / std
    fused_kernel = kernel * scale.reshape(-1, *([1] * (kernel.dim() - 1)))
    if conv_bias is None:
        conv_bias = torch.zeros_like(bn.running_mean)
    fused_bias = shift + (conv_bias - bn.running_mean) * scale
    return fused_kernel, fused_bias


def dilated_to_dense(kernel: Tensor, dilation: int) -> Tensor:
    """Turn a dilated kernel into the equivalent dense (undilated) kernel.

    A k x k kernel with dilation r touches the input on a grid of step r; the
    equivalent dense kernel has size (k - 1) * r + 1 with the original
    weights on that grid and zeros elsewhere. This equals the transposed
    convolution of the kernel with a 1x1 identity at stride r.

    Args:
        kernel (Tensor): Shape (C_out, C_in/groups, k, k).
        dilation (int): The dilation r >= 1.

    Returns:
        Tensor: Shape (C_out, C_in/groups, (k-1)*r+1, (k-1)*r+1).
    """
    if dilation == 1:
        return kernel
    out_ch, in_ch, kh, kw = kernel.shape
    dense = kernel.new_zeros(out_ch, in_ch, (kh - 1) * dilation + 1,
                             (kw - 1) * dilation + 1)
    dense[:, :, ::dilation, ::dilation] = kernel
    return dense


def pad_to_size(kernel: Tensor, size: int) -> Tensor:
    """Zero-pad an odd square kernel symmetrically to ``size`` x ``size``.

    Args:
        kernel (Tensor): Shape (C_out, C_in/groups, k, k) with k odd,
            k <= size.
        size (int): Target odd kernel size.

    Returns:
        Tensor: Shape (C_out, C_in/groups, size, size).
    """
    pad = (size - kernel.shape[-1]) // 2
    if pad < 0 or (size - kernel.shape[-1]) % 2:
        raise ValueError(f'cannot pad a {kernel.shape[-1]}x{kernel.shape[-1]} '
                         f'kernel to {size}x{size}: sizes must be odd and '
                         'the kernel not larger than the target')
    return F.pad(kernel, [pad] * 4) if pad else kernel
