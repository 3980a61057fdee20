# Copyright (c) mmunirep contributors. All rights reserved.
"""Inference-time Linear (+ GELU) through oneDNN on the CPU.

On x86 CPUs PyTorch runs ``F.linear`` through its BLAS ``addmm``, which first
copies the broadcast bias into the output; oneDNN's matmul primitive, with the
bias and GELU fused as post-ops, is about twice as fast for every FFN shape of
UniRepLKNet (measured with 2 threads, fp32). PyTorch exposes that primitive as
``torch.ops.mkldnn._linear_pointwise`` (what ``torch.compile`` emits on CPU);
where it is missing, or off the CPU, the plain ops run instead.
"""
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor

_ONEDNN_DTYPES = (torch.float32, torch.bfloat16)


def _onednn_linear_op():
    try:
        return torch.ops.mkldnn._linear_pointwise
    except (AttributeError, RuntimeError):
        return None


_LINEAR_POINTWISE = _onednn_linear_op()


def uses_onednn(x: Tensor) -> bool:
    """Whether :func:`linear_act` takes the oneDNN path for ``x``."""
    return (_LINEAR_POINTWISE is not None and x.device.type == 'cpu'
            and x.dtype in _ONEDNN_DTYPES
            and torch.backends.mkldnn.is_available()
            and not torch.is_grad_enabled())


def linear_act(x: Tensor,
               weight: Tensor,
               bias: Optional[Tensor],
               gelu: bool = False) -> Tensor:
    """``gelu(x @ weight.T + bias)`` (or without the GELU), for inference.

    Args:
        x (Tensor): (..., C_in).
        weight (Tensor): (C_out, C_in).
        bias (Tensor, optional): (C_out,).
        gelu (bool): Apply the exact (erf) GELU. Defaults to False.

    Returns:
        Tensor: (..., C_out).
    """
    if uses_onednn(x) and weight.dtype == x.dtype:
        flat = x.reshape(-1, x.shape[-1])
        out = _LINEAR_POINTWISE(flat, weight, bias,
                                'gelu' if gelu else 'none', [],
                                'none' if gelu else '')
        return out.reshape(*x.shape[:-1], weight.shape[0])
    out = F.linear(x, weight, bias)
    return torch.ops.aten.gelu_(out) if gelu else out
