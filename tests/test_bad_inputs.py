# Copyright (c) mmunirep contributors. All rights reserved.
"""A catalogue of bad inputs and faults, as a new user would make them.

Every case gives the tools (run as ``python tools/X.py ...`` would run them,
in this process) or the package something wrong, then checks three things:
the exception type or exit status, the key words of the message (what is
wrong and how to fix it), and that no file of the user changed (every file
under the case's folder is hashed before and after; only a tool's own work
directory may appear). A few cases that need the Runner's full test loop run
tools/test.py in a subprocess.
"""
import hashlib
import io
import json
import os
import runpy
import sys
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from unittest import mock

import cv2
import numpy as np
import pytest
import torch
from mmengine.logging import MMLogger

from mmunirep.apis import build_model, load_config
from mmunirep.apis.dataset_check import check_dataset
from mmunirep.engine.optimizers import UniRepLKNetLayerDecayConstructor
from mmunirep.models import UniRepLKNet, reparameterize_model
from mmunirep.testing import randomize_for_fusion
from mmunirep.utils import CheckpointError
from tests.test_tools.conftest import read_metrics, run_tool

ROOT = Path(__file__).resolve().parents[1]
SEG = str(ROOT / 'configs/demo/upernet_unireplknet_a_shapes.py')
SEG_DEPLOY = str(ROOT / 'configs/demo/deploy/upernet_unireplknet_a_shapes.py')
DET = str(ROOT / 'configs/demo/cascade_mask_rcnn_unireplknet_a_shapes.py')
#: Folders a tool may create under the case folder (its work directory).
TOOL_OUTPUT = 'work'


# ---------------------------------------------------------------- helpers
def snapshot(root: Path) -> dict:
    """Relative path -> content hash (or 'dir' / link target) of everything
    under ``root`` except the tools' work directories."""
    state = {}
    for path in sorted(root.rglob('*')):
        rel = path.relative_to(root)
        if rel.parts[0] == TOOL_OUTPUT:
            continue
        if path.is_symlink():
            state[rel.as_posix()] = f'link:{os.readlink(path)}'
        elif path.is_dir():
            state[rel.as_posix()] = 'dir'
        else:
            state[rel.as_posix()] = hashlib.sha256(
                path.read_bytes()).hexdigest()
    return state


def run_inprocess(script: str, *args) -> tuple:
    """Run ``python <script> <args>`` in this process.

    Returns:
        tuple: ``(exit status, stdout + stderr + the SystemExit message)``.
    """
    out = io.StringIO()
    argv = [str(ROOT / script), *map(str, args)]
    with mock.patch.object(sys, 'argv', argv), redirect_stdout(out), \
            redirect_stderr(out):
        try:
            runpy.run_path(str(ROOT / script), run_name='__main__')
            code = 0
        except SystemExit as exit_:
            code = exit_.code
            if isinstance(code, str):
                out.write(code)
                code = 1
            code = code or 0
    return code, out.getvalue()


class User:
    """A case's files (under ``tmp``) and how it acts on them."""

    def __init__(self, tmp: Path, assets: dict) -> None:
        self.tmp, self.assets = tmp, assets
        self.before = None

    def file(self, name: str, data=b'') -> Path:
        path = self.tmp / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data if isinstance(data, bytes) else
                         Path(data).read_bytes())
        return path

    def copy(self, asset: str, name: str = None) -> Path:
        return self.file(name or Path(self.assets[asset]).name,
                         self.assets[asset])

    def tool(self, script: str, *args) -> tuple:
        """Freeze the files, run a tool; ``(exit status, output)``."""
        self.before = snapshot(self.tmp)
        return run_inprocess(script, *args)

    def call(self, fn, *args, **kwargs) -> tuple:
        """Freeze the files, call; ``(exception, message)`` or
        ``(None, '')``."""
        self.before = snapshot(self.tmp)
        try:
            fn(*args, **kwargs)
        except Exception as err:  # the case checks the type
            return err, str(err)
        return None, ''


CASES = []


def case(name: str, expect, *words: str):
    """Register a case: ``expect`` is an exit status or an exception type,
    ``words`` must all be in the message."""

    def register(act):
        CASES.append(pytest.param(act, expect, words, id=name))
        return act

    return register


def seg_data_options(data: Path) -> list:
    return [f'{split}_dataloader.dataset.data_root={data}/ade'
            for split in ('train', 'val', 'test')]


