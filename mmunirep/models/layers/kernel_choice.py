# Copyright (c) mmunirep contributors. All rights reserved.
"""The backbone's ``kernels`` switch: which implementation of
:mod:`mmunirep.ops` its modules ask for."""
from torch import nn

#: ``kernels`` choice -> the ``impl`` the modules pass to :mod:`mmunirep.ops`:
#: the best for the device (Triton on CUDA, timed paths on the CPU), the
#: plain PyTorch formula everywhere, or the Triton kernels wherever an op
#: has one.
KERNEL_CHOICES = {'auto': 'auto', 'plain': 'torch', 'triton': 'triton'}


def impl_of(kernels: str) -> str:
    """The ops ``impl`` of a ``kernels`` choice.

    Raises:
        ValueError: ``kernels`` is not one of :data:`KERNEL_CHOICES`.
    """
    if kernels not in KERNEL_CHOICES:
        raise ValueError(f'kernels must be one of {list(KERNEL_CHOICES)}, '
                         f'got {kernels!r}')
    return KERNEL_CHOICES[kernels]


class OpsCaller:
    """Mixin of the modules whose forward calls :mod:`mmunirep.ops`, with
    the implementation in ``self.impl`` (see :func:`set_kernels`)."""

    impl: str = 'auto'


def set_kernels(module: nn.Module, kernels: str) -> None:
    """Make every :class:`OpsCaller` inside ``module`` use ``kernels``.

    Args:
        module (nn.Module): Any module, e.g. a backbone.
        kernels (str): One of :data:`KERNEL_CHOICES`.
    """
    impl = impl_of(kernels)
    for child in module.modules():
        if isinstance(child, OpsCaller):
            child.impl = impl
