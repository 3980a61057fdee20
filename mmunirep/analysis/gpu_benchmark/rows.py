# Copyright (c) mmunirep contributors. All rights reserved.
"""Row groups of whole models: UniRepLKNet against ConvNeXt, plain ops
and the authors' code; the UperNet + XL headline config; torch.compile."""
import copy
from functools import partial
from typing import Callable, Dict, Optional, Tuple

import torch
from torch import Tensor, nn

from ..timing import speed_ratio
from .groups import (BenchContext, Step, release_memory, run_guarded,
                     time_group, timed_call)
from .models import (AUTHORS, OURS_AUTO, OURS_PLAIN, PRECISIONS,
                     AuthorsCodeError, autocast, build_authors, build_convnext,
                     build_ours, channels_last, make_step, plain_copy,
                     resident_bytes)
from .upernet_plain import (IGNORE_INDEX, UperNetPlain, UperNetSettings,
                            build_upernet_plain)


def image_batch(device: str, batch: int, height: int, width: int) -> Tensor:
    """Random (batch, 3, height, width) channels-last images."""
    x = torch.randn(batch, 3, height, width, device=device)
    return x.contiguous(memory_format=torch.channels_last)


def compared_models(ctx: BenchContext, arch: str,
                    mode: str) -> Tuple[Dict[str, nn.Module], str]:
    """mmunirep ('auto' and plain ops), ConvNeXt and, if loaded, the
    authors' model, on the device, channels-last.

    Returns:
        tuple[dict[str, nn.Module], str]: Row label -> model, and the
        ConvNeXt label.
    """
    ours = channels_last(build_ours(arch, mode), ctx.device)
    models = {OURS_AUTO: ours, OURS_PLAIN: plain_copy(ours)}
    convnext, peer = build_convnext(arch)
    models[convnext] = channels_last(peer, ctx.device)
    if ctx.authors is not None:
        try:
            models[AUTHORS] = channels_last(
                build_authors(ctx.authors, arch, mode), ctx.device)
        except AuthorsCodeError as error:
            ctx.report.skip('models', f'{AUTHORS}, {arch.upper()} {mode}',
                            str(error))
    return models, convnext


def _first_call_of_authors(ctx: BenchContext, steps: Dict[str, Step],
                           what: str) -> Optional[float]:
    """Call the authors' step once, alone: if their code fails, drop it
    from ``steps`` (recording why) rather than lose the group.

    Returns:
        float | None: Seconds of the call, None if it failed or there is
        no authors' step.
    """
    if AUTHORS not in steps:
        return None
    try:
        return timed_call(steps[AUTHORS], ctx.synchronize)
    except Exception as error:  # third-party code: skip it, never crash
        del steps[AUTHORS]
        ctx.report.skip('models', f'{AUTHORS}, {what}',
                        f'its step failed: {type(error).__name__}: {error}')
        release_memory(ctx.device)
        return None


def model_group(ctx: BenchContext, arch: str, mode: str,
                precision: str) -> None:
    """One arch, mode and precision: every compared model, interleaved."""
    what = f'{arch.upper()} {mode} {precision}'
    if not ctx.fits('models', what, f'{arch} {mode} {precision}'):
        return

    def group():
        models, convnext = compared_models(ctx, arch, mode)
        batch = ctx.settings.batch
        size = ctx.settings.image_size
        x = image_batch(ctx.device, batch, size, size)
        steps = {name: make_step(model, x, mode, PRECISIONS[precision])
                 for name, model in models.items()}
        authors_first_s = _first_call_of_authors(ctx, steps, what)
        resident = {name: partial(resident_bytes, models[name])
                    for name in steps}
        timing = time_group(ctx, 'models', what, steps, resident)
        if timing is None:
            return
        if authors_first_s is not None:
            timing.first_call_s[AUTHORS] = authors_first_s
        ctx.report.add_rows('models', [
            dict(arch=arch, mode=mode, precision=precision, model=name,
                 img_per_s=batch / timing.median_s(name),
                 ms_per_step=1000 * timing.median_s(name),
                 vs_convnext=speed_ratio(timing.times, name, convnext),
                 vs_plain=speed_ratio(timing.times, name, OURS_PLAIN),
                 peak_gib=timing.peak_gib[name],
                 first_call_s=timing.first_call_s[name],
                 rounds=timing.rounds) for name in steps
        ])

    run_guarded(ctx, 'models', what, group)


