# Copyright (c) mmunirep contributors. All rights reserved.
from .depthwise_conv import DEPTHWISE_SELECTOR, depthwise_conv
from .dilated_reparam_block import DRB_BRANCHES, DilatedReparamBlock
from .fast_paths import PathSelector, plain_ops, plain_ops_required
from .grn import (GRN, SCALED_LINEAR_SELECTOR, SQUARE_SUM_SELECTOR,
                  grn_linear)
from .kernel_ops import dilated_to_dense, fuse_bn, pad_to_size
from .norms import LayerNorm2d
from .onednn_linear import (LINEAR_SELECTOR, FFNLinear, linear_act,
                            uses_onednn)
from .se import SEBlock

__all__ = [
    'DEPTHWISE_SELECTOR', 'DRB_BRANCHES', 'DilatedReparamBlock', 'FFNLinear',
    'GRN', 'LINEAR_SELECTOR', 'LayerNorm2d', 'PathSelector',
    'SCALED_LINEAR_SELECTOR', 'SEBlock', 'SQUARE_SUM_SELECTOR',
    'depthwise_conv', 'dilated_to_dense', 'fuse_bn', 'grn_linear',
    'linear_act', 'pad_to_size', 'plain_ops', 'plain_ops_required',
    'uses_onednn'
]
