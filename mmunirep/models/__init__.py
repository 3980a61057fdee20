# Copyright (c) mmunirep contributors. All rights reserved.
from .backbones import *  # noqa: F401,F403
from .layers import *  # noqa: F401,F403
from .utils import (Structure, reparameterize_model,  # noqa: F401
                    state_dict_structure)
