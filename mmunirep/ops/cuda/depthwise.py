# Copyright (c) mmunirep contributors. All rights reserved.
"""A differentiable large-kernel depthwise conv on the Triton kernels.

The forward, the input gradient and the weight gradient are three torch
custom ops (``mmunirep::depthwise_conv2d_fwd``, ``..._grad_input``,
``..._grad_weight``) with fake implementations, so ``torch.compile`` traces
through them without graph breaks, and the backward is registered with
``torch.library.register_autograd``. Double backward is not supported.

Semantics are those of ``F.conv2d(x, weight, bias, stride=1,
padding=dilation * (k - 1) // 2, dilation=dilation, groups=C)``. The output
and the input gradient keep ``x``'s layout (channels-first or
channels-last; other strides are made channels-first). All sums run in
float32; a float32 weight beside a float16/bfloat16 input (autocast's
master weight) gets a float32 gradient, never rounded to the input dtype.
"""
from typing import Optional

import torch
from torch import Tensor

try:
    import triton  # noqa: F401
except ImportError as error:
    _TRITON_MISSING: Optional[str] = f'triton is not installed ({error})'
else:
    _TRITON_MISSING = None

if _TRITON_MISSING is None:
    from . import triton_depthwise as _kernels

_DTYPES = (torch.float32, torch.float16, torch.bfloat16)
_MAX_KERNEL = 31
_MAX_INDEX = 2**31


def triton_available() -> bool:
    """Whether triton is importable, so the Triton kernels can run at all.

    Returns:
        bool: True when ``import triton`` works.
    """
    return _TRITON_MISSING is None


def _memory_format(x: Tensor) -> torch.memory_format:
    """``channels_last`` for a channels-last (and not channels-first)
    tensor, else ``contiguous_format`` (also for any other strides)."""
    if (x.is_contiguous(memory_format=torch.channels_last)
            and not x.is_contiguous()):
        return torch.channels_last
    return torch.contiguous_format


def _dense(t: Tensor, memory_format: torch.memory_format) -> Tensor:
    """``t`` itself when channels-first or channels-last, else a copy in
    ``memory_format``."""
    if t.is_contiguous() or t.is_contiguous(
            memory_format=torch.channels_last):
        return t
    return t.contiguous(memory_format=memory_format)


def _shape_problem(x: Tensor, weight: Tensor,
                   dilation: int) -> Optional[str]:
    """Why the shapes or the dilation are unsupported, or None."""
    if not isinstance(x, Tensor) or x.dim() != 4:
        return 'x must be a 4-D (N, C, H, W) tensor'
    if (not isinstance(weight, Tensor) or weight.dim() != 4
            or weight.shape[0] != x.shape[1] or weight.shape[1] != 1
            or weight.shape[2] != weight.shape[3]):
        return ('weight must be (C, 1, k, k) with C = x.shape[1] (a '
                'depthwise conv, groups == C), got weight '
                f'{tuple(getattr(weight, "shape", ()))} for x '
                f'{tuple(x.shape)}')
    k = weight.shape[-1]
    if k % 2 == 0 or not 3 <= k <= _MAX_KERNEL:
        return f'the kernel size must be odd and in 3..{_MAX_KERNEL}, got {k}'
    if isinstance(dilation, bool) or not isinstance(dilation, int) \
            or dilation < 1:
        return f'dilation must be an int >= 1, got {dilation!r}'
    n, c, h, w = x.shape
    if x.numel() == 0:
        return f'x is empty, shape {tuple(x.shape)}'
    if n * h * w >= _MAX_INDEX or c * h * w >= _MAX_INDEX:
        return 'N*H*W and C*H*W must be below 2**31 (int32 indexing)'
    return None


def _dtype_problem(x: Tensor, weight: Tensor) -> Optional[str]:
    """Why the dtypes are unsupported, or None."""
    if x.dtype not in _DTYPES:
        return f'x must be float32, float16 or bfloat16, got {x.dtype}'
    if weight.dtype not in (x.dtype, torch.float32):
        return (f'weight must be float32 or x\'s dtype ({x.dtype}), got '
                f'{weight.dtype}')
    return None


def _device_problem(x: Tensor, weight: Tensor) -> Optional[str]:
    """Why the devices are unsupported, or None."""
    if weight.device != x.device:
        return f'x is on {x.device} but weight on {weight.device}'
    if x.device.type == 'cuda':
        return None
    if x.device.type != 'cpu':
        return f'the Triton kernels run on CUDA devices, not {x.device.type}'
    if not _kernels.INTERPRETED:
        return ('CPU tensors need the Triton interpreter: set '
                'TRITON_INTERPRET=1 before mmunirep.ops is imported')
    if x.dtype == torch.bfloat16:
        return 'the Triton interpreter has no bfloat16 (CPU tensors)'
    return None


def triton_unsupported_reason(x: Tensor, weight: Tensor,
                              dilation: int = 1) -> Optional[str]:
    """Why the Triton depthwise conv cannot take these arguments, if so.

    Args:
        x (Tensor): (N, C, H, W) input.
        weight (Tensor): (C, 1, k, k) depthwise kernel.
        dilation (int): Dilation of the kernel.

    Returns:
        str or None: None when :func:`triton_depthwise_conv2d` handles the
        arguments, else a short reason (triton missing, shapes, kernel size,
        dtype, device).
    """
    if _TRITON_MISSING is not None:
        return _TRITON_MISSING
    return (_shape_problem(x, weight, dilation)
            or _dtype_problem(x, weight) or _device_problem(x, weight))


