# Copyright (c) mmunirep contributors. All rights reserved.
from .layer_decay_constructor import (UniRepLKNetLayerDecayConstructor,
                                      stage_wise_layer_id)
from .plain_groups_constructor import PlainGroupsOptimWrapperConstructor

__all__ = [
    'PlainGroupsOptimWrapperConstructor', 'UniRepLKNetLayerDecayConstructor',
    'stage_wise_layer_id'
]
