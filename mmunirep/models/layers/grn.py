# Copyright (c) mmunirep contributors. All rights reserved.
"""Global Response Normalization (ConvNeXt V2) on channels-last tensors."""
import torch
from torch import Tensor, nn

from mmunirep.ops import grn
from .kernel_choice import OpsCaller


class GRN(nn.Module, OpsCaller):
    """Global Response Normalization for (N, H, W, C) tensors.

    ``Gx = ||x||_2 over (H, W)``, ``Nx = Gx / (mean_C(Gx) + 1e-6)``,
    ``out = (gamma * Nx + 1) * x + beta``, with the statistics in float32 or
    wider (see :func:`mmunirep.ops.grn`).

    Args:
        channels (int): C.
        use_bias (bool): Whether ``beta`` exists. The inference structure
            folds ``beta`` into the following Linear and drops it.
            Defaults to True.
        impl (str): The ops implementation. Defaults to 'auto'.
    """

    def __init__(self, channels: int, use_bias: bool = True,
                 impl: str = 'auto') -> None:
        super().__init__()
        self.impl = impl
        self.gamma = nn.Parameter(torch.zeros(1, 1, 1, channels))
        if use_bias:
            self.beta = nn.Parameter(torch.zeros(1, 1, 1, channels))
        else:
            self.register_parameter('beta', None)

    @property
    def use_bias(self) -> bool:
        """Whether ``beta`` exists (the training structure)."""
        return self.beta is not None

    def forward(self, x: Tensor) -> Tensor:
        """(N, H, W, C) -> (N, H, W, C)."""
        return grn(x, self.gamma, self.beta, self.impl)

    def remove_bias(self) -> Tensor:
        """Drop ``beta`` (for re-parameterization) and return its values.

        Returns:
            Tensor: beta flattened to shape (C,), or zeros if already removed.
        """
        if self.beta is None:
            return self.gamma.new_zeros(self.gamma.shape[-1]).detach()
        beta = self.beta.detach().reshape(-1)
        self.beta = None
        return beta
