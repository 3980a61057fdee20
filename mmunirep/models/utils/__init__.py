# Copyright (c) mmunirep contributors. All rights reserved.
from .reparameterize import reparameterize_model
from .structure import DEPLOY, TRAINING, state_dict_structure

__all__ = [
    'DEPLOY', 'TRAINING', 'reparameterize_model', 'state_dict_structure'
]