def _bias_problem(x: Tensor, bias: Optional[Tensor]) -> Optional[str]:
    """Why ``bias`` is unsupported, or None."""
    if bias is None:
        return None
    if (not isinstance(bias, Tensor) or tuple(bias.shape) != (x.shape[1],)
            or not bias.is_floating_point()):
        return f'bias must be a floating-point (C,) = ({x.shape[1]},) tensor'
    if bias.device != x.device:
        return f'bias is on {bias.device} but x on {x.device}'
    return None


@torch.library.custom_op('mmunirep::depthwise_conv2d_fwd', mutates_args=())
def _forward(x: Tensor, weight: Tensor, bias: Optional[Tensor],
             dilation: int) -> Tensor:
    """The conv's output, (N, C, H, W), in ``x``'s dtype and layout."""
    memory_format = _memory_format(x)
    return _kernels.depthwise_conv(x.contiguous(memory_format=memory_format),
                                   weight, bias, dilation, False,
                                   memory_format)


@_forward.register_fake
def _forward_fake(x: Tensor, weight: Tensor, bias: Optional[Tensor],
                  dilation: int) -> Tensor:
    return torch.empty_like(x, memory_format=_memory_format(x))


@torch.library.custom_op('mmunirep::depthwise_conv2d_grad_input',
                         mutates_args=())
def _grad_input(grad: Tensor, weight: Tensor, dilation: int,
                channels_last: bool) -> Tensor:
    """The input gradient, (N, C, H, W): the conv of ``grad`` with the
    flipped kernel, channels-last when ``channels_last``."""
    memory_format = (torch.channels_last if channels_last
                     else torch.contiguous_format)
    return _kernels.depthwise_conv(_dense(grad, memory_format), weight, None,
                                   dilation, True, memory_format)


@_grad_input.register_fake
def _grad_input_fake(grad: Tensor, weight: Tensor, dilation: int,
                     channels_last: bool) -> Tensor:
    return torch.empty_like(grad, memory_format=(
        torch.channels_last if channels_last else torch.contiguous_format))


@torch.library.custom_op('mmunirep::depthwise_conv2d_grad_weight',
                         mutates_args=())
def _grad_weight(grad: Tensor, x: Tensor, weight: Tensor,
                 dilation: int) -> Tensor:
    """The weight gradient, (C, 1, k, k) contiguous in ``weight``'s dtype
    (summed in float32)."""
    memory_format = _memory_format(x)
    grad_weight = _kernels.depthwise_grad_weight(
        _dense(grad, memory_format), x.contiguous(memory_format=memory_format),
        weight.shape[-1], dilation)
    return grad_weight.to(weight.dtype)


@_grad_weight.register_fake
def _grad_weight_fake(grad: Tensor, x: Tensor, weight: Tensor,
                      dilation: int) -> Tensor:
    return weight.new_empty(weight.shape)


def _setup_context(ctx, inputs, output) -> None:
    """Keep what the backward needs: x, weight, dilation, bias dtype."""
    x, weight, bias, dilation = inputs
    ctx.save_for_backward(x, weight)
    ctx.dilation = dilation
    ctx.channels_last = _memory_format(x) == torch.channels_last
    ctx.bias_dtype = None if bias is None else bias.dtype


def _backward(ctx, grad: Tensor):
    """Gradients w.r.t. (x, weight, bias, dilation)."""
    x, weight = ctx.saved_tensors
    grad_x = grad_weight = grad_bias = None
    if ctx.needs_input_grad[0]:
        grad_x = torch.ops.mmunirep.depthwise_conv2d_grad_input(
            grad, weight, ctx.dilation, ctx.channels_last)
    if ctx.needs_input_grad[1]:
        grad_weight = torch.ops.mmunirep.depthwise_conv2d_grad_weight(
            grad, x, weight, ctx.dilation)
    if ctx.bias_dtype is not None and ctx.needs_input_grad[2]:
        grad_bias = grad.sum((0, 2, 3), dtype=torch.float32).to(
            ctx.bias_dtype)
    return grad_x, grad_weight, grad_bias, None


_forward.register_autograd(_backward, setup_context=_setup_context)


def triton_depthwise_conv2d(x: Tensor, weight: Tensor,
                            bias: Optional[Tensor] = None,
                            dilation: int = 1) -> Tensor:
    """Same-padded, stride-1 depthwise conv on the Triton kernels.

    Equal to ``F.conv2d(x, weight, bias, padding=dilation * (k - 1) // 2,
    dilation=dilation, groups=C)``, summed in float32, differentiable.

    Args:
        x (Tensor): (N, C, H, W) input, float32, float16 or bfloat16; on
            CUDA, or on the CPU under ``TRITON_INTERPRET=1`` (not bf16).
        weight (Tensor): (C, 1, k, k) kernel, odd k in 3..31, in ``x``'s
            dtype or float32 (its gradient comes back in its dtype).
        bias (Tensor, optional): (C,) bias, any float dtype.
        dilation (int): Dilation of the kernel, >= 1.

    Returns:
        Tensor: (N, C, H, W) output in ``x``'s dtype and memory format
        (channels-last in, channels-last out).

    Raises:
        ValueError: When the kernels cannot take these arguments (see
            :func:`triton_unsupported_reason`).
    """
    reason = (triton_unsupported_reason(x, weight, dilation)
              or _bias_problem(x, bias))
    if reason is not None:
        raise ValueError(
            f'triton_depthwise_conv2d cannot run: {reason}. Use the PyTorch '
            "implementation for these arguments (impl='torch', F.conv2d).")
    return torch.ops.mmunirep.depthwise_conv2d_fwd(x, weight, bias, dilation)
