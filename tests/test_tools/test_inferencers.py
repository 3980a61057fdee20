# Copyright (c) mmunirep contributors. All rights reserved.
"""Inference through the upstream libraries' inferencers, as their users
run it: DetInferencer, MMSegInferencer and ImageClassificationInferencer on a
real photo, each in a fresh process without ``import mmunirep``, with a
training checkpoint, a deploy checkpoint and a published one."""
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.test_tools.conftest import DET_DEMO, ROOT, SEG_DEMO, run_tool
from tests.test_tools.test_detection_flow import assert_same_detections

CLS = 'configs/unireplknet_a_in1k.py'
DEPLOY = dict(
    det='configs/demo/deploy/cascade_mask_rcnn_unireplknet_a_shapes.py',
    seg='configs/demo/deploy/upernet_unireplknet_a_shapes.py',
    cls='configs/deploy/unireplknet_a_in1k.py')
TASKS = ('det', 'seg', 'cls')
KINDS = ('training', 'deploy', 'published')


def photo() -> str:
    """A real photograph shipped with scikit-image (no download)."""
    import importlib.util
    spec = importlib.util.find_spec('skimage')
    path = Path(spec.origin).parent / 'data' / 'astronaut.png'
    assert path.is_file(), path
    return str(path)


@pytest.fixture(scope='module')
def cls_trained(tmp_path_factory):
    """The A classifier config trained for 2 iterations on a tiny folder
    dataset (two classes of random images): a real Runner checkpoint. The
    head has two classes like the dataset, so the inferencer can name every
    label it predicts."""
    import cv2
    root = tmp_path_factory.mktemp('cls')
    rng = np.random.default_rng(0)
    for name in ('circle', 'square'):
        (root / 'data' / name).mkdir(parents=True)
        for i in range(2):
            cv2.imwrite(str(root / 'data' / name / f'{i}.png'),
                        rng.integers(0, 256, (96, 96, 3), dtype=np.uint8))
    config = root / 'cls_tiny.py'
    config.write_text(f"""
_base_ = '{ROOT / CLS}'
model = dict(head=dict(num_classes=2))
data_preprocessor = dict(num_classes=2)
train_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(_delete_=True, type='CustomDataset',
                 data_root='{root / 'data'}',
                 pipeline={{{{_base_.train_pipeline}}}}))
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=2)
val_dataloader = None
val_cfg = None
val_evaluator = None
param_scheduler = []
default_hooks = dict(checkpoint=dict(interval=2, by_epoch=False))
""")
    deploy_config = root / 'cls_tiny_deploy.py'
    deploy_config.write_text(f"""
_base_ = '{ROOT / DEPLOY['cls']}'
model = dict(head=dict(num_classes=2))
""")
    run_tool('tools/train.py', config, '--work-dir', root / 'work')
    return root / 'work' / 'iter_2.pth', config, deploy_config


@pytest.fixture(scope='module')
def checkpoints(det_trained, seg_trained, cls_trained, tmp_path_factory):
    """task -> checkpoint kind -> (config, file)."""
    out = tmp_path_factory.mktemp('inferencer_ckpts')
    cls_ckpt, cls_config, cls_deploy_config = cls_trained
    # the main job re-parameterized the demo models (tools/reparameterize.py)
    det_dir, seg_dir = det_trained[0], seg_trained[0]
    # task -> (training checkpoint, training config, deploy config, deploy
    # checkpoint)
    trained = dict(
        det=(det_dir / 'epoch_1.pth', DET_DEMO, DEPLOY['det'],
             det_dir / 'deploy.pth'),
        seg=(seg_dir / 'iter_4.pth', SEG_DEMO, DEPLOY['seg'],
             seg_dir / 'deploy.pth'),
        cls=(cls_ckpt, cls_config, cls_deploy_config, None))
    cases = {}
    for task, (ckpt, config, deploy_config, deploy) in trained.items():
        if deploy is None:
            deploy = out / f'{task}_deploy.pth'
            run_tool('tools/reparameterize.py', config, ckpt, deploy)
        result = run_tool('tools/model_converters/publish_model.py', ckpt,
                          out / f'{task}_published.pth')
        published = result.stdout.strip().splitlines()[-1].split()[-1]
        cases[task] = dict(training=(config, ckpt),
                           deploy=(deploy_config, deploy),
                           published=(config, Path(published)))
    return cases


@pytest.fixture(scope='module')
def predictions(checkpoints, tmp_path_factory):
    """Run the nine inferencer x checkpoint-kind cases, each in its own fresh
    process (two at a time): (task, kind) -> arrays, or the failure."""
    out = tmp_path_factory.mktemp('inferencer_out')
    image = photo()

    def case(task, kind):
        config, weights = checkpoints[task][kind]
        result_file = out / f'{task}_{kind}.npz'
        script = ROOT / 'tests/test_tools/inferencer_script.py'
        result = run_tool(script, task, config, weights, image, result_file)
        assert f'{task}: ' in result.stdout
        return dict(np.load(result_file))

    jobs = [(task, kind) for task in TASKS for kind in KINDS]
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {job: pool.submit(case, *job) for job in jobs}
    return {job: future.exception() or future.result()
            for job, future in futures.items()}


