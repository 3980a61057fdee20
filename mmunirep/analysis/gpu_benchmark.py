# Copyright (c) mmunirep contributors. All rights reserved.
"""The GPU benchmark: correctness of every fast path on the device, then
UniRepLKNet against ConvNeXt, forward and forward + backward, in float32 and
bfloat16 autocast, channels-last, with the share of depthwise convolutions
and the peak memory.

Meant for a GPU machine without internet that has torch (and perhaps timm)
but no OpenMMLab packages: ``tools/make_wheelhouse.sh`` collects what
mmunirep needs. ``tiny=True`` runs the same code on any device in seconds
(CI runs it on the CPU).
"""
import copy
import json
import os
import statistics
from contextlib import nullcontext
from typing import Callable, Dict, List, Optional, Sequence

import torch
from mmengine.logging import MMLogger
from torch import Tensor, nn

from mmunirep.analysis.timing import interleaved_times, speed_ratio
from mmunirep.models import UniRepLKNet
from mmunirep.models.layers import GRN, DilatedReparamBlock, plain_ops
from mmunirep.testing import (randomize_for_fusion, reference_drb_forward,
                              reference_grn, relative_error)
from mmunirep.utils import atomic_write_text
from mmunirep.utils.machine import describe_machine, machine_info

#: ConvNeXt of the same size as each UniRepLKNet arch (the paper's peers).
PEERS = {'t': 'tiny', 's': 'small', 'a': 'atto'}
#: timm's names of the ConvNeXt archs.
TIMM_CONVNEXT = {'tiny': 'convnext_tiny', 'small': 'convnext_small',
                 'atto': 'convnext_atto'}


# ------------------------------------------------------------ correctness
def _check(name: str, error: float, tolerance: float) -> dict:
    return dict(check=name, max_rel_error=float(error), tolerance=tolerance,
                passed=bool(error <= tolerance))


def correctness_checks(device: str, size: int = 64) -> List[dict]:
    """Every fast path against its plain formulation, on ``device``.

    Returns:
        list[dict]: ``check``, ``max_rel_error``, ``tolerance``, ``passed``.
    """
    gen = torch.Generator().manual_seed(0)
    checks = []

    # GRN: hand-written backward against autograd of the written-out formula
    grn = randomize_for_fusion(GRN(64)).to(device)
    x = torch.randn(2, 9, 7, 64, generator=gen).to(device).requires_grad_()
    weight = torch.randn(2, 9, 7, 64, generator=gen).to(device)
    (grn(x) * weight).sum().backward()
    ours = [x.grad.clone(), grn.gamma.grad.clone(), grn.beta.grad.clone()]
    x.grad = None
    grn.zero_grad()
    (reference_grn(grn, x) * weight).sum().backward()
    ref = [x.grad, grn.gamma.grad, grn.beta.grad]
    checks.append(_check('GRN forward + backward, float32',
                         max(relative_error(a, b) for a, b in zip(ours, ref)),
                         1e-5))

    # low precision on large activations: no overflow, close to float32
    big = (torch.randn(2, 56, 56, 64, generator=gen) * 300).to(device)
    reference = reference_grn(grn, big).detach()
    for dtype in (torch.float16, torch.bfloat16):
        with torch.autocast(torch.device(device).type, dtype=dtype):
            out = grn(big.to(dtype)).float()
        error = relative_error(out, reference) if torch.isfinite(
            out).all() else float('inf')
        checks.append(_check(f'GRN in {str(dtype)[6:]} on large '
                             'activations (finite, close to float32)',
                             error, 2e-2))

    # the merged Dilated Reparam Block (eval) against its branches
    drb = randomize_for_fusion(DilatedReparamBlock(32, 13)).to(device).eval()
    x = torch.randn(2, 32, 20, 17, generator=gen).to(device)
    with torch.no_grad():
        checks.append(_check('Dilated Reparam Block merged in eval mode',
                             relative_error(drb(x),
                                            reference_drb_forward(drb, x)),
                             1e-5))

    # whole models: re-parameterization, inference and training fast paths
    model = randomize_for_fusion(UniRepLKNet('a')).to(device).eval()
    x = torch.randn(2, 3, size, size, generator=gen).to(device)
    deployed = copy.deepcopy(model)
    deployed.switch_to_deploy()
    with torch.no_grad():
        with plain_ops():
            plain = model(x)
        fast, deploy_out = model(x), deployed(x)
    checks.append(_check(
        'inference fast paths against the plain ops',
        max(relative_error(a, b) for a, b in zip(fast, plain)), 1e-5))
    checks.append(_check(
        'deploy structure against the training structure',
        max(relative_error(a, b) for a, b in zip(deploy_out, plain)), 1e-4))
    grads = []
    for plain_context in (plain_ops(), nullcontext()):
        trained = copy.deepcopy(model).train()
        with plain_context:
            sum(o.square().mean() for o in trained(x)).backward()
        grads.append(torch.cat([p.grad.flatten()
                                for p in trained.parameters()]))
    # over all gradients together: single ones that nearly cancel (GRN's
    # beta) are only as exact as the precision allows
    checks.append(_check(
        'training step gradients against the plain ops (norm of the error '
        'over all parameters)',
        ((grads[1] - grads[0]).norm() / grads[0].norm()).item(), 1e-4))
    return checks


