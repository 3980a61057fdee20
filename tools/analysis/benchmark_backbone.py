# Copyright (c) mmunirep contributors. All rights reserved.
"""Benchmark UniRepLKNet backbones side by side (images per second).

Every model runs in the same process, interleaved round by round, and the
median of the rounds is reported, so a noisy machine affects all models
alike; ratios are relative to the first model listed.

Examples::

    # T in inference structure vs training structure vs ConvNeXt-T / -S
    python tools/analysis/benchmark_backbone.py --arch t \
        --structure deploy train --compare convnext-tiny convnext-small
    # forward + backward (a training step without the optimizer)
    python tools/analysis/benchmark_backbone.py --arch t --mode train \
        --structure train --compare convnext-tiny
"""
import argparse
import statistics
import time

import torch

from mmunirep.models import UniRepLKNet
from mmunirep.utils import tune_cpu_allocator

DTYPES = dict(fp32=torch.float32, fp16=torch.float16, bf16=torch.bfloat16)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--arch', default='t', help='UniRepLKNet arch')
    parser.add_argument(
        '--structure', nargs='+', default=['deploy', 'train'],
        choices=['deploy', 'train'],
        help='UniRepLKNet structures to measure (training and/or inference)')
    parser.add_argument(
        '--compare', nargs='*', default=[],
        help='mmpretrain ConvNeXt archs to measure alongside, e.g. '
        'convnext-tiny convnext-small')
    parser.add_argument('--mode', default='forward',
                        choices=['forward', 'train'],
                        help='forward only (inference) or forward + backward')
    parser.add_argument('--batch', type=int, default=8)
    parser.add_argument('--input-size', type=int, nargs='+', default=[224],
                        help='H [W]')
    parser.add_argument('--dtype', default='fp32', choices=list(DTYPES))
    parser.add_argument('--threads', type=int, default=2,
                        help='torch intra-op threads')
    parser.add_argument('--channels-last', action='store_true',
                        help='feed channels-last inputs')
    parser.add_argument('--compile', action='store_true',
                        help='wrap every model with torch.compile')
    parser.add_argument('--device', default='cpu')
    parser.add_argument(
        '--tune-malloc', action='store_true',
        help='raise glibc malloc thresholds for this process (CPU; applies '
        'to every model alike, see mmunirep.utils.tune_cpu_allocator)')
    parser.add_argument('--rounds', type=int, default=7,
                        help='timed rounds (the median is reported)')
    parser.add_argument('--iters', type=int, default=2,
                        help='iterations per model per round')
    parser.add_argument('--warmup', type=int, default=2)
    return parser.parse_args()


def build_models(args):
    """name -> classification-mode backbone (GAP + final norm)."""
    models = {}
    for structure in args.structure:
        model = UniRepLKNet(args.arch, out_indices=(3, ),
                            gap_before_final_norm=True)
        if structure == 'deploy':
            model.switch_to_deploy()
        models[f'unireplknet-{args.arch}-{structure}'] = model
    for name in args.compare:
        from mmpretrain.models import ConvNeXt
        arch = name.split('-', 1)[1] if name.startswith('convnext-') else name
        models[f'convnext-{arch}'] = ConvNeXt(
            arch, out_indices=(3, ), gap_before_final_norm=True)
    return models


def make_step(model, inputs, mode):
    if mode == 'forward':
        model.eval()

        def step():
            with torch.inference_mode():
                model(inputs)
    else:
        model.train()

        def step():
            out = model(inputs)[0]
            out.float().square().mean().backward()
            model.zero_grad(set_to_none=True)
    return step


def synchronize(device):
    if device.startswith('cuda'):
        torch.cuda.synchronize()


def main():
    args = parse_args()
    torch.set_num_threads(args.threads)
    if args.tune_malloc:
        tune_cpu_allocator()
    size = args.input_size * 2 if len(args.input_size) == 1 \
        else args.input_size
    dtype = DTYPES[args.dtype]
    inputs = torch.randn(args.batch, 3, *size, device=args.device,
                         dtype=dtype)
    if args.channels_last:
        inputs = inputs.contiguous(memory_format=torch.channels_last)
    steps = {}
    for name, model in build_models(args).items():
        model = model.to(args.device, dtype)
        if args.channels_last:
            model = model.to(memory_format=torch.channels_last)
        if args.compile:
            model = torch.compile(model)
        steps[name] = make_step(model, inputs, args.mode)
        for _ in range(args.warmup):
            steps[name]()
    times = {name: [] for name in steps}
    for _ in range(args.rounds):
        for name, step in steps.items():
            synchronize(args.device)
            start = time.perf_counter()
            for _ in range(args.iters):
                step()
            synchronize(args.device)
            times[name].append((time.perf_counter() - start) / args.iters)
    print(f'{args.mode}, batch {args.batch}, {size[0]}x{size[1]}, '
          f'{args.dtype}, {args.threads} threads, device {args.device}'
          f'{", channels_last" if args.channels_last else ""}'
          f'{", torch.compile" if args.compile else ""}'
          f'{", tuned malloc" if args.tune_malloc else ""}; median of '
          f'{args.rounds} interleaved rounds')
    reference = None
    print(f"{'model':<28} {'img/s':>8} {'ms/iter':>9} {'ratio':>7}")
    for name, samples in times.items():
        seconds = statistics.median(samples)
        throughput = args.batch / seconds
        reference = reference or throughput
        print(f'{name:<28} {throughput:>8.2f} {seconds * 1e3:>9.1f} '
              f'{throughput / reference:>7.3f}')


if __name__ == '__main__':
    main()
