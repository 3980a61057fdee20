# Copyright (c) mmunirep contributors. All rights reserved.
from .adaptive_pool import MatmulAdaptiveAvgPool2d, exportable_adaptive_pools
from .onnx_export import (EXPORT_MODULES, MIN_SIZE, TOLERANCE,
                          ClassifierForExport, DetectorFeaturesForExport,
                          DetectorForExport, ExportResult, SegmentorForExport,
                          check_export_shape, check_inference_structure,
                          convert_to_onnx, export_blockers,
                          export_full_detector, export_onnx,
                          max_relative_difference, ort_session,
                          record_mmcv_kernels, second_shape,
                          trace_for_export, verify_onnx, write_onnx)

__all__ = [
    'EXPORT_MODULES', 'MIN_SIZE', 'TOLERANCE', 'ClassifierForExport',
    'DetectorFeaturesForExport', 'DetectorForExport', 'ExportResult',
    'MatmulAdaptiveAvgPool2d', 'SegmentorForExport', 'check_export_shape',
    'check_inference_structure', 'convert_to_onnx', 'export_blockers',
    'export_full_detector', 'export_onnx', 'exportable_adaptive_pools',
    'max_relative_difference', 'ort_session', 'record_mmcv_kernels',
    'second_shape', 'trace_for_export', 'verify_onnx', 'write_onnx'
]
