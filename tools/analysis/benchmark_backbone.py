# Copyright (c) mmunirep contributors. All rights reserved.
"""Benchmark UniRepLKNet backbones side by side (images per second).

Every model runs in the same process, interleaved round by round, and the
median of the rounds is reported, so a noisy machine affects all models
alike; ratios are relative to the first model listed.

Examples::

    # T in inference structure vs training structure vs ConvNeXt-T / -S
    python tools/analysis/benchmark_backbone.py --arch t \
        --structure deploy train --compare convnext-tiny convnext-small
    # the fast paths against plain PyTorch ops on this machine
    python tools/analysis/benchmark_backbone.py --arch t --structure deploy \
        --with-plain --compare convnext-tiny --show-paths
    # forward + backward (a training step without the optimizer)
    python tools/analysis/benchmark_backbone.py --arch t --mode train \
        --structure train --compare convnext-tiny
"""
import argparse
import contextlib
import statistics

import torch

from mmunirep.analysis import interleaved_times, speed_ratio
from mmunirep.models import UniRepLKNet
from mmunirep.models.layers import impl_of
from mmunirep.ops import implementations, plain_ops
from mmunirep.ops.cpu import (LINEAR_SELECTOR, chosen_paths,
                              tune_cpu_allocator, uses_onednn)
from mmunirep.utils.machine import describe_machine

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
        'to every model alike, see mmunirep.ops.cpu.tune_cpu_allocator)')
    parser.add_argument('--rounds', type=int, default=7,
                        help='timed rounds (the median is reported)')
    parser.add_argument('--iters', type=int, default=2,
                        help='iterations per model per round')
    parser.add_argument('--warmup', type=int, default=2)
    parser.add_argument(
        '--probe-gemm', action='store_true',
        help='time F.linear against the oneDNN path for each FFN shape of '
        'the arch (batch, input size, dtype as given), then exit')
    parser.add_argument(
        '--kernels', default='auto', choices=['auto', 'plain', 'triton'],
        help="the backbone's ops implementation (model.backbone.kernels)")
    parser.add_argument(
        '--with-plain', action='store_true',
        help='also run each UniRepLKNet model with plain PyTorch ops (its '
        'fast paths off), to see what the fast paths gain on this machine')
    parser.add_argument(
        '--show-paths', action='store_true',
        help='list what each op runs with --kernels on --device, and the '
        'CPU path chosen for each shape on this machine')
    return parser.parse_args()


def build_models(args):
    """name -> classification-mode backbone (GAP + final norm)."""
    models = {}
    for structure in args.structure:
        model = UniRepLKNet(args.arch, out_indices=(3, ),
                            gap_before_final_norm=True, kernels=args.kernels)
        if structure == 'deploy':
            model.switch_to_deploy()
        models[f'unireplknet-{args.arch}-{structure}'] = model
    for name in args.compare:
        from mmpretrain.models import ConvNeXt
        arch = name.split('-', 1)[1] if name.startswith('convnext-') else name
        models[f'convnext-{arch}'] = ConvNeXt(
            arch, out_indices=(3, ), gap_before_final_norm=True)
    return models


def make_step(model, inputs, mode, plain=False):
    """One forward (``mode='forward'``) or forward + backward call, with
    the fast paths off when ``plain``."""
    context = plain_ops if plain else contextlib.nullcontext
    if mode == 'forward':
        model.eval()

        def step():
            with torch.inference_mode(), context():
                model(inputs)
    else:
        model.train()

        def step():
            with context():
                out = model(inputs)[0]
                out.float().square().mean().backward()
            model.zero_grad(set_to_none=True)
    return step


