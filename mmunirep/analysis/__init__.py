# Copyright (c) mmunirep contributors. All rights reserved.
from .complexity import Complexity, model_complexity

__all__ = ['Complexity', 'model_complexity']
