# Copyright (c) mmunirep contributors. All rights reserved.
"""UniRepLKNet's ops, each with its plain PyTorch formula and per-device
implementations behind one dispatcher:

- ``plain``: the formulas (what every implementation must equal);
- ``cpu``: exact formulations timed once per shape on the machine at hand;
- ``cuda``: Triton kernels (the large-kernel depthwise convolution);
- ``dispatch``: which one runs, from the device and the ``impl`` asked for.

This package knows nothing of models, configs or tools.
"""
from .dispatch import (IMPLS, check_impl, device_family, family, plain_ops,
                       plain_ops_required)
from .functional import (OP_FAMILIES, depthwise_conv2d, grn, grn_ffn,
                         implementations, squeeze_excite)
from .kernel_ops import dilated_to_dense, fuse_bn, pad_to_size

__all__ = [
    'IMPLS', 'OP_FAMILIES', 'check_impl', 'depthwise_conv2d', 'device_family',
    'dilated_to_dense', 'family', 'fuse_bn', 'grn', 'grn_ffn',
    'implementations', 'pad_to_size', 'plain_ops', 'plain_ops_required',
    'squeeze_excite'
]
