# Copyright (c) mmunirep contributors. All rights reserved.
"""tools/analysis/gpu_benchmark.py runs end to end (``--device cpu --tiny``,
as CI does; the Triton rows and checks under the Triton interpreter):
every check, every row group, both reports; and the parts a tiny CPU run
does not reach: the time budget, the hard stop, the Triton warm-up
workers, the report written after every row, and the profile's kernel
attribution (on synthetic CUDA events)."""
import json
import textwrap
import time
from types import SimpleNamespace

import pytest
from torch.autograd import DeviceType
from torch.autograd.profiler_util import Kernel

from mmunirep.analysis.gpu_benchmark.budget import Budget, HardStop
from mmunirep.analysis.gpu_benchmark.models import (AuthorsCodeError,
                                                    load_authors_module)
from mmunirep.analysis.gpu_benchmark.profile import summarize_events
from mmunirep.analysis.gpu_benchmark.report import BenchmarkReport
from mmunirep.analysis.gpu_benchmark.settings import TINY
from mmunirep.analysis.gpu_benchmark.warmup import warm_tasks, warm_up
from tests.test_tools.conftest import run_tool

#: A stand-in for the authors' unireplknet.py: their constructor and
#: re-parameterization API, and their habit of printing.
FAKE_AUTHORS = textwrap.dedent('''
    from torch import nn
    print('authors: import')


    class UniRepLKNet(nn.Module):
        def __init__(self, depths, dims, num_classes=1000, **kwargs):
            super().__init__()
            print('authors: building', depths, dims)
            self.stem = nn.Conv2d(3, dims[0], 4, stride=4)
            self.head = nn.Linear(dims[0], num_classes)

        def forward(self, x):
            return self.head(self.stem(x).mean((2, 3)))

        def reparameterize_unireplknet(self):
            print('authors: deploy')
''')


def test_gpu_benchmark_runs_tiny_on_the_cpu(tmp_path):
    authors = tmp_path / 'unireplknet.py'
    authors.write_text(FAKE_AUTHORS)
    out = tmp_path / 'report'
    result = run_tool('tools/analysis/gpu_benchmark.py', '--out', out,
                      '--device', 'cpu', '--tiny', '--authors', authors,
                      env=dict(TRITON_INTERPRET='1'))
    report = json.loads((out / 'gpu_benchmark.json').read_text())
    assert report['finished'] and not report['errors']
    assert report['machine']['cpu'] and report['machine']['torch']
    checks = [c['check'] for c in report['checks']]
    assert all(c['passed'] for c in report['checks'])
    assert any('training gradients' in c for c in checks)
    # 2 convs x 2 layouts x float32 / float16 (the interpreter has no bf16)
    assert len([c for c in checks if c.startswith('Triton')]) == 8
    assert len(checks) == 15

    sections = report['sections']
    models = {r['model'] for r in sections['models']}
    convnext = next(m for m in models if m.startswith('ConvNeXt-A'))
    assert models == {'mmunirep (auto)', 'mmunirep (plain ops)', convnext,
                      "authors' code"}
    assert {(r['model'], r['mode'], r['precision'])
            for r in sections['models']} == {
                (m, mode, precision) for m in models
                for mode in ('forward', 'fwd+bwd')
                for precision in ('fp32 (TF32)', 'bf16')}
    for row in sections['models']:
        assert row['img_per_s'] > 0 and row['rounds'] == 1
        if row['model'] == convnext:
            assert row['vs_convnext'] == 1.0
    assert {(r['step'], r['model']) for r in sections['segmentation']} == {
        ('train', 'mmunirep (auto)'), ('inference', 'mmunirep (auto)')}
    assert {(r['shape'], r['impl'], r['layout'])
            for r in sections['micro']} == {
                ('2x8x5x5', impl, layout) for impl in ('triton', 'torch')
                for layout in ('channels-last', 'channels-first')}
    profile = {r['model']: r for r in sections['profile']}
    assert set(profile) == {f'A {m}' for m in
                            ('mmunirep (auto)', 'mmunirep (plain ops)',
                             convnext)}
    # 13x13 depthwise convs run in every stage but the first
    assert 0 < profile['A mmunirep (plain ops)']['depthwise_share'] < 1
    assert not sections['compile']

    skipped = {(s['section'], s['what']): s['reason']
               for s in report['skipped']}
    assert 'no bfloat16' in skipped['checks', '4 Triton depthwise checks']
    assert skipped['compile', 'torch.compile rows'] == 'tiny run'
    assert report['goals'][0]['result'] == 'not measured (tiny run: toy ' \
        'sizes)'

    markdown = (out / 'gpu_benchmark.md').read_text()
    assert '| a | fwd+bwd | bf16 | mmunirep (auto) |' in markdown
    assert 'plain-PyTorch equivalent of mmseg' in markdown
    assert 'FAIL' not in markdown and '## Skipped' in markdown
    assert 'CPU:' in result.stdout and 'authors:' not in result.stdout