@pytest.mark.parametrize('kind', KINDS)
@pytest.mark.parametrize('task', TASKS)
def test_inferencer_loads_every_checkpoint_kind_without_import(
        predictions, task, kind):
    """The case ran in a fresh process that never imported mmunirep itself,
    loaded every tensor of the checkpoint, and predicted something."""
    result = predictions[(task, kind)]
    if isinstance(result, BaseException):
        raise result
    assert result['labels'].size > 0


@pytest.mark.parametrize('task', TASKS)
def test_the_three_checkpoint_kinds_predict_the_same(predictions, task):
    runs = [predictions[(task, kind)] for kind in KINDS]
    for run in runs:
        if isinstance(run, BaseException):
            pytest.fail(f'a case failed: {run}')
    # the published file holds the training weights unchanged, but each
    # process picks its own fastest kernels: equal up to float32 rounding
    training, *others = runs
    for other in others:
        assert_same_predictions(task, training, other)


def assert_same_predictions(task, a, b):
    """Same labels; boxes, scores, logits within float32 tolerance."""
    if task == 'det':
        from mmengine.structures import InstanceData
        found = [InstanceData(**{k: torch.from_numpy(run[k])
                                 for k in ('labels', 'scores', 'bboxes')})
                 for run in (a, b)]
        assert_same_detections(*found)
    elif task == 'seg':
        scale = np.abs(a['logits']).max()
        assert np.abs(a['logits'] - b['logits']).max() <= 1e-4 * scale
        same = (a['labels'] == b['labels']).mean()
        assert same > 0.999, same
    else:
        np.testing.assert_allclose(b['scores'], a['scores'], rtol=1e-4,
                                   atol=1e-6)
        assert a['labels'][0] == b['labels'][0]


def test_published_checkpoint_loads_weights_only_without_allow_list(
        det_trained, checkpoints, tmp_path):
    """A fresh interpreter, nothing imported but torch: weights-only loading
    with no allow-list. The EMA weights are published, training state is
    gone, and --deploy writes the inference structure."""
    ckpt = det_trained[0] / 'epoch_1.pth'
    # publish_model.py without options: the inferencers' published file
    plain = checkpoints['det']['published'][1]
    deployed = run_tool('tools/model_converters/publish_model.py', ckpt,
                        tmp_path / 'det_deploy.pth', '--deploy', DET_DEMO)
    files = [str(plain), deployed.stdout.strip().splitlines()[-1].split()[-1]]
    for name in files:
        # OpenMMLab naming: <name>-<first 8 hex digits of the sha256>.pth
        import hashlib
        digest = hashlib.sha256(Path(name).read_bytes()).hexdigest()
        assert name.endswith(f'-{digest[:8]}.pth')
    check = (
        'import sys, torch\n'
        'for f in sys.argv[1:]:\n'
        '    c = torch.load(f, map_location="cpu", weights_only=True)\n'
        '    print(sorted(c), "dil_conv" in str(list(c["state_dict"])),\n'
        '          c["meta"]["published"]["weights"])\n'
        'assert "mmunirep" not in sys.modules and "mmengine" not in '
        'sys.modules\n')
    result = run_tool('-c', check, *files)
    lines = result.stdout.strip().splitlines()
    assert lines[0] == "['meta', 'state_dict'] True EMA weights"
    assert lines[1] == "['meta', 'state_dict'] False EMA weights"
    # the EMA weights, not the raw ones
    from mmengine.runner import CheckpointLoader
    source = CheckpointLoader.load_checkpoint(str(ckpt))
    published = torch.load(files[0], weights_only=True)['state_dict']
    key = 'roi_head.bbox_head.0.fc_cls.weight'
    assert torch.equal(published[key], source['state_dict'][key])
    assert not torch.equal(published[key],
                           source['ema_state_dict']['module.' + key])


def test_publish_refuses_a_deploy_config_and_keeps_nothing(
        det_trained, tmp_path):
    ckpt = det_trained[0] / 'epoch_1.pth'
    result = run_tool('tools/model_converters/publish_model.py', ckpt,
                      tmp_path / 'x.pth', '--deploy', DEPLOY['det'],
                      expect_ok=False)
    assert 'already builds the inference structure' in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_publish_refuses_a_misspelled_option_under_strict_options(
        det_trained, tmp_path):
    ckpt = det_trained[0] / 'epoch_1.pth'
    result = run_tool('tools/model_converters/publish_model.py', ckpt,
                      tmp_path / 'x.pth', '--deploy', DET_DEMO,
                      '--cfg-options', 'model.backbonee.arch=t',
                      '--strict-options', expect_ok=False)
    assert result.returncode == 1
    assert "'model' has no key 'backbonee' (did you mean 'backbone'?)" in \
        result.stderr
    assert list(tmp_path.iterdir()) == []