def det_data_options(data: Path) -> list:
    ann = f'{data}/coco/annotations/instances_val2017.json'
    return [f'{split}_dataloader.dataset.data_root={data}/coco/'
            for split in ('train', 'val', 'test')] + [
                f'val_evaluator.ann_file={ann}',
                f'test_evaluator.ann_file={ann}',
                'model.backbone.init_cfg=None'
            ]


def make_data(out: Path) -> Path:
    code, log = run_inprocess('tools/make_demo_data.py', '--out', out,
                              '--num-train', 2, '--num-val', 2)
    assert code == 0, log
    return out


def authors_deploy_layout(state: dict) -> dict:
    """Our deploy keys as the authors' deploy files name them: the merged
    kernel of a large-kernel block (K >= 7) stays ``dwconv.lk_origin``."""
    large = {k[:-len('.weight')] for k, v in state.items()
             if k.endswith('.dwconv.weight') and v.shape[-1] >= 7}
    renamed = {}
    for key, value in state.items():
        prefix, _, name = key.rpartition('.')
        if prefix in large:
            key = f'{prefix}.lk_origin.{name}'
        renamed[key] = value
    return renamed


@pytest.fixture(scope='module')
def assets(tmp_path_factory):
    """The demo segmentor's training and deploy checkpoints (random weights,
    random BN statistics) and a tiny dataset in ADE20K / COCO layouts."""
    folder = tmp_path_factory.mktemp('assets')
    data = make_data(folder / 'data')
    model = randomize_for_fusion(build_model(load_config(SEG)))
    meta = dict(iter=4, epoch=0, dataset_meta=dict(classes=tuple('abcde')))
    training = folder / 'seg_train.pth'
    torch.save(dict(meta=meta, state_dict=model.state_dict()), training)
    reparameterize_model(model)
    deploy = folder / 'seg_deploy.pth'
    torch.save(dict(meta=meta, state_dict=model.state_dict()), deploy)
    backbone_training = folder / 'backbone_train.pth'
    backbone = randomize_for_fusion(UniRepLKNet('a'))
    torch.save(backbone.state_dict(), backbone_training)
    backbone.switch_to_deploy()
    backbone_deploy = folder / 'backbone_deploy.pth'
    torch.save(backbone.state_dict(), backbone_deploy)
    return dict(data=data, training=training, deploy=deploy,
                backbone_training=backbone_training,
                backbone_deploy=backbone_deploy)


# ------------------------------------------------ checkpoint files (tools)
@case('empty checkpoint', 1, 'is empty (0 bytes)', 'save was interrupted')
def _empty_checkpoint(u):
    ckpt = u.file('iter_4.pth', b'')
    return u.tool('tools/reparameterize.py', SEG, ckpt, u.tmp / 'out.pth')


@case('text file as checkpoint', 1, 'is not a PyTorch checkpoint', 'hello')
def _text_checkpoint(u):
    ckpt = u.file('notes.pth', b'hello, this is not a checkpoint\n')
    return u.tool('tools/image_demo.py', SEG, ckpt, ckpt, '--out-dir',
                  u.tmp / 'work')


@case('truncated checkpoint', 1, 'is truncated', 'copy it again')
def _truncated_checkpoint(u):
    ckpt = u.file('iter_4.pth', u.assets['training'].read_bytes()[:100000])
    return u.tool('tools/analysis/benchmark.py', SEG, '--checkpoint', ckpt,
                  '--rounds', 1)


@case('directory as checkpoint', 1, 'is a directory')
def _directory_checkpoint(u):
    (u.tmp / 'ckpts').mkdir()
    return u.tool('tools/test.py', SEG, u.tmp / 'ckpts', '--work-dir',
                  u.tmp / 'work')


@case('missing checkpoint', 1, 'checkpoint', 'not found')
def _missing_checkpoint(u):
    return u.tool('tools/test.py', SEG, u.tmp / 'iter_9.pth', '--work-dir',
                  u.tmp / 'work')


class Payload:
    """What a malicious checkpoint holds: unpickling it calls print."""

    def __reduce__(self):
        return print, ('the payload ran',)


@case('checkpoint whose pickle runs code', 1, 'refuses to load safely',
      '--trust')
def _unsafe_checkpoint(u):
    ckpt = u.tmp / 'evil.pth'
    torch.save({'state_dict': {}, 'payload': Payload()}, ckpt)
    code, message = u.tool('tools/reparameterize.py', SEG, ckpt,
                           u.tmp / 'out.pth')
    assert 'the payload ran' not in message
    return code, message


