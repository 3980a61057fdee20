# Copyright (c) mmunirep contributors. All rights reserved.
"""The GPU benchmark's report: one JSON and one markdown file, rewritten
(atomically) after every row, so a run killed at any point leaves the rows
it finished."""
import json
import os
import threading
from typing import Dict, List, NamedTuple, Optional, Sequence

from mmunirep.utils import atomic_write_text
from mmunirep.utils.machine import describe_machine


class Column(NamedTuple):
    """A table column: the row key, its header, a format spec (None: as
    text)."""
    key: str
    header: str
    spec: Optional[str] = None


class Table(NamedTuple):
    """A section of the report: title, how to read it, columns."""
    title: str
    legend: str
    columns: Sequence[Column]


#: Display order of the values of these row keys (others keep run order).
DISPLAY_ORDER = {
    'arch': ['a', 't', 's'],
    'mode': ['forward', 'fwd+bwd'],
    'precision': ['fp32 (TF32)', 'bf16'],
}

_TIMING = ('median of interleaved rounds; ratios are medians of per-round '
           'ratios (> 1: faster)')
_MEMORY = ('peak GiB: peak allocated memory of the step above what was '
           'allocated before it, plus what the step keeps allocated '
           '(parameters, buffers, optimizer state); first call: its '
           'seconds (cuDNN benchmark, Triton autotuning, compilation)')

#: The sections, in report order.
TABLES: Dict[str, Table] = {
    'models': Table(
        'Speed: UniRepLKNet against ConvNeXt and plain ops',
        'Channels-last input and weights; forward = inference structure '
        'under torch.inference_mode(); fwd+bwd = training structure, '
        'loss out.float().square().mean(); bf16 through torch.autocast, '
        'fp32 with TF32 allowed; ' + _TIMING + '; ' + _MEMORY + '.',
        [Column('arch', 'arch'), Column('mode', 'mode'),
         Column('precision', 'precision'), Column('model', 'model'),
         Column('img_per_s', 'img/s', '.1f'),
         Column('ms_per_step', 'ms/step', '.1f'),
         Column('vs_convnext', 'vs ConvNeXt', '.2f'),
         Column('vs_plain', 'vs plain ops', '.2f'),
         Column('peak_gib', 'peak GiB', '.2f'),
         Column('first_call_s', 'first call s', '.1f'),
         Column('rounds', 'rounds')]),
    'segmentation': Table(
        'Headline config: UperNet + UniRepLKNet-XL, ADE20K crop',
        'The decode (UPerHead) and auxiliary (FCNHead) heads are '
        'mmunirep.analysis.gpu_benchmark.upernet_plain, a plain-PyTorch '
        'equivalent of mmseg\'s (same layers and parameter count), not '
        'mmseg itself '
        '(mmseg needs mmcv\'s compiled ops). Backbone as the config sets '
        'it (drop path 0.4, gradient checkpointing), BN instead of SyncBN '
        '(one GPU), default kernels, bf16 autocast. train = forward, both '
        'heads\' losses, '
        'backward and a fused AdamW step (its state in the peak memory); '
        'inference = deploy backbone + decode head, logits resized to the '
        'crop and argmax, under torch.inference_mode(); median of timed '
        'rounds; ' + _MEMORY + '.',
        [Column('config', 'config'), Column('step', 'step'),
         Column('model', 'model'),
         Column('img_per_s', 'img/s', '.2f'),
         Column('ms_per_step', 'ms/step', '.1f'),
         Column('peak_gib', 'peak GiB', '.2f'),
         Column('first_call_s', 'first call s', '.1f'),
         Column('rounds', 'rounds')]),
    'micro': Table(
        'Depthwise convolution alone',
        'mmunirep.ops.depthwise_conv2d with impl=\'triton\' or \'torch\' '
        '(F.conv2d, cuDNN), bf16 activations under autocast (float32 in '
        'tiny runs), float32 weights as in the model, stride 1, same '
        'padding; ms per call, '
        'median of interleaved rounds; fwd+bwd includes both gradients.',
        [Column('shape', 'N x C x H x W'), Column('kernel', 'k'),
         Column('impl', 'impl'), Column('layout', 'layout'),
         Column('forward_ms', 'forward ms', '.3f'),
         Column('fwd_bwd_ms', 'fwd+bwd ms', '.3f'),
         Column('first_call_s', 'first call s', '.1f')]),
    'profile': Table(
        'Where the time goes (one profiled step)',
        'torch.profiler over one fwd+bwd bf16 step after a warm-up call. '
        'device ms: sum of kernel times; depthwise: kernels of depthwise '
        'convolutions (forward and both gradients); layout: format '
        'conversions (cuDNN/cuBLAS transform kernels, and copies made by '
        '.contiguous(memory_format=...)); host ms: CPU time of the step\'s '
        'ops on all threads, waits for the device excluded (profiler '
        'overhead included); wall ms: the profiled step end to end. On a '
        'CPU run: the ops\' CPU times instead of kernels.',
        [Column('model', 'model'), Column('device_ms', 'device ms', '.1f'),
         Column('depthwise_ms', 'depthwise ms', '.1f'),
         Column('depthwise_share', 'depthwise share', '.0%'),
         Column('layout_kernels', 'layout kernels'),
         Column('layout_ms', 'layout ms', '.1f'),
         Column('host_ms', 'host ms', '.1f'),
         Column('wall_ms', 'wall ms', '.1f'),
         Column('layout_kernel_names', 'layout kernel names')]),
    'compile': Table(
        'torch.compile (default inductor) against eager',
        'The backbone wrapped in torch.compile(model); compile s: seconds '
        'of the compiled model\'s first call minus an eager call; '
        + _TIMING + '.',
        [Column('arch', 'arch'), Column('mode', 'mode'),
         Column('precision', 'precision'), Column('model', 'model'),
         Column('img_per_s', 'img/s', '.1f'),
         Column('ms_per_step', 'ms/step', '.1f'),
         Column('vs_eager', 'vs eager', '.2f'),
         Column('compile_s', 'compile s', '.1f'),
         Column('rounds', 'rounds')]),
}


