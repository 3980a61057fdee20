# Copyright (c) mmunirep contributors. All rights reserved.
"""Side-by-side timing for benchmark scripts on shared, noisy machines."""
import platform
import statistics
import time
from typing import Callable, Dict


def interleaved_medians(steps: Dict[str, Callable[[], None]],
                        rounds: int = 7,
                        warmup: int = 2) -> Dict[str, float]:
    """Median seconds per call of each step, measured round by round.

    Every round runs each step once, in turn, so load from other processes
    affects all steps alike.

    Args:
        steps (dict[str, callable]): Name -> function to time.
        rounds (int): Timed rounds. Defaults to 7.
        warmup (int): Untimed calls of each step first. Defaults to 2.

    Returns:
        dict[str, float]: Name -> median seconds.
    """
    for step in steps.values():
        for _ in range(warmup):
            step()
    samples = {name: [] for name in steps}
    for _ in range(rounds):
        for name, step in steps.items():
            start = time.perf_counter()
            step()
            samples[name].append(time.perf_counter() - start)
    return {name: statistics.median(s) for name, s in samples.items()}


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo`` on Linux)."""
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()
