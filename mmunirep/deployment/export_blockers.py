# Copyright (c) mmunirep contributors. All rights reserved.
"""Say what stops a model from being exported."""
import os.path as osp
import sys
import sysconfig
import traceback
from contextlib import contextmanager
from typing import Iterator, List, Sequence, Set

import torch
from torch import nn


class _RecordingExtension:
    """Stands in for mmcv's compiled extension module and records which of
    its functions are called."""

    def __init__(self, extension, called: Set[str]) -> None:
        self._extension = extension
        self._called = called

    def __getattr__(self, name: str):
        function = getattr(self._extension, name)

        def call(*args, **kwargs):
            self._called.add(name)
            return function(*args, **kwargs)

        return call


@contextmanager
def record_mmcv_kernels() -> Iterator[Set[str]]:
    """Record the compiled mmcv kernels (functions of ``mmcv._ext``, such as
    ``nms`` or ``roi_align_forward``) called inside the block.

    They are C++ extension functions, not PyTorch operators, so neither
    ``torch.export`` nor the ONNX exporter can trace through them.

    Yields:
        set[str]: Filled with the names of the kernels called.
    """
    called: Set[str] = set()
    patched = [(module, module.ext_module)
               for name, module in list(sys.modules.items())
               if name.startswith('mmcv.ops.') and module is not None
               and hasattr(module, 'ext_module')]
    for module, extension in patched:
        module.ext_module = _RecordingExtension(extension, called)
    try:
        yield called
    finally:
        for module, extension in patched:
            module.ext_module = extension


def _first_blocking_frame(error: BaseException) -> str:
    """``file:line in function: source`` of the innermost frame of an export
    error's traceback that is neither PyTorch's nor the standard library's
    (the model code that made the trace fail)."""
    skipped = (osp.dirname(torch.__file__) + osp.sep,
               sysconfig.get_paths()['stdlib'] + osp.sep)
    frames = [
        frame for frame in traceback.extract_tb(error.__traceback__)
        if not frame.filename.startswith(skipped)
    ]
    if not frames:
        return 'inside PyTorch'
    frame = frames[-1]
    filename = frame.filename
    roots = [root for root in sys.path
             if root and filename.startswith(root.rstrip(osp.sep) + osp.sep)]
    if roots:
        filename = osp.relpath(filename, max(roots, key=len))
    return f'{filename}:{frame.lineno} in {frame.name}: {frame.line}'


def export_blockers(module: nn.Module, shape: Sequence[int],
                    error: BaseException) -> List[str]:
    """Say what stopped the export of ``module``.

    Args:
        module (nn.Module): The module whose export failed.
        shape (Sequence[int]): (H, W) it was traced at.
        error (BaseException): The export error.

    Returns:
        list[str]: Where the trace stopped and why, then the compiled mmcv
        kernels the module calls on a (1, 3, H, W) input (each of which
        would stop the export as well).
    """
    message = str(error).strip().splitlines()[0][:300]
    blockers = [f'the export stops at {_first_blocking_frame(error)} '
                f'({type(error).__name__}: {message})']
    example = torch.randn(1, 3, *shape,
                          generator=torch.Generator().manual_seed(0))
    with torch.no_grad(), record_mmcv_kernels() as kernels:
        module(example)
    if kernels:
        blockers.append(
            'compiled mmcv kernels it calls (C++ extension functions, not '
            'PyTorch operators, so neither torch.export nor the ONNX '
            f"exporter can trace them): {', '.join(sorted(kernels))}")
    return blockers