def _cell(value, spec: Optional[str]) -> str:
    if value is None:
        return '-'
    if isinstance(value, (list, tuple)):
        return ', '.join(str(v) for v in value) or '-'
    return format(value, spec) if spec else str(value)


def _display_key(row: dict):
    return tuple(DISPLAY_ORDER[k].index(row[k])
                 if row.get(k) in DISPLAY_ORDER[k] else len(DISPLAY_ORDER[k])
                 for k in DISPLAY_ORDER)


def markdown_table(table: Table, rows: List[dict]) -> List[str]:
    """``rows`` as markdown lines, in display order."""
    lines = ['| ' + ' | '.join(c.header for c in table.columns) + ' |',
             '|' + '---|' * len(table.columns)]
    for row in sorted(rows, key=_display_key):
        lines.append('| ' + ' | '.join(_cell(row.get(c.key), c.spec)
                                       for c in table.columns) + ' |')
    return lines


class BenchmarkReport:
    """Everything the benchmark found, saved after every change.

    Args:
        out_dir (str): Gets ``gpu_benchmark.json`` and ``gpu_benchmark.md``.
        machine (dict): From :func:`mmunirep.utils.machine.machine_info`.
        settings (dict): What the run measures (device, sizes, budget).
    """

    def __init__(self, out_dir: str, machine: dict, settings: dict) -> None:
        self.out_dir = out_dir
        self.data = dict(machine=machine, settings=settings, checks=[],
                         warmup=None, sections={name: [] for name in TABLES},
                         goals=[], skipped=[], errors=[], notes=[],
                         elapsed_s=0., finished=False)
        # the hard stop saves from a timer thread
        self._lock = threading.RLock()
        os.makedirs(out_dir, exist_ok=True)

    @property
    def failures(self) -> List[str]:
        """The failed checks and the groups that raised."""
        return ([f"check failed: {c['check']}" for c in self.data['checks']
                 if not c['passed']] +
                [f"{e['section']}: {e['what']}: {e['error']}"
                 for e in self.data['errors']])

    def add_checks(self, checks: List[dict]) -> None:
        """Record correctness checks (``check``, ``max_rel_error``,
        ``tolerance``, ``passed``) and save."""
        with self._lock:
            self.data['checks'].extend(checks)
            self.save()

    def add_rows(self, section: str, rows: List[dict]) -> None:
        """Record rows of a section of :data:`TABLES` and save."""
        with self._lock:
            self.data['sections'][section].extend(rows)
            self.save()

    def skip(self, section: str, what: str, reason: str) -> None:
        """Record that ``what`` was not measured, and why, and save."""
        with self._lock:
            self.data['skipped'].append(dict(section=section, what=what,
                                             reason=reason))
            self.save()

    def fail(self, section: str, what: str, error: str) -> None:
        """Record that ``what`` raised ``error``, and save."""
        with self._lock:
            self.data['errors'].append(dict(section=section, what=what,
                                            error=error))
            self.save()

    def set(self, key: str, value) -> None:
        """Set a top-level entry (``warmup``, ``goals``, ``notes``,
        ``elapsed_s``, ``finished``) and save."""
        with self._lock:
            self.data[key] = value
            self.save()

    def save(self) -> None:
        """Write both files atomically."""
        with self._lock:
            atomic_write_text(json.dumps(self.data, indent=2),
                              os.path.join(self.out_dir,
                                           'gpu_benchmark.json'))
            atomic_write_text(self.markdown(),
                              os.path.join(self.out_dir, 'gpu_benchmark.md'))

    def markdown(self) -> str:
        """The report: machine, checks, one table per section, goals,
        skipped rows, notes."""
        data = self.data
        settings = data['settings']
        lines = ['# UniRepLKNet GPU benchmark', '']
        lines += [f'- {line}' for line in describe_machine(data['machine'])]
        lines.append('- ' + ', '.join(f'{k}: {v}'
                                      for k, v in settings.items()))
        state = ('finished' if data['finished'] else
                 'STOPPED before the end (or still running)')
        lines += [f"- run: {state}, {data['elapsed_s']:.0f} s", '',
                  '## Correctness on this device', '',
                  '| check | max rel. error | tolerance | result |',
                  '|---|---|---|---|']
        lines += [f"| {c['check']} | {c['max_rel_error']:.2e} | "
                  f"{c['tolerance']:.0e} | "
                  f"{'pass' if c['passed'] else 'FAIL'} |"
                  for c in data['checks']]
        warmup = data['warmup']
        if warmup:
            lines += ['', '## Triton warm-up', '', warmup['summary'], '',
                      '| task | s | result |', '|---|---|---|']
            lines += [f"| {t['task']} | {_cell(t['seconds'], '.1f')} | "
                      f"{t['result']} |" for t in warmup['tasks']]
        for name, table in TABLES.items():
            lines += ['', f'## {table.title}', '', table.legend, '']
            rows = data['sections'][name]
            lines += markdown_table(table, rows) if rows else ['(no rows)']
        if data['goals']:
            lines += ['', '## Goals', '']
            lines += [f"- {g['goal']}: {g['result']}" for g in data['goals']]
        lines += ['', '## Skipped', '']
        lines += [f"- {s['section']}: {s['what']}: {s['reason']}"
                  for s in data['skipped']] or ['(nothing)']
        if data['errors']:
            lines += ['', '## Errors', '']
            lines += [f"- {e['section']}: {e['what']}: {e['error']}"
                      for e in data['errors']]
        if data['notes']:
            lines += ['', '## Notes', '']
            lines += [f'- {note}' for note in data['notes']]
        return '\n'.join(lines) + '\n'