@case('checkpoint holding a list', CheckpointError, 'holds a list',
      'not a checkpoint dict')
def _list_checkpoint(u):
    ckpt = u.tmp / 'list.pth'
    torch.save([torch.zeros(2)], ckpt)
    return u.call(build_model, load_config(SEG), str(ckpt))


# ------------------------------------------------------------- structure
@case('deploy checkpoint in image_demo with a training config', 1,
      'inference (deploy) structure', 'training structure',
      'demo/deploy/upernet_unireplknet_a_shapes.py')
def _deploy_into_training_demo(u):
    ckpt = u.copy('deploy')
    image = next((u.assets['data'] / 'ade/images/validation').glob('*.jpg'))
    return u.tool('tools/image_demo.py', SEG, ckpt, image, '--out-dir',
                  u.tmp / 'work')


@case('Pretrained deploy checkpoint into a training backbone',
      CheckpointError, 'inference (deploy) structure',
      'training structure (deploy=False)')
def _pretrained_deploy_into_training(u):
    ckpt = u.copy('backbone_deploy')
    model = UniRepLKNet('a', init_cfg=dict(type='Pretrained',
                                           checkpoint=str(ckpt)))
    return u.call(model.init_weights)


@case('Pretrained training checkpoint into a deploy backbone',
      CheckpointError, 'training structure', 'inference (deploy) structure',
      'tools/reparameterize.py')
def _pretrained_training_into_deploy(u):
    ckpt = u.copy('backbone_training')
    model = UniRepLKNet('a', deploy=True, init_cfg=dict(
        type='Pretrained', checkpoint=str(ckpt)))
    return u.call(model.init_weights)


@case('Pretrained checkpoint with keys of another model', CheckpointError,
      'unexpected key(s), first: fpn.weight', 'Only the classifier head')
def _pretrained_extra_keys(u):
    state = torch.load(u.assets['backbone_training'])
    state['fpn.weight'] = torch.zeros(3)
    ckpt = u.tmp / 'extra.pth'
    torch.save(state, ckpt)
    model = UniRepLKNet('a', init_cfg=dict(type='Pretrained',
                                           checkpoint=str(ckpt)))
    return u.call(model.init_weights)


@case('checkpoint of another arch', CheckpointError, 'does not fit',
      'has shape (20, 3, 3, 3) in the checkpoint but (24, 3, 3, 3)')
def _other_arch(u):
    ckpt = u.copy('training')
    cfg = load_config(SEG, {'model.backbone.arch': 'f',
                            'model.decode_head.in_channels': [48, 96, 192,
                                                              384],
                            'model.auxiliary_head.in_channels': 192})
    return u.call(build_model, cfg, str(ckpt))


@case('--resume from a deploy checkpoint', 1, 'cannot be trained further',
      'inference (deploy) structure', 'no message_hub')
def _resume_deploy(u):
    ckpt = u.copy('deploy')
    return u.tool('tools/train.py', SEG, '--work-dir', u.tmp / 'work',
                  '--resume', ckpt)


@case('--resume from an empty file', 1, '--resume', 'is empty (0 bytes)')
def _resume_empty(u):
    ckpt = u.file('iter_8.pth', b'')
    return u.tool('tools/train.py', SEG, '--work-dir', u.tmp / 'work',
                  '--resume', ckpt)


# --------------------------------------------------- tools keep user data
@case('reparameterize OUT is a symbolic link to the input', 1,
      'is the same file as the input', 'symbolic or hard link')
def _out_symlink(u):
    ckpt = u.copy('training', 'iter_4.pth')
    (u.tmp / 'deploy.pth').symlink_to(ckpt)
    return u.tool('tools/reparameterize.py', SEG, ckpt, u.tmp / 'deploy.pth')


@case('reparameterize OUT is a hard link to the input', 1,
      'is the same file as the input')
def _out_hardlink(u):
    ckpt = u.copy('training', 'iter_4.pth')
    os.link(ckpt, u.tmp / 'deploy.pth')
    return u.tool('tools/reparameterize.py', SEG, ckpt, u.tmp / 'deploy.pth')


@case('reparameterize OUT is a directory', 1, 'is a directory',
      'give a file name')
def _out_directory(u):
    ckpt = u.copy('training', 'iter_4.pth')
    (u.tmp / 'deploy').mkdir()
    return u.tool('tools/reparameterize.py', SEG, ckpt, u.tmp / 'deploy')


@case('converter DST is a symbolic link to SRC', 1, 'DST',
      'is the same file as the input')