def test_rows_that_do_not_fit_the_budget_are_skipped(tmp_path):
    broken = tmp_path / 'unireplknet.py'
    broken.write_text('import not_a_module_anywhere\n')
    out = tmp_path / 'report'
    run_tool('tools/analysis/gpu_benchmark.py', '--out', out, '--device',
             'cpu', '--tiny', '--budget-s', '0', '--authors', broken,
             env=dict(TRITON_INTERPRET='0'))
    data = json.loads((out / 'gpu_benchmark.json').read_text())
    # the checks always run; no row group fits a budget of 0 s
    assert data['finished'] and data['checks'] and not data['errors']
    assert not any(data['sections'].values())
    reasons = {(s['section'], s['what']): s['reason']
               for s in data['skipped']}
    assert reasons['models', 'A fwd+bwd bf16'].startswith('time budget: ')
    assert reasons['segmentation', 'A + UperNet 64x64, batch 2 train']
    assert reasons['profile', 'A fwd+bwd bf16']
    assert 'ModuleNotFoundError' in reasons['models', "authors' code"]
    # without the Triton interpreter, CPU tensors cannot run Triton
    assert 'TRITON_INTERPRET=1' in reasons['micro', "impl='triton'"]
    assert 'TRITON_INTERPRET=1' in reasons[
        'checks', '12 Triton depthwise checks']


def test_authors_module_errors_say_why(tmp_path):
    with pytest.raises(AuthorsCodeError, match='FileNotFoundError'):
        load_authors_module(str(tmp_path / 'missing.py'))
    empty = tmp_path / 'empty.py'
    empty.write_text('x = 1\n')
    with pytest.raises(AuthorsCodeError, match='no class UniRepLKNet'):
        load_authors_module(str(empty))


def test_budget_fits_rounds_to_the_time_left():
    now = [0.]
    budget = Budget(100., clock=lambda: now[0])
    now[0] = 70.
    assert budget.left() == 30.
    assert budget.shortfall(20.) is None
    assert budget.shortfall(40.) == ('needs ~40 s, 30 s of the 100 s '
                                     'budget left')
    assert budget.rounds_that_fit(2., wanted=7, minimum=3) == 7
    assert budget.rounds_that_fit(6., wanted=7, minimum=3) == 5
    assert budget.rounds_that_fit(12., wanted=7, minimum=3) == 0


def test_hard_stop_records_then_ends_the_process():
    exits, calls = [], []

    def on_expiry():
        calls.append('recorded')
        return 0

    with HardStop(0.05, on_expiry, exit_process=exits.append):
        time.sleep(0.5)
    assert calls == ['recorded'] and exits == [0]
    with HardStop(5., on_expiry, exit_process=exits.append):
        pass
    time.sleep(0.1)
    assert exits == [0]  # the block ended first: nothing happens


