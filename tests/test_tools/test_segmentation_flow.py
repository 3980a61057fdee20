# Copyright (c) mmunirep contributors. All rights reserved.
"""UperNet + UniRepLKNet end to end on the CPU, through the tools."""
import json
import shutil

import numpy as np
import pytest
import torch
from mmengine.runner import CheckpointLoader

from mmunirep.apis import (build_model, build_test_pipeline, load_config,
                           predict)
from tests.test_tools.conftest import (SEG_DEMO, SEG_SYNC_BN, free_port,
                                       read_metrics, run_tool, seg_options)

SEG = SEG_DEMO
SEG_DEPLOY = 'configs/demo/deploy/upernet_unireplknet_a_shapes.py'


@pytest.fixture(scope='module')
def trained(seg_trained):
    """4 iterations of training on 2 gloo processes (tools/dist_train.sh),
    re-parameterized and evaluated by the main job."""
    return seg_trained


@pytest.fixture(scope='module')
def resumed(trained, shapes_data, tmp_path_factory):
    """The trained model resumed to 6 iterations by tools/train.py on one
    CPU process, with SyncBN configs (reverted to BN), in a copy of its work
    directory: the demo keeps one checkpoint, and the other tests read
    iter_4.pth from the shared work directory. ``(work_dir, log)``."""
    work_dir, _ = trained
    resumed_dir = tmp_path_factory.mktemp('seg_resumed') / 'work'
    shutil.copytree(work_dir, resumed_dir)
    result = run_tool('tools/train.py', SEG, '--work-dir', resumed_dir,
                      '--resume', *seg_options(shapes_data, iters=6),
                      'default_hooks.logger.interval=1', *SEG_SYNC_BN)
    return resumed_dir, result.stdout + result.stderr


def test_training_evaluates_miou_with_syncbn_reverted(trained, resumed):
    work_dir, _ = trained
    assert (work_dir / 'iter_4.pth').is_file()
    _, log = resumed  # one process: SyncBN goes back to BN
    assert 'SyncBatchNorm (SyncBN) layers in the model will be automatically' \
        ' reverted' in log
    assert 'mIoU:' in log
    state = CheckpointLoader.load_checkpoint(str(work_dir / 'iter_4.pth'))
    assert state['meta']['iter'] == 4
    # the layer-decay constructor grouped the parameters
    assert 'Layer-wise lr decay (layer_wise, rate 0.9)' in log


def test_resume_continues_from_the_checkpoint(trained, resumed):
    work_dir, _ = trained
    resumed_dir, log = resumed
    assert 'resumed' in log.lower()
    assert 'Iter(train) [5/6]' in log and 'Iter(train) [6/6]' in log
    assert 'Iter(train) [1/6]' not in log
    state = CheckpointLoader.load_checkpoint(str(resumed_dir / 'iter_6.pth'))
    assert state['meta']['iter'] == 6
    assert (work_dir / 'iter_4.pth').is_file()


def test_reparameterized_model_gives_the_same_masks_and_miou(
        trained, shapes_data, tmp_path):
    # the main job ran tools/reparameterize.py, then tools/test.py on the
    # training checkpoint (training config) and on deploy.pth (deploy config)
    work_dir, _ = trained
    ckpt, deploy = work_dir / 'iter_4.pth', work_dir / 'deploy.pth'
    opts = seg_options(shapes_data)
    run_tool('tools/test.py', SEG, ckpt, '--deploy', '--work-dir',
             tmp_path / 'switched', *opts)
    bf16 = run_tool('tools/test.py', SEG_DEPLOY, deploy, '--dtype', 'bf16',
                    '--work-dir', tmp_path / 'bf16', *opts)
    assert 'testing under bf16 autocast' in bf16.stdout + bf16.stderr
    trained_m = read_metrics(work_dir / 'test_trained')
    for other in (work_dir / 'test_deploy', tmp_path / 'switched'):
        metrics = read_metrics(other)
        assert metrics['mIoU'] == pytest.approx(trained_m['mIoU'], abs=0.01)
    # bfloat16 autocast on the CPU: close, not equal
    assert read_metrics(tmp_path / 'bf16')['mIoU'] == pytest.approx(
        trained_m['mIoU'], abs=2.0)
    # the masks themselves
    cfg = load_config(SEG, dict(test_dataloader=dict(dataset=dict(
        data_root=f'{shapes_data}/ade'))))
    deploy_cfg = load_config(SEG_DEPLOY)
    images = sorted(str(p) for p in (shapes_data / 'ade/images/validation')
                    .glob('*.jpg'))
    pipeline = build_test_pipeline(cfg)
    with torch.no_grad():
        ours = predict(build_model(cfg, str(ckpt)), pipeline, images)
        deployed = predict(build_model(deploy_cfg, str(deploy)), pipeline,
                           images)
    for a, b in zip(ours, deployed):
        same = (a.pred_sem_seg.data == b.pred_sem_seg.data).float().mean()
        assert same > 0.999


