# Copyright (c) mmunirep contributors. All rights reserved.
"""Values as the built-in Python types that weights-only loading accepts.

``torch.load(weights_only=True)`` refuses, without an allow-list, numpy
scalars and arrays, subclasses of the built-in types (an ``IntEnum``, a
``ConfigDict``) and any other object; a checkpoint ``meta`` of built-in
types loads anywhere, without importing mmunirep.
"""
from typing import Any

import numpy as np
import torch

_BUILTIN_SCALARS = (bool, int, float, str)


def plain_value(value: Any) -> Any:
    """``value`` as built-in Python types that weights-only loading accepts.

    Dicts (including ``ConfigDict``), lists and tuples are converted item by
    item, with ``str`` keys; numpy arrays become lists and numpy scalars
    Python scalars (their items converted in turn); 0-d tensors become
    numbers, other tensors are kept; subclasses of ``bool``, ``int``,
    ``float`` and ``str`` (an ``IntEnum``) become their base type; anything
    else becomes its ``str``.

    Args:
        value (Any): A value from a checkpoint's ``meta``.

    Returns:
        Any: The converted value.
    """
    if value is None:
        return value
    if isinstance(value, torch.Tensor):
        return value.item() if value.dim() == 0 else value
    if isinstance(value, (np.ndarray, np.generic)):  # tolist: Python items
        return plain_value(value.tolist())
    for scalar_type in _BUILTIN_SCALARS:  # bool before its base class int
        if isinstance(value, scalar_type):
            return scalar_type(value)
    if isinstance(value, dict):
        return {str(k): plain_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        items = [plain_value(v) for v in value]
        return tuple(items) if isinstance(value, tuple) else items
    return str(value)