def ffn_shapes(arch, batch, size):
    """The FFN Linears of each stage: (stage, rows, in, out, GELU)."""
    dims = UniRepLKNet.arch_settings[arch]['dims']
    shapes = []
    for stage, dim in enumerate(dims):
        rows = batch * (size[0] // 4 >> stage) * (size[1] // 4 >> stage)
        shapes += [(stage, rows, dim, 4 * dim, True),
                   (stage, rows, 4 * dim, dim, False)]
    return shapes


def probe_gemm(args, size, dtype):
    """Print F.linear vs oneDNN for each FFN shape, as the selector times
    them the first time it meets the shape."""
    print(f"FFN Linears of {args.arch}, batch {args.batch}, {size[0]}x"
          f"{size[1]}, {args.dtype} (best of {LINEAR_SELECTOR.repeats})")
    print(f"{'stage':>5} {'M x K -> N':>20} {'GELU':>5} "
          f"{'F.linear ms':>12} {'oneDNN ms':>10} {'oneDNN speed-up':>16}")
    generator = torch.Generator().manual_seed(0)
    for stage, rows, c_in, c_out, gelu in ffn_shapes(args.arch, args.batch,
                                                     size):
        x = torch.randn(rows, c_in, generator=generator).to(dtype)
        weight = torch.randn(c_out, c_in, generator=generator).to(dtype)
        bias = torch.randn(c_out, generator=generator).to(dtype)
        times = LINEAR_SELECTOR.measure((x, weight, bias, gelu))
        print(f'{stage:>5} {f"{rows} x {c_in} -> {c_out}":>20} '
              f'{"yes" if gelu else "no":>5} '
              f"{times['F.linear'] * 1e3:>12.2f} "
              f"{times['onednn'] * 1e3:>10.2f} "
              f"{times['F.linear'] / times['onednn']:>15.2f}x")


def main():
    args = parse_args()
    torch.set_num_threads(args.threads)
    for line in describe_machine():
        print(line)
    if args.tune_malloc:
        tune_cpu_allocator()
    size = args.input_size * 2 if len(args.input_size) == 1 \
        else args.input_size
    dtype = DTYPES[args.dtype]
    if args.probe_gemm:
        with torch.no_grad():
            usable = uses_onednn(torch.empty(1, dtype=dtype))
        if args.device != 'cpu' or not usable:
            raise SystemExit('error: --probe-gemm needs the CPU with '
                             'oneDNN available and a float32 or bfloat16 '
                             '--dtype')
        probe_gemm(args, size, dtype)
        return
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
        if args.with_plain and name.startswith('unireplknet'):
            steps[f'{name}-plain'] = make_step(model, inputs, args.mode,
                                               plain=True)
    times = interleaved_times(
        steps, rounds=args.rounds, warmup=args.warmup, calls=args.iters,
        synchronize=torch.cuda.synchronize
        if args.device.startswith('cuda') else None)
    print(f'{args.mode}, batch {args.batch}, {size[0]}x{size[1]}, '
          f'{args.dtype}, {args.threads} threads, device {args.device}'
          f'{", channels_last" if args.channels_last else ""}'
          f'{", torch.compile" if args.compile else ""}'
          f'{", tuned malloc" if args.tune_malloc else ""}; median of '
          f'{args.rounds} interleaved rounds; ratio = median of the per-round '
          'speed ratios to the first model')
    reference = next(iter(times))
    print(f"{'model':<28} {'img/s':>8} {'ms/iter':>9} {'ratio':>7}")
    for name, samples in times.items():
        seconds = statistics.median(samples)
        print(f'{name:<28} {args.batch / seconds:>8.2f} '
              f'{seconds * 1e3:>9.1f} '
              f'{speed_ratio(times, name, reference):>7.3f}')
    if args.show_paths:
        device = torch.device(args.device).type
        print(f'kernels={args.kernels!r} on {device} (op -> implementation):')
        for op, family in implementations(impl_of(args.kernels),
                                          device).items():
            print(f'  {op}: {family}')
        print('CPU paths chosen (selector: shape -> path)')
        for selector, choices in chosen_paths().items():
            for key, path in choices.items():
                print(f'  {selector}: {key} -> {path}')


if __name__ == '__main__':
    main()