def test_dist_train_and_dist_test_on_two_cpu_processes(
        demo_job, trained, shapes_data, tmp_path):
    # the main job trained with tools/dist_train.sh on 2 processes
    work_dir, _ = trained
    opts = seg_options(shapes_data)
    assert 'gloo backend' in demo_job.out + demo_job.err
    assert (work_dir / 'iter_4.pth').is_file()
    run_tool('tools/dist_test.sh', SEG, work_dir / 'iter_4.pth', 2,
             '--work-dir', tmp_path / 'test', *opts,
             env=dict(PORT=str(free_port())))
    assert isinstance(read_metrics(tmp_path / 'test')['mIoU'], float)


def test_image_demo_draws_masks(trained, shapes_data, tmp_path):
    work_dir, _ = trained
    images = sorted((shapes_data / 'ade/images/validation').glob('*.jpg'))[:2]
    for image in images:
        (tmp_path / 'in').mkdir(exist_ok=True)
        (tmp_path / 'in' / image.name).write_bytes(image.read_bytes())
    run_tool('tools/image_demo.py', SEG, work_dir / 'iter_4.pth',
             tmp_path / 'in', '--out-dir', tmp_path / 'out', '--deploy')
    import mmcv
    for image in images:
        drawn = mmcv.imread(str(tmp_path / 'out' / (image.stem + '.png')))
        source = mmcv.imread(str(image))
        assert drawn.shape == source.shape
        assert np.abs(drawn.astype(int) - source.astype(int)).mean() > 1


def test_benchmark_and_flops_tools(trained, tmp_path):
    work_dir, _ = trained
    run_tool('tools/analysis/benchmark.py', SEG, '--checkpoint',
             work_dir / 'iter_4.pth', '--shape', 128, 160, '--rounds', 1,
             '--warmup', 0, '--json', tmp_path / 'speed.json')
    speed = json.loads((tmp_path / 'speed.json').read_text())['results']
    assert speed['train']['img_per_s'] > 0 and speed['deploy']['img_per_s'] > 0
    run_tool('tools/analysis/get_flops.py', SEG, '--shape', 128, 160,
             '--json', tmp_path / 'flops.json')
    flops = json.loads((tmp_path / 'flops.json').read_text())
    cfg = load_config(SEG)
    model = build_model(cfg, deploy=True)
    expected = sum(p.numel() for n, p in model.named_parameters()
                   if not n.startswith('auxiliary_head'))
    assert flops['params'] == expected
    assert flops['flops'] > 0 and set(flops['parts']) == {
        'backbone+neck', 'decode_head'}


def test_reparameterize_refuses_a_mismatched_config(trained, tmp_path):
    work_dir, _ = trained
    result = run_tool('tools/reparameterize.py',
                      'configs/demo/cascade_mask_rcnn_unireplknet_a_shapes.py',
                      work_dir / 'iter_4.pth', tmp_path / 'x.pth',
                      expect_ok=False)
    assert 'does not fit' in result.stderr
    assert not (tmp_path / 'x.pth').exists()
    wrong_arch = run_tool('tools/reparameterize.py', SEG,
                          work_dir / 'iter_4.pth', tmp_path / 'y.pth',
                          '--cfg-options', 'model.backbone.arch=f',
                          expect_ok=False)
    assert 'has shape (20, 3, 3, 3) in the checkpoint but (24, 3, 3, 3)' in \
        wrong_arch.stderr


def test_test_tool_dumps_and_draws(trained, shapes_data, tmp_path):
    work_dir, _ = trained
    run_tool('tools/test.py', SEG, work_dir / 'iter_4.pth', '--work-dir',
             tmp_path, '--out', tmp_path / 'results.pkl', '--show-dir',
             tmp_path / 'vis', *seg_options(shapes_data))
    import pickle
    with open(tmp_path / 'results.pkl', 'rb') as f:
        results = pickle.load(f)
    assert len(results) == 4  # one per validation image
    assert 'pred_sem_seg' in results[0]
    assert len(list((tmp_path / 'vis').rglob('*.png'))) == 4
