# Copyright (c) mmunirep contributors. All rights reserved.
from .adaptive_pool import MatmulAdaptiveAvgPool2d, exportable_adaptive_pools
from .export_blockers import export_blockers, record_mmcv_kernels
from .export_modules import (EXPORT_MODULES, ClassifierForExport,
                             DetectorFeaturesForExport, DetectorForExport,
                             SegmentorForExport)
from .onnx_export import (MIN_SIZE, ExportResult, check_export_shape,
                          check_inference_structure, convert_to_onnx,
                          export_full_detector, export_onnx, second_shape,
                          trace_for_export, write_onnx)
from .verification import (TOLERANCE, max_relative_difference, ort_session,
                           verify_onnx)

__all__ = [
    'EXPORT_MODULES', 'MIN_SIZE', 'TOLERANCE', 'ClassifierForExport',
    'DetectorFeaturesForExport', 'DetectorForExport', 'ExportResult',
    'MatmulAdaptiveAvgPool2d', 'SegmentorForExport', 'check_export_shape',
    'check_inference_structure', 'convert_to_onnx', 'export_blockers',
    'export_full_detector', 'export_onnx', 'exportable_adaptive_pools',
    'max_relative_difference', 'ort_session', 'record_mmcv_kernels',
    'second_shape', 'trace_for_export', 'verify_onnx', 'write_onnx'
]
