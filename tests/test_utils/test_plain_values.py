# Copyright (c) mmunirep contributors. All rights reserved.
"""Meta values as built-in types: exact types, so no allow-list is needed."""
import enum
from collections import OrderedDict

import numpy as np
import torch
from mmengine.config import ConfigDict

from mmunirep.utils import plain_value


class Level(enum.IntEnum):
    HIGH = 30


def test_scalars_become_exact_builtin_types():
    cases = [(np.float64(0.5), 0.5, float), (np.int64(3), 3, int),
             (np.bool_(True), True, bool), (Level.HIGH, 30, int),
             (torch.tensor(2.0), 2.0, float), (True, True, bool),
             (None, None, type(None)), ('a', 'a', str)]
    for value, expected, kind in cases:
        plain = plain_value(value)
        assert plain == expected and type(plain) is kind, (value, plain)


def test_containers_are_converted_item_by_item():
    value = ConfigDict(a=OrderedDict(b=[np.float32(1.5), (np.int8(2), )]),
                       c=np.array([[1, 2]]))
    plain = plain_value(value)
    assert plain == {'a': {'b': [1.5, (2, )]}, 'c': [[1, 2]]}
    assert type(plain) is dict and type(plain['a']) is dict
    assert type(plain['a']['b'][1]) is tuple
    assert type(plain['a']['b'][1][0]) is int


def test_tensors_are_kept_and_other_objects_become_str():
    weights = torch.zeros(2)
    assert plain_value(weights) is weights
    assert plain_value({1: object}) == {'1': "<class 'object'>"}
    assert plain_value(np.datetime64('2020-01-02')) == '2020-01-02'