def _converter_symlink(u):
    src = u.copy('backbone_training', 'authors.pth')
    (u.tmp / 'converted.pth').symlink_to(src)
    return u.tool('tools/model_converters/unireplknet_to_mmunirep.py', src,
                  u.tmp / 'converted.pth')


@case('converter SRC is empty', 1, 'is empty (0 bytes)')
def _converter_empty(u):
    src = u.file('authors.pth', b'')
    return u.tool('tools/model_converters/unireplknet_to_mmunirep.py', src,
                  u.tmp / 'converted.pth')


@case('make_demo_data into a real dataset folder', 1, 'not made by this tool',
      'ADE20K / COCO', '--overwrite')
def _demo_data_into_real_data(u):
    u.file('data/ade/ADEChallengeData2016/images/training/a.jpg', b'jpeg')
    u.file('data/coco/annotations/instances_train2017.json', b'{}')
    return u.tool('tools/make_demo_data.py', '--out', u.tmp / 'data')


@case('make_demo_data --out is a file', 1, 'is a file, not a folder')
def _demo_data_into_file(u):
    u.file('data', b'my notes')
    return u.tool('tools/make_demo_data.py', '--out', u.tmp / 'data')


# -------------------------------------------------------- config options
@case('--strict-options with a misspelled top-level key', 1,
      "no key 'train_cfgg'", "did you mean 'train_cfg'", '--strict-options')
def _strict_top_level(u):
    return u.tool('tools/train.py', SEG, '--work-dir', u.tmp / 'work',
                  '--strict-options', '--cfg-options',
                  'train_cfgg.max_iters=2')


@case('--strict-options with a misspelled second-level key', 1,
      "'model' has no key 'backbonee'", "did you mean 'backbone'")
def _strict_second_level(u):
    return u.tool('tools/test.py', SEG, u.copy('training'), '--work-dir',
                  u.tmp / 'work', '--strict-options', '--cfg-options',
                  'model.backbonee.arch=t')


# ------------------------------------------------------------ model args
@case('arch with ints for depths and dims', ValueError, 'lists of 4 ints',
      'depths=4')
def _arch_ints(u):
    return u.call(UniRepLKNet, arch=dict(depths=4, dims=4))


@case('negative drop_path_rate', ValueError, 'drop_path_rate must be in',
      '-1')
def _drop_path(u):
    return u.call(UniRepLKNet, 'a', drop_path_rate=-1)


@case('in_channels 0', ValueError, 'in_channels must be a positive int')
def _in_channels(u):
    return u.call(UniRepLKNet, 'a', in_channels=0)


@case('layer-decay num_layers below the depth', ValueError,
      'num_layers=3 is below', 'must be >= 5', 'scales above 1')
def _layer_decay_depth(u):
    constructor = UniRepLKNetLayerDecayConstructor(
        dict(type='OptimWrapper', optimizer=dict(type='AdamW', lr=1e-3)),
        dict(decay_rate=0.9, num_layers=3))
    return u.call(constructor, UniRepLKNet('a'))


# ------------------------------------------------------------------ data
def seg_data(u) -> Path:
    """A copy of the tiny dataset in the case's folder."""
    data = u.tmp / 'data'
    for path in u.assets['data'].rglob('*'):
        if path.is_file():
            u.file(f'data/{path.relative_to(u.assets["data"])}', path)
    return data


def first(folder: Path, pattern: str) -> Path:
    return sorted(folder.glob(pattern))[0]


@case('label PNG smaller than its image (train.py --check-data)', 1,
      'label map size differs from its image', 'train_00000.png',
      'nearest-neighbour')
def _small_label(u):
    data = seg_data(u)
    label = first(data / 'ade/annotations/training', '*.png')
    cv2.imwrite(str(label), cv2.imread(str(label), 0)[:64, :80])
    return u.tool('tools/train.py', SEG, '--work-dir', u.tmp / 'work',
                  '--check-data', '--cfg-options', *seg_data_options(data))


@case('label values beyond the classes', 1, 'label values beyond',
      'values [9]', 'ignore index 255')
def _label_values(u):
    data = seg_data(u)
    label = first(data / 'ade/annotations/validation', '*.png')
    array = cv2.imread(str(label), 0)
    array[:4, :4] = 9
    cv2.imwrite(str(label), array)
    return u.tool('tools/check_dataset.py', SEG, '--split', 'val',
                  '--cfg-options', *seg_data_options(data))


