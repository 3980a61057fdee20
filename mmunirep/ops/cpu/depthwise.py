# Copyright (c) mmunirep contributors. All rights reserved.
"""Depthwise convolution on the CPU with the fastest kernels for its shape,
forward and backward.

oneDNN's depthwise kernels are uneven, and unevenly so between machines. On
one AVX-512 machine (2 threads, batch 8):

- a 13x13 kernel ran 1.4-2.2x faster on a channels-first input than on a
  channels-last one, a 7x7 kernel the other way round;
- its backward (``convolution_backward``) took 14x to 60x the forward time
  for 13x13 kernels, while the input gradient is itself a depthwise
  convolution (of the output gradient with the flipped kernel) that runs at
  forward speed, and the weight gradient is a grouped convolution of the
  padded input with the output gradient as its kernel, 3-15x faster;
- dilated kernels ran sometimes faster as they are, sometimes as the
  equivalent dense (zero-inserted) kernel.

Every such choice is a :class:`~.selector.PathSelector` that measures the
candidates once per shape and keeps the fastest; the plain PyTorch op is
always a candidate.
"""
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor

from ..kernel_ops import dilated_to_dense
from ..plain import depthwise_conv2d_torch as _conv
from .selector import PathSelector, size_bucket


def _padding(weight: Tensor, dilation: int) -> int:
    return dilation * (weight.shape[-1] - 1) // 2


def _conv_channels_first(x: Tensor, weight: Tensor, bias: Optional[Tensor],
                         dilation: int = 1) -> Tensor:
    return _conv(x.contiguous(), weight, bias, dilation)


def _conv_channels_last(x: Tensor, weight: Tensor, bias: Optional[Tensor],
                        dilation: int = 1) -> Tensor:
    return _conv(x.contiguous(memory_format=torch.channels_last), weight,
                 bias, dilation)


def _conv_dense(x: Tensor, weight: Tensor, bias: Optional[Tensor],
                dilation: int = 1) -> Tensor:
    return _conv(x, dilated_to_dense(weight, dilation), bias)


#: A same-padded depthwise conv: in the input's layout, after converting it
#: to channels-first or channels-last, or with a dilated kernel made dense.
DEPTHWISE_SELECTOR = PathSelector('depthwise conv', {
    'as given': _conv,
    'channels first': _conv_channels_first,
    'channels last': _conv_channels_last,
    'dense kernel': _conv_dense,
})


def _aten_backward(grad: Tensor, x: Tensor, weight: Tensor, dilation: int,
                   which: int) -> Tensor:
    """PyTorch's own gradient of the conv: w.r.t. the input (``which=0``)
    or the weight (``which=1``)."""
    pad = _padding(weight, dilation)
    mask = [which == 0, which == 1, False]
    return torch.ops.aten.convolution_backward(
        grad, x, weight, None, [1, 1], [pad, pad], [dilation, dilation],
        False, [0, 0], weight.shape[0], mask)[which]


def _grad_input_aten(grad: Tensor, x: Tensor, weight: Tensor,
                     dilation: int) -> Tensor:
    return _aten_backward(grad, x, weight, dilation, which=0)


def _grad_input_flipped(grad: Tensor, x: Tensor, weight: Tensor,
                        dilation: int) -> Tensor:
    """d loss / d x of a same-padded stride-1 depthwise conv: the output
    gradient convolved with the flipped kernel."""
    return _conv(grad, weight.flip(-1, -2), None, dilation)


def _grad_weight_aten(grad: Tensor, x: Tensor, weight: Tensor,
                      dilation: int) -> Tensor:
    return _aten_backward(grad, x, weight, dilation, which=1)


def _grad_weight_grouped(grad: Tensor, x: Tensor, weight: Tensor,
                         dilation: int) -> Tensor:
    """d loss / d weight[c, i, j] = sum over n, p of grad[n, c, p] *
    x_padded[n, c, p + dilation * (i, j)]: a convolution of the padded
    input (N*C groups) with the output gradient as the kernel, strided by
    the dilation, summed over the batch."""
    n, c, h, w = x.shape
    inputs = x.contiguous().view(1, n * c, h, w)
    kernel = grad.contiguous().view(n * c, 1, h, w)
    out = F.conv2d(inputs, kernel, padding=_padding(weight, dilation),
                   groups=n * c, stride=dilation)
    return out.view(n, c, *weight.shape[-2:]).sum(0).unsqueeze(1)


