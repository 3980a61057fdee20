# Copyright (c) mmunirep contributors. All rights reserved.
"""Linear (+ GELU) through oneDNN on the CPU, where it is faster.

On x86 CPUs PyTorch runs ``F.linear`` through its BLAS ``addmm``, which
first copies the broadcast bias into the output; oneDNN's matmul primitive,
with the bias and GELU fused as post-ops, is exposed as
``torch.ops.mkldnn._linear_pointwise`` (what ``torch.compile`` emits on CPU).
Which one is faster depends on the machine: about 2x for oneDNN on some
x86 machines, a tie on others. :data:`LINEAR_SELECTOR` times both the first
time it meets a shape and keeps the faster one. Where the op is missing,
the plain ops run.
"""
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor

from .selector import PathSelector, size_bucket

_ONEDNN_DTYPES = (torch.float32, torch.bfloat16)


def _onednn_linear_op():
    try:
        return torch.ops.mkldnn._linear_pointwise
    except (AttributeError, RuntimeError):
        return None


_LINEAR_POINTWISE = _onednn_linear_op()


def _onednn_usable(x: Tensor) -> bool:
    """Whether oneDNN's matmul is there for ``x``."""
    return (_LINEAR_POINTWISE is not None and x.device.type == 'cpu'
            and torch.backends.mkldnn.is_available()
            and torch.backends.mkldnn.enabled)


def _plain_linear(flat: Tensor, weight: Tensor, bias: Optional[Tensor],
                  gelu: bool) -> Tensor:
    out = F.linear(flat, weight, bias)
    return torch.ops.aten.gelu_(out) if gelu else out


def _onednn_linear(flat: Tensor, weight: Tensor, bias: Optional[Tensor],
                   gelu: bool) -> Tensor:
    return _LINEAR_POINTWISE(flat, weight, bias, 'gelu' if gelu else 'none',
                             [], 'none' if gelu else '')


#: ``x @ W.T + b`` (then GELU) on a 2-D input: plain ``F.linear`` or oneDNN.
LINEAR_SELECTOR = PathSelector('linear', {
    'F.linear': _plain_linear,
    'onednn': _onednn_linear,
})


def uses_onednn(x: Tensor) -> bool:
    """Whether :func:`linear_act` may take the oneDNN path for ``x``."""
    return (x.dtype in _ONEDNN_DTYPES and not torch.is_grad_enabled()
            and _onednn_usable(x))


def _linear_key(flat: Tensor, weight: Tensor, gelu: bool) -> tuple:
    return (size_bucket(flat.shape[0]), weight.shape[1], weight.shape[0],
            flat.dtype, gelu)


def linear_act(x: Tensor,
               weight: Tensor,
               bias: Optional[Tensor],
               gelu: bool = False) -> Tensor:
    """``gelu(x @ weight.T + bias)`` (or without the GELU), for inference.

    Args:
        x (Tensor): (..., C_in).
        weight (Tensor): (C_out, C_in).
        bias (Tensor, optional): (C_out,).
        gelu (bool): Apply the exact (erf) GELU. Defaults to False.

    Returns:
        Tensor: (..., C_out).
    """
    if torch.is_autocast_enabled('cpu') and x.device.type == 'cpu':
        # cast as autocast casts a Linear, so that the bfloat16 path below
        # (which autocast does not see) runs in the autocast dtype
        dtype = torch.get_autocast_dtype('cpu')
        x, weight = x.to(dtype), weight.to(dtype)
        bias = None if bias is None else bias.to(dtype)
    if uses_onednn(x) and weight.dtype == x.dtype:
        flat = x.reshape(-1, x.shape[-1])
        out = LINEAR_SELECTOR(_linear_key(flat, weight, gelu), flat, weight,
                              bias, gelu)
        return out.reshape(*x.shape[:-1], weight.shape[0])
    return _plain_linear(x, weight, bias, gelu)


def _trains_with_onednn(x: Tensor, weight: Tensor) -> bool:
    if not (x.dtype == weight.dtype == torch.float32
            and not torch.is_autocast_enabled('cpu') and _onednn_usable(x)):
        return False
    flat = x.detach().reshape(-1, x.shape[-1])
    with torch.no_grad():
        choice = LINEAR_SELECTOR.choose(
            _linear_key(flat, weight, False),
            (flat, weight.detach(), None, False))
    return choice == 'onednn'


class _OneDNNLinearFunction(torch.autograd.Function):
    """``x @ weight.T + bias`` with oneDNN's matmul forward and for the input
    gradient; the weight gradient ``g.T @ x`` stays with ``torch.mm``, which
    reads the transpose without copying it."""

    @staticmethod
    def forward(ctx, x: Tensor, weight: Tensor,
                bias: Optional[Tensor]) -> Tensor:
        flat = x.reshape(-1, x.shape[-1])
        out = _LINEAR_POINTWISE(flat, weight, bias, 'none', [], '')
        ctx.save_for_backward(flat, weight)
        ctx.input_shape = x.shape
        ctx.has_bias = bias is not None
        return out.reshape(*x.shape[:-1], weight.shape[0])

    @staticmethod
    def backward(ctx, grad: Tensor):
        flat, weight = ctx.saved_tensors
        grad = grad.reshape(-1, weight.shape[0]).contiguous()
        grad_x = grad_weight = grad_bias = None
        if ctx.needs_input_grad[0]:
            grad_x = _LINEAR_POINTWISE(grad, weight.t().contiguous(), None,
                                       'none', [], '')
            grad_x = grad_x.reshape(ctx.input_shape)
        if ctx.needs_input_grad[1]:
            grad_weight = torch.mm(grad.t(), flat)
        if ctx.has_bias and ctx.needs_input_grad[2]:
            grad_bias = grad.sum(dim=0)
        return grad_x, grad_weight, grad_bias


def cpu_linear(x: Tensor, weight: Tensor,
               bias: Optional[Tensor] = None) -> Tensor:
    """``x @ weight.T + bias`` on the CPU, through oneDNN's matmul where that
    is faster for the shape: in training (float32, forward and input
    gradient) and at inference (:func:`linear_act`); elsewhere, and under
    autocast in training, ``F.linear``.

    Args:
        x (Tensor): (..., C_in).
        weight (Tensor): (C_out, C_in).
        bias (Tensor, optional): (C_out,).

    Returns:
        Tensor: (..., C_out).
    """
    if not torch.is_grad_enabled():
        return linear_act(x, weight, bias)
    if _trains_with_onednn(x, weight):
        return _OneDNNLinearFunction.apply(x, weight, bias)
    return F.linear(x, weight, bias)
