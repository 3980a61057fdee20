# Copyright (c) mmunirep contributors. All rights reserved.
"""tools/analysis/gpu_benchmark.py runs end to end (``--device cpu --tiny``,
as CI can): every fast-path check, every row of the speed table, both
reports."""
import json

from tests.test_tools.conftest import run_tool


def test_gpu_benchmark_runs_tiny_on_the_cpu(tmp_path):
    result = run_tool('tools/analysis/gpu_benchmark.py', '--out', tmp_path,
                      '--device', 'cpu', '--tiny')
    report = json.loads((tmp_path / 'gpu_benchmark.json').read_text())
    assert report['machine']['cpu'] and report['machine']['torch']
    checks = {c['check']: c for c in report['checks']}
    assert len(checks) == 7 and all(c['passed'] for c in checks.values())
    rows = report['speed']
    combos = {(r['model'], r['mode'], r['dtype']) for r in rows}
    assert combos == {(m, mode, dtype)
                      for m in ('unireplknet-a', 'convnext-atto')
                      for mode in ('forward', 'forward+backward')
                      for dtype in ('fp32', 'bf16 autocast')}
    for row in rows:
        assert row['img_per_s'] > 0
        if row['model'] == 'unireplknet-a':
            # 13x13 depthwise convs run in every stage but the first
            assert 0 < row['depthwise_share'] < 1
        else:
            assert row['vs_convnext'] == 1.0
    markdown = (tmp_path / 'gpu_benchmark.md').read_text()
    assert '| unireplknet-a | forward+backward | bf16 autocast | 2 |' \
        in markdown
    assert 'FAIL' not in markdown and 'CPU:' in result.stdout
