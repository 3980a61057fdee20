# Copyright (c) mmunirep contributors. All rights reserved.
"""The GPU benchmark's time budget: what still fits, and a hard stop.

A lent GPU machine gives a benchmark minutes, not hours. Every row group
asks :class:`Budget` before it starts (from an estimate) and again before
its timed rounds (from a timed call), and is skipped with the reason when
it does not fit. :class:`HardStop` ends the process if something overruns
anyway (a compilation that takes longer than estimated), after the report
has recorded where it stopped.
"""
import os
import threading
import time
from typing import Callable, Optional


class Budget:
    """Seconds left until a deadline.

    Args:
        seconds (float): The whole budget, counted from construction.
        clock (callable): Monotonic seconds. Defaults to
            ``time.monotonic``.
    """

    def __init__(self, seconds: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self._clock = clock
        self._start = clock()

    def elapsed(self) -> float:
        """Seconds since the budget started."""
        return self._clock() - self._start

    def left(self) -> float:
        """Seconds left (negative once overrun)."""
        return self.seconds - self.elapsed()

    def shortfall(self, needed_s: float) -> Optional[str]:
        """Why ``needed_s`` more seconds do not fit, or None if they do.

        Returns:
            str | None: E.g. ``'needs ~40 s, 12 s of the 210 s budget
            left'``.
        """
        left = self.left()
        if needed_s <= left:
            return None
        return (f'needs ~{needed_s:.0f} s, {max(left, 0):.0f} s of the '
                f'{self.seconds:.0f} s budget left')

    def rounds_that_fit(self, round_s: float, wanted: int,
                        minimum: int) -> int:
        """How many timed rounds of ``round_s`` seconds to run.

        Args:
            round_s (float): Estimated seconds of one round.
            wanted (int): Rounds asked for.
            minimum (int): Fewest rounds worth running.

        Returns:
            int: ``wanted`` if they fit, else as many as fit, 0 if not
            even ``minimum`` do.
        """
        fitting = int(self.left() // round_s) if round_s > 0 else wanted
        rounds = min(wanted, fitting)
        return rounds if rounds >= minimum else 0


class HardStop:
    """End the process ``seconds`` after entering, unless the block ends
    first.

    On expiry ``on_expiry`` runs (in a timer thread: it should record what
    was interrupted and save the report) and its return value becomes the
    exit status. The main thread may be inside a CUDA call or a compiler,
    so nothing short of ending the process would stop it in time.

    Args:
        seconds (float): Time limit.
        on_expiry (callable): Returns the exit status.
        exit_process (callable): Ends the process with a status. Defaults
            to ``os._exit`` (tests pass a recorder).
    """

    def __init__(self, seconds: float, on_expiry: Callable[[], int],
                 exit_process: Callable[[int], None] = os._exit) -> None:
        self.seconds = seconds
        self._on_expiry = on_expiry
        self._exit_process = exit_process
        self._timer: Optional[threading.Timer] = None

    def _expire(self) -> None:
        status = 1
        try:
            status = self._on_expiry()
        finally:
            self._exit_process(status)

    def __enter__(self) -> 'HardStop':
        self._timer = threading.Timer(self.seconds, self._expire)
        self._timer.daemon = True
        self._timer.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._timer.cancel()