# ------------------------------------------------------------ models
def build_peer(arch: str) -> nn.Module:
    """ConvNeXt of ``arch`` (classification mode): mmpretrain's if it is
    installed, else timm's."""
    try:
        from mmpretrain.models import ConvNeXt
    except ImportError:
        import timm
        return timm.create_model(TIMM_CONVNEXT[arch], num_classes=0)
    return ConvNeXt(arch, out_indices=(3, ), gap_before_final_norm=True)


def first_output(out) -> Tensor:
    return out[0] if isinstance(out, (tuple, list)) else out


# ------------------------------------------------------------ timing
def _synchronize(device: str) -> None:
    if device.startswith('cuda'):
        torch.cuda.synchronize()


def make_step(model: nn.Module, x: Tensor, mode: str,
              dtype: Optional[torch.dtype]) -> Callable[[], None]:
    """One forward (inference) or forward + backward (training) call."""
    autocast = (torch.autocast(x.device.type, dtype=dtype)
                if dtype is not None else nullcontext())
    if mode == 'forward':
        model.eval()

        def step():
            with torch.inference_mode(), autocast:
                model(x)
    else:
        model.train()

        def step():
            with autocast:
                out = first_output(model(x))
            out.float().square().mean().backward()
            model.zero_grad(set_to_none=True)
    return step


def depthwise_share(step: Callable[[], None], device: str) -> float:
    """Share of device time spent in depthwise convolutions (weights of
    shape (C, 1, k, k), forward and backward) in one call of ``step``."""
    from torch.profiler import ProfilerActivity, profile
    activities = [ProfilerActivity.CPU]
    if device.startswith('cuda'):
        activities.append(ProfilerActivity.CUDA)
    with profile(activities=activities, record_shapes=True) as prof:
        step()
        _synchronize(device)
    total = depthwise = 0.
    on_cuda = device.startswith('cuda')
    for event in prof.key_averages(group_by_input_shape=True):
        spent = (getattr(event, 'self_device_time_total', 0) if on_cuda
                 else event.self_cpu_time_total)
        total += spent
        shapes = event.input_shapes or []
        if 'conv' in event.key and len(shapes) > 2 and any(
                len(s) == 4 and s[1] == 1 and s[2] > 1 for s in shapes[1:3]):
            depthwise += spent
    return depthwise / total if total else 0.


