# Copyright (c) mmunirep contributors. All rights reserved.
"""Which implementation of an op runs, for a device and a kernel choice.

Every op of this package (depthwise convolution, GRN, the FFN, SE) has a
plain PyTorch implementation, the exact formula, and may have faster ones
per device:

- ``'cpu'``: formulations timed once per shape on the machine at hand
  (:mod:`mmunirep.ops.cpu`), the plain one always among the candidates;
- ``'triton'``: Triton kernels for CUDA (:mod:`mmunirep.ops.cuda`), which
  the Triton interpreter also runs on CPU tensors (tests).

An op's ``impl`` argument asks for one of :data:`IMPLS`; :func:`family`
turns ``'auto'`` into the family for the tensor's device. Choosing is pure
Python on tensor metadata: no timing, no synchronisation, nothing that
waits for a device.
"""
import os
import threading
from contextlib import contextmanager
from typing import Iterator

import torch
from torch import Tensor

from .cuda import triton_available

#: What an op's ``impl`` argument accepts: the best for the device, the
#: plain PyTorch formula, or the Triton kernels (where an op has none,
#: its plain formula).
IMPLS = ('auto', 'torch', 'triton')

#: Set to 0 to run the plain PyTorch formula everywhere.
ENV_SWITCH = 'MMUNIREP_FAST_PATHS'

_state = threading.local()


def check_impl(impl: str) -> str:
    """Return ``impl`` if it is one of :data:`IMPLS`, else raise.

    Raises:
        ValueError: Naming the allowed values.
    """
    if impl not in IMPLS:
        raise ValueError(f'unknown op implementation {impl!r}; choose one '
                         f'of {IMPLS}')
    return impl


@contextmanager
def plain_ops() -> Iterator[None]:
    """Run every op's plain PyTorch formula inside this block, whatever
    ``impl`` asks for (references in tests and benchmarks).

    Example:
        >>> with plain_ops():
        ...     reference = model(x)
    """
    previous = getattr(_state, 'plain', False)
    _state.plain = True
    try:
        yield
    finally:
        _state.plain = previous


def tracing() -> bool:
    """Whether TorchScript traces or scripts the model (FLOPs counters,
    ONNX export): only plain ops may run."""
    return torch.jit.is_tracing() or torch.jit.is_scripting()


def plain_ops_required() -> bool:
    """Whether the plain ops must run in eager code: the model is traced,
    scripted or compiled, or the user asked for them (:func:`plain_ops` or
    ``MMUNIREP_FAST_PATHS=0``).

    Compiled code still takes the Triton kernels, which are registered
    custom ops (see :func:`family`).
    """
    if torch.compiler.is_compiling() or tracing():
        return True
    return (getattr(_state, 'plain', False)
            or os.environ.get(ENV_SWITCH, '1') == '0')


def device_type(x: Tensor) -> str:
    """The device type whose implementations serve ``x``."""
    return x.device.type


def family(impl: str, x: Tensor) -> str:
    """The implementation family that runs an op on ``x``.

    Args:
        impl (str): One of :data:`IMPLS`.
        x (Tensor): The op's main input.

    Returns:
        str: ``'torch'`` (plain formula), ``'cpu'`` (timed CPU paths) or
        ``'triton'`` (see :func:`device_family`).
    """
    return device_family(impl, device_type(x))


def device_family(impl: str, device: str) -> str:
    """The implementation family of ``impl`` for a device type.

    ``'auto'`` gives ``'triton'`` on CUDA where Triton is installed (also
    while compiled), ``'cpu'`` on the CPU in eager code, else ``'torch'``;
    the plain formula whenever :func:`plain_ops` or ``MMUNIREP_FAST_PATHS=0``
    asks for it in eager code, or TorchScript traces.

    Args:
        impl (str): One of :data:`IMPLS`.
        device (str): A device type, e.g. 'cuda'.

    Returns:
        str: ``'torch'``, ``'cpu'`` or ``'triton'``.
    """
    if impl == 'torch' or tracing():
        return 'torch'
    compiling = torch.compiler.is_compiling()
    if not compiling and (getattr(_state, 'plain', False)
                          or os.environ.get(ENV_SWITCH, '1') == '0'):
        return 'torch'
    if impl == 'triton':
        return 'triton'
    if device == 'cuda':
        return 'triton' if triton_available() else 'torch'
    if device == 'cpu' and not compiling:
        return 'cpu'
    return 'torch'
