# Copyright (c) mmunirep contributors. All rights reserved.
from .complexity import Complexity, model_complexity
from .curves import Curve, load_curves, plot_curves
from .erf import area_ratios, compute_erf, draw_erfs, scale_erf
from .timing import interleaved_medians, interleaved_times, speed_ratio

__all__ = [
    'Complexity', 'Curve', 'area_ratios', 'compute_erf', 'draw_erfs',
    'interleaved_medians', 'interleaved_times', 'load_curves',
    'model_complexity', 'plot_curves', 'scale_erf', 'speed_ratio'
]
