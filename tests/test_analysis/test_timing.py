# Copyright (c) mmunirep contributors. All rights reserved.
"""Interleaved timing: steps alternate round by round, ratios are taken
within a round."""
import time

from mmunirep.analysis import (interleaved_medians, interleaved_times,
                               speed_ratio)


def test_steps_alternate_and_warm_up_untimed():
    calls = []
    times = interleaved_times(
        {'a': lambda: calls.append('a'), 'b': lambda: calls.append('b')},
        rounds=3, warmup=1, calls=2)
    assert calls == ['a', 'b'] + ['a', 'a', 'b', 'b'] * 3
    assert [len(s) for s in times.values()] == [3, 3]


def test_synchronize_brackets_every_timed_step():
    events = []
    interleaved_times({'a': lambda: events.append('step')}, rounds=2,
                      warmup=0, synchronize=lambda: events.append('sync'))
    assert events == ['sync', 'step', 'sync'] * 2


def test_speed_ratio_is_the_median_of_per_round_ratios():
    # round 2 is slowed for both (another process); round 3 only for b
    times = {'a': [1.0, 4.0, 1.0], 'b': [2.0, 8.0, 10.0]}
    # per-round speed of a relative to b: 2, 2, 10 -> median 2
    assert speed_ratio(times, 'a', 'b') == 2.0
    assert speed_ratio(times, 'b', 'a') == 0.5
    assert speed_ratio(times, 'a', 'a') == 1.0


def test_medians_measure_the_steps():
    medians = interleaved_medians(
        {'short': lambda: time.sleep(0.001), 'long': lambda: time.sleep(0.02)},
        rounds=3, warmup=0)
    assert medians['short'] < medians['long']
    assert medians['long'] >= 0.02
