# Copyright (c) mmunirep contributors. All rights reserved.
"""Switch any model (classifier, detector, segmentor) to the inference
structure."""
from mmengine.logging import MMLogger
from torch import nn


def reparameterize_model(model: nn.Module) -> int:
    """Call ``switch_to_deploy()`` on every re-parameterizable submodule.

    Walks the module tree top-down; a module that has ``switch_to_deploy``
    converts itself and everything inside it, so its children are not
    visited again. Works for mmunirep's UniRepLKNet and for any other
    OpenMMLab module following that convention (RepVGG, MobileOne, ...),
    wherever it sits in the model (``model.backbone``, a wrapped DDP model,
    ...).

    Args:
        model (nn.Module): Any model, converted in place.

    Returns:
        int: How many modules were switched (0 means nothing was
        re-parameterizable).
    """
    switched = []

    def visit(module: nn.Module, name: str) -> None:
        if callable(getattr(module, 'switch_to_deploy', None)):
            module.switch_to_deploy()
            switched.append(name or type(module).__name__)
            return
        for child_name, child in module.named_children():
            visit(child, f'{name}.{child_name}' if name else child_name)

    visit(model, '')
    MMLogger.get_current_instance().info(
        f'Re-parameterized {len(switched)} module(s) to the inference '
        f"structure: {', '.join(switched) or 'none'}")
    return len(switched)
