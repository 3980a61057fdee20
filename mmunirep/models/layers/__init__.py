# Copyright (c) mmunirep contributors. All rights reserved.
from .depthwise_conv import (DEPTHWISE_GRAD_INPUT_SELECTOR,
                             DEPTHWISE_GRAD_WEIGHT_SELECTOR,
                             DEPTHWISE_SELECTOR, depthwise_conv)
from .dilated_reparam_block import DRB_BRANCHES, DilatedReparamBlock
from .fast_paths import PathSelector, plain_ops, plain_ops_required
from .grn import (GRN, PRODUCT_SUM_SELECTOR, SCALED_LINEAR_SELECTOR,
                  grn_linear, position_sum)
from .kernel_ops import dilated_to_dense, fuse_bn, pad_to_size
from .norms import LayerNorm2d
from .onednn_linear import (LINEAR_SELECTOR, FFNLinear, linear_act,
                            uses_onednn)
from .se import SEBlock

__all__ = [
    'DEPTHWISE_GRAD_INPUT_SELECTOR', 'DEPTHWISE_GRAD_WEIGHT_SELECTOR',
    'DEPTHWISE_SELECTOR', 'DRB_BRANCHES', 'DilatedReparamBlock', 'FFNLinear',
    'GRN', 'LINEAR_SELECTOR', 'LayerNorm2d', 'PathSelector',
    'PRODUCT_SUM_SELECTOR', 'SCALED_LINEAR_SELECTOR', 'SEBlock',
    'depthwise_conv', 'dilated_to_dense', 'fuse_bn', 'grn_linear',
    'linear_act', 'pad_to_size', 'plain_ops', 'plain_ops_required',
    'position_sum',
    'uses_onednn'
]
