# Copyright (c) mmunirep contributors. All rights reserved.
"""Re-parameterize a trained model before it is tested."""
from mmengine.hooks import Hook

from mmunirep.models.utils import reparameterize_model
from mmunirep.registry import HOOKS


@HOOKS.register_module()
class SwitchToDeployHook(Hook):
    """Switch the model to the inference structure before testing.

    Added by ``tools/test.py --deploy``: the Runner loads the training
    checkpoint into the training structure, then this hook re-parameterizes
    every module that supports it, so the metrics are those of the deployed
    model.
    """

    priority = 'VERY_LOW'

    def before_test(self, runner) -> None:
        """Re-parameterize ``runner.model`` in place."""
        if reparameterize_model(runner.model) == 0:
            runner.logger.warning(
                'SwitchToDeployHook: nothing in the model can be '
                're-parameterized; testing it as it is')