def test_report_is_saved_after_every_row(tmp_path):
    report = BenchmarkReport(str(tmp_path), {'cpu': 'x', 'cores': 1,
                                             'isa': [], 'threads': 1,
                                             'torch': '2'}, dict(device='cpu'))
    report.add_rows('micro', [dict(shape='1x8x4x4', kernel=13,
                                   impl='torch', layout='channels-last',
                                   forward_ms=0.5, fwd_bwd_ms=None,
                                   first_call_s=0.1)])
    saved = json.loads((tmp_path / 'gpu_benchmark.json').read_text())
    assert saved['sections']['micro'][0]['forward_ms'] == 0.5
    report.fail('models', 'T forward bf16', 'RuntimeError: boom')
    report.add_checks([dict(check='c', max_rel_error=1., tolerance=0.1,
                            passed=False)])
    markdown = (tmp_path / 'gpu_benchmark.md').read_text()
    assert '| 1x8x4x4 | 13 | torch | channels-last | 0.500 | - | 0.1 |' \
        in markdown
    assert 'T forward bf16: RuntimeError: boom' in markdown
    assert 'STOPPED before the end' in markdown
    assert report.failures == ['check failed: c',
                               'models: T forward bf16: RuntimeError: boom']


def _event(name, self_us=0., kernels=(), parent=None, shapes=(),
           device=False, duration=0.):
    return SimpleNamespace(
        name=name, self_cpu_time_total=self_us, kernels=list(kernels),
        cpu_parent=parent, input_shapes=list(shapes),
        device_type=DeviceType.CUDA if device else DeviceType.CPU,
        time_range=SimpleNamespace(elapsed_us=lambda: duration))


def test_profile_attributes_kernels_to_depthwise_and_layout():
    step = _event('aten::convolution_backward', 40., [
        Kernel('sm90_xmma_wgrad_implicit_gemm', 0, 100.)],
        shapes=[[2, 8, 5, 5], [2, 8, 5, 5], [8, 1, 13, 13]])
    contiguous = _event('aten::contiguous', 5.)
    copy = _event('aten::copy_', 5., [Kernel('elementwise_copy', 0, 30.)],
                  parent=contiguous)
    gemm = _event('aten::addmm', 20., [Kernel('sm90_gemm', 0, 200.),
                                       Kernel('nchwToNhwcKernel', 0, 10.)])
    wait = _event('cudaStreamSynchronize', 500.)
    kernels = [_event(k.name, device=True, duration=k.duration)
               for e in (step, copy, gemm) for k in e.kernels]
    unlinked = _event('_conv_kernel', device=True, duration=50.)
    row = summarize_events(
        [step, contiguous, copy, gemm, wait, *kernels, unlinked], 0.002)
    assert row['device_ms'] == pytest.approx(0.39)
    assert row['depthwise_ms'] == pytest.approx(0.15)
    assert row['depthwise_share'] == pytest.approx(0.15 / 0.39)
    assert row['layout_kernels'] == 2
    assert row['layout_ms'] == pytest.approx(0.04)
    assert row['layout_kernel_names'] == ['elementwise_copy',
                                          'nchwToNhwcKernel']
    assert row['host_ms'] == pytest.approx(0.07)  # the wait excluded
    assert row['wall_ms'] == pytest.approx(2.)


def test_warm_up_runs_every_task_in_worker_processes(monkeypatch):
    monkeypatch.setenv('OMP_NUM_THREADS', '1')
    monkeypatch.setenv('TRITON_INTERPRET', '0')
    names = list(warm_tasks(TINY, 'cpu'))
    result = warm_up(TINY, 'cpu', workers=2, timeout_s=300)
    assert [t['task'] for t in result['tasks']] == names
    assert all(t['result'] == 'ok' for t in result['tasks']), result
    assert result['workers'] == 2 and 'tasks in 2 processes' in \
        result['summary']
    stopped = warm_up(TINY, 'cpu', workers=1, timeout_s=0)
    assert all(t['result'].startswith('stopped at the warm-up limit')
               for t in stopped['tasks'])
