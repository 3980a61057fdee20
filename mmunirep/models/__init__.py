# Copyright (c) mmunirep contributors. All rights reserved.
from .backbones import *  # noqa: F401,F403
from .layers import *  # noqa: F401,F403
from .strict_loading import StructureMismatchError  # noqa: F401
from .strict_loading import fit_state_dict  # noqa: F401
from .strict_loading import load_checkpoint_strict  # noqa: F401
from .utils import reparameterize_model  # noqa: F401
