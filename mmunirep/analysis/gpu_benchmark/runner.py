# Copyright (c) mmunirep contributors. All rights reserved.
"""The GPU benchmark: correctness on the device, then UniRepLKNet against
ConvNeXt, plain ops and the authors' code, the UperNet + XL headline
config, the depthwise conv alone, a profile, and torch.compile, within a
time budget.

Meant for a lent GPU machine without internet that has torch (and perhaps
timm) but no OpenMMLab packages: ``tools/make_wheelhouse.sh`` collects what
mmunirep needs. The report is rewritten after every row; row groups that
would not fit the budget are skipped and listed with the reason. The most
wanted rows run first (the report orders its tables by itself):

1. Triton warm-up (CUDA): the run's kernels compiled in parallel processes;
2. correctness checks;
3. the depthwise micro-benchmark;
4. the main arch in bf16 (forward, fwd+bwd);
5. the headline segmentor (train, inference);
6. the main arch in fp32 (TF32);
7. a profiled step per model;
8. the large arch in bf16;
9. torch.compile (forward, fwd+bwd).

``tiny=True`` runs the same code paths at toy sizes on any device in
seconds (CI runs it on the CPU).
"""
import os
from contextlib import contextmanager, nullcontext
from functools import partial
from typing import Iterator, Optional

import torch
from mmengine.logging import MMLogger

from mmunirep.ops.cuda import triton_available
from mmunirep.utils.machine import machine_info
from .budget import Budget, HardStop
from .checks import layer_checks, model_checks, triton_checks
from .groups import BenchContext, run_guarded
from .micro import micro_groups
from .models import AUTHORS, AuthorsCodeError, load_authors_module, tf32
from .profile import profile_group
from .report import BenchmarkReport
from .rows import compile_group, model_group, segmentation_group
from .settings import FULL, TINY
from .warmup import warm_up

#: Default seconds of the whole run after start-up (imports, CUDA: ~10 s):
#: with the hard stop 15 s later, a run ends within 4 minutes.
DEFAULT_BUDGET_S = 210.
#: Seconds past the budget after which the process is ended.
HARD_STOP_GRACE_S = 15.


@contextmanager
def cudnn_benchmark(enabled: bool) -> Iterator[None]:
    """Set ``torch.backends.cudnn.benchmark`` inside the block."""
    before = torch.backends.cudnn.benchmark
    torch.backends.cudnn.benchmark = enabled
    try:
        yield
    finally:
        torch.backends.cudnn.benchmark = before


