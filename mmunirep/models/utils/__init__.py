# Copyright (c) mmunirep contributors. All rights reserved.
from .reparameterize import reparameterize_model
from .structure import Structure, state_dict_structure

__all__ = ['Structure', 'reparameterize_model', 'state_dict_structure']
