# Copyright (c) mmunirep contributors. All rights reserved.
"""End-to-end inference throughput of a config's model (pre-processing,
forward and post-processing as in testing), training vs inference structure.

Both structures run in the same process, interleaved round by round, and the
median of the rounds is reported (noisy machines affect both alike).

    python tools/analysis/benchmark.py CONFIG [--checkpoint CKPT] \
        [--structure train deploy] [--dtype fp32|fp16|bf16] [--batch 1] \
        [--shape H W] [--device cpu|cuda] [--rounds 7]

fp16 / bf16 run under torch.autocast (mixed precision inference).
"""
import argparse
import json
import statistics
import tempfile
from contextlib import nullcontext

import mmcv
import numpy as np
import torch
from mmengine.dataset import pseudo_collate

import mmunirep  # noqa: F401  (environment check, checkpoint allow-list)
from mmunirep.analysis import interleaved_times, speed_ratio
from mmunirep.apis import build_model, build_test_pipeline, load_config
from mmunirep.apis.cli import add_cfg_options_arguments, report_user_errors
from mmunirep.ops.cpu import tune_cpu_allocator
from mmunirep.utils import atomic_write_text
from mmunirep.utils.machine import describe_machine, machine_info

DTYPES = dict(fp16=torch.float16, bf16=torch.bfloat16)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('--checkpoint', help='weights (random if omitted)')
    parser.add_argument('--structure', nargs='+', default=['train', 'deploy'],
                        choices=['train', 'deploy'])
    parser.add_argument('--dtype', default='fp32',
                        choices=['fp32', 'fp16', 'bf16'])
    parser.add_argument('--batch', type=int, default=1)
    parser.add_argument('--shape', type=int, nargs=2, default=[512, 512],
                        help='H W of the (generated) input image')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--threads', type=int, help='torch CPU threads')
    parser.add_argument('--rounds', type=int, default=7)
    parser.add_argument('--warmup', type=int, default=2)
    parser.add_argument('--tune-malloc', action='store_true',
                        help='raise glibc malloc thresholds (CPU)')
    parser.add_argument('--json', help='also write the results here')
    add_cfg_options_arguments(parser)
    return parser.parse_args()


def make_batch(cfg, shape, batch):
    """A packed batch from a random image of the given shape."""
    image = np.random.default_rng(0).integers(
        0, 256, (*shape, 3), dtype=np.uint8)
    with tempfile.NamedTemporaryFile(suffix='.png') as f:
        mmcv.imwrite(image, f.name)
        item = build_test_pipeline(cfg)(dict(img_path=f.name, img_id=0))
    return pseudo_collate([item] * batch)


def main():
    args = parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.tune_malloc:
        tune_cpu_allocator()
    with report_user_errors():
        cfg = load_config(args.config, args.cfg_options, args.strict_options)
        models = {
            s: build_model(cfg, args.checkpoint, deploy=s == 'deploy',
                           device=args.device)
            for s in args.structure
        }
    data = make_batch(cfg, args.shape, args.batch)
    device_type = torch.device(args.device).type
    autocast = (torch.autocast(device_type, dtype=DTYPES[args.dtype])
                if args.dtype in DTYPES else nullcontext())

    def run(model):
        with torch.no_grad(), autocast:
            model.test_step(data)

    times = interleaved_times(
        {structure: (lambda m=model: run(m))
         for structure, model in models.items()},
        rounds=args.rounds, warmup=args.warmup,
        synchronize=torch.cuda.synchronize if device_type == 'cuda' else None)
    for line in describe_machine():
        print(line)
    print(f'{args.config}: batch {args.batch}, {args.shape[0]}x'
          f'{args.shape[1]} input, {args.dtype}, {args.device}, '
          f'{torch.get_num_threads()} threads; median of {args.rounds} '
          'interleaved rounds; ratio = median of the per-round speed ratios')
    print(f"{'structure':<10} {'img/s':>8} {'ms/batch':>9} {'ratio':>7}")
    results, reference = {}, next(iter(times))
    for structure, samples in times.items():
        seconds = statistics.median(samples)
        ratio = speed_ratio(times, structure, reference)
        results[structure] = dict(img_per_s=args.batch / seconds,
                                  ms_per_batch=seconds * 1e3,
                                  ratio=ratio)
        print(f'{structure:<10} {args.batch / seconds:>8.2f} '
              f'{seconds * 1e3:>9.1f} {ratio:>7.3f}')
    if args.json:
        atomic_write_text(
            json.dumps(dict(config=args.config, machine=machine_info(),
                            results=results), indent=2), args.json)


if __name__ == '__main__':
    main()
