# Copyright (c) mmunirep contributors. All rights reserved.
"""Keep glibc from returning large freed blocks to the OS between ops.

By default glibc serves allocations above a (dynamic, at most 32 MB)
threshold with fresh ``mmap`` calls and trims the heap eagerly, so every
large activation a CPU forward pass allocates is page-faulted and zeroed
again. On a 2-core machine this costs UniRepLKNet-T ~30% of its inference
time (ConvNeXt ~20%). PyTorch's CPU tuning guide recommends jemalloc or
tcmalloc; this is the equivalent that needs nothing installed, for processes
we own (benchmarks, tools). Library code never calls it.
"""
import ctypes
import ctypes.util

from mmengine.logging import MMLogger

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3


def tune_cpu_allocator(threshold_bytes: int = 1 << 30) -> bool:
    """Raise glibc's mmap and trim thresholds for this process.

    Args:
        threshold_bytes (int): Blocks below this size come from (and return
            to) the heap. Defaults to 1 GiB.

    Returns:
        bool: True if applied, False where glibc's ``mallopt`` is missing.
    """
    name = ctypes.util.find_library('c')
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError, TypeError):
        return False
    ok = mallopt(_M_MMAP_THRESHOLD, threshold_bytes) == 1
    ok = mallopt(_M_TRIM_THRESHOLD, 4 * threshold_bytes) == 1 and ok
    if ok:
        MMLogger.get_current_instance().info(
            f'glibc mmap/trim thresholds raised to {threshold_bytes >> 20} MB '
            'for this process (fewer page faults on large activations)')
    return ok
