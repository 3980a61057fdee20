# Copyright (c) mmunirep contributors. All rights reserved.
"""Triton kernels for a same-padded, stride-1 depthwise convolution.

Two kernels (three uses), all sums in float32:

- :func:`_conv_kernel` computes the forward conv; with ``FLIP`` it reads the
  kernel flipped in both spatial dims, which makes it the input gradient
  (for odd ``k`` and symmetric padding, ``grad_x = conv(grad, flip(w))``).
  Each program owns a ``[BLOCK_P, BLOCK_C]`` tile: ``BLOCK_P`` positions of
  the flattened ``(n, h, w)`` range times ``BLOCK_C`` channels. The kernel
  rows run as a loop, the kernel columns unrolled; masked loads give the
  zero padding.
- :func:`_grad_weight_kernel` computes one kernel row ``i`` of the weight
  gradient for ``BLOCK_C`` channels over one of ``SPLIT`` chunks of image
  rows ``(n, h)``, ``BLOCK_W`` columns at a time, with a
  ``[K_PAD, BLOCK_W, BLOCK_C]`` accumulator (all kernel columns at once)
  reduced over columns at the end. The chunks' partial sums go to a
  ``[SPLIT, C, k, k]`` buffer that one torch sum reduces: deterministic,
  and its size bounded by the grid, not by ``N*H*W``.

Every tensor is passed with its four strides, so one kernel serves
channels-first and channels-last tensors: Triton specialises a stride of 1
at compile time, and the contiguous axis (positions or channels) is known
to the compiler. On CUDA each kernel is autotuned over a few configs per
layout; CPU tensors (the Triton interpreter, ``TRITON_INTERPRET=1``) run
one fixed config.

Nothing here synchronises with the device: no host reads of tensor values,
only ``torch.empty`` allocations and launches (plus, for channels-last, a
(k, k, C) copy of the small weight). Autotuning benchmarks, and so
synchronises, once per new key.
"""
from typing import Optional

import torch
import triton
import triton.language as tl
import triton.testing
from torch import Tensor
from triton.runtime.interpreter import InterpretedFunction

#: Programs the weight-gradient grid aims at (a few waves on a large GPU).
_TARGET_PROGRAMS = 2048
#: Channel block assumed when sizing the weight-gradient split.
_SPLIT_CHANNEL_BLOCK = 32
#: Fewest positions (N*H*W) one weight-gradient chunk sums, by device type;
#: small on the CPU so that tests exercise several chunks.
_MIN_CHUNK = {'cuda': 1024, 'cpu': 64}
#: Columns x padded kernel columns of one weight-gradient step, by layout
#: (True: channels-last, where each column also carries BLOCK_C channels).
_GRAD_WEIGHT_TILE = {True: 256, False: 1024}
#: The fixed configs for CPU tensors (the interpreter): few, large programs.
_CPU_CONV = dict(BLOCK_P=128, BLOCK_C=16)
_CPU_GRAD_WEIGHT = dict(BLOCK_C=16)


