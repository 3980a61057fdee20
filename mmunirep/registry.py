# Copyright (c) mmunirep contributors. All rights reserved.
"""mmunirep's registry nodes, each a child of the MMEngine root registry.

Because this module sits at ``mmunirep/registry.py`` and every node lists the
package that fills it in ``locations``, a config evaluated under any other
package's default scope (mmdet, mmseg, mmpretrain) can name our modules as
``type='mmunirep.UniRepLKNet'``: MMEngine imports ``mmunirep.registry``, finds
the ``mmunirep`` child of its root and imports the location on demand, so no
``custom_imports`` are needed.
"""
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import \
    OPTIM_WRAPPER_CONSTRUCTORS as MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS
from mmengine.registry import \
    WEIGHT_INITIALIZERS as MMENGINE_WEIGHT_INITIALIZERS
from mmengine.registry import Registry

__all__ = [
    'HOOKS', 'MODELS', 'OPTIM_WRAPPER_CONSTRUCTORS', 'WEIGHT_INITIALIZERS'
]

#: Backbones and layers (``mmunirep.UniRepLKNet``).
MODELS = Registry(
    'model', parent=MMENGINE_MODELS, locations=['mmunirep.models'])

#: Optimizer-wrapper constructors (layer-wise learning-rate decay).
OPTIM_WRAPPER_CONSTRUCTORS = Registry(
    'optimizer wrapper constructor',
    parent=MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS,
    locations=['mmunirep.engine.optimizers'])

#: Runner hooks (``mmunirep.AtomicCheckpointHook``,
#: ``mmunirep.DivergenceGuardHook``, ``mmunirep.PreemptionHook``,
#: ``mmunirep.StrictCheckpointLoadHook``, ``mmunirep.SwitchToDeployHook``).
HOOKS = Registry(
    'hook', parent=MMENGINE_HOOKS, locations=['mmunirep.engine.hooks'])

#: Weight initializers (``mmunirep.PretrainedUniRepLKNet``: the backbone's
#: ``init_cfg=dict(type='Pretrained', ...)``, loaded strictly). The backbone
#: reaches it through this registry, so the loader can sit above the models.
WEIGHT_INITIALIZERS = Registry(
    'weight initializer', parent=MMENGINE_WEIGHT_INITIALIZERS,
    locations=['mmunirep.checkpoints'])