@case('corrupt image', 1, 'unreadable image', 'cannot be decoded')
def _corrupt_image(u):
    data = seg_data(u)
    image = first(data / 'ade/images/training', '*.jpg')
    image.write_bytes(image.read_bytes()[:300])
    return u.tool('tools/check_dataset.py', SEG, '--cfg-options',
                  *seg_data_options(data))


@case('empty split', 1, 'empty split', "suffix '.jpg'")
def _empty_split(u):
    data = seg_data(u)
    for image in (data / 'ade/images/validation').glob('*.jpg'):
        image.rename(image.with_suffix('.jpeg'))
    return u.tool('tools/check_dataset.py', SEG, '--cfg-options',
                  *seg_data_options(data))


@case('empty COCO json', 1, 'instances_val2017.json',
      'the annotation file is empty')
def _empty_coco(u):
    data = seg_data(u)
    (data / 'coco/annotations/instances_val2017.json').write_bytes(b'')
    return u.tool('tools/check_dataset.py', DET, '--cfg-options',
                  *det_data_options(data))


@case('truncated COCO json', 1, 'instances_train2017.json',
      'invalid JSON at line 1 column', 'truncated')
def _truncated_coco(u):
    data = seg_data(u)
    ann = data / 'coco/annotations/instances_train2017.json'
    ann.write_bytes(ann.read_bytes()[:500])
    return u.tool('tools/check_dataset.py', DET, '--cfg-options',
                  *det_data_options(data))


@case('truncated COCO json, training without --check-data', 1,
      'bad annotation file', 'instances_train2017.json', 'truncated')
def _truncated_coco_train(u):
    data = seg_data(u)
    ann = data / 'coco/annotations/instances_train2017.json'
    ann.write_bytes(ann.read_bytes()[:500])
    return u.tool('tools/train.py', DET, '--work-dir', u.tmp / 'work',
                  '--cfg-options', *det_data_options(data))


@case('COCO json without categories', 1, "no 'categories' list")
def _coco_no_categories(u):
    data = seg_data(u)
    ann = data / 'coco/annotations/instances_val2017.json'
    coco = json.loads(ann.read_text())
    del coco['categories']
    ann.write_text(json.dumps(coco))
    return u.tool('tools/check_dataset.py', DET, '--split', 'val',
                  '--cfg-options', *det_data_options(data))


@case('COCO categories differ from the config classes', 1,
      'categories differ from the classes', "['hexagon']", "['star']")
def _coco_categories(u):
    data = seg_data(u)
    ann = data / 'coco/annotations/instances_val2017.json'
    coco = json.loads(ann.read_text())
    coco['categories'][-1]['name'] = 'hexagon'
    ann.write_text(json.dumps(coco))
    return u.tool('tools/check_dataset.py', DET, '--split', 'val',
                  '--cfg-options', *det_data_options(data))


@case('segmentation classes differ from the heads', 1,
      'classes differ from the model', 'model.decode_head.num_classes: 4',
      'the dataset has 5 classes')
def _seg_classes(u):
    data = seg_data(u)
    return u.tool('tools/check_dataset.py', SEG, '--split', 'val',
                  '--cfg-options', *seg_data_options(data),
                  'model.decode_head.num_classes=4')


@case('ImageNet label beyond the classifier', 1,
      'label values beyond num_classes', 'label 1200',
      'model.head.num_classes=1000', 'b.JPEG')
def _imagenet_label(u):
    image = cv2.imencode('.jpg', np.full((8, 8, 3), 90, np.uint8))[1]
    u.file('imagenet/val/a.JPEG', image.tobytes())
    u.file('imagenet/val/b.JPEG', image.tobytes())
    u.file('imagenet/meta/val.txt', b'a.JPEG 3\nb.JPEG 1200\n')
    return u.tool('tools/check_dataset.py',
                  ROOT / 'configs/unireplknet_a_in1k.py', '--split', 'val',
                  '--cfg-options',
                  f'val_dataloader.dataset.data_root={u.tmp / "imagenet"}')


@pytest.mark.parametrize('act, expect, words', CASES)
def test_bad_input(act, expect, words, tmp_path, assets):
    user = User(tmp_path, assets)
    outcome, message = act(user)
    if isinstance(expect, int):
        assert outcome == expect, message[-3000:]
    else:
        assert isinstance(outcome, expect), (outcome, message)
    for word in words:
        assert word in message, (word, message[-3000:])
    assert 'Traceback' not in message
    assert snapshot(tmp_path) == user.before


