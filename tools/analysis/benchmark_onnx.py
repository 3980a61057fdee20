# Copyright (c) mmunirep contributors. All rights reserved.
"""onnxruntime vs PyTorch inference speed of a config's exported model, on
the CPU, in float32, interleaved round by round (medians reported).

    python tools/analysis/benchmark_onnx.py CONFIG [--checkpoint CKPT] \
        --shape H W [--threads 2] [--batch 1] [--rounds 7] [--onnx FILE]

Both run what tools/deployment/pytorch2onnx.py exports (class scores,
full-resolution segmentation logits or detector feature maps) on the
same preprocessed input: PyTorch with the model in its inference structure
under torch.inference_mode (its oneDNN fast paths on), onnxruntime on the
exported graph (static shape, exported here unless --onnx is given) with
all graph optimizations.
"""
import argparse
import os.path as osp
import statistics
import tempfile

import onnxruntime
import torch

import mmunirep  # noqa: F401  (environment check, checkpoint allow-list)
from mmunirep.analysis import interleaved_times, speed_ratio
from mmunirep.apis import build_model, load_config, task_of
from mmunirep.apis.cli import add_cfg_options_arguments, report_user_errors
from mmunirep.deployment import (EXPORT_MODULES, check_inference_structure,
                                 export_onnx, max_relative_difference,
                                 ort_session)
from mmunirep.utils.machine import describe_machine


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('--checkpoint', help='weights (random if omitted)')
    parser.add_argument('--shape', type=int, nargs=2, required=True,
                        metavar=('H', 'W'))
    parser.add_argument('--batch', type=int, default=1)
    parser.add_argument('--threads', type=int, default=2,
                        help='threads of both runtimes')
    parser.add_argument('--rounds', type=int, default=7)
    parser.add_argument('--warmup', type=int, default=2)
    parser.add_argument('--onnx', help='an exported graph to use instead')
    add_cfg_options_arguments(parser)
    return parser.parse_args()


def main():
    args = parse_args()
    torch.set_num_threads(args.threads)
    with report_user_errors():
        cfg = load_config(args.config, args.cfg_options, args.strict_options)
        if cfg.model.get('backbone', {}).get('init_cfg') is not None:
            cfg.model.backbone.init_cfg = None
        model = build_model(cfg, args.checkpoint, deploy=True)
    check_inference_structure(model)
    module = EXPORT_MODULES[task_of(cfg)](model).eval()
    with tempfile.TemporaryDirectory() as tmp_dir:
        onnx_file = args.onnx or export_onnx(
            module, osp.join(tmp_dir, 'model.onnx'), args.shape,
            dynamic=args.batch > 1).onnx_file
        session = ort_session(onnx_file, args.threads)
    inputs = torch.randn(args.batch, 3, *args.shape,
                         generator=torch.Generator().manual_seed(0))
    feed = {'input': inputs.numpy()}
    with torch.inference_mode():
        difference = max_relative_difference(
            session.run(None, feed), module(inputs))

    def run_pytorch():
        with torch.inference_mode():
            module(inputs)

    times = interleaved_times(
        {'PyTorch': run_pytorch,
         'onnxruntime': lambda: session.run(None, feed)},
        rounds=args.rounds, warmup=args.warmup)
    for line in describe_machine():
        print(line)
    print(f'{args.config}: batch {args.batch}, {args.shape[0]}x'
          f'{args.shape[1]}, fp32, {args.threads} threads; onnxruntime '
          f'{onnxruntime.__version__}; median of {args.rounds} interleaved '
          'rounds; ratio = median of the per-round speed ratios')
    print(f"{'runtime':<12} {'ms/batch':>9} {'img/s':>8} {'vs PyTorch':>11}")
    for name, samples in times.items():
        seconds = statistics.median(samples)
        print(f'{name:<12} {seconds * 1e3:>9.1f} {args.batch / seconds:>8.2f} '
              f"{speed_ratio(times, name, 'PyTorch'):>10.2f}x")
    print(f'max relative difference: {difference:.2e}')


if __name__ == '__main__':
    main()
