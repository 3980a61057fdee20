# Copyright (c) mmunirep contributors. All rights reserved.
"""Global Response Normalization (ConvNeXt V2) on channels-last tensors."""
from typing import Optional, Tuple

import torch
from torch import Tensor, nn

from .fast_paths import (PathSelector, plain_ops_required, size_bucket,
                         workspace)
from .onednn_linear import linear_act

EPS = 1e-6


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
    if (a.is_contiguous() and b.is_contiguous() and a.device.type == 'cpu'
            and a.dtype in (torch.float32, torch.bfloat16)
            and not plain_ops_required()):
        sums = PRODUCT_SUM_SELECTOR((n, size_bucket(h * w), c, a.dtype),
                                    a.view(n, h * w, c), b.view(n, h * w, c))
    else:
        sums = _product_sum(a.reshape(n, h * w, c), b.reshape(n, h * w, c))
    return sums.view(n, 1, 1, c)


def grn_statistics(x: Tensor) -> Tuple[Tensor, Tensor]:
    """The global norm ``Gx`` and its channel mean plus eps.

    Computed in at least float32 precision: in float16 the sum of squares
    over a large feature map overflows and GRN returns NaN. On the CPU, for
    float32 and bfloat16, the sum of squares may run as a matmul (see
    :func:`position_sum`), which accumulates in float32.

    Args:
        x (Tensor): Shape (N, H, W, C).

    Returns:
        tuple[Tensor, Tensor]: ``Gx`` of shape (N, 1, 1, C) and
        ``mean_C(Gx) + 1e-6`` of shape (N, 1, 1, 1), both float32 or wider.
    """
    gx = position_sum(x, x).sqrt_()
    return gx, gx.mean(dim=-1, keepdim=True) + EPS


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


class GRN(nn.Module):
    """Global Response Normalization for (N, H, W, C) tensors.

    ``Gx = ||x||_2 over (H, W)``, ``Nx = Gx / (mean_C(Gx) + 1e-6)``,
    ``out = (gamma * Nx + 1) * x + beta`` (see :func:`grn_statistics` for
    the precision).

    Args:
        channels (int): C.
        use_bias (bool): Whether ``beta`` exists. The inference structure
            folds ``beta`` into the following Linear and drops it.
            Defaults to True.
    """

    def __init__(self, channels: int, use_bias: bool = True) -> None:
        super().__init__()
        self.use_bias = use_bias
        self.gamma = nn.Parameter(torch.zeros(1, 1, 1, channels))
        if use_bias:
            self.beta = nn.Parameter(torch.zeros(1, 1, 1, channels))

    def channel_scale(self, x: Tensor) -> Tensor:
        """The per-sample, per-channel factor ``gamma * Nx + 1``.

        Args:
            x (Tensor): Shape (N, H, W, C).

        Returns:
            Tensor: Shape (N, 1, 1, C), in the dtype of ``x``.
        """
        gx, denom = grn_statistics(x)
        return (self.gamma * (gx / denom) + 1).to(x.dtype)

    def forward(self, x: Tensor) -> Tensor:
        """(N, H, W, C) -> (N, H, W, C)."""
        return GRNFunction.apply(x, self.gamma,
                                 self.beta if self.use_bias else None)

    def remove_bias(self) -> Tensor:
        """Drop ``beta`` (for re-parameterization) and return its values.

        Returns:
            Tensor: beta flattened to shape (C,), or zeros if already removed.
        """
        if not self.use_bias:
            return self.gamma.new_zeros(self.gamma.shape[-1]).detach()
        beta = self.beta.detach().reshape(-1)
        del self.beta
        self.use_bias = False
        return beta


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


def grn_linear(x: Tensor, grn: GRN, linear: nn.Linear) -> Tensor:
    """``linear(grn(x))`` for inference, without the scaled copy of ``x``.

    GRN scales each channel of each sample, so for sample n
    ``linear(x_n * s_n + beta) = x_n @ (s_n[:, None] * W.T) + (b + W beta)``:
    either the activation is scaled in place or, per sample, the (small)
    weight; on the CPU :data:`SCALED_LINEAR_SELECTOR` measures which is
    faster for the shape, elsewhere the weight is scaled when H * W exceeds
    the output width. Only valid when ``x`` may be overwritten and no
    gradient is needed.

    Args:
        x (Tensor): GRN input, (N, H, W, C_in); overwritten.
        grn (GRN): The GRN over C_in channels.
        linear (nn.Linear): C_in -> C_out.

    Returns:
        Tensor: (N, H, W, C_out), equal to ``linear(grn(x))``.
    """
    n, h, w, c_in = x.shape
    scale = grn.channel_scale(x).reshape(n, 1, c_in)
    bias = linear.bias
    if grn.use_bias:
        projected = linear.weight @ grn.beta.reshape(-1).to(x.dtype)
        bias = projected if bias is None else bias + projected
    flat = x.reshape(n, h * w, c_in)
    if plain_ops_required():
        out = _linear_of_scaled_input(flat, scale, linear.weight, bias)
    elif x.device.type == 'cpu':
        key = (n, size_bucket(h * w), c_in, linear.out_features, x.dtype)
        out = SCALED_LINEAR_SELECTOR(key, flat, scale, linear.weight, bias)
    elif h * w > linear.out_features:
        out = _linear_with_scaled_weight(flat, scale, linear.weight, bias)
    else:
        out = _linear_of_scaled_input(flat, scale, linear.weight, bias)
    return out.reshape(n, h, w, linear.out_features)
