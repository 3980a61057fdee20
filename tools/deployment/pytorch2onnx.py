# Copyright (c) mmunirep contributors. All rights reserved.
"""Export the inference structure of a classifier, segmentor or detector to
ONNX (see mmunirep.deployment.onnx_export for what each task exports).

    python tools/deployment/pytorch2onnx.py CONFIG CHECKPOINT --out FILE \
        --shape H W [--dynamic] [--opset N] [--verify] [--simplify]

CHECKPOINT may be a training checkpoint (the model is re-parameterized
after loading) or one written by tools/reparameterize.py (with the
configs/deploy/ config). The graph takes preprocessed float32 images
``input`` (N, 3, H, W): normalise as the config's data preprocessor does.
With ``--dynamic``, batch, height and width are dynamic. ``--verify`` runs
onnxruntime against PyTorch at the traced size and, for a dynamic graph, at
an odd-sized batch of 2, and fails if they differ by more than 1e-4
(max |ort - torch| / max |torch|).

Detectors: FILE gets the backbone + neck feature maps (``feat0``..); the
full detector (post-processing included, one image) goes to
``<FILE stem>_full.onnx`` where torch.export can trace it, otherwise the
tool says what stops it.
"""
import argparse
import os.path as osp

import mmunirep  # noqa: F401  (environment check, checkpoint allow-list)
from mmunirep.apis import build_model, load_config, task_of
from mmunirep.apis.cli import add_cfg_options_arguments, report_user_errors
from mmunirep.deployment import (EXPORT_MODULES, TOLERANCE, DetectorForExport,
                                 check_export_shape, check_inference_structure,
                                 export_full_detector, export_onnx,
                                 second_shape, verify_onnx)
from mmunirep.utils import check_output_path


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='config file (training or deploy)')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out', required=True, help='ONNX file to write')
    parser.add_argument('--shape', type=int, nargs=2, required=True,
                        metavar=('H', 'W'), help='input size to trace at')
    parser.add_argument('--dynamic', action='store_true',
                        help='dynamic batch, height and width')
    parser.add_argument('--opset', type=int,
                        help='ONNX opset (default: the exporter\'s)')
    parser.add_argument('--verify', action='store_true',
                        help='compare onnxruntime with PyTorch')
    parser.add_argument('--simplify', action='store_true',
                        help='simplify the graph with onnxslim')
    add_cfg_options_arguments(parser)
    return parser.parse_args()


def verify(onnx_file, module, shape, dynamic, batch=True):
    """Print onnxruntime vs PyTorch; returns whether all sizes pass."""
    shapes = [(1, 3, *shape)]
    if dynamic:
        shapes.append((2 if batch else 1, 3, *second_shape(*shape)))
    ok = True
    for input_shape, difference in verify_onnx(onnx_file, module, shapes):
        passed = difference < TOLERANCE
        ok &= passed
        print(f'  verify {input_shape}: max relative difference '
              f'{difference:.2e} ({"ok" if passed else "FAILED"}, '
              f'tolerance {TOLERANCE:.0e})')
    if not dynamic:
        print('  (a static graph runs at the traced size only)')
    return ok


def report(result, dynamic, batch=True):
    axes = ('batch, ' if batch else '') + 'height, width'
    print(f'{result.onnx_file}: opset {result.opset}, traced at input '
          f'"input" {result.input_shape}' +
          (f' ({axes} dynamic)' if dynamic else ''))
    for name, shape in zip(result.output_names, result.output_shapes):
        print(f'  output "{name}" {shape}')
    print(f"  operators: {', '.join(result.op_types)}")


def full_detector(model, args):
    """Export the full detector, or print what stops it; returns whether
    verification passed (True when not verified)."""
    module = DetectorForExport(model)
    out_file = osp.splitext(args.out)[0] + '_full.onnx'
    result, blockers = export_full_detector(
        module, out_file, args.shape, args.dynamic, opset=args.opset,
        simplify=args.simplify)
    if result is None:
        print('full detector: not exported')
        for blocker in blockers:
            print(f'  - {blocker}')
        return True
    report(result, args.dynamic, batch=False)
    return not args.verify or verify(out_file, module, args.shape,
                                     args.dynamic, batch=False)


def main():
    args = parse_args()
    with report_user_errors():
        try:
            shape = check_export_shape(args.shape)
            check_output_path(args.out, [args.config, args.checkpoint],
                              what='--out')
            cfg = load_config(args.config, args.cfg_options,
                              args.strict_options)
            task = task_of(cfg)
            model = build_model(cfg, args.checkpoint, deploy=True)
            check_inference_structure(model)
            module = EXPORT_MODULES[task](model)
        except ValueError as error:
            raise SystemExit(f'error: {error}') from None
    result = export_onnx(module, args.out, shape, dynamic=args.dynamic,
                         opset=args.opset, simplify=args.simplify)
    report(result, args.dynamic)
    ok = not args.verify or verify(args.out, module, shape, args.dynamic)
    if task == 'mmdet':
        ok &= full_detector(model, args)
    if not ok:
        raise SystemExit('error: onnxruntime and PyTorch differ by more '
                         f'than {TOLERANCE:.0e}')


if __name__ == '__main__':
    main()
