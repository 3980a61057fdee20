# Copyright (c) mmunirep contributors. All rights reserved.
from .backbones import *  # noqa: F401,F403
from .layers import *  # noqa: F401,F403
from .strict_loading import (StructureMismatchError,  # noqa: F401
                             fit_state_dict, load_checkpoint_strict)
from .utils import reparameterize_model  # noqa: F401
