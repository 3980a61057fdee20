# Copyright (c) mmunirep contributors. All rights reserved.
"""Side-by-side timing for benchmarks on shared, noisy machines.

Every round runs each step once, in turn, so load from other processes
falls on all steps alike; ratios are taken within a round, then the median
over rounds is reported.
"""
import statistics
import time
from typing import Callable, Dict, List, Optional


def interleaved_times(steps: Dict[str, Callable[[], None]],
                      rounds: int = 7,
                      warmup: int = 2,
                      calls: int = 1,
                      synchronize: Optional[Callable[[], None]] = None
                      ) -> Dict[str, List[float]]:
    """Seconds per call of each step, one sample per round.

    Args:
        steps (dict[str, callable]): Name -> function to time.
        rounds (int): Timed rounds. Defaults to 7.
        warmup (int): Untimed calls of each step first. Defaults to 2.
        calls (int): Calls of a step per round (averaged). Defaults to 1.
        synchronize (callable, optional): Called before and after each timed
            step, e.g. ``torch.cuda.synchronize`` for asynchronous devices.

    Returns:
        dict[str, list[float]]: Name -> ``rounds`` samples in seconds.
    """
    synchronize = synchronize or (lambda: None)
    for step in steps.values():
        for _ in range(warmup):
            step()
    samples = {name: [] for name in steps}
    for _ in range(rounds):
        for name, step in steps.items():
            synchronize()
            start = time.perf_counter()
            for _ in range(calls):
                step()
            synchronize()
            samples[name].append((time.perf_counter() - start) / calls)
    return samples


def interleaved_medians(steps: Dict[str, Callable[[], None]],
                        **kwargs) -> Dict[str, float]:
    """Median seconds per call of each step (see :func:`interleaved_times`
    for the keyword arguments)."""
    return {name: statistics.median(s)
            for name, s in interleaved_times(steps, **kwargs).items()}


def speed_ratio(times: Dict[str, List[float]], name: str,
                reference: str) -> float:
    """How many times faster ``name`` ran than ``reference``: the median
    over rounds of the ratio within each round.

    Args:
        times (dict[str, list[float]]): From :func:`interleaved_times`.
        name (str): The step measured.
        reference (str): The step it is compared with.

    Returns:
        float: ``> 1`` where ``name`` is faster.
    """
    return statistics.median(
        ref / own for ref, own in zip(times[reference], times[name]))
