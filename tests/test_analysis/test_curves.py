# Copyright (c) mmunirep contributors. All rights reserved.
"""Training curves from MMEngine's json logs."""
import json

import mmcv
import pytest

from mmunirep.analysis.curves import load_curves, plot_curves
from tests.test_tools.conftest import run_tool


def write_run(work_dir, timestamp, records):
    vis_data = work_dir / timestamp / 'vis_data'
    vis_data.mkdir(parents=True)
    with open(vis_data / 'scalars.json', 'w') as f:
        for record in records:
            f.write(json.dumps(record) + '\n')


@pytest.fixture
def iter_run(tmp_path):
    """An iteration-based run (mmseg style: metrics logged by iteration),
    resumed once from iteration 20."""
    work_dir = tmp_path / 'seg'
    write_run(work_dir, '20260101_000000', [
        dict(lr=0.1, loss=2.0, time=1.0, iter=10, step=10),
        dict(lr=0.1, loss=1.5, time=1.0, iter=20, step=20),
        dict(mIoU=40.0, aAcc=80.0, time=0.1, step=20),
        dict(lr=0.1, loss=9.9, iter=30, step=30),  # lost in the crash
    ])
    write_run(work_dir, '20260101_010000', [
        dict(lr=0.1, loss=1.0, time=1.0, iter=30, step=30),
        dict(lr=0.1, loss=0.5, time=1.0, iter=40, step=40),
        dict(mIoU=60.0, aAcc=90.0, time=0.1, step=40),
    ])
    return work_dir


def test_iteration_based_run_resumed(iter_run):
    curves = load_curves(iter_run, ['loss', 'mIoU', 'time'])
    assert curves['loss'].iters == [10, 20, 30, 40]
    assert curves['loss'].values == [2.0, 1.5, 1.0, 0.5]
    assert not curves['loss'].validation
    assert curves['mIoU'].iters == [20, 40]
    assert curves['mIoU'].values == [40.0, 60.0]
    assert curves['mIoU'].validation
    # 'time' is logged by both: training's is taken
    assert curves['time'].iters == [10, 20, 30, 40]
    assert not curves['time'].validation


def test_epoch_based_run_places_validation_at_the_epoch_end(tmp_path):
    # mmdet style: 25 iterations per epoch, logged every 10, validation
    # metrics logged with step = epoch
    write_run(tmp_path, '20260101_000000', [
        dict(lr=0.1, loss=3.0, epoch=1, iter=10, step=10),
        dict(lr=0.1, loss=2.0, epoch=1, iter=20, step=20),
        dict(**{'coco/bbox_mAP': 0.1}, step=1),
        dict(lr=0.1, loss=1.0, epoch=2, iter=35, step=35),
        dict(lr=0.1, loss=0.8, epoch=2, iter=45, step=45),
        dict(**{'coco/bbox_mAP': 0.3}, step=2),
    ])
    curves = load_curves(tmp_path, ['loss', 'coco/bbox_mAP'])
    assert curves['loss'].iters == [10, 20, 35, 45]
    assert curves['coco/bbox_mAP'].iters == [20, 45]
    assert curves['coco/bbox_mAP'].values == [0.1, 0.3]


def test_missing_logs_and_keys_are_explained(tmp_path, iter_run):
    with pytest.raises(FileNotFoundError, match='vis_data'):
        load_curves(tmp_path / 'empty', ['loss'])
    with pytest.raises(KeyError, match='logs: aAcc, loss, lr, mIoU, time'):
        load_curves(iter_run, ['mAP'])


def test_plot_is_readable(iter_run, tmp_path):
    out = tmp_path / 'curves.png'
    plot_curves({'seg': load_curves(iter_run, ['loss', 'mIoU'])},
                ['loss', 'mIoU', 'not logged'], str(out))
    height, width = mmcv.imread(str(out)).shape[:2]
    assert width >= 512 and height >= 400


def test_plot_curves_tool(iter_run, tmp_path):
    other = tmp_path / 'other'
    write_run(other, '20260101_000000', [dict(loss=1.0, iter=10, step=10)])
    out = tmp_path / 'curves.png'
    result = run_tool('tools/analysis/plot_curves.py', iter_run, other,
                      '--keys', 'loss', 'mIoU', '--out', out,
                      '--legend', 'A', 'B')
    assert f'curves of loss, mIoU: {out}' in result.stdout
    assert 'does not log mIoU' in result.stdout
    assert mmcv.imread(str(out)).shape[1] >= 512
    result = run_tool('tools/analysis/plot_curves.py', iter_run, '--keys',
                      'mAP', '--out', tmp_path / 'none.png',
                      expect_ok=False)
    assert 'logs none of' in result.stderr
    assert not (tmp_path / 'none.png').exists()
