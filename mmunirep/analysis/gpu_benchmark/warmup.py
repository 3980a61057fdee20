# Copyright (c) mmunirep contributors. All rights reserved.
"""Compile a run's Triton kernels in parallel before anything is timed.

Triton compiles a kernel variant (dtype, layout, kernel size, dilation,
autotuning config, integer specialisations) the first time it runs, one
variant after another, and keeps it in its on-disk cache (``TRITON_CACHE_DIR``,
else ``~/.triton/cache``). A benchmark run needs hundreds of variants, which
on a fresh machine is minutes of compiling in one process. Worker processes
make the first Triton calls of every part of the run at once, at the run's
own shapes (the integer arguments decide the specialisations); the timed
run then loads every kernel from the cache and only autotunes, which is
quick.
"""
import multiprocessing
import time
from functools import partial
from typing import Callable, Dict, Optional, Tuple

import torch

from .checks import LAYOUTS, model_checks, triton_checks
from .groups import release_memory
from .micro import micro_operands, micro_steps, triton_reason
from .models import (PRECISIONS, build_ours, channels_last, make_step,
                     synchronizer, tf32)
from .rows import build_segmentor, image_batch, segmentor_step
from .settings import BenchmarkSettings


def _first_call_of_model(settings: BenchmarkSettings, device: str,
                         arch: str, mode: str, precision: str) -> None:
    model = channels_last(build_ours(arch, mode), device)
    size = settings.image_size
    x = image_batch(device, settings.batch, size, size)
    make_step(model, x, mode, PRECISIONS[precision])()
    synchronizer(device)()


def _first_call_of_segmentor(settings: BenchmarkSettings, device: str,
                             step_kind: str) -> None:
    seg = settings.segmentation
    model = build_segmentor(seg, step_kind, device)
    images = image_batch(device, settings.segmentation_batch,
                         *seg.crop_size)
    step, _ = segmentor_step(model, seg, step_kind, images)
    step()
    synchronizer(device)()


def _first_calls_of_micro(settings: BenchmarkSettings, device: str) -> None:
    if triton_reason(settings, device):
        return
    for shape in settings.micro_shapes:
        for memory_format in LAYOUTS.values():
            operands = micro_operands(settings, device, shape, memory_format)
            for step in micro_steps(settings, 'triton', *operands):
                step()
    synchronizer(device)()


def _checks_without_tf32(check: Callable[[], object]) -> None:
    with tf32(False):
        check()


def warm_tasks(settings: BenchmarkSettings,
               device: str) -> Dict[str, Callable[[], None]]:
    """Name -> the first Triton calls of one part of the run, the longest
    compilations first.

    Args:
        settings (BenchmarkSettings): The run.
        device (str): Its device.

    Returns:
        dict[str, callable]: Ordered: workers take them in this order.
    """
    tasks = {}
    archs = [(settings.arch, ('fp32 (TF32)', 'bf16'))]
    if settings.large_arch:
        archs.append((settings.large_arch, ('bf16', )))
    for mode in ('fwd+bwd', 'forward'):
        for arch, precisions in archs:
            for precision in precisions:
                tasks[f'{arch.upper()} {mode} {precision}'] = partial(
                    _first_call_of_model, settings, device, arch, mode,
                    precision)
        if mode == 'fwd+bwd':
            tasks['segmentation train'] = partial(
                _first_call_of_segmentor, settings, device, 'train')
            for dtype in (torch.float32, torch.float16, torch.bfloat16):
                tasks[f'Triton checks, {str(dtype)[6:]}'] = partial(
                    _checks_without_tf32,
                    partial(triton_checks, device, settings.check_conv_shape,
                            (dtype, )))
    tasks['segmentation inference'] = partial(_first_call_of_segmentor,
                                              settings, device, 'inference')
    tasks['micro-benchmark'] = partial(_first_calls_of_micro, settings,
                                       device)
    tasks['whole-model checks'] = partial(
        _checks_without_tf32,
        partial(model_checks, device, settings.arch, settings.check_size))
    return tasks


def _run_task(job: Tuple[BenchmarkSettings, str, str]
              ) -> Tuple[str, float, Optional[str]]:
    """Worker side: run one task. Returns (name, seconds, error or
    None)."""
    settings, device, name = job
    start = time.perf_counter()
    error = None
    try:
        warm_tasks(settings, device)[name]()
    except Exception as exc:  # the timed run compiles what is missing
        error = f'{type(exc).__name__}: {exc}'
    finally:
        release_memory(device)  # for the other workers
    return name, time.perf_counter() - start, error


def warm_up(settings: BenchmarkSettings, device: str, workers: int,
            timeout_s: float) -> dict:
    """Run :func:`warm_tasks` in ``workers`` spawned processes.

    Args:
        settings (BenchmarkSettings): The run.
        device (str): Its device.
        workers (int): Processes.
        timeout_s (float): The workers are ended after this long; tasks
            not done by then are reported as stopped.

    Returns:
        dict: ``summary`` (a sentence), ``seconds``, ``workers`` and
        ``tasks`` (``task``, ``seconds``: in a worker, with the others
        running; ``result``).
    """
    names = list(warm_tasks(settings, device))
    start = time.perf_counter()
    done = {}
    pool = multiprocessing.get_context('spawn').Pool(workers)
    try:
        results = pool.imap_unordered(
            _run_task, [(settings, device, name) for name in names])
        for _ in names:
            left = timeout_s - (time.perf_counter() - start)
            name, seconds, error = results.next(timeout=max(left, 0.))
            done[name] = (seconds, f'error: {error}' if error else 'ok')
    except multiprocessing.TimeoutError:
        pass
    finally:
        pool.terminate()
        pool.join()
    seconds = time.perf_counter() - start
    stopped = f'stopped at the warm-up limit ({timeout_s:.0f} s)'
    tasks = []
    for name in names:
        task_s, result = done.get(name, (None, stopped))
        tasks.append(dict(task=name, seconds=task_s, result=result))
    summary = (f'{len(done)} of {len(names)} tasks in {workers} processes, '
               f'{seconds:.0f} s: the first Triton calls of each part of '
               'the run, at its shapes, fill Triton\'s on-disk cache; the '
               'timed run loads the kernels from it. Seconds per task: its '
               'first calls (compilation, where the cache was cold), with '
               'the other workers running.')
    return dict(summary=summary, seconds=seconds, workers=workers,
                tasks=tasks)
