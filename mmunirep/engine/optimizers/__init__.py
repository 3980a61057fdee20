# Copyright (c) mmunirep contributors. All rights reserved.
from .layer_decay_constructor import (UniRepLKNetLayerDecayConstructor,
                                      stage_wise_layer_id)

__all__ = ['UniRepLKNetLayerDecayConstructor', 'stage_wise_layer_id']
