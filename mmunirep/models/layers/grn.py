# Copyright (c) mmunirep contributors. All rights reserved.
"""Global Response Normalization (ConvNeXt V2) on channels-last tensors."""
import torch
from torch import Tensor, nn


class GRN(nn.Module):
    """Global Response Normalization for (N, H, W, C) tensors.

    ``Gx = ||x||_2 over (H, W)``, ``Nx = Gx / (mean_C(Gx) + 1e-6)``,
    ``out = (gamma * Nx + 1) * x + beta``. The norm is computed in at least
    float32 precision whatever the input dtype: in float16 the sum of squares over a large
    feature map overflows and the block returns NaN.

    Args:
        channels (int): C.
        use_bias (bool): Whether ``beta`` exists. The inference structure
            folds ``beta`` into the following Linear and drops it.
            Defaults to True.
    """

    def __init__(self, channels: int, use_bias: bool = True) -> None:
        super().__init__()
        self.use_bias = use_bias
        self.gamma = nn.Parameter(torch.zeros(1, 1, 1, channels))
        if use_bias:
            self.beta = nn.Parameter(torch.zeros(1, 1, 1, channels))

    def forward(self, x: Tensor) -> Tensor:
        """(N, H, W, C) -> (N, H, W, C)."""
        acc_dtype = torch.promote_types(x.dtype, torch.float32)
        gx = torch.linalg.vector_norm(
            x, ord=2, dim=(1, 2), keepdim=True, dtype=acc_dtype)
        nx = gx / (gx.mean(dim=-1, keepdim=True) + 1e-6)
        scale = (self.gamma * nx + 1).to(x.dtype)
        if self.use_bias:
            return torch.addcmul(self.beta.to(x.dtype), x, scale)
        return x * scale

    def remove_bias(self) -> Tensor:
        """Drop ``beta`` (for re-parameterization) and return its values.

        Returns:
            Tensor: beta flattened to shape (C,), or zeros if already removed.
        """
        if not self.use_bias:
            return self.gamma.new_zeros(self.gamma.shape[-1]).detach()
        beta = self.beta.detach().reshape(-1)
        del self.beta
        self.use_bias = False
        return beta
