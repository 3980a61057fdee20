# Copyright (c) mmunirep contributors. All rights reserved.
"""Adaptive average pooling that exports to ONNX correctly at every size.

PyTorch's ONNX exporter turns ``nn.AdaptiveAvgPool2d(k)`` into a fixed
``AveragePool`` whose kernel and stride come from the traced input size, so
an export with dynamic height and width silently gives wrong results at any
other size (UperNet's pyramid pooling module pools to 1, 2, 3 and 6). The
module here computes the same pooling as two matrix products whose
averaging matrices are built from the input size at run time.
"""
from contextlib import contextmanager
from typing import Iterator, Optional, Tuple

import torch
from torch import Tensor, nn


def averaging_matrix(size_in, size_out: int, like: Tensor) -> Tensor:
    """Rows that average the bins of adaptive pooling along one axis.

    Bin ``i`` covers ``[floor(i * n / m), ceil((i + 1) * n / m))`` of ``n``
    input positions and ``m`` outputs, as in PyTorch's adaptive pooling.

    Args:
        size_in (int): Input length n (may be symbolic while exporting).
        size_out (int): Output length m.
        like (Tensor): Gives the device and dtype.

    Returns:
        Tensor: (m, n); row i holds ``1 / len(bin i)`` inside bin i and 0
        elsewhere.
    """
    bins = torch.arange(size_out, device=like.device)
    start = torch.div(bins * size_in, size_out, rounding_mode='floor')
    end = torch.div((bins + 1) * size_in + size_out - 1, size_out,
                    rounding_mode='floor')
    positions = torch.arange(size_in, device=like.device)
    inside = (positions[None] >= start[:, None]) & (
        positions[None] < end[:, None])
    return inside.to(like.dtype) / (end - start)[:, None].to(like.dtype)


class MatmulAdaptiveAvgPool2d(nn.Module):
    """``nn.AdaptiveAvgPool2d`` as ``rows @ x @ cols.T``.

    Args:
        output_size (int | tuple): (h, w), an int for both, or None in a
            position to keep that input size, as ``nn.AdaptiveAvgPool2d``.
    """

    def __init__(self, output_size) -> None:
        super().__init__()
        if not isinstance(output_size, (tuple, list)):
            output_size = (output_size, output_size)
        self.output_size: Tuple[Optional[int], Optional[int]] = tuple(
            output_size)

    def forward(self, x: Tensor) -> Tensor:
        """(..., H, W) -> (..., h, w)."""
        height, width = x.shape[-2:]
        out_h, out_w = (full if size is None else size for size, full in zip(
            self.output_size, (height, width)))
        rows = averaging_matrix(height, out_h, x)
        cols = averaging_matrix(width, out_w, x)
        return rows @ x @ cols.t()


@contextmanager
def exportable_adaptive_pools(model: nn.Module) -> Iterator[int]:
    """Swap every ``nn.AdaptiveAvgPool2d`` of ``model`` for a
    :class:`MatmulAdaptiveAvgPool2d` inside the block, and back after it.

    Args:
        model (nn.Module): Changed in place for the duration of the block.

    Yields:
        int: How many modules were swapped.
    """
    swapped = []
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, nn.AdaptiveAvgPool2d):
                setattr(parent, name,
                        MatmulAdaptiveAvgPool2d(child.output_size))
                swapped.append((parent, name, child))
    try:
        yield len(swapped)
    finally:
        for parent, name, child in swapped:
            setattr(parent, name, child)