#: The input gradient of a depthwise conv.
DEPTHWISE_GRAD_INPUT_SELECTOR = PathSelector('depthwise conv grad input', {
    'convolution_backward': _grad_input_aten,
    'flipped kernel': _grad_input_flipped,
})
#: The weight gradient of a depthwise conv.
DEPTHWISE_GRAD_WEIGHT_SELECTOR = PathSelector(
    'depthwise conv grad weight', {
        'convolution_backward': _grad_weight_aten,
        'grouped conv': _grad_weight_grouped,
    })


def _key(x: Tensor, weight: Tensor, dilation: int) -> tuple:
    n, c, h, w = x.shape
    layout = 'channels last' if x.is_contiguous(
        memory_format=torch.channels_last) and not x.is_contiguous() \
        else 'other'
    return (layout, n, c, size_bucket(h * w), weight.shape[-1], dilation,
            x.dtype)


class _DepthwiseConvFunction(torch.autograd.Function):
    """A depthwise conv whose forward and both gradients each run through
    the kernel their selector chose for the shape."""

    @staticmethod
    def forward(ctx, x: Tensor, weight: Tensor, bias: Optional[Tensor],
                dilation: int) -> Tensor:
        ctx.save_for_backward(x, weight)
        ctx.dilation = dilation
        ctx.has_bias = bias is not None
        return DEPTHWISE_SELECTOR(_key(x, weight, dilation), x, weight, bias,
                                  dilation)

    @staticmethod
    def backward(ctx, grad: Tensor):
        x, weight = ctx.saved_tensors
        key = _key(grad, weight, ctx.dilation)
        args = (grad, x, weight, ctx.dilation)
        grad_x = grad_w = grad_b = None
        if ctx.needs_input_grad[0]:
            grad_x = DEPTHWISE_GRAD_INPUT_SELECTOR(key, *args)
        if ctx.needs_input_grad[1]:
            grad_w = DEPTHWISE_GRAD_WEIGHT_SELECTOR(key, *args)
        if ctx.has_bias and ctx.needs_input_grad[2]:
            grad_b = grad.sum(dim=(0, 2, 3))
        return grad_x, grad_w, grad_b, None


def cpu_depthwise_conv2d(x: Tensor,
                         weight: Tensor,
                         bias: Optional[Tensor] = None,
                         dilation: int = 1) -> Tensor:
    """A stride-1, size-keeping depthwise convolution of CPU tensors, each
    pass through the kernel its selector chose for the shape.

    Args:
        x (Tensor): (N, C, H, W), in any memory layout.
        weight (Tensor): (C, 1, k, k), k odd.
        bias (Tensor, optional): (C,).
        dilation (int): Defaults to 1.

    Returns:
        Tensor: (N, C, H, W), in the layout the chosen kernel produced.
    """
    if x.dtype not in (torch.float32, torch.bfloat16):
        return _conv(x, weight, bias, dilation)
    if torch.is_grad_enabled() and (x.requires_grad or weight.requires_grad
                                    or (bias is not None
                                        and bias.requires_grad)):
        if torch.is_autocast_enabled('cpu'):
            # cast as autocast casts a conv's arguments (differentiably), so
            # that the backward sees one dtype
            dtype = torch.get_autocast_dtype('cpu')
            x, weight = x.to(dtype), weight.to(dtype)
            bias = None if bias is None else bias.to(dtype)
            with torch.autocast('cpu', enabled=False):
                return _DepthwiseConvFunction.apply(x, weight, bias, dilation)
        return _DepthwiseConvFunction.apply(x, weight, bias, dilation)
    return DEPTHWISE_SELECTOR(_key(x, weight, dilation), x, weight, bias,
                              dilation)
