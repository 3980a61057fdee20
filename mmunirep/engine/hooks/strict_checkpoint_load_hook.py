# Copyright (c) mmunirep contributors. All rights reserved.
"""Make the Runner's checkpoint loading (``load_from``) strict."""
from mmengine.hooks import Hook

from mmunirep.models.strict_loading import fit_state_dict
from mmunirep.registry import HOOKS


@HOOKS.register_module()
class StrictCheckpointLoadHook(Hook):
    """Check every checkpoint the Runner loads against its model.

    MMEngine's Runner loads ``load_from`` with ``strict=False``: a
    checkpoint of the other structure, or of another model, loads partly
    and only a warning says so. This hook runs first among the
    ``after_load_checkpoint`` hooks (before EMAHook reads the weights) and
    applies :func:`mmunirep.models.strict_loading.fit_state_dict`: a
    training-structure checkpoint under a deploy config is re-parameterized
    in place, an inference-structure checkpoint under a training config and
    any other key mismatch raise a
    :class:`~mmunirep.utils.CheckpointError`. ``tools/test.py`` adds it.
    """

    priority = 'VERY_HIGH'

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """Replace the checkpoint's weights by ones that fit, or raise."""
        state = checkpoint.get('state_dict', checkpoint)
        fitted = fit_state_dict(runner.model, state,
                                source=str(runner.cfg.get('load_from')),
                                config=runner.cfg.filename)
        if 'state_dict' in checkpoint:
            checkpoint['state_dict'] = fitted
        else:
            checkpoint.clear()
            checkpoint.update(fitted)
