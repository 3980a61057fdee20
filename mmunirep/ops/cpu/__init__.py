# Copyright (c) mmunirep contributors. All rights reserved.
"""CPU implementations: among exact formulations, the fastest for each shape
on the machine at hand, timed once (see :mod:`.selector`)."""
from .allocator import tune_cpu_allocator
from .depthwise import (DEPTHWISE_GRAD_INPUT_SELECTOR,
                        DEPTHWISE_GRAD_WEIGHT_SELECTOR, DEPTHWISE_SELECTOR,
                        cpu_depthwise_conv2d)
from .ffn import FFN_GROUP_BYTES, cpu_grn_ffn, sample_groups
from .grn import (PRODUCT_SUM_SELECTOR, SCALED_LINEAR_SELECTOR, cpu_grn,
                  grn_linear, position_sum)
from .linear import LINEAR_SELECTOR, cpu_linear, linear_act, uses_onednn
from .se import cpu_squeeze_excite
from .selector import SELECTORS, PathSelector, chosen_paths

__all__ = [
    'DEPTHWISE_GRAD_INPUT_SELECTOR', 'DEPTHWISE_GRAD_WEIGHT_SELECTOR',
    'DEPTHWISE_SELECTOR', 'FFN_GROUP_BYTES', 'LINEAR_SELECTOR',
    'PRODUCT_SUM_SELECTOR', 'PathSelector', 'SCALED_LINEAR_SELECTOR',
    'SELECTORS', 'chosen_paths', 'cpu_depthwise_conv2d', 'cpu_grn',
    'cpu_grn_ffn', 'cpu_linear', 'cpu_squeeze_excite', 'grn_linear',
    'linear_act', 'position_sum', 'sample_groups', 'tune_cpu_allocator',
    'uses_onednn'
]
