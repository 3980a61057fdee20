# Copyright (c) mmunirep contributors. All rights reserved.
"""Where one step's time goes, from ``torch.profiler``: the depthwise
convolutions' share of device time, the layout conversions, and the host
(CPU) time the step costs against its device time.

Kernels are attributed through the PyTorch op that launched them (the
profiler links each kernel to the innermost op around its launch) and, for
kernels without a linked op, by name.
"""
import time
from collections import Counter
from typing import Dict, List, Optional

from torch.autograd import DeviceType
from torch.autograd.profiler_util import FunctionEvent
from torch.profiler import ProfilerActivity, profile

from .groups import BenchContext, Step, run_guarded
from .models import (OURS_AUTO, OURS_PLAIN, PRECISIONS, build_convnext,
                     build_ours, channels_last, make_step, plain_copy)
from .rows import image_batch

#: Fragments (lower case) of kernel names that convert layouts (cuDNN's
#: and cuBLAS's transforms).
LAYOUT_KERNELS = ('nchwtonhwc', 'nhwctonchw', 'nchw2nhwc', 'nhwc2nchw',
                  'tensortransform', 'converttensor')
#: Ops whose copies exist only to change the memory format.
LAYOUT_OPS = ('aten::contiguous', )
#: Fragments (lower case) of depthwise-conv kernel names: cuDNN's
#: single-channel kernels and mmunirep's Triton kernels.
DEPTHWISE_KERNELS = ('depthwise', 'dwconv', 'conv2d_c1_k1', 'dgrad2d_c1_k1',
                     'wgrad2d_c1_k1', '_conv_kernel', '_grad_weight_kernel')
#: Runtime calls in which the host waits for the device.
WAITS = ('synchronize', )


def _is_depthwise_op(event: FunctionEvent) -> bool:
    """A depthwise conv op: named so, or a conv with a (C, 1, k, k)
    weight (C > 1, k > 1) among its inputs."""
    name = event.name.lower()
    if 'depthwise' in name:
        return True
    return 'conv' in name and any(
        len(shape) == 4 and shape[0] > 1 and shape[1] == 1 and shape[2] > 1
        for shape in (event.input_shapes or [])[:3])


def _ancestors(event: FunctionEvent):
    while event is not None:
        yield event
        event = event.cpu_parent


def _kernel_kind(name: str, op: Optional[FunctionEvent]) -> str:
    """'depthwise', 'layout' or 'other' for a kernel launched in ``op``."""
    lowered = name.lower()
    chain = list(_ancestors(op)) if op is not None else []
    if any(_is_depthwise_op(e) for e in chain) or any(
            f in lowered for f in DEPTHWISE_KERNELS):
        return 'depthwise'
    if any(f in lowered for f in LAYOUT_KERNELS) or any(
            e.name in LAYOUT_OPS for e in chain):
        return 'layout'
    return 'other'


def summarize_events(events: List[FunctionEvent],
                     wall_s: float) -> Dict[str, object]:
    """The profile row of one step.

    Args:
        events (list[FunctionEvent]): ``prof.events()``.
        wall_s (float): The step's wall time.

    Returns:
        dict: ``device_ms`` (None without device kernels),
        ``depthwise_ms``, ``depthwise_share`` (of device time, else of host
        time), ``layout_kernels``, ``layout_ms``, ``layout_kernel_names``,
        ``host_ms``, ``wall_ms``.
    """
    cpu = [e for e in events if e.device_type == DeviceType.CPU]
    device = [e for e in events if e.device_type != DeviceType.CPU]
    totals = Counter()
    layout_names = Counter()
    linked = Counter()
    for op in cpu:
        for kernel in op.kernels:
            kind = _kernel_kind(kernel.name, op)
            totals[kind] += kernel.duration
            linked[kernel.name, round(kernel.duration)] += 1
            if kind == 'layout':
                layout_names[kernel.name] += 1
    for event in device:  # kernels the profiler linked to no op
        key = event.name, round(event.time_range.elapsed_us())
        if linked[key]:
            linked[key] -= 1
            continue
        kind = _kernel_kind(event.name, None)
        totals[kind] += event.time_range.elapsed_us()
        if kind == 'layout':
            layout_names[event.name] += 1
    host_us = sum(e.self_cpu_time_total for e in cpu
                  if not any(w in e.name.lower() for w in WAITS))
    device_us = sum(totals.values())
    if not device:  # CPU run: the ops' own time instead of kernels
        for op in cpu:
            kind = _kernel_kind('', op)
            totals[kind] += op.self_cpu_time_total
            if kind == 'layout' and op.name in LAYOUT_OPS:
                layout_names[op.name] += 1
    base_us = device_us if device else host_us
    return dict(
        device_ms=device_us / 1000 if device else None,
        depthwise_ms=totals['depthwise'] / 1000,
        depthwise_share=totals['depthwise'] / base_us if base_us else 0.,
        layout_kernels=sum(layout_names.values()),
        layout_ms=totals['layout'] / 1000,
        layout_kernel_names=sorted(layout_names),
        host_ms=host_us / 1000, wall_ms=wall_s * 1000)


def profile_step(ctx: BenchContext, step: Step) -> Dict[str, object]:
    """One profiled call of ``step`` (after an unprofiled one)."""
    activities = [ProfilerActivity.CPU]
    if ctx.on_cuda:
        activities.append(ProfilerActivity.CUDA)
    step()
    ctx.synchronize()
    with profile(activities=activities, record_shapes=True) as prof:
        start = time.perf_counter()
        step()
        ctx.synchronize()
        wall_s = time.perf_counter() - start
    return summarize_events(list(prof.events()), wall_s)


def profile_group(ctx: BenchContext) -> None:
    """A profiled fwd+bwd bf16 step of mmunirep ('auto', plain ops) and
    ConvNeXt, main arch and batch."""
    arch = ctx.settings.arch
    what = f'{arch.upper()} fwd+bwd bf16'
    if not ctx.fits('profile', what, 'profile'):
        return

    def group():
        ours = channels_last(build_ours(arch, 'fwd+bwd'), ctx.device)
        convnext, peer = build_convnext(arch)
        models = {OURS_AUTO: ours, OURS_PLAIN: plain_copy(ours),
                  convnext: channels_last(peer, ctx.device)}
        size = ctx.settings.image_size
        x = image_batch(ctx.device, ctx.settings.batch, size, size)
        for name, model in models.items():
            step = make_step(model, x, 'fwd+bwd', PRECISIONS['bf16'])
            row = dict(model=f'{arch.upper()} {name}',
                       **profile_step(ctx, step))
            ctx.report.add_rows('profile', [row])

    run_guarded(ctx, 'profile', what, group)
