# Copyright (c) mmunirep contributors. All rights reserved.
from .reference import (TOLERANCE, branchwise_reference, randomize_for_fusion,
                        reference_drb_forward, reference_grn, relative_error)

__all__ = [
    'TOLERANCE', 'branchwise_reference', 'randomize_for_fusion',
    'reference_drb_forward', 'reference_grn', 'relative_error'
]
