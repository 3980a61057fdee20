# Copyright (c) mmunirep contributors. All rights reserved.
"""GPU implementations: Triton kernels for large-kernel depthwise convs."""
from .depthwise import (triton_available, triton_depthwise_conv2d,
                        triton_unsupported_reason)

__all__ = [
    'triton_available', 'triton_depthwise_conv2d', 'triton_unsupported_reason'
]
