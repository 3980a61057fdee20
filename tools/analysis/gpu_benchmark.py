# Copyright (c) mmunirep contributors. All rights reserved.
"""GPU benchmark of UniRepLKNet within a time budget: correctness on the
device; T against ConvNeXt-T, plain ops and (with --authors) the authors'
code, forward and fwd+bwd, fp32 (TF32) and bf16, batch 128 at 224,
channels-last; UperNet + XL at 640x640 (train and inference steps); the
13x13 depthwise conv alone (Triton vs cuDNN); a profile per model; S and
torch.compile rows as the budget allows. Writes DIR/gpu_benchmark.json and
DIR/gpu_benchmark.md after every row; on one H200 the default run ends
within 4 minutes (--budget-s after start-up, and a hard stop 15 s later).

    python tools/analysis/gpu_benchmark.py --out DIR [--authors unireplknet.py]
    python tools/analysis/gpu_benchmark.py --out DIR --device cpu --tiny

Exit status 1 if a correctness check failed or a row group raised (the
report is written either way; a run ended by the hard stop exits 0 unless
something failed, and its report says where it stopped). On CUDA, worker
processes first compile the run's Triton kernels into Triton's cache
(--warm-workers). On a GPU machine without internet install the wheels
collected by ``tools/make_wheelhouse.sh`` first (see docs/speed.md).
"""
import argparse
import sys

from mmunirep.analysis.gpu_benchmark import (DEFAULT_BUDGET_S,
                                             HARD_STOP_GRACE_S,
                                             run_gpu_benchmark)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--out', required=True, help='report directory')
    parser.add_argument('--device', default='cuda')
    parser.add_argument('--tiny', action='store_true',
                        help='toy sizes, one round: checks that every code '
                        'path runs (CI)')
    parser.add_argument('--budget-s', type=float, default=DEFAULT_BUDGET_S,
                        help='seconds for everything after start-up; row '
                        'groups that would not fit are skipped and listed '
                        '(default: %(default)s)')
    parser.add_argument('--authors', metavar='PATH',
                        help="the authors' unireplknet.py, timed next to "
                        'mmunirep (imported from PATH at run time)')
    parser.add_argument('--skip-compile', action='store_true',
                        help='leave out the torch.compile rows')
    parser.add_argument('--warm-workers', type=int,
                        help='processes compiling the Triton kernels before '
                        'the timed run (0: none; default: half the CPUs, '
                        'at most 8, on CUDA)')
    args = parser.parse_args()
    report = run_gpu_benchmark(
        args.out, args.device, args.tiny, args.budget_s, args.authors,
        args.skip_compile, args.warm_workers,
        hard_stop_s=args.budget_s + HARD_STOP_GRACE_S)
    print(report.markdown())
    if report.failures:
        sys.exit(f'error on {args.device}: ' + '; '.join(report.failures))


if __name__ == '__main__':
    main()
