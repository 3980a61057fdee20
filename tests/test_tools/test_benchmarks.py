# Copyright (c) mmunirep contributors. All rights reserved.
"""The CPU benchmark scripts run end to end and print the machine with
their figures (tiny sizes, one round: the numbers themselves are not
checked here)."""
import re

from tests.test_tools.conftest import SEG_DEMO, run_tool


def table_rows(stdout, names):
    """name -> the numbers printed on its row."""
    rows = {}
    for line in stdout.splitlines():
        fields = line.split()
        if fields and fields[0] in names:
            rows[fields[0]] = [float(f.rstrip('x')) for f in fields[1:]]
    return rows


def test_backbone_benchmark_compares_fast_paths_plain_ops_and_convnext():
    result = run_tool('tools/analysis/benchmark_backbone.py', '--arch', 'a',
                      '--structure', 'deploy', '--with-plain', '--compare',
                      'convnext-atto', '--batch', 1, '--input-size', 64,
                      '--rounds', 2, '--iters', 1, '--warmup', 1,
                      '--show-paths')
    out = result.stdout
    assert re.search(r'^CPU: .*\n^torch ', out, re.M)
    names = ('unireplknet-a-deploy', 'unireplknet-a-deploy-plain',
             'convnext-atto')
    rows = table_rows(out, names)
    assert set(rows) == set(names)
    assert rows['unireplknet-a-deploy'][2] == 1.0  # the reference
    assert all(r[0] > 0 for r in rows.values())
    # what each op runs, and the CPU selectors' choices on the first forward
    assert "kernels='auto' on cpu" in out
    assert re.search(r'^  depthwise conv: cpu$', out, re.M)
    assert re.search(r'^  linear: .* -> \w', out, re.M)


def test_onnx_benchmark_runs_what_it_exports():
    result = run_tool('tools/analysis/benchmark_onnx.py',
                      'configs/unireplknet_a_in1k.py', '--shape', 64, 64,
                      '--rounds', 1, '--warmup', 1, '--threads', 1)
    out = result.stdout
    assert re.search(r'^CPU: ', out, re.M)
    rows = table_rows(out, ('PyTorch', 'onnxruntime'))
    assert rows['PyTorch'][2] == 1.0 and rows['onnxruntime'][1] > 0
    difference = float(re.search(r'max relative difference: (\S+)',
                                 out).group(1))
    assert difference < 1e-4


def test_gemm_probe_times_both_paths_for_every_ffn_shape():
    result = run_tool('tools/analysis/benchmark_backbone.py', '--arch', 'a',
                      '--batch', 1, '--input-size', 64, '--probe-gemm')
    rows = [line.split() for line in result.stdout.splitlines()
            if re.match(r'\s+\d \s+\d+ x \d+ -> \d+', line)]
    # two Linears per stage; stage 0 at 64 px: 16x16 positions, 40 -> 160
    assert len(rows) == 8
    assert rows[0][:6] == ['0', '256', 'x', '40', '->', '160']
    for row in rows:
        linear_ms, onednn_ms, speed_up = map(float, (row[7], row[8],
                                                     row[9].rstrip('x')))
        # the printed times are rounded to 0.01 ms, the speed-up to 0.01
        assert onednn_ms > 0 and linear_ms >= 0
        low = max(linear_ms - 0.005, 0) / (onednn_ms + 0.005)
        high = (linear_ms + 0.005) / max(onednn_ms - 0.005, 1e-9)
        assert low - 0.005 <= speed_up <= high + 0.005


def test_gemm_probe_refuses_a_dtype_onednn_does_not_run():
    result = run_tool('tools/analysis/benchmark_backbone.py', '--arch', 'a',
                      '--probe-gemm', '--dtype', 'fp16', expect_ok=False)
    assert result.returncode == 1
    assert '--probe-gemm needs the CPU with oneDNN available and a float32 ' \
        'or bfloat16 --dtype' in result.stderr


def test_divergence_guard_benchmark_runs(shapes_data):
    """The guard benchmark runs on the segmentation demo and prints the
    machine, the side-by-side ratio and the guard's share of a step (the
    figures are reported in docs/troubleshooting.md, not checked here)."""
    result = run_tool(
        'tools/analysis/benchmark_divergence_guard.py', SEG_DEMO,
        '--rounds', 1, '--calls', 1, '--warmup', 0, '--hook-calls', 100,
        '--cfg-options', f'train_dataloader.dataset.data_root={shapes_data}'
        '/ade', 'train_dataloader.batch_size=2',
        'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False')
    out = result.stdout
    assert re.search(r'^CPU: ', out, re.M)
    assert re.search(r'^step \+ guard +[0-9.]+ ms  ratio [0-9.]+', out, re.M)
    inside = float(re.search(r'^guard in step +([0-9.]+) %', out,
                             re.M).group(1))
    share = float(re.search(r'^guard alone .* = ([0-9.]+)% of a step', out,
                            re.M).group(1))
    assert share >= 0 and inside >= 0
