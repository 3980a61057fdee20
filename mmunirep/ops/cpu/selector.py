# Copyright (c) mmunirep contributors. All rights reserved.
"""Pick the fastest of several exact implementations, per machine and shape.

The same CPU op differs by 2x between machines of one kind (oneDNN's matmul
against BLAS, a channels-first against a channels-last depthwise kernel), so
no static rule is right everywhere. A :class:`PathSelector` times its
candidates the first time it meets a shape, caches the winner for the rest
of the process, and always counts the plain PyTorch formulation among the
candidates, so the choice is never slower than plain PyTorch (up to timing
noise at the first call).

Only CPU code uses it: timing on a GPU would synchronise the device and make
it wait for Python (see :mod:`mmunirep.ops.dispatch`).
"""
import threading
import time
from contextlib import contextmanager
from typing import Callable, Dict, Hashable, Iterator, List, Optional, Sequence

import torch
from mmengine.logging import MMLogger
from torch import Tensor

_state = threading.local()


def size_bucket(value: int) -> int:
    """``value`` rounded up to a power of two, so that inputs of nearby sizes
    (detection images) share one timing."""
    return 1 << max(int(value) - 1, 0).bit_length()


#: Every :class:`PathSelector` created, so that benchmarks can report what
#: this machine chose.
SELECTORS: List['PathSelector'] = []


def chosen_paths() -> Dict[str, Dict[Hashable, str]]:
    """What each selector chose so far: selector name -> key -> candidate."""
    return {selector.name: dict(selector.choices) for selector in SELECTORS}


class PathSelector:
    """Times equivalent implementations once per key and keeps the fastest.

    Args:
        name (str): What the candidates compute (for the log).
        candidates (dict[str, callable]): Name -> function of the same
            arguments returning the same result. The first is the plain
            PyTorch formulation. Candidates may modify their arguments in
            place: the timing runs give each call clones.
        repeats (int): Timed runs per candidate (the minimum counts).
            Defaults to 5.
    """

    def __init__(self, name: str, candidates: Dict[str, Callable],
                 repeats: int = 5) -> None:
        self.name = name
        self.candidates = candidates
        self.plain = next(iter(candidates))
        self.repeats = repeats
        self.choices: Dict[Hashable, str] = {}
        self._forced: Optional[str] = None
        self._lock = threading.Lock()
        SELECTORS.append(self)

    @contextmanager
    def force(self, candidate: str) -> Iterator[None]:
        """Use ``candidate`` for every key inside this block (tests)."""
        if candidate not in self.candidates:
            raise KeyError(f'{self.name} has no candidate {candidate!r}; '
                           f'choose one of {list(self.candidates)}')
        previous, self._forced = self._forced, candidate
        try:
            yield
        finally:
            self._forced = previous

    def _time(self, function: Callable, args: Sequence) -> float:
        best = float('inf')
        for _ in range(self.repeats + 1):  # the first run warms up
            inputs = [a.clone() if isinstance(a, Tensor) else a for a in args]
            start = time.perf_counter()
            function(*inputs)
            best = min(best, time.perf_counter() - start)
        return best

    def measure(self, args: Sequence) -> Dict[str, float]:
        """Seconds each candidate takes on ``args`` (best of the repeats).

        Returns:
            dict[str, float]: Candidate name -> seconds.
        """
        with self._lock, torch.inference_mode():
            return {name: self._time(fn, args)
                    for name, fn in self.candidates.items()}

    def choose(self, key: Hashable, args: Sequence) -> str:
        """The candidate for ``key``, timing them on ``args`` the first time.

        Returns:
            str: A key of ``candidates``.
        """
        if self._forced is not None:
            return self._forced
        choice = self.choices.get(key)
        if choice is not None:
            return choice
        times = self.measure(args)
        choice = min(times, key=times.get)
        self.choices[key] = choice
        MMLogger.get_current_instance().debug(
            f'{self.name} {key}: ' + ', '.join(
                f'{n} {t * 1e3:.2f} ms' for n, t in times.items()) +
            f' -> {choice}')
        return choice

    def __call__(self, key: Hashable, *args):
        """Run the chosen candidate on ``args``."""
        return self.candidates[self.choose(key, args)](*args)


#: Scratch tensors kept per thread: the most recent shapes, per purpose.
WORKSPACE_ENTRIES = 4


def workspace(purpose: str, shape: Sequence[int], like: Tensor) -> Tensor:
    """A scratch tensor of ``shape`` reused across calls in this thread.

    Large temporaries freshly allocated on every call are page-faulted and
    zeroed by the kernel each time (glibc serves them with ``mmap``); a
    reused buffer is not. The contents are undefined; only code that
    overwrites the whole buffer before reading it may use one, and only
    for values that do not outlive the call.

    Args:
        purpose (str): Separates buffers that are alive at the same time.
        shape (Sequence[int]): The shape wanted.
        like (Tensor): Gives the dtype and device.

    Returns:
        Tensor: Contiguous, of ``shape``.
    """
    cache = getattr(_state, 'workspace', None)
    if cache is None:
        cache = _state.workspace = {}
    key = (purpose, tuple(shape), like.dtype, like.device)
    buffer = cache.pop(key, None)
    if buffer is None:
        # a normal tensor even inside inference_mode, so that it can be
        # written to outside it too
        with torch.inference_mode(False):
            buffer = torch.empty(tuple(shape), dtype=like.dtype,
                                 device=like.device)
    cache[key] = buffer  # most recently used last
    while len(cache) > WORKSPACE_ENTRIES:
        cache.pop(next(iter(cache)))
    return buffer
