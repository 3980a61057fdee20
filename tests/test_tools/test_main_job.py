# Copyright (c) mmunirep contributors. All rights reserved.
"""The README's first command, shortened: the same commands on a tiny
dataset for a few iterations."""
import json
import math

import mmcv


def png_width(path):
    return mmcv.imread(str(path)).shape[1]


def test_quick_main_job_produces_every_artifact(demo_job):
    """The job runs once per session (the ``demo_job`` fixture): the other
    tests of the trained demo models use what it trained."""
    demo, out = demo_job.demo, demo_job.out
    for step in ('generating the shapes dataset', 'tools/dist_train.sh on 2',
                 'tools/train.py', 'tools/reparameterize.py',
                 'tools/image_demo.py', 'benchmark.py', 'plot_curves.py',
                 'visualize_erf.py', 'summary'):
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
        drawn = list((demo / task / 'vis').glob('*.png'))
        assert len(drawn) == 4
        # the 160x128 images are drawn enlarged, readable
        assert all(png_width(path) == 512 for path in drawn)
        assert png_width(demo / task / 'curves.png') >= 512
        for sub in ('test_trained', 'test_deploy'):
            assert (demo / task / sub / 'test_metrics.json').is_file()
        assert list((demo / task).glob('*/*.log')), 'training log'
    # the trained backbone's ERF next to the untrained one's
    assert png_width(demo / 'seg' / 'erf.png') >= 512
    erf = summary['erf']
    assert len(erf) == 2 and any('random init' in label for label in erf)
    for ratios in erf.values():
        assert list(ratios) == ['0.2', '0.3', '0.5', '0.99']
        assert all(0 < r <= 1 for r in ratios.values())
    assert set(summary['figures']) == {'predictions', 'curves', 'erf'}
    assert 'ERF area ratios' in out
    assert 'total time' in out