def test_the_catalogue_is_complete():
    assert len(CASES) >= 30


# ------------------------------------------ tools/test.py (full Runner)
@pytest.mark.parametrize('config, extra', [
    (SEG, []),
    (SEG, ['--deploy']),
], ids=['training config', 'training config with --deploy'])
def test_test_tool_refuses_a_deploy_checkpoint(config, extra, tmp_path,
                                               assets):
    ckpt = tmp_path / 'deploy.pth'
    ckpt.write_bytes(assets['deploy'].read_bytes())
    before = snapshot(tmp_path)
    result = run_tool('tools/test.py', config, ckpt, *extra, '--work-dir',
                      tmp_path / 'work', '--cfg-options',
                      *seg_data_options(assets['data']), expect_ok=False)
    assert result.returncode == 1
    message = result.stderr
    for word in ('holds UniRepLKNet in the inference (deploy) structure',
                 'builds the training structure',
                 'configs/demo/deploy/upernet_unireplknet_a_shapes.py'):
        assert word in message, message[-3000:]
    assert not (tmp_path / 'work' / 'test_metrics.json').exists()
    assert snapshot(tmp_path) == before


def test_training_checkpoint_under_deploy_config_is_reparameterized(
        tmp_path, assets):
    """Same mIoU as the training config gives it; the log says what
    happened."""
    opts = ['--cfg-options', *seg_data_options(assets['data'])]
    run_tool('tools/test.py', SEG, assets['training'], '--work-dir',
             tmp_path / 'trained', *opts)
    result = run_tool('tools/test.py', SEG_DEPLOY, assets['training'],
                      '--work-dir', tmp_path / 'deploy', *opts)
    assert 're-parameterized the checkpoint' in result.stdout
    assert read_metrics(tmp_path / 'deploy')['mIoU'] == pytest.approx(
        read_metrics(tmp_path / 'trained')['mIoU'], abs=0.01)


def test_misspelled_option_warns_with_near_matches(caplog):
    logger = MMLogger.get_current_instance()  # MMLogger does not propagate
    logger.addHandler(caplog.handler)
    try:
        cfg = load_config(SEG, {'train_cfgg.max_iters': 2,
                                'train_cfg.max_iters': 3})
    finally:
        logger.removeHandler(caplog.handler)
    assert cfg.train_cfg.max_iters == 3
    assert "no key 'train_cfgg' (did you mean 'train_cfg'" in caplog.text
    assert "'train_cfg.max_iters'" not in caplog.text
    # keys the Runner reads without the config setting them are fine
    assert load_config(SEG, {'work_dir': 'x', 'launcher': 'none'},
                       strict_options=True).work_dir == 'x'


def test_check_dataset_passes_good_data(assets):
    cfg = load_config(SEG, dict(
        train_dataloader=dict(dataset=dict(data_root=f'{assets["data"]}/ade')),
        val_dataloader=dict(dataset=dict(data_root=f'{assets["data"]}/ade'))))
    assert check_dataset(cfg) == []
    det = load_config(DET, {k.split('=')[0]: k.split('=', 1)[1]
                            for k in det_data_options(assets['data'])})
    assert check_dataset(det, ('train', 'val')) == []


def test_authors_deploy_layout_converts_and_loads(tmp_path, assets):
    """A deploy file in the authors' layout (dwconv.lk_origin.*) converts
    and gives the deploy model's outputs."""
    cls_deploy = str(ROOT / 'configs/deploy/unireplknet_a_in1k.py')
    model = randomize_for_fusion(build_model(load_config(
        str(ROOT / 'configs/unireplknet_a_in1k.py'))))
    reparameterize_model(model)
    authors = {k[len('backbone.'):] if k.startswith('backbone.') else
               k.replace('head.fc.', 'head.'): v
               for k, v in model.state_dict().items()}
    src = tmp_path / 'unireplknet_a_deploy.pth'
    torch.save({'model': authors_deploy_layout(authors)}, src)
    assert any('lk_origin' in k for k in torch.load(src)['model'])
    code, log = run_inprocess(
        'tools/model_converters/unireplknet_to_mmunirep.py', src,
        tmp_path / 'converted.pth', '--config', cls_deploy)
    assert code == 0, log
    assert 'renamed 20 dwconv.lk_origin.* keys' in log
    converted = build_model(load_config(cls_deploy),
                            str(tmp_path / 'converted.pth'))
    image = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        assert torch.allclose(converted.extract_feat(image)[0],
                              model.extract_feat(image)[0], atol=1e-5)
