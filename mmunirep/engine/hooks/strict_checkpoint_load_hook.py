# Copyright (c) mmunirep contributors. All rights reserved.
"""Make the Runner's checkpoint loading (``load_from``) strict."""
from mmengine.hooks import Hook
from mmengine.runner import BaseLoop

from mmunirep.checkpoints import fit_to_model
from mmunirep.registry import HOOKS


@HOOKS.register_module()
class StrictCheckpointLoadHook(Hook):
    """Check every checkpoint the Runner loads against its model.

    MMEngine's Runner loads ``load_from`` with ``strict=False``: a
    checkpoint of the other structure, or of another model, loads partly
    and only a warning says so. This hook runs first among the
    ``after_load_checkpoint`` hooks (before EMAHook reads the weights) and
    applies :func:`mmunirep.checkpoints.fit_to_model`: a
    training-structure checkpoint under a deploy config is re-parameterized
    in place, an inference-structure checkpoint under a training config and
    any other key mismatch raise a
    :class:`~mmunirep.utils.CheckpointError`.

    Our base configs register it as ``default_hooks.strict_load``, so that
    mmdet's, mmseg's and mmpretrain's own ``tools/test.py`` load strictly
    too; ``tools/test.py`` adds it to any config.

    Args:
        during_training (bool): Also check ``load_from`` / resumed
            checkpoints of a training run. Defaults to False: fine-tuning
            from a checkpoint of another model (another number of classes)
            stays MMEngine's partial load with its warning.
    """

    priority = 'VERY_HIGH'

    def __init__(self, during_training: bool = False) -> None:
        self.during_training = during_training

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """Replace the checkpoint's weights by ones that fit, or raise."""
        # Runner.train() builds its loop before loading; val() / test() not
        training = isinstance(getattr(runner, '_train_loop', None), BaseLoop)
        if training and not self.during_training:
            return
        state = checkpoint.get('state_dict', checkpoint)
        fitted = fit_to_model(runner.model, state,
                              source=str(runner.cfg.get('load_from')),
                              config=runner.cfg.filename)
        if 'state_dict' in checkpoint:
            checkpoint['state_dict'] = fitted
        else:
            checkpoint.clear()
            checkpoint.update(fitted)
