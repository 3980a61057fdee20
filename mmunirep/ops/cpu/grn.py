# Copyright (c) mmunirep contributors. All rights reserved.
"""Global Response Normalization on the CPU: a hand-written backward, square
sums as matmuls where faster, and GRN folded into the next Linear at
inference.

All tensors are channels-last: (N, H, W, C), or (N, P, C) with P = H * W.
"""
from typing import Optional, Tuple

import torch
from torch import Tensor

from ..plain import GRN_EPS
from .linear import linear_act
from .selector import PathSelector, size_bucket, workspace


def _product_sum(a: Tensor, b: Tensor) -> Tensor:
    """``sum_p a[n, p, c] * b[n, p, c]`` of (N, P, C) tensors, (N, 1, C), in
    at least float32."""
    if a.dtype not in (torch.float32, torch.float64):
        a, b = a.float(), b.float()
    return (a * b).sum(dim=1, keepdim=True)


def _product_sum_by_matmul(a: Tensor, b: Tensor) -> Tensor:
    """The same sum as a batched matrix-vector product over the products
    written to a reused buffer: the matmul accumulates in float32 without an
    fp32 copy of a bfloat16 input, and the buffer is not page-faulted
    anew."""
    n, p, _ = a.shape
    products = torch.mul(a, b, out=workspace('grn_products', a.shape, a))
    return torch.bmm(a.new_ones(n, 1, p), products).float()


#: Per-channel sums over positions of the products of two (N, P, C)
#: tensors (GRN's squares, and its backward's ``grad * x``).
PRODUCT_SUM_SELECTOR = PathSelector('GRN product sum', {
    'multiply+sum': _product_sum,
    'matmul': _product_sum_by_matmul,
})


def position_sum(a: Tensor, b: Tensor) -> Tensor:
    """``sum over H, W of a * b`` for (N, H, W, C) tensors, as (N, 1, 1, C)
    in at least float32 (see :data:`PRODUCT_SUM_SELECTOR`).

    Args:
        a (Tensor): (N, H, W, C).
        b (Tensor): Same shape and dtype.

    Returns:
        Tensor: (N, 1, 1, C).
    """
    n, h, w, c = a.shape
    if (a.is_contiguous() and b.is_contiguous()
            and a.dtype in (torch.float32, torch.bfloat16)):
        sums = PRODUCT_SUM_SELECTOR((n, size_bucket(h * w), c, a.dtype),
                                    a.view(n, h * w, c), b.view(n, h * w, c))
    else:
        sums = _product_sum(a.reshape(n, h * w, c), b.reshape(n, h * w, c))
    return sums.view(n, 1, 1, c)


def grn_statistics(x: Tensor) -> Tuple[Tensor, Tensor]:
    """The global norm ``Gx`` and its channel mean plus eps, with the sum of
    squares through :func:`position_sum` (float32 accumulation).

    Args:
        x (Tensor): (N, H, W, C).

    Returns:
        tuple[Tensor, Tensor]: ``Gx`` (N, 1, 1, C) and
        ``mean_C(Gx) + eps`` (N, 1, 1, 1), both float32 or wider.
    """
    gx = position_sum(x, x).sqrt_()
    return gx, gx.mean(dim=-1, keepdim=True) + GRN_EPS


def grn_scale(x: Tensor, gamma: Tensor) -> Tensor:
    """GRN's per-sample, per-channel factor ``gamma * Nx + 1``.

    Args:
        x (Tensor): (N, H, W, C).
        gamma (Tensor): (1, 1, 1, C).

    Returns:
        Tensor: (N, 1, 1, C), in the dtype of ``x``.
    """
    gx, denom = grn_statistics(x)
    return (gamma * (gx / denom) + 1).to(x.dtype)


