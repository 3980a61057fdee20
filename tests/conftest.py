# Copyright (c) mmunirep contributors. All rights reserved.
"""Suite-wide setup."""
import os

import torch

if not torch.cuda.is_available():
    # Triton reads this when a kernel is defined (at import): CPU runs need it.
    os.environ.setdefault('TRITON_INTERPRET', '1')
