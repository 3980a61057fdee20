# Copyright (c) mmunirep contributors. All rights reserved.
from .complexity import Complexity, model_complexity
from .curves import Curve, load_curves, plot_curves
from .erf import area_ratios, compute_erf, draw_erfs, scale_erf
from .timing import cpu_model, interleaved_medians

__all__ = [
    'Complexity', 'Curve', 'area_ratios', 'compute_erf', 'cpu_model',
    'draw_erfs', 'interleaved_medians', 'load_curves', 'model_complexity',
    'plot_curves', 'scale_erf'
]
