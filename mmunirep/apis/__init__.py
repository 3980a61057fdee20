# Copyright (c) mmunirep contributors. All rights reserved.
from .model_builder import build_model, load_config, task_of

__all__ = ['build_model', 'load_config', 'task_of']
