# Copyright (c) mmunirep contributors. All rights reserved.
"""An optimizer wrapper constructor whose parameter groups ``torch.compile``
can trace."""
from mmengine.optim import DefaultOptimWrapperConstructor, OptimWrapper
from torch import nn

from mmunirep.registry import OPTIM_WRAPPER_CONSTRUCTORS


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class PlainGroupsOptimWrapperConstructor(DefaultOptimWrapperConstructor):
    """MMEngine's default constructor, with the optimizer's parameter groups
    as plain dicts.

    MMEngine builds the optimizer from a ``ConfigDict``, which turns every
    group made by a ``paramwise_cfg`` into a ``ConfigDict`` too. With
    ``compile=True`` MMEngine compiles ``train_step``, optimizer step
    included, and TorchDynamo fails on dict subclasses in ``param_groups``
    ("'UserDefinedDictVariable' object has no attribute 'items'").
    Same arguments as :class:`DefaultOptimWrapperConstructor`.
    """

    def __call__(self, model: nn.Module) -> OptimWrapper:
        optim_wrapper = super().__call__(model)
        optimizer = optim_wrapper.optimizer
        optimizer.param_groups = [dict(group)
                                  for group in optimizer.param_groups]
        return optim_wrapper
