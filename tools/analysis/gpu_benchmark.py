# Copyright (c) mmunirep contributors. All rights reserved.
"""GPU benchmark of UniRepLKNet: fast-path correctness on the device, speed
against ConvNeXt (forward and forward + backward, fp32 and bf16 autocast,
channels-last, batch 64 and 128 at 224), depthwise-conv share, peak memory.
Writes DIR/gpu_benchmark.json and DIR/gpu_benchmark.md; under 8 minutes on
one H100/H200-class GPU.

    python tools/analysis/gpu_benchmark.py --out DIR
    python tools/analysis/gpu_benchmark.py --out DIR --device cpu --tiny

On a GPU machine without internet: install the wheels collected by
``tools/make_wheelhouse.sh`` first (see the README).
"""
import argparse
import sys

from mmunirep.analysis.gpu_benchmark import run_gpu_benchmark


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--out', required=True, help='report directory')
    parser.add_argument('--device', default='cuda')
    parser.add_argument('--tiny', action='store_true',
                        help='the smallest model and input, one round: '
                        'checks that the script runs (CI)')
    args = parser.parse_args()
    report = run_gpu_benchmark(args.out, args.device, args.tiny)
    with open(f'{args.out}/gpu_benchmark.md') as f:
        print(f.read())
    failed = [c['check'] for c in report['checks'] if not c['passed']]
    if failed:
        sys.exit(f'error: fast paths wrong on {args.device}: '
                 + '; '.join(failed))


if __name__ == '__main__':
    main()
