# Copyright (c) mmunirep contributors. All rights reserved.
"""mmunirep: UniRepLKNet for the OpenMMLab 2.0 stack.

Importing the package checks that torch, mmcv (with its compiled ops) and
mmengine can run it, and lets MMEngine runners resume from their own
checkpoints on torch >= 2.6. Models are registered in
:mod:`mmunirep.registry` and imported on demand.
"""
from .env_check import check_environment
from .version import __version__, version_info

check_environment()

from .utils import allow_mmengine_checkpoints  # noqa: E402

allow_mmengine_checkpoints()

__all__ = ['__version__', 'version_info']
