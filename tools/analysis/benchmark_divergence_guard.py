# Copyright (c) mmunirep contributors. All rights reserved.
"""What DivergenceGuardHook costs per training iteration, beside the
training step it guards.

    python tools/analysis/benchmark_divergence_guard.py CONFIG \
        --cfg-options train_dataloader.dataset.data_root=DATA \
        [--rounds 7] [--calls 2] [--hook-calls 1000] [--json OUT]

One process, one batch of the config's training data, the config's model
and optimizer. Two steps run interleaved, round by round: a training step
(forward, backward, optimizer update) and the same step followed by the
guard's ``after_train_iter`` as the runner calls it (the guard keeps the
loss tensors; every ``interval`` iterations it reads them, its only device
synchronisation). Reported: the ratio of the two (the median of the
per-round ratios; other load on the machine makes it noisy), the guard's
time inside each guarded step over that step's training time (the median;
measured within the same call, so load hardly moves it), and the guard
alone over ``--hook-calls`` iterations (checks included, among them the
weight checks of the iterations the checkpoint hook saves) with the outputs
of a real step, as a share of the step.
"""
import argparse
import json
import statistics
import tempfile
import time

import torch
from mmengine.runner import Runner

import mmunirep  # noqa: F401  (environment check, checkpoint allow-list)
from mmunirep.analysis import interleaved_times, speed_ratio
from mmunirep.apis import load_config
from mmunirep.apis.cli import add_cfg_options_arguments, report_user_errors
from mmunirep.engine import DivergenceGuardHook
from mmunirep.utils import atomic_write_text
from mmunirep.utils.machine import describe_machine, machine_info


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('--rounds', type=int, default=7)
    parser.add_argument('--warmup', type=int, default=1)
    parser.add_argument('--calls', type=int, default=2,
                        help='training steps per round and kind')
    parser.add_argument('--hook-calls', type=int, default=1000,
                        help='iterations the guard alone is timed over')
    parser.add_argument('--json', help='also write the results here')
    add_cfg_options_arguments(parser)
    return parser.parse_args()


def main():
    args = parse_args()
    with report_user_errors():
        cfg = load_config(args.config, args.cfg_options, args.strict_options)
    with tempfile.TemporaryDirectory() as work_dir:
        cfg.work_dir, cfg.log_level = work_dir, 'WARNING'
        runner = Runner.from_cfg(cfg)
        runner.optim_wrapper = runner.build_optim_wrapper(
            runner.optim_wrapper)
        loop = runner.train_loop  # builds the training data loader
        guards = [h for h in runner.hooks
                  if isinstance(h, DivergenceGuardHook)]
        if not guards:
            raise SystemExit(f'error: {args.config} has no '
                             'mmunirep.DivergenceGuardHook')
        guard = guards[0]
        batch = next(loop.dataloader_iterator)
        runner.model.train()
        on_gpu = next(runner.model.parameters()).is_cuda

        def step():
            return runner.model.train_step(batch, runner.optim_wrapper)

        shares = []  # guard time / training time, within each call

        def guarded_step():
            start = time.perf_counter()
            outputs = step()
            trained = time.perf_counter()
            guard.after_train_iter(runner, loop.iter, batch, outputs)
            loop._iter += 1
            if on_gpu:
                torch.cuda.synchronize()
            end = time.perf_counter()
            shares.append((end - trained) / (trained - start))

        times = interleaved_times(
            {'step': step, 'step + guard': guarded_step},
            rounds=args.rounds, warmup=args.warmup, calls=args.calls,
            synchronize=torch.cuda.synchronize if on_gpu else None)
        outputs = step()
        start = time.perf_counter()
        for _ in range(args.hook_calls):
            guard.after_train_iter(runner, loop.iter, batch, outputs)
            loop._iter += 1
        if on_gpu:
            torch.cuda.synchronize()
        hook_s = (time.perf_counter() - start) / args.hook_calls

    step_s = statistics.median(times['step'])
    ratio = speed_ratio(times, 'step', 'step + guard')
    inside = statistics.median(shares[-args.rounds * args.calls:])
    share = hook_s / step_s
    for line in describe_machine():
        print(line)
    print(f'{args.config}: training step at batch '
          f'{cfg.train_dataloader.batch_size}, DivergenceGuardHook interval '
          f'{guard.interval}; median of {args.rounds} interleaved rounds of '
          f'{args.calls} step(s)')
    print(f"{'step':<14} {step_s * 1e3:>10.1f} ms")
    print(f"{'step + guard':<14} "
          f"{statistics.median(times['step + guard']) * 1e3:>10.1f} ms  "
          f'ratio {ratio:.4f} (median of the per-round ratios)')
    print(f"{'guard in step':<14} {inside * 100:>10.4f} % of the training "
          'time of the same call (median)')
    print(f"{'guard alone':<14} {hook_s * 1e3:>10.4f} ms  = "
          f'{share * 100:.4f}% of a step (mean over {args.hook_calls} '
          'iterations, checks included)')
    if args.json:
        atomic_write_text(
            json.dumps(dict(config=args.config, machine=machine_info(),
                            step_ms=step_s * 1e3, ratio=ratio,
                            guard_in_step_share=inside,
                            guard_ms=hook_s * 1e3, guard_share=share),
                       indent=2), args.json)


if __name__ == '__main__':
    main()