@triton.jit
def _conv_kernel(x_ptr, w_ptr, b_ptr, out_ptr, C, H, W, NHW,
                 x_stride_n, x_stride_c, x_stride_h, x_stride_w,
                 out_stride_n, out_stride_c, out_stride_h, out_stride_w,
                 w_stride_c, w_stride_h, w_stride_w,
                 K: tl.constexpr, DIL: tl.constexpr, FLIP: tl.constexpr,
                 HAS_BIAS: tl.constexpr, BLOCK_P: tl.constexpr,
                 BLOCK_C: tl.constexpr):
    """out[n, c, h, w] = sum_ij x[n, c, h + i*DIL - pad, w + j*DIL - pad]
    * w[c, i, j] (+ b[c]); with FLIP, w[c, K-1-i, K-1-j]."""
    PAD: tl.constexpr = DIL * (K - 1) // 2
    p = tl.program_id(0) * BLOCK_P + tl.arange(0, BLOCK_P)
    c = tl.program_id(1) * BLOCK_C + tl.arange(0, BLOCK_C)
    p_ok = p < NHW
    c_ok = c < C
    col = p % W
    row = (p // W) % H
    n = (p // W // H).to(tl.int64)
    x_base = x_ptr + (n * x_stride_n)[:, None] + (c * x_stride_c)[None, :]
    w_base = w_ptr + c * w_stride_c
    x_col = x_base + ((col - PAD) * x_stride_w)[:, None]
    acc = tl.zeros((BLOCK_P, BLOCK_C), dtype=tl.float32)
    for kh in range(K):
        in_row = row + kh * DIL - PAD
        row_ok = p_ok & (in_row >= 0) & (in_row < H)
        x_row = x_col + (in_row * x_stride_h)[:, None]
        w_row = w_base + ((K - 1 - kh) if FLIP else kh) * w_stride_h
        for kw in tl.static_range(K):
            ok = row_ok & (col >= PAD - kw * DIL) & (col < W + PAD - kw * DIL)
            xv = tl.load(x_row + kw * DIL * x_stride_w,
                         mask=ok[:, None] & c_ok[None, :], other=0.0)
            wv = tl.load(w_row + ((K - 1 - kw) if FLIP else kw) * w_stride_w,
                         mask=c_ok, other=0.0)
            acc += xv.to(tl.float32) * wv.to(tl.float32)[None, :]
    if HAS_BIAS:
        acc += tl.load(b_ptr + c, mask=c_ok, other=0.0).to(tl.float32)[None, :]
    out = (out_ptr + (n * out_stride_n + row * out_stride_h
                      + col * out_stride_w)[:, None]
           + (c * out_stride_c)[None, :])
    tl.store(out, acc.to(out_ptr.dtype.element_ty),
             mask=p_ok[:, None] & c_ok[None, :])


@triton.jit
def _grad_weight_kernel(x_ptr, g_ptr, part_ptr, C, H, W, ROWS, SPLIT_ROWS,
                        x_stride_n, x_stride_c, x_stride_h, x_stride_w,
                        g_stride_n, g_stride_c, g_stride_h, g_stride_w,
                        K: tl.constexpr, K_PAD: tl.constexpr,
                        DIL: tl.constexpr, BLOCK_W: tl.constexpr,
                        BLOCK_C: tl.constexpr):
    """part[s, c, i, j] = sum over the image rows (n, h) of chunk s and the
    columns w of g[n, c, h, w] * x[n, c, h + i*DIL - pad, w + j*DIL - pad].
    """
    PAD: tl.constexpr = DIL * (K - 1) // 2
    c = tl.program_id(0) * BLOCK_C + tl.arange(0, BLOCK_C)
    i = tl.program_id(1)
    split = tl.program_id(2)
    c_ok = c < C
    j = tl.arange(0, K_PAD)
    j_ok = j < K
    x_chan = (c * x_stride_c)[None, None, :]
    g_chan = (c * g_stride_c)[None, :]
    shift = (j * DIL - PAD)[:, None]
    first = split * SPLIT_ROWS
    last = tl.minimum(first + SPLIT_ROWS, ROWS)
    acc = tl.zeros((K_PAD, BLOCK_W, BLOCK_C), dtype=tl.float32)
    for image_row in range(first, last):
        n = (image_row // H).to(tl.int64)
        h = image_row % H
        in_row = h + i * DIL - PAD
        if (in_row >= 0) & (in_row < H):
            x_row = x_ptr + n * x_stride_n + in_row * x_stride_h
            g_row = g_ptr + n * g_stride_n + h * g_stride_h
            for w0 in range(0, W, BLOCK_W):
                col = w0 + tl.arange(0, BLOCK_W)
                gv = tl.load(g_row + (col * g_stride_w)[:, None] + g_chan,
                             mask=(col < W)[:, None] & c_ok[None, :],
                             other=0.0)
                in_col = col[None, :] + shift
                ok = (col < W)[None, :] & (in_col >= 0) & (in_col < W) \
                    & j_ok[:, None]
                xv = tl.load(x_row + (in_col * x_stride_w)[:, :, None]
                             + x_chan,
                             mask=ok[:, :, None] & c_ok[None, None, :],
                             other=0.0)
                acc += xv.to(tl.float32) * gv.to(tl.float32)[None, :, :]
    part = tl.sum(acc, axis=1)
    out = (part_ptr + split * C * K * K + (c * K * K)[None, :] + i * K
           + j[:, None])
    tl.store(out, part, mask=j_ok[:, None] & c_ok[None, :])


#: Whether Triton decorated the kernels for its CPU interpreter (it reads
#: ``TRITON_INTERPRET`` when a kernel is defined, i.e. at this import).
INTERPRETED = isinstance(_conv_kernel, InterpretedFunction)


def _short_bench(kernel_call, quantiles):
    """Time one autotune candidate briefly (5 ms warm-up, 20 ms of runs)."""
    return triton.testing.do_bench(kernel_call, warmup=5, rep=20,
                                   quantiles=quantiles)


def _autotuned(kernel, configs, key):
    """The jit ``kernel`` autotuned over ``configs`` per value of ``key``
    (and, as Triton adds them, the dtypes of the tensor arguments)."""
    return triton.autotune(configs=configs, key=key,
                           do_bench=_short_bench)(kernel)


def _configs(keys, rows):
    """``triton.Config`` objects from rows of (*values of keys, warps)."""
    return [triton.Config(dict(zip(keys, row[:-1])), num_warps=row[-1])
            for row in rows]


_CONV_KEY = ['C', 'H', 'W', 'K', 'DIL', 'x_stride_c']
_GRAD_WEIGHT_KEY = ['C', 'H', 'W', 'K', 'DIL', 'x_stride_c', 'g_stride_c']

#: Autotuned conv kernels by output layout (True: channels-last): tiles
#: long in channels for channels-last, long in positions for channels-first.
_CONV = {
    True: _autotuned(_conv_kernel, _configs(('BLOCK_P', 'BLOCK_C'), [
        (64, 32, 4), (32, 32, 4), (128, 32, 8), (64, 64, 8)]), _CONV_KEY),
    False: _autotuned(_conv_kernel, _configs(('BLOCK_P', 'BLOCK_C'), [
        (256, 1, 4), (512, 1, 4), (1024, 1, 8), (256, 2, 4)]), _CONV_KEY),
}
#: Autotuned weight-gradient kernels by layout of ``x``.
_GRAD_WEIGHT = {
    True: _autotuned(_grad_weight_kernel, _configs(('BLOCK_C',), [
        (16, 4), (32, 4), (32, 8), (64, 8)]), _GRAD_WEIGHT_KEY),
    False: _autotuned(_grad_weight_kernel, _configs(('BLOCK_C',), [
        (2, 4), (4, 4), (4, 8), (8, 8)]), _GRAD_WEIGHT_KEY),
}


def _is_channels_last(x: Tensor) -> bool:
    """Whether ``x`` is channels-last and not also channels-first."""
    return (x.is_contiguous(memory_format=torch.channels_last)
            and not x.is_contiguous())


def _channels_innermost(weight: Tensor) -> Tensor:
    """A (C, 1, k, k) copy of ``weight`` stored as (k, k, C): one tap's
    channels are contiguous, so channels-last tiles load them as vectors."""
    return weight.permute(2, 3, 1, 0).contiguous().permute(3, 2, 0, 1)


def depthwise_conv(x: Tensor, weight: Tensor, bias: Optional[Tensor],
                   dilation: int, flip: bool,
                   memory_format: torch.memory_format) -> Tensor:
    """Launch the conv kernel: a same-padded, stride-1 depthwise conv.

    Any strides are read correctly; channels-first or channels-last inputs
    are the fast cases. A channels-last output reads the weight from a
    (k, k, C) copy (one small copy kernel).

    Args:
        x (Tensor): (N, C, H, W) input, float32/float16/bfloat16.
        weight (Tensor): (C, 1, k, k) kernel, ``x``'s dtype or float32.
        bias (Tensor, optional): (C,) bias, any float dtype.
        dilation (int): Dilation of the kernel (>= 1).
        flip (bool): Use the kernel flipped in both spatial dims (the input
            gradient of the conv).
        memory_format (torch.memory_format): Layout of the output.

    Returns:
        Tensor: (N, C, H, W) output in ``x``'s dtype and ``memory_format``.
    """
    n, c, h, w = x.shape
    k = weight.shape[-1]
    out = torch.empty_like(x, memory_format=memory_format)
    channels_last = _is_channels_last(out)
    if channels_last:
        weight = _channels_innermost(weight)
    nhw = n * h * w
    args = (x, weight, weight if bias is None else bias.contiguous(), out,
            c, h, w, nhw, *x.stride(), *out.stride(), weight.stride(0),
            *weight.stride()[2:])
    meta = dict(K=k, DIL=dilation, FLIP=flip, HAS_BIAS=bias is not None)
    grid = _conv_grid(nhw, c)
    if x.is_cuda:
        _CONV[channels_last][grid](*args, **meta)
    else:
        _conv_kernel[grid(_CPU_CONV)](*args, **meta, **_CPU_CONV)
    return out


def _conv_grid(nhw: int, channels: int):
    """The conv grid for a config: (position blocks, channel blocks)."""
    return lambda meta: (triton.cdiv(nhw, meta['BLOCK_P']),
                         triton.cdiv(channels, meta['BLOCK_C']))


def _weight_split(rows: int, width: int, channels: int, k: int,
                  device_type: str) -> int:
    """How many chunks of image rows the weight gradient splits its
    ``N*H*W`` reduction into: enough programs to fill the device, chunks
    not too short.

    Args:
        rows (int): Image rows summed over, ``N*H``.
        width (int): Positions per row, ``W``.
        channels (int): Channels ``C``.
        k (int): Kernel size.
        device_type (str): ``'cuda'`` or ``'cpu'``.

    Returns:
        int: The split, in [1, rows], with no chunk left empty; the
        partial-sum buffer holds ``split * C * k * k`` floats, bounded
        through the target program count, not by ``N*H*W``.
    """
    wanted = triton.cdiv(_TARGET_PROGRAMS,
                         k * triton.cdiv(channels, _SPLIT_CHANNEL_BLOCK))
    min_rows = triton.cdiv(_MIN_CHUNK.get(device_type, _MIN_CHUNK['cuda']),
                           width)
    split = max(1, min(wanted, rows // min_rows))
    return triton.cdiv(rows, triton.cdiv(rows, split))


def depthwise_grad_weight(grad: Tensor, x: Tensor, k: int,
                          dilation: int) -> Tensor:
    """Launch the weight-gradient kernel of the same-padded depthwise conv.

    ``grad_w[c, 0, i, j] = sum_{n,h,w} grad[n, c, h, w]
    * x_padded[n, c, h + i*d, w + j*d]``, accumulated in float32 per chunk
    of image rows, the chunks summed in a fixed order (deterministic).

    Args:
        grad (Tensor): (N, C, H, W) gradient of the conv's output.
        x (Tensor): (N, C, H, W) input of the conv.
        k (int): Kernel size (odd).
        dilation (int): Dilation of the kernel.

    Returns:
        Tensor: (C, 1, k, k) float32 weight gradient, contiguous.
    """
    n, c, h, w = x.shape
    split = _weight_split(n * h, w, c, k, x.device.type)
    partial = torch.empty((split, c, k, k), dtype=torch.float32,
                          device=x.device)
    channels_last = _is_channels_last(x)
    k_pad = triton.next_power_of_2(k)
    block_w = min(triton.next_power_of_2(w),
                  max(1, _GRAD_WEIGHT_TILE[channels_last] // k_pad))
    args = (x, grad, partial, c, h, w, n * h, triton.cdiv(n * h, split),
            *x.stride(), *grad.stride())
    meta = dict(K=k, K_PAD=k_pad, DIL=dilation, BLOCK_W=block_w)
    grid = _grad_weight_grid(c, k, split)
    if x.is_cuda:
        _GRAD_WEIGHT[channels_last][grid](*args, **meta)
    else:
        _grad_weight_kernel[grid(_CPU_GRAD_WEIGHT)](*args, **meta,
                                                    **_CPU_GRAD_WEIGHT)
    return partial.sum(0).unsqueeze(1)


def _grad_weight_grid(channels: int, k: int, split: int):
    """The weight-gradient grid: (channel blocks, kernel rows, chunks)."""
    return lambda meta: (triton.cdiv(channels, meta['BLOCK_C']), k, split)
