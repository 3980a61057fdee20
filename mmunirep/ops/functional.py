# Copyright (c) mmunirep contributors. All rights reserved.
"""The ops UniRepLKNet's modules call, each routed to its implementation
for the device (see :func:`~.dispatch.family`).

Each op equals its plain formula in :mod:`.plain`; ``impl`` is one of
:data:`~.dispatch.IMPLS`. Shapes: ``N`` samples, ``C`` channels,
``H x W`` positions, ``D`` the FFN's hidden width.
"""
from typing import Dict, Optional

import torch
from torch import Tensor

from .cpu import cpu_depthwise_conv2d, cpu_grn, cpu_grn_ffn, cpu_squeeze_excite
from .cuda import triton_depthwise_conv2d, triton_unsupported_reason
from .dispatch import check_impl, device_family, family
from .plain import (depthwise_conv2d_torch, grn_ffn_torch, grn_torch,
                    squeeze_excite_torch)

#: The implementation families each op has; elsewhere it runs its plain
#: formula ('torch').
OP_FAMILIES = {
    'depthwise conv': ('cpu', 'triton', 'torch'),
    'GRN': ('cpu', 'torch'),
    'FFN (Linear, GELU, GRN, Linear)': ('cpu', 'torch'),
    'SE': ('cpu', 'torch'),
}


def implementations(impl: str, device: str) -> Dict[str, str]:
    """What each op runs for ``impl`` on a device type (where the arguments
    are supported: the Triton kernel falls back to ``F.conv2d`` on what it
    does not cover).

    Args:
        impl (str): One of :data:`~.dispatch.IMPLS`.
        device (str): A device type, e.g. 'cuda'.

    Returns:
        dict[str, str]: Op name -> 'cpu', 'triton' or 'torch'.
    """
    chosen = device_family(check_impl(impl), device)
    return {op: chosen if chosen in families else 'torch'
            for op, families in OP_FAMILIES.items()}


def _triton_under_autocast(x: Tensor, weight: Tensor, bias: Optional[Tensor],
                           dilation: int) -> Tensor:
    """The Triton kernel in autocast's precision: the activations are cast
    as autocast casts a convolution's input; the weight stays as it is (the
    kernel reads float32 weights and returns their gradient in float32)."""
    device = x.device.type
    if torch.is_autocast_enabled(device):
        x = x.to(torch.get_autocast_dtype(device))
    return triton_depthwise_conv2d(x, weight, bias, dilation)


def depthwise_conv2d(x: Tensor,
                     weight: Tensor,
                     bias: Optional[Tensor] = None,
                     dilation: int = 1,
                     impl: str = 'auto') -> Tensor:
    """A depthwise convolution with stride 1 that keeps the spatial size.

    Equal to ``F.conv2d(x, weight, bias, padding=dilation * (k - 1) // 2,
    dilation=dilation, groups=C)``, forward and backward.

    Args:
        x (Tensor): (N, C, H, W), channels-first or channels-last.
        weight (Tensor): (C, 1, k, k), k odd.
        bias (Tensor, optional): (C,). Defaults to None.
        dilation (int): Defaults to 1.
        impl (str): ``'auto'`` (the Triton kernel for CUDA tensors where
            Triton is installed, the timed CPU paths for CPU tensors, else
            ``F.conv2d``), ``'torch'`` (``F.conv2d``) or ``'triton'`` (the
            Triton kernel on any tensors Triton accepts: CUDA, or CPU under
            ``TRITON_INTERPRET=1``). Defaults to 'auto'.

    Returns:
        Tensor: (N, C, H, W). The Triton kernel keeps the input's memory
        format.

    Raises:
        ValueError: ``impl='triton'`` and the kernel cannot run these
            arguments (the message says why).
    """
    chosen = family(check_impl(impl), x)
    if chosen == 'triton':
        reason = triton_unsupported_reason(x, weight, dilation)
        if reason is None:
            return _triton_under_autocast(x, weight, bias, dilation)
        if impl == 'triton':
            raise ValueError(
                "depthwise_conv2d(impl='triton') cannot run here: "
                f"{reason}. Use impl='auto' or impl='torch'.")
    if chosen == 'cpu':
        return cpu_depthwise_conv2d(x, weight, bias, dilation)
    return depthwise_conv2d_torch(x, weight, bias, dilation)


def grn(x: Tensor,
        gamma: Tensor,
        beta: Optional[Tensor] = None,
        impl: str = 'auto') -> Tensor:
    """Global Response Normalization (see :func:`~.plain.grn_torch`).

    Args:
        x (Tensor): (N, H, W, C).
        gamma (Tensor): (1, 1, 1, C).
        beta (Tensor, optional): (1, 1, 1, C).
        impl (str): ``'auto'`` runs the CPU's hand-written backward on CPU
            tensors, else the plain formula. Defaults to 'auto'.

    Returns:
        Tensor: (N, H, W, C).
    """
    if family(check_impl(impl), x) == 'cpu':
        return cpu_grn(x, gamma, beta)
    return grn_torch(x, gamma, beta)


def grn_ffn(x: Tensor,
            weight1: Tensor,
            bias1: Optional[Tensor],
            gamma: Tensor,
            beta: Optional[Tensor],
            weight2: Tensor,
            bias2: Optional[Tensor],
            impl: str = 'auto') -> Tensor:
    """UniRepLKNet's FFN: per position, Linear C -> D, GELU, GRN, Linear
    D -> C (see :func:`~.plain.grn_ffn_torch`).

    Args:
        x (Tensor): (N, C, H, W).
        weight1 (Tensor): (D, C); ``bias1`` (D,) or None.
        gamma (Tensor): GRN's (1, 1, 1, D); ``beta`` the same or None.
        weight2 (Tensor): (C, D); ``bias2`` (C,) or None.
        impl (str): ``'auto'`` runs the CPU paths (groups of samples,
            oneDNN's matmul, GRN folded into the second Linear at inference)
            on CPU tensors, else the plain formula. Defaults to 'auto'.

    Returns:
        Tensor: (N, C, H, W), a channels-last view of the result.
    """
    if family(check_impl(impl), x) == 'cpu':
        return cpu_grn_ffn(x, weight1, bias1, gamma, beta, weight2, bias2)
    return grn_ffn_torch(x, weight1, bias1, gamma, beta, weight2, bias2)


def squeeze_excite(x: Tensor,
                   down_weight: Tensor,
                   down_bias: Optional[Tensor],
                   up_weight: Tensor,
                   up_bias: Optional[Tensor],
                   impl: str = 'auto') -> Tensor:
    """Squeeze-and-Excitation (see :func:`~.plain.squeeze_excite_torch`).

    Args:
        x (Tensor): (N, C, H, W).
        down_weight (Tensor): (R, C, 1, 1); ``down_bias`` (R,) or None.
        up_weight (Tensor): (C, R, 1, 1); ``up_bias`` (C,) or None.
        impl (str): ``'auto'`` runs the CPU inference path on CPU tensors,
            else the plain formula. Defaults to 'auto'.

    Returns:
        Tensor: (N, C, H, W).
    """
    if family(check_impl(impl), x) == 'cpu':
        return cpu_squeeze_excite(x, down_weight, down_bias, up_weight,
                                  up_bias)
    return squeeze_excite_torch(x, down_weight, down_bias, up_weight,
                                up_bias)