def speed_table(device: str, archs: Sequence[str], batches: Sequence[int],
                size: int, rounds: int) -> List[dict]:
    """UniRepLKNet against ConvNeXt, every mode, precision and batch."""
    rows = []
    on_cuda = device.startswith('cuda')
    for arch in archs:
        for mode in ('forward', 'forward+backward'):
            ours = UniRepLKNet(arch, out_indices=(3, ),
                               gap_before_final_norm=True)
            if mode == 'forward':
                ours.switch_to_deploy()
            models = {f'unireplknet-{arch}': ours,
                      f'convnext-{PEERS[arch]}': build_peer(PEERS[arch])}
            models = {n: m.to(device).to(memory_format=torch.channels_last)
                      for n, m in models.items()}
            for dtype in (None, torch.bfloat16):
                for batch in batches:
                    x = torch.randn(batch, 3, size, size, device=device)
                    x = x.contiguous(memory_format=torch.channels_last)
                    steps = {n: make_step(m, x, mode, dtype)
                             for n, m in models.items()}
                    memory = {}
                    for name, step in steps.items():
                        if on_cuda:
                            torch.cuda.reset_peak_memory_stats()
                        step()
                        _synchronize(device)
                        memory[name] = (torch.cuda.max_memory_allocated()
                                        / 2**20 if on_cuda else None)
                    times = interleaved_times(
                        steps, rounds=rounds,
                        synchronize=lambda: _synchronize(device))
                    share = depthwise_share(steps[f'unireplknet-{arch}'],
                                            device)
                    for name, samples in times.items():
                        rows.append(dict(
                            model=name, mode=mode,
                            dtype='bf16 autocast' if dtype else 'fp32',
                            batch=batch,
                            img_per_s=batch / statistics.median(samples),
                            vs_convnext=speed_ratio(
                                times, name, f'convnext-{PEERS[arch]}'),
                            peak_mib=memory[name],
                            depthwise_share=share if name.startswith(
                                'unireplknet') else None))
                    MMLogger.get_current_instance().info(
                        f'{arch} {mode} {rows[-1]["dtype"]} batch {batch}: ' +
                        ', '.join(f'{r["model"]} {r["img_per_s"]:.0f} img/s'
                                  for r in rows[-2:]))
    return rows


# ------------------------------------------------------------ report
def markdown(info: dict, checks: List[dict], rows: List[dict]) -> str:
    """The report as markdown: machine, checks, speed table."""
    lines = ['# UniRepLKNet GPU benchmark', '']
    lines += [f'- {line}' for line in describe_machine(info)]
    lines += ['', '## Correctness of the fast paths on this device', '',
              '| check | max rel. error | tolerance | result |',
              '|---|---|---|---|']
    lines += [f"| {c['check']} | {c['max_rel_error']:.2e} | "
              f"{c['tolerance']:.0e} | {'pass' if c['passed'] else 'FAIL'} |"
              for c in checks]
    lines += ['', '## Speed (channels-last; img/s, median of interleaved '
              'rounds)', '',
              '| model | mode | precision | batch | img/s | vs ConvNeXt | '
              'peak MiB | depthwise share |', '|---|---|---|---|---|---|---|---|']
    for r in rows:
        peak = '-' if r['peak_mib'] is None else f"{r['peak_mib']:.0f}"
        share = '-' if r['depthwise_share'] is None \
            else f"{100 * r['depthwise_share']:.0f}%"
        lines.append(f"| {r['model']} | {r['mode']} | {r['dtype']} | "
                     f"{r['batch']} | {r['img_per_s']:.1f} | "
                     f"{r['vs_convnext']:.2f} | {peak} | {share} |")
    return '\n'.join(lines) + '\n'


def run_gpu_benchmark(out_dir: str, device: str = 'cuda',
                      tiny: bool = False) -> dict:
    """Run everything and write ``gpu_benchmark.json`` and ``.md``.

    Args:
        out_dir (str): Where the report goes.
        device (str): 'cuda' (the real run) or 'cpu'. Defaults to 'cuda'.
        tiny (bool): The 'a' arch at batch 2, 64x64, one round: a check
            that the script works, not a measurement. Defaults to False.

    Returns:
        dict: ``machine``, ``checks`` and ``speed``.
    """
    if device.startswith('cuda') and not torch.cuda.is_available():
        raise RuntimeError('no CUDA device: run with --device cpu --tiny to '
                           'check the script, or on a GPU machine')
    if device.startswith('cuda'):
        torch.backends.cudnn.benchmark = True
    info = machine_info()
    checks = correctness_checks(device)
    if tiny:
        rows = speed_table(device, ['a'], [2], 64, rounds=1)
    else:
        rows = speed_table(device, ['t', 's'], [64, 128], 224, rounds=10)
    report = dict(machine=info, checks=checks, speed=rows)
    os.makedirs(out_dir, exist_ok=True)
    atomic_write_text(json.dumps(report, indent=2),
                      os.path.join(out_dir, 'gpu_benchmark.json'))
    atomic_write_text(markdown(info, checks, rows),
                      os.path.join(out_dir, 'gpu_benchmark.md'))
    return report
