# Copyright (c) mmunirep contributors. All rights reserved.
"""The README's first command, shortened: the same commands on a tiny
dataset for a few iterations."""
import json
import math

from tests.test_tools.conftest import run_tool


def test_quick_main_job_produces_every_artifact(tmp_path):
    demo, data = tmp_path / 'demo', tmp_path / 'data'
    result = run_tool('tools/run_demo.sh', timeout=1500, env=dict(
        MMUNIREP_DEMO_QUICK='1', MMUNIREP_DEMO_DIR=str(demo),
        MMUNIREP_DEMO_DATA=str(data)))
    out = result.stdout
    for step in ('generating the shapes dataset', 'tools/dist_train.sh on 2',
                 'tools/train.py', 'tools/reparameterize.py',
                 'tools/image_demo.py', 'benchmark.py', 'summary'):
        assert step in out, step
    summary = json.loads((demo / 'summary.json').read_text())
    for key in ('seg/mIoU', 'det/box AP', 'det/mask AP'):
        row = summary[key]
        for field in ('trained', 'deploy', 'train_speed', 'deploy_speed'):
            assert isinstance(row[field], float) and math.isfinite(
                row[field]), (key, field)
        # the deploy model scores what the trained model scores
        assert abs(row['trained'] - row['deploy']) <= 0.1, key
    for task in ('seg', 'det'):
        assert (demo / task / 'deploy.pth').is_file()
        assert len(list((demo / task / 'vis').glob('*.png'))) == 4
        for sub in ('test_trained', 'test_deploy'):
            assert (demo / task / sub / 'test_metrics.json').is_file()
        assert list((demo / task).glob('*/*.log')), 'training log'
    assert 'total time' in out
