# Copyright (c) mmunirep contributors. All rights reserved.
"""How the GPU benchmark runs a row group: ask the budget, make the first
calls, estimate the timed rounds from a timed call, time interleaved
rounds, and turn any failure into a reported error instead of a crash."""
import gc
import statistics
import time
from dataclasses import dataclass
from types import ModuleType
from typing import Callable, Dict, List, NamedTuple, Optional

import torch
from mmengine.logging import MMLogger

from ..timing import interleaved_times
from .budget import Budget
from .models import synchronizer
from .report import BenchmarkReport
from .settings import BenchmarkSettings

Step = Callable[[], None]


@dataclass
class BenchContext:
    """What every row group needs.

    Args:
        device (str): 'cuda' or 'cpu'.
        settings (BenchmarkSettings): Sizes and counts.
        budget (Budget): Time left.
        report (BenchmarkReport): Where rows, skips and errors go.
        authors (ModuleType, optional): The authors' module, if loaded.
        running (str): The group in progress (for the hard stop).
    """

    device: str
    settings: BenchmarkSettings
    budget: Budget
    report: BenchmarkReport
    authors: Optional[ModuleType] = None
    running: str = ''

    @property
    def on_cuda(self) -> bool:
        """Whether the run is on a CUDA device."""
        return torch.device(self.device).type == 'cuda'

    @property
    def synchronize(self) -> Step:
        """A function that waits for the device."""
        return synchronizer(self.device)

    def fits(self, section: str, what: str, group: str) -> bool:
        """Whether the estimate of ``group`` fits the budget; records the
        skip if not."""
        reason = self.budget.shortfall(self.settings.estimate_s(group))
        if reason:
            self.report.skip(section, what, f'time budget: {reason}')
        return reason is None


class GroupTiming(NamedTuple):
    """What :func:`time_group` measured, per step name."""
    times: Dict[str, List[float]]
    first_call_s: Dict[str, float]
    peak_gib: Dict[str, Optional[float]]
    rounds: int

    def median_s(self, name: str) -> float:
        return statistics.median(self.times[name])


def timed_call(step: Step, synchronize: Step) -> float:
    """Seconds of one call of ``step``, the device waited for."""
    synchronize()
    start = time.perf_counter()
    step()
    synchronize()
    return time.perf_counter() - start


def time_group(ctx: BenchContext,
               section: str,
               what: str,
               steps: Dict[str, Step],
               resident: Optional[Dict[str, Callable[[], int]]] = None,
               calls: int = 1) -> Optional[GroupTiming]:
    """First calls, a timed call (the estimate, and the peak memory), then
    as many interleaved rounds as fit the budget.

    Args:
        ctx (BenchContext): The run.
        section (str): Report section, for a skip.
        what (str): The group's name, for a skip.
        steps (dict[str, callable]): Name -> step.
        resident (dict[str, callable], optional): Name -> bytes the step
            keeps allocated between calls that belong to it (its model,
            optimizer state), added to its peak.
        calls (int): Calls per timed sample. Defaults to 1.

    Returns:
        GroupTiming | None: None when not even ``min_rounds`` fit (the
        skip is recorded).
    """
    sync = ctx.synchronize
    first = {name: timed_call(step, sync) for name, step in steps.items()}
    per_call, peak = {}, {}
    for name, step in steps.items():
        if ctx.on_cuda:
            sync()
            before = torch.cuda.memory_allocated()
            torch.cuda.reset_peak_memory_stats()
        per_call[name] = timed_call(step, sync)
        peak[name] = None
        if ctx.on_cuda:
            own = resident[name]() if resident and name in resident else 0
            peak[name] = (torch.cuda.max_memory_allocated() - before +
                          own) / 2**30
    round_s = sum(per_call.values()) * calls
    settings = ctx.settings
    rounds = ctx.budget.rounds_that_fit(round_s, settings.rounds,
                                        settings.min_rounds)
    if not rounds:
        ctx.report.skip(
            section, what,
            f'time budget: {settings.min_rounds} timed rounds of '
            f'~{round_s:.1f} s do not fit the {ctx.budget.left():.0f} s '
            'left (first calls done: ' + ', '.join(
                f'{n} {s:.1f} s' for n, s in first.items()) + ')')
        return None
    times = interleaved_times(steps, rounds=rounds, warmup=0, calls=calls,
                              synchronize=sync)
    return GroupTiming(times, first, peak, rounds)


def release_memory(device: str) -> None:
    """Free what the last group left (its models are out of scope)."""
    gc.collect()
    if torch.device(device).type == 'cuda':
        torch.cuda.empty_cache()


def run_guarded(ctx: BenchContext, section: str, what: str,
                group: Callable[[], None]) -> None:
    """Run ``group``; an exception becomes an error entry of the report
    (with the traceback in the log) and the run goes on."""
    logger = MMLogger.get_current_instance()
    ctx.running = f'{section}: {what}'
    logger.info(f'[{ctx.budget.elapsed():.0f} s] {ctx.running}')
    try:
        group()
    except Exception as error:  # one failing group must not end the run
        logger.exception(f'{ctx.running} failed')
        ctx.report.fail(section, what, f'{type(error).__name__}: {error}')
    finally:
        ctx.running = ''
        release_memory(ctx.device)