def segmentor_step(model: UperNetPlain, seg: UperNetSettings,
                   step_kind: str, images: Tensor
                   ) -> Tuple[Step, Callable[[], int]]:
    """The timed step of the headline config, in bf16 autocast: 'train'
    (forward, loss, backward, AdamW step) or 'inference' (whole-image
    prediction under inference mode).

    Returns:
        tuple[callable, callable]: The step, and a function giving the
        bytes it keeps allocated (model, optimizer state).
    """
    device = str(images.device)
    if step_kind == 'inference':
        model.eval()

        def infer():
            with torch.inference_mode(), autocast(device, torch.bfloat16):
                model.predict(images)

        return infer, partial(resident_bytes, model)
    batch, _, height, width = images.shape
    labels = torch.randint(0, seg.num_classes, (batch, height, width),
                           device=device)
    labels[:, :height // 8] = IGNORE_INDEX
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4,
                                  weight_decay=0.05,
                                  fused=images.is_cuda)
    model.train()

    def train():
        with autocast(device, torch.bfloat16):
            loss = model.loss(images, labels)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    return train, partial(resident_bytes, model, optimizer)


def build_segmentor(seg: UperNetSettings, step_kind: str,
                    device: str) -> UperNetPlain:
    """The segmentor of ``seg`` on ``device``, channels-last, with a deploy
    backbone for 'inference' (fused on the device: fast for XL)."""
    model = build_upernet_plain(seg).to(device)
    if step_kind == 'inference':
        model.backbone.switch_to_deploy()
    return channels_last(model, device)


def segmentation_group(ctx: BenchContext, step_kind: str) -> None:
    """The headline segmentor's 'train' or 'inference' step, with the
    default kernels ('auto'; plain ops are compared on the classifiers)."""
    seg = ctx.settings.segmentation
    batch = ctx.settings.segmentation_batch
    height, width = seg.crop_size
    config = (f'{seg.arch.upper()} + UperNet {height}x{width}, '
              f'batch {batch}')
    what = f'{config} {step_kind}'
    if not ctx.fits('segmentation', what, f'segmentation {step_kind}'):
        return

    def group():
        model = build_segmentor(seg, step_kind, ctx.device)
        images = image_batch(ctx.device, batch, height, width)
        step, resident = segmentor_step(model, seg, step_kind, images)
        timing = time_group(ctx, 'segmentation', what, {OURS_AUTO: step},
                            {OURS_AUTO: resident})
        if timing is None:
            return
        ctx.report.add_rows('segmentation', [
            dict(config=config, step=step_kind, model=OURS_AUTO,
                 img_per_s=batch / timing.median_s(OURS_AUTO),
                 ms_per_step=1000 * timing.median_s(OURS_AUTO),
                 peak_gib=timing.peak_gib[OURS_AUTO],
                 first_call_s=timing.first_call_s[OURS_AUTO],
                 rounds=timing.rounds)
        ])

    run_guarded(ctx, 'segmentation', what, group)


def compile_group(ctx: BenchContext, mode: str) -> None:
    """The main arch in bf16: eager against ``torch.compile(model)``
    (default inductor), 'auto' kernels in both."""
    arch = ctx.settings.arch
    precision = 'bf16'
    what = f'{arch.upper()} {mode} {precision}'
    if not ctx.fits('compile', what, f'compile {mode}'):
        return

    def group():
        eager = channels_last(build_ours(arch, mode), ctx.device)
        compiled = torch.compile(copy.deepcopy(eager))
        size = ctx.settings.image_size
        x = image_batch(ctx.device, ctx.settings.batch, size, size)
        names = {'eager (auto)': eager, 'torch.compile (auto)': compiled}
        steps = {name: make_step(model, x, mode, PRECISIONS[precision])
                 for name, model in names.items()}
        timing = time_group(ctx, 'compile', what, steps)
        if timing is None:
            return
        eager_s = timing.median_s('eager (auto)')
        ctx.report.add_rows('compile', [
            dict(arch=arch, mode=mode, precision=precision, model=name,
                 img_per_s=ctx.settings.batch / timing.median_s(name),
                 ms_per_step=1000 * timing.median_s(name),
                 vs_eager=speed_ratio(timing.times, name, 'eager (auto)'),
                 compile_s=(timing.first_call_s[name] - eager_s
                            if name != 'eager (auto)' else None),
                 rounds=timing.rounds) for name in steps
        ])

    run_guarded(ctx, 'compile', what, group)
