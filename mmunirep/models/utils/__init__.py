# Copyright (c) mmunirep contributors. All rights reserved.
from .reparameterize import reparameterize_model

__all__ = ['reparameterize_model']