def default_warm_workers(device: str, tiny: bool) -> int:
    """Warm-up processes: half the CPUs, at most 8, for a full CUDA run
    with Triton; none otherwise (nothing to compile)."""
    if tiny or torch.device(device).type != 'cuda' or \
            not triton_available():
        return 0
    return max(1, min(8, (os.cpu_count() or 2) // 2))


def _checks(ctx: BenchContext) -> None:
    """Every correctness check, TF32 off, cuDNN's default algorithms."""
    with tf32(False), cudnn_benchmark(False):
        checks = layer_checks(ctx.device)
        checks += model_checks(ctx.device, ctx.settings.arch,
                               ctx.settings.check_size)
        triton, not_run = triton_checks(ctx.device,
                                        ctx.settings.check_conv_shape)
    ctx.report.add_checks(checks + triton)
    for reason, cases in not_run.items():
        ctx.report.skip('checks', f'{len(cases)} Triton depthwise checks',
                        reason)


def _load_authors(ctx: BenchContext, path: Optional[str]) -> None:
    if path is None:
        ctx.report.skip('models', AUTHORS, 'not measured: pass --authors '
                        'PATH to their unireplknet.py')
        return
    try:
        ctx.authors = load_authors_module(path)
    except AuthorsCodeError as error:
        ctx.report.skip('models', AUTHORS, str(error))


def _rows(ctx: BenchContext, skip_compile: bool) -> None:
    """The row groups after the checks, most wanted first."""
    settings = ctx.settings
    micro_groups(ctx)
    for mode in ('forward', 'fwd+bwd'):
        model_group(ctx, settings.arch, mode, 'bf16')
    for step_kind in ('train', 'inference'):
        segmentation_group(ctx, step_kind)
    for mode in ('forward', 'fwd+bwd'):
        model_group(ctx, settings.arch, mode, 'fp32 (TF32)')
    profile_group(ctx)
    if settings.large_arch:
        for mode in ('forward', 'fwd+bwd'):
            model_group(ctx, settings.large_arch, mode, 'bf16')
    else:
        ctx.report.skip('models', 'the large arch', 'tiny run: one arch')
    if settings.tiny or skip_compile:
        reason = 'tiny run' if settings.tiny else '--skip-compile'
        ctx.report.skip('compile', 'torch.compile rows', reason)
        return
    for mode in ('forward', 'fwd+bwd'):
        compile_group(ctx, mode)


@contextmanager
def single_thread_for_tiny_cpu(tiny: bool, device: str) -> Iterator[None]:
    """One CPU thread inside the block for a tiny CPU run: toy sizes gain
    nothing from threads, and on a shared CI machine threads waiting for
    each other cost 10-100x."""
    threads = torch.get_num_threads()
    if tiny and torch.device(device).type == 'cpu':
        torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def _run(ctx: BenchContext, authors: Optional[str], skip_compile: bool,
         warm_workers: int) -> None:
    """Everything after the report exists, in the order of the module's
    docstring."""
    _load_authors(ctx, authors)
    if warm_workers:
        limit_s = ctx.settings.warmup_share * ctx.budget.left()
        run_guarded(ctx, 'warm-up', 'Triton warm-up', lambda: ctx.report.set(
            'warmup', warm_up(ctx.settings, ctx.device, warm_workers,
                              limit_s)))
    run_guarded(ctx, 'checks', 'correctness checks', partial(_checks, ctx))
    with tf32(True), cudnn_benchmark(True):
        _rows(ctx, skip_compile)


def run_gpu_benchmark(out_dir: str,
                      device: str = 'cuda',
                      tiny: bool = False,
                      budget_s: float = DEFAULT_BUDGET_S,
                      authors: Optional[str] = None,
                      skip_compile: bool = False,
                      warm_workers: Optional[int] = None,
                      hard_stop_s: Optional[float] = None
                      ) -> BenchmarkReport:
    """Run the benchmark, writing ``gpu_benchmark.json`` and ``.md`` into
    ``out_dir`` after every row.

    Args:
        out_dir (str): Where the report goes.
        device (str): 'cuda' (the real run) or 'cpu'. Defaults to 'cuda'.
        tiny (bool): Toy sizes, one round: checks that the code runs, not
            a measurement. Defaults to False.
        budget_s (float): Seconds for everything after start-up, warm-up
            included. Defaults to :data:`DEFAULT_BUDGET_S`.
        authors (str, optional): Path of the authors' ``unireplknet.py``.
        skip_compile (bool): Leave out the torch.compile rows.
        warm_workers (int, optional): Triton warm-up processes (0: none).
            Defaults to :func:`default_warm_workers`.
        hard_stop_s (float, optional): End the process this many seconds
            after the start, after recording what was interrupted (exit
            status 1 if anything failed by then, else 0). Defaults to no
            hard stop.

    Returns:
        BenchmarkReport: Its ``failures`` are the failed checks and the
        row groups that raised.
    """
    if torch.device(device).type == 'cuda' and not torch.cuda.is_available():
        raise RuntimeError('no CUDA device: run with --device cpu --tiny to '
                           'check the script, or on a GPU machine')
    settings = TINY if tiny else FULL
    if warm_workers is None:
        warm_workers = default_warm_workers(device, tiny)
    report = BenchmarkReport(out_dir, machine_info(), dict(
        device=device, **settings.summary(), budget_s=budget_s,
        warm_workers=warm_workers))
    ctx = BenchContext(device, settings, Budget(budget_s), report)

    def hard_stop() -> int:
        report.skip('run', ctx.running or 'the rest of the run',
                    f'stopped: the hard time limit ({hard_stop_s:.0f} s) '
                    'passed while it ran')
        report.set('elapsed_s', ctx.budget.elapsed())
        MMLogger.get_current_instance().error(
            f'hard time limit reached; the report is in {out_dir}')
        return 1 if report.failures else 0

    stopper = HardStop(hard_stop_s, hard_stop) if hard_stop_s \
        else nullcontext()
    with stopper, single_thread_for_tiny_cpu(tiny, device):
        _run(ctx, authors, skip_compile, warm_workers)
        report.set('elapsed_s', ctx.budget.elapsed())
        report.set('finished', True)
    return report