class GRNFunction(torch.autograd.Function):
    """GRN with a hand-written backward.

    Autograd's generic backward of ``x * (gamma * Nx + 1) + beta`` makes
    about eight passes over the (large, 4C-wide) activation; this one makes
    four: ``sum(g * x)``, ``sum(g)``, ``g * s`` and ``x * k`` added in place.
    """

    @staticmethod
    def forward(ctx, x: Tensor, gamma: Tensor,
                beta: Optional[Tensor]) -> Tensor:
        gx, denom = grn_statistics(x)
        nx = gx / denom
        scale = (gamma * nx + 1).to(x.dtype)
        ctx.save_for_backward(x, gamma, gx, denom, nx, scale)
        ctx.has_beta = beta is not None
        if beta is None:
            return x * scale
        return torch.addcmul(beta.to(x.dtype), x, scale)

    @staticmethod
    def backward(ctx, grad: Tensor):
        x, gamma, gx, denom, nx, scale = ctx.saved_tensors
        grad_beta = None
        if ctx.has_beta and ctx.needs_input_grad[2]:
            grad_beta = grad.sum(dim=(0, 1, 2), keepdim=True)
        # d loss / d scale, per sample and channel
        grad_scale = position_sum(grad.contiguous(), x).to(gx.dtype)
        grad_gamma = (grad_scale * nx).sum(dim=0, keepdim=True)
        grad_nx = grad_scale * gamma
        # nx = gx / denom with denom = mean_C(gx) + eps
        grad_gx = grad_nx / denom - (grad_nx * gx).sum(
            dim=-1, keepdim=True) / (denom.square() * gx.shape[-1])
        # gx = sqrt(sum x^2): d gx / d x = x / gx (0 where gx is 0)
        coeff = torch.where(gx > 0, grad_gx / gx.clamp_min(1e-30),
                            torch.zeros_like(gx)).to(x.dtype)
        grad_x = (grad * scale).addcmul_(x, coeff)
        return (grad_x, grad_gamma.to(gamma.dtype),
                None if grad_beta is None else grad_beta.to(x.dtype))


def cpu_grn(x: Tensor, gamma: Tensor,
            beta: Optional[Tensor] = None) -> Tensor:
    """GRN of a CPU tensor with the hand-written backward (see
    :class:`GRNFunction`).

    Args:
        x (Tensor): (N, H, W, C).
        gamma (Tensor): (1, 1, 1, C).
        beta (Tensor, optional): (1, 1, 1, C).

    Returns:
        Tensor: (N, H, W, C).
    """
    return GRNFunction.apply(x, gamma, beta)


def _linear_of_scaled_input(x: Tensor, scale: Tensor, weight: Tensor,
                            bias: Optional[Tensor]) -> Tensor:
    """``linear(x * scale)``, scaling ``x`` (N, P, C_in) in place."""
    return linear_act(x.mul_(scale), weight, bias)


def _linear_with_scaled_weight(x: Tensor, scale: Tensor, weight: Tensor,
                               bias: Optional[Tensor]) -> Tensor:
    """``linear(x * scale)`` as one batched matmul with a per-sample scaled
    weight: cheaper than a pass over ``x`` when P is large."""
    n, _, c_in = x.shape
    scaled = weight.t().unsqueeze(0) * scale.reshape(n, c_in, 1)
    return torch.bmm(x, scaled) if bias is None else torch.baddbmm(
        bias, x, scaled)


#: ``linear(x * scale)`` for a per-sample, per-input-channel ``scale``.
SCALED_LINEAR_SELECTOR = PathSelector('GRN + Linear', {
    'scale input': _linear_of_scaled_input,
    'scale weight': _linear_with_scaled_weight,
})


def grn_linear(x: Tensor, gamma: Tensor, beta: Optional[Tensor],
               weight: Tensor, bias: Optional[Tensor]) -> Tensor:
    """``linear(grn(x))`` for inference, without the scaled copy of ``x``.

    GRN scales each channel of each sample, so for sample n
    ``linear(x_n * s_n + beta) = x_n @ (s_n[:, None] * W.T) + (b + W beta)``:
    either the activation is scaled in place or, per sample, the (small)
    weight; :data:`SCALED_LINEAR_SELECTOR` measures which is faster for the
    shape. Only valid when ``x`` may be overwritten and no gradient is
    needed.

    Args:
        x (Tensor): GRN input, (N, H, W, C_in); overwritten.
        gamma (Tensor): GRN's (1, 1, 1, C_in); ``beta`` the same or None.
        weight (Tensor): The Linear's (C_out, C_in).
        bias (Tensor, optional): The Linear's (C_out,).

    Returns:
        Tensor: (N, H, W, C_out), equal to ``linear(grn(x))``.
    """
    n, h, w, c_in = x.shape
    scale = grn_scale(x, gamma).reshape(n, 1, c_in)
    if beta is not None:
        projected = weight @ beta.reshape(-1).to(x.dtype)
        bias = projected if bias is None else bias + projected
    key = (n, size_bucket(h * w), c_in, weight.shape[0], x.dtype)
    out = SCALED_LINEAR_SELECTOR(key, x.reshape(n, h * w, c_in), scale,
                                 weight, bias)
    return out.reshape(n, h, w, weight.shape[0])
