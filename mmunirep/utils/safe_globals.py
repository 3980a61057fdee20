# Copyright (c) mmunirep contributors. All rights reserved.
"""Let ``torch.load`` (weights-only by default since torch 2.6) read the
checkpoints MMEngine writes, so ``--resume`` works.

MMEngine 0.10 calls ``torch.load`` without ``weights_only``; since torch 2.6
that means weights-only unpickling, which refuses the non-tensor objects a
Runner checkpoint holds: the message hub's ``HistoryBuffer`` objects, their
numpy arrays and scalars, and references to ``HistoryBuffer.min/max/mean/
current`` that pickle writes as ``getattr(HistoryBuffer, 'min')``. Rather
than turning safe loading off, this module allow-lists exactly those types,
and maps ``getattr`` to a version that only returns HistoryBuffer's public
methods. It runs once when mmunirep is imported.
"""
import pickle
from typing import List

import numpy as np
import torch

_NUMPY_DTYPES = ('float16', 'float32', 'float64', 'int8', 'int16', 'int32',
                 'int64', 'uint8', 'bool')


def history_buffer_getattr(owner: type, name: str):
    """``getattr`` restricted to the public methods of ``HistoryBuffer``.

    Args:
        owner (type): Must be :class:`mmengine.logging.HistoryBuffer`.
        name (str): A public method name, e.g. ``'mean'``.

    Returns:
        callable: ``getattr(owner, name)``.

    Raises:
        pickle.UnpicklingError: For any other owner or name.
    """
    from mmengine.logging import HistoryBuffer
    if owner is HistoryBuffer and not name.startswith('_') \
            and callable(getattr(HistoryBuffer, name, None)):
        return getattr(HistoryBuffer, name)
    raise pickle.UnpicklingError(
        f'refusing getattr({owner!r}, {name!r}) while loading a checkpoint: '
        'only HistoryBuffer methods are allowed')


def mmengine_checkpoint_globals() -> List[object]:
    """The non-tensor globals an MMEngine Runner checkpoint refers to.

    Returns:
        list: Objects, and ``(object, pickled name)`` pairs, for
        ``torch.serialization.add_safe_globals``.
    """
    from mmengine.config import ConfigDict
    from mmengine.logging import HistoryBuffer
    array_reconstruct = np.ndarray(0).__reduce__()[0]
    scalar_reconstruct = np.float64(0).__reduce__()[0]
    dtype_classes = [type(np.dtype(name)) for name in _NUMPY_DTYPES]
    return [
        HistoryBuffer, ConfigDict, array_reconstruct, scalar_reconstruct,
        np.ndarray, np.dtype, *dtype_classes,
        (history_buffer_getattr, '__builtin__.getattr'),
        (history_buffer_getattr, 'builtins.getattr'),
    ]


def allow_mmengine_checkpoints() -> None:
    """Register :func:`mmengine_checkpoint_globals` as safe for torch.load.

    A no-op on torch versions without ``add_safe_globals`` (< 2.4), which do
    not load weights-only by default anyway.
    """
    add_safe_globals = getattr(torch.serialization, 'add_safe_globals', None)
    if add_safe_globals is not None:
        add_safe_globals(mmengine_checkpoint_globals())
