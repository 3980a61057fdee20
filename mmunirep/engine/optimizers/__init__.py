# Copyright (c) mmunirep contributors. All rights reserved.
from .layer_decay_constructor import UniRepLKNetLayerDecayConstructor
from .plain_groups_constructor import PlainGroupsOptimWrapperConstructor

__all__ = [
    'PlainGroupsOptimWrapperConstructor', 'UniRepLKNetLayerDecayConstructor'
]
