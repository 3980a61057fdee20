# Copyright (c) mmunirep contributors. All rights reserved.
"""The depthwise-convolution micro-benchmark: the Triton kernel against
``F.conv2d`` (cuDNN) at UniRepLKNet's stage shapes, both layouts, forward
and forward + backward, as the model calls it (low-precision activations
under autocast, float32 weights)."""
from functools import partial
from typing import Callable, Dict, Optional, Tuple

import torch
from torch import Tensor

from mmunirep.ops import depthwise_conv2d
from mmunirep.ops.cuda import triton_unsupported_reason
from .checks import LAYOUTS
from .groups import BenchContext, Step, run_guarded, time_group
from .models import autocast
from .settings import BenchmarkSettings

#: Implementations compared: the Triton kernel and F.conv2d.
MICRO_IMPLS = ('triton', 'torch')


def micro_operands(settings: BenchmarkSettings, device: str,
                   shape: Tuple[int, int, int],
                   memory_format: torch.memory_format
                   ) -> Tuple[Tensor, Tensor, Tensor]:
    """Input (N, C, H, W) in the activation dtype and ``memory_format``,
    float32 weight (C, 1, k, k), and an output gradient like the
    output."""
    channels, height, width = shape
    k = settings.micro_kernel
    dtype = settings.micro_dtype or torch.float32
    x = torch.randn(settings.micro_batch, channels, height, width,
                    device=device, dtype=dtype)
    x = x.contiguous(memory_format=memory_format).requires_grad_()
    weight = (torch.randn(channels, 1, k, k, device=device) /
              k).requires_grad_()
    grad = torch.randn_like(x.detach())
    return x, weight, grad


def micro_steps(settings: BenchmarkSettings, impl: str, x: Tensor,
                weight: Tensor, grad: Tensor) -> Tuple[Step, Step]:
    """The forward step (inference mode) and the forward + backward step
    (both gradients, dropped after) of one implementation."""
    device = str(x.device)
    dtype = settings.micro_dtype

    def forward():
        with torch.inference_mode(), autocast(device, dtype):
            depthwise_conv2d(x, weight, impl=impl)

    def forward_backward():
        with autocast(device, dtype):
            out = depthwise_conv2d(x, weight, impl=impl)
        out.backward(grad)
        x.grad = weight.grad = None

    return forward, forward_backward


def triton_reason(settings: BenchmarkSettings,
                  device: str) -> Optional[str]:
    """Why the Triton kernel cannot run the micro-benchmark here, if so."""
    x, weight, _ = micro_operands(settings, device, settings.micro_shapes[0],
                                  torch.channels_last)
    return triton_unsupported_reason(x, weight)


def shape_name(ctx: BenchContext, shape: Tuple[int, int, int]) -> str:
    """'N x C x H x W' of a micro-benchmark shape."""
    return 'x'.join(str(d) for d in (ctx.settings.micro_batch, *shape))


def micro_group(ctx: BenchContext, shape: Tuple[int, int, int],
                impls: Tuple[str, ...], medians: Dict[str, float]) -> None:
    """Time one shape, record its rows, and put the median ms of every
    step (e.g. 'triton channels-last forward') into ``medians``."""
    settings = ctx.settings
    name_of = '{} {} {}'.format
    steps: Dict[str, Callable[[], None]] = {}
    for layout, memory_format in LAYOUTS.items():
        x, weight, grad = micro_operands(settings, ctx.device, shape,
                                         memory_format)
        for impl in impls:
            forward, both = micro_steps(settings, impl, x, weight, grad)
            steps[name_of(impl, layout, 'forward')] = forward
            steps[name_of(impl, layout, 'fwd+bwd')] = both
    what = shape_name(ctx, shape)
    timing = time_group(ctx, 'micro', what, steps, calls=settings.micro_calls)
    if timing is None:
        return
    medians.update({name: 1000 * timing.median_s(name) for name in steps})
    ctx.report.add_rows('micro', [
        dict(shape=what, kernel=settings.micro_kernel, impl=impl,
             layout=layout,
             forward_ms=medians[name_of(impl, layout, 'forward')],
             fwd_bwd_ms=medians[name_of(impl, layout, 'fwd+bwd')],
             first_call_s=sum(timing.first_call_s[name_of(impl, layout, p)]
                              for p in ('forward', 'fwd+bwd')))
        for layout in LAYOUTS for impl in impls
    ])


def micro_groups(ctx: BenchContext) -> None:
    """Every shape of the micro-benchmark, then the forward goal of the
    Triton kernel at the first shape."""
    settings = ctx.settings
    reason = triton_reason(settings, ctx.device)
    impls = MICRO_IMPLS
    if reason:
        ctx.report.skip('micro', "impl='triton'", reason)
        impls = ('torch', )
    per_shape = []
    for shape in settings.micro_shapes:
        medians: Dict[str, float] = {}
        per_shape.append(medians)
        what = shape_name(ctx, shape)
        if ctx.fits('micro', what, 'micro'):
            run_guarded(ctx, 'micro', what,
                        partial(micro_group, ctx, shape, impls, medians))
    channels, height, width = settings.micro_shapes[0]
    k = settings.micro_kernel
    precision = str(settings.micro_dtype or torch.float32)[6:]
    goal = (f'{k}x{k} forward at {channels}x{height}x{width}, batch '
            f'{settings.micro_batch}, {precision}, channels-last, under '
            f'{settings.goal_ms} ms')
    measured = per_shape[0].get('triton channels-last forward')
    if settings.tiny:
        result = 'not measured (tiny run: toy sizes)'
    elif measured is None:
        result = f'not measured ({reason or "skipped or failed"})'
    else:
        met = 'met' if measured < settings.goal_ms else 'NOT met'
        result = f'{measured:.3f} ms: {met}'
    ctx.report.set('goals', ctx.report.data['goals'] +
                   [dict(goal=goal, result=result)])
