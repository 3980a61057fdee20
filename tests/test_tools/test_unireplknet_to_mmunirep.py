# Copyright (c) mmunirep contributors. All rights reserved.
"""The authors' checkpoint converter (mmunirep.converters, and its command
line tools/model_converters/unireplknet_to_mmunirep.py) on files in the
authors' layouts: their ImageNet classifier, their mmdet 2.28 Cascade Mask
R-CNN (with the buffers of mmdet 2.x's ExpMomentumEMAHook) and their mmseg
0.27 UperNet.

The source layouts are written out here from the authors' key list
(tests/test_models/test_unireplknet_release_compat.py) and from the module
definitions of mmdet 2.28 / mmseg 0.27 (FPN, RPNHead, ConvFCBBoxHead,
FCNMaskHead; UPerHead with PPM, FCNHead), not derived from our models, so a
wrong mapping cannot cancel itself out. The backbone is arch 'a' and the head
widths are narrowed with --cfg-options to keep the files small.
"""
import argparse
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from mmunirep.apis import build_model, load_config
from mmunirep.converters import ConversionError, convert
from mmunirep.converters import unireplknet_official as converter
from tests.test_models.test_unireplknet_release_compat import \
    authors_state_dict_shapes

ROOT = Path(__file__).resolve().parents[2]
TOOL = ROOT / 'tools' / 'model_converters' / 'unireplknet_to_mmunirep.py'

DEPTHS, DIMS = [2, 2, 6, 2], [40, 80, 160, 320]
KERNELS = [[3] * 2, [13] * 2, [13] * 6, [13] * 2]  # UniRepLKNet-A

# head widths for the small models
FPN, BOX_CONV, BOX_FC, MASK_CONV = 256, 32, 64, 32
UPER, AUX = 64, 32

CLS_CONFIG = 'configs/unireplknet_a_in1k.py'
DET_CONFIG = 'configs/cascade_mask_rcnn_unireplknet_t_coco.py'
SEG_CONFIG = 'configs/upernet_unireplknet_t_ade20k.py'
DET_OPTIONS = {
    'model.backbone.arch': 'a',
    'model.neck.in_channels': DIMS,
    'model.roi_head.mask_head.conv_out_channels': MASK_CONV,
    **{
        f'model.roi_head.bbox_head.{s}.conv_out_channels': BOX_CONV
        for s in range(3)
    },
    **{
        f'model.roi_head.bbox_head.{s}.fc_out_channels': BOX_FC
        for s in range(3)
    },
}
SEG_OPTIONS = {
    'model.backbone.arch': 'a',
    'model.decode_head.in_channels': DIMS,
    'model.decode_head.channels': UPER,
    'model.auxiliary_head.in_channels': DIMS[2],
    'model.auxiliary_head.channels': AUX,
}
CLASSES = tuple(f'class{i}' for i in range(80))
# What mmcv 1.x writes to meta['config'] for the authors' IN-22K detectors
# (detection/configs/coco/casc_mask_rcnn_unireplknet_xl_in22k_fpn_3x_coco.py)
AUTHORS_EMA_CONFIG = """\
runner = dict(type='EpochBasedRunner', max_epochs=36)
checkpoint_config = dict(interval=1, max_keep_ckpts=5, save_last=True)
resume_from = None
custom_hooks = [
    dict(
        type='ExpMomentumEMAHook',
        resume_from=None,
        momentum=0.0001,
        priority=49)
]
"""


def cli(options):
    """``--cfg-options`` arguments for a dict of overrides."""
    return [
        f'{k}=[{",".join(map(str, v))}]' if isinstance(v, list) else f'{k}={v}'
        for k, v in options.items()
    ]


# ------------------------------------------------ the authors' file layouts
def add_bn(shapes, prefix, c):
    for name in ('weight', 'bias', 'running_mean', 'running_var'):
        shapes[f'{prefix}.{name}'] = (c, )
    shapes[f'{prefix}.num_batches_tracked'] = ()


def add_conv_module(shapes, prefix, out, inp, k, norm):
    """mmcv ConvModule: ``conv`` (bias only without norm) and ``bn``."""
    shapes[f'{prefix}.conv.weight'] = (out, inp, k, k)
    if norm:
        add_bn(shapes, f'{prefix}.bn', out)
    else:
        shapes[f'{prefix}.conv.bias'] = (out, )


def backbone_shapes():
    dense = authors_state_dict_shapes(DEPTHS, DIMS, KERNELS, 'dense')
    return {f'backbone.{k}': v for k, v in dense.items()}


def mmdet2_shapes():
    """Cascade Mask R-CNN of mmdet 2.28 (configs/_base_/models/
    cascade_mask_rcnn_r50_fpn.py with the authors' SyncBN 4conv1fc heads)."""
    shapes = backbone_shapes()
    for i, c in enumerate(DIMS):  # necks/fpn.py, no norm
        add_conv_module(shapes, f'neck.lateral_convs.{i}', FPN, c, 1, False)
        add_conv_module(shapes, f'neck.fpn_convs.{i}', FPN, FPN, 3, False)
    shapes.update({  # dense_heads/rpn_head.py: 3 anchors, sigmoid
        'rpn_head.rpn_conv.weight': (FPN, FPN, 3, 3),
        'rpn_head.rpn_conv.bias': (FPN, ),
        'rpn_head.rpn_cls.weight': (3, FPN, 1, 1),
        'rpn_head.rpn_cls.bias': (3, ),
        'rpn_head.rpn_reg.weight': (12, FPN, 1, 1),
        'rpn_head.rpn_reg.bias': (12, ),
    })
    for s in range(3):
        box = f'roi_head.bbox_head.{s}'  # bbox_heads/convfc_bbox_head.py
        for i in range(4):
            add_conv_module(shapes, f'{box}.shared_convs.{i}', BOX_CONV,
                            FPN if i == 0 else BOX_CONV, 3, True)
        shapes[f'{box}.shared_fcs.0.weight'] = (BOX_FC, BOX_CONV * 7 * 7)
        shapes[f'{box}.shared_fcs.0.bias'] = (BOX_FC, )
        shapes[f'{box}.fc_cls.weight'] = (81, BOX_FC)
        shapes[f'{box}.fc_cls.bias'] = (81, )
        shapes[f'{box}.fc_reg.weight'] = (320, BOX_FC)
        shapes[f'{box}.fc_reg.bias'] = (320, )
        mask = f'roi_head.mask_head.{s}'  # mask_heads/fcn_mask_head.py
        for i in range(4):
            add_conv_module(shapes, f'{mask}.convs.{i}', MASK_CONV,
                            FPN if i == 0 else MASK_CONV, 3, False)
        shapes[f'{mask}.upsample.weight'] = (MASK_CONV, MASK_CONV, 2, 2)
        shapes[f'{mask}.upsample.bias'] = (MASK_CONV, )
        shapes[f'{mask}.conv_logits.weight'] = (80, MASK_CONV, 1, 1)
        shapes[f'{mask}.conv_logits.bias'] = (80, )
    return shapes


def mmseg0_shapes():
    """UperNet of mmseg 0.27 (UPerHead + FCNHead auxiliary, SyncBN)."""
    shapes = backbone_shapes()
    d = 'decode_head'  # decode_heads/uper_head.py, psp_head.py (PPM)
    shapes[f'{d}.conv_seg.weight'] = (150, UPER, 1, 1)
    shapes[f'{d}.conv_seg.bias'] = (150, )
    for j in range(4):
        add_conv_module(shapes, f'{d}.psp_modules.{j}.1', UPER, DIMS[3], 1,
                        True)
    add_conv_module(shapes, f'{d}.bottleneck', UPER, DIMS[3] + 4 * UPER, 3,
                    True)
    for i in range(3):
        add_conv_module(shapes, f'{d}.lateral_convs.{i}', UPER, DIMS[i], 1,
                        True)
        add_conv_module(shapes, f'{d}.fpn_convs.{i}', UPER, UPER, 3, True)
    add_conv_module(shapes, f'{d}.fpn_bottleneck', UPER, 4 * UPER, 3, True)
    a = 'auxiliary_head'  # decode_heads/fcn_head.py, num_convs=1
    add_conv_module(shapes, f'{a}.convs.0', AUX, DIMS[2], 3, True)
    shapes[f'{a}.conv_seg.weight'] = (150, AUX, 1, 1)
    shapes[f'{a}.conv_seg.bias'] = (150, )
    return shapes


def random_state(shapes, seed):
    gen = torch.Generator().manual_seed(seed)
    return {
        k: torch.randn(s, generator=gen) if s else torch.tensor(1000 + seed)
        for k, s in shapes.items()
    }


def with_ema_buffers(raw, averaged, swapped):
    """What mmdet 2.x's ExpMomentumEMAHook leaves in a model's state dict.

    One buffer per state-dict entry (skip_buffers=False), named 'ema_' + the
    name with '.' -> '_'; swapped with the model's values at every epoch end
    (``swapped``: the checkpoint was written after that swap, as with the
    authors' priority 49). The average of an integer counter is never
    updated, so its copy stays at its initial value.
    """
    state = {}
    for key, value in raw.items():
        if key.endswith('num_batches_tracked'):
            model, ema = value, torch.tensor(0)
        else:
            model, ema = value, averaged[key]
        if swapped:
            model, ema = ema, model
        state[key] = model
        state['ema_' + key.replace('.', '_')] = ema
    return state


def classifier_state(seed=0, dims=DIMS):
    return random_state(
        authors_state_dict_shapes(DEPTHS, dims, KERNELS, 'classifier'), seed)


def mmdet2_checkpoint(swapped=True, config=AUTHORS_EMA_CONFIG):
    raw = random_state(mmdet2_shapes(), 1)
    averaged = random_state(mmdet2_shapes(), 2)
    state = with_ema_buffers(raw, averaged, swapped)
    meta = dict(mmdet_version='2.28.1',
                CLASSES=CLASSES,
                PALETTE=[(i, 2 * i, 3) for i in range(80)],
                config=config,
                epoch=36,
                iter=263376,
                env_info='sys.platform: linux',
                hook_msgs=dict(best_score=np.float64(0.5639),
                               last_ckpt='work_dirs/epoch_36.pth'))
    optimizer = dict(state={0: dict(exp_avg=torch.zeros(3))},
                     param_groups=[dict(lr=1e-4, params=[0])])
    return dict(meta=meta, state_dict=state, optimizer=optimizer), raw, \
        averaged


@pytest.fixture(scope='module')
def files(tmp_path_factory):
    """The sources, and the tool run on them as a user would.

    Each run spends most of its time importing torch and the OpenMMLab
    packages, so all of them start at once and each test waits only for the
    ones it checks.
    """
    tmp = tmp_path_factory.mktemp('convert')
    cls = classifier_state()
    det, det_raw, det_avg = mmdet2_checkpoint()
    seg = random_state(mmseg0_shapes(), 3)
    seg_meta = dict(mmseg_version='0.27.0',
                    CLASSES=tuple(f'c{i}' for i in range(150)),
                    PALETTE=[[i, i, i] for i in range(150)],
                    iter=160000)
    torch.save({'model': cls, 'epoch': 299}, tmp / 'cls.pth')
    torch.save(det, tmp / 'det.pth')
    torch.save({
        'meta': seg_meta,
        'state_dict': seg,
        'optimizer': {}
    }, tmp / 'seg.pth')
    torch.save(
        {
            'conv1.weight': torch.zeros(64, 3, 7, 7),
            'fc.weight': torch.zeros(1000, 2048)
        }, tmp / 'resnet.pth')
    runs = {
        'imagenet': ['cls.pth', 'cls_out.pth', '--config', CLS_CONFIG],
        'mmdet2': [
            'det.pth', 'det_out.pth', '--config', DET_CONFIG, '--cfg-options',
            *cli(DET_OPTIONS)
        ],
        'mmseg0': [
            'seg.pth', 'seg_out.pth', '--config', SEG_CONFIG, '--cfg-options',
            *cli(SEG_OPTIONS)
        ],
        'unrelated': ['resnet.pth', 'resnet_out.pth'],
    }
    procs = {}
    for name, args in runs.items():
        args = [str(tmp / a) if a.endswith('.pth') else a for a in args]
        procs[name] = subprocess.Popen(
            [sys.executable, str(TOOL), *args],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True)
    results = {}

    def result(name):
        if name not in results:
            out, err = procs[name].communicate(timeout=300)
            results[name] = (procs[name].returncode, out, err)
        return results[name]

    yield dict(dir=tmp,
               result=result,
               cls=cls,
               det=det,
               det_raw=det_raw,
               det_avg=det_avg,
               seg=seg)
    for proc in procs.values():
        if proc.poll() is None:
            proc.kill()
        proc.communicate()


def succeeded(files, name):
    code, out, err = files['result'](name)
    assert code == 0, f'{name} failed:\n{out}\n{err}'
    return out


def failed(files, name):
    code, out, err = files['result'](name)
    assert code != 0, f'{name} should have failed:\n{out}\n{err}'
    assert 'Traceback' not in err, err
    return err


def load_output(path):
    # the output needs no allow-listed globals and no --trust
    return torch.load(path, map_location='cpu', weights_only=True)


# ------------------------------------------------------------------- tests
def test_imagenet(files):
    out = succeeded(files, 'imagenet')
    assert 'checked: loads with strict keys' in out
    assert 'UniRepLKNet-A' in out
    path = files['dir'] / 'cls_out.pth'
    ckpt = load_output(path)
    state, src = ckpt['state_dict'], files['cls']
    assert set(state) == {
        ('head.fc.' + k[5:]) if k.startswith('head.') else 'backbone.' + k
        for k in src
    }
    assert torch.equal(state['head.fc.weight'], src['head.weight'])
    assert torch.equal(state['backbone.norm.bias'], src['norm.bias'])
    model = build_model(load_config(CLS_CONFIG), checkpoint=str(path))
    assert torch.equal(model.head.fc.bias, src['head.bias'])
    assert torch.equal(model.backbone.norm.weight, src['norm.weight'])
    assert torch.equal(model.backbone.stages[2][5].fc1.weight,
                       src['stages.2.5.pwconv1.1.weight'])
    record = ckpt['meta']['converted_from']
    assert record['format'] == 'imagenet' and record['source'] == 'cls.pth'
    assert record['source_meta'] == {'epoch': 299}


def test_mmdet2_takes_the_averaged_weights(files):
    out = succeeded(files, 'mmdet2')
    assert 'checked: loads with strict keys' in out
    path = files['dir'] / 'det_out.pth'
    ckpt = load_output(path)
    assert set(ckpt) == {'meta', 'state_dict'}  # optimizer dropped
    state, avg = ckpt['state_dict'], files['det_avg']
    assert 'ema_roi_head_bbox_head_2_fc_cls_weight' in files['det'][
        'state_dict']
    assert set(state) == set(avg)  # every ema_* buffer dropped
    for key in ('roi_head.bbox_head.2.fc_cls.weight',
                'roi_head.mask_head.1.conv_logits.weight',
                'backbone.stages.2.3.dwconv.dil_bn_k7_2.running_var',
                'neck.fpn_convs.0.conv.weight', 'rpn_head.rpn_reg.bias'):
        assert torch.equal(state[key], avg[key]), key
    # the authors' files hold the average in the regular keys (the hook
    # swapped it in before the CheckpointHook ran)
    regular = files['det']['state_dict']
    assert torch.equal(state['neck.lateral_convs.3.conv.bias'],
                       regular['neck.lateral_convs.3.conv.bias'])
    cfg = load_config(DET_CONFIG, DET_OPTIONS)
    model = build_model(cfg, checkpoint=str(path))
    assert torch.equal(model.roi_head.mask_head[2].upsample.weight,
                       avg['roi_head.mask_head.2.upsample.weight'])
    assert model.dataset_meta['classes'] == CLASSES
    meta = ckpt['meta']
    assert meta['dataset_meta']['palette'][1] == (1, 2, 3)
    record = meta['converted_from']
    assert record['format'] == 'mmdet2'
    assert record['ema']['weights'] == 'ema'
    assert record['ema']['taken_from'] == 'regular_keys'
    assert record['source_meta']['mmdet_version'] == '2.28.1'
    assert record['source_meta']['epoch'] == 36
    assert 'ExpMomentumEMAHook' in record['source_config']


def test_mmdet2_no_ema_takes_the_raw_weights(files):
    out = files['dir'] / 'det_raw.pth'
    result = convert(str(files['dir'] / 'det.pth'), str(out), use_ema=False)
    assert any('writing the raw weights, from the ema_* buffers' in note
               for note in result.notes)
    state = load_output(out)['state_dict']
    raw = files['det_raw']
    assert set(state) == set(raw)
    for key in ('roi_head.bbox_head.0.shared_fcs.0.weight',
                'backbone.downsample_layers.0.0.weight',
                'roi_head.bbox_head.1.shared_convs.3.bn.num_batches_tracked'):
        assert torch.equal(state[key], raw[key]), key


def test_mmseg0(files):
    out = succeeded(files, 'mmseg0')
    assert 'checked: loads with strict keys' in out
    path = files['dir'] / 'seg_out.pth'
    ckpt = load_output(path)
    src = files['seg']
    assert set(ckpt['state_dict']) == set(src)
    model = build_model(load_config(SEG_CONFIG, SEG_OPTIONS),
                        checkpoint=str(path))
    assert torch.equal(model.decode_head.conv_seg.weight,
                       src['decode_head.conv_seg.weight'])
    assert torch.equal(model.decode_head.psp_modules[3][1].bn.running_mean,
                       src['decode_head.psp_modules.3.1.bn.running_mean'])
    assert torch.equal(model.auxiliary_head.convs[0].conv.weight,
                       src['auxiliary_head.convs.0.conv.weight'])
    assert torch.equal(model.backbone.norm1.weight,
                       src['backbone.norm1.weight'])
    meta = ckpt['meta']
    assert len(meta['dataset_meta']['classes']) == 150
    assert meta['converted_from']['ema'] == dict(ema_buffers=False,
                                                 weights='as saved')


def test_unrelated_checkpoint_is_refused(files):
    err = failed(files, 'unrelated')
    assert 'cannot tell what kind of UniRepLKNet checkpoint' in err
    assert not (files['dir'] / 'resnet_out.pth').exists()


def test_config_of_another_arch_is_refused(files):
    out = files['dir'] / 'f_out.pth'
    with pytest.raises(ConversionError) as error:
        convert(str(files['dir'] / 'cls.pth'), str(out),
                config='configs/unireplknet_f_in1k.py')
    message = str(error.value)
    assert ('downsample_layers.0.0.weight has shape (20, 3, 3, 3) in the '
            'checkpoint but (24, 3, 3, 3) in the model') in message
    assert 'UniRepLKNet-A' in message and "arch='f'" in message
    assert not out.exists()


def test_pickled_objects_need_trust(files, tmp_path):
    src = tmp_path / 'cls_args.pth'
    torch.save({
        'model': files['cls'],
        'args': argparse.Namespace(model='a')
    }, src)
    out = tmp_path / 'trusted.pth'
    with pytest.raises(ConversionError) as error:
        convert(str(src), str(out))
    assert 'argparse.Namespace' in str(error.value)
    assert '--trust' in str(error.value)
    assert not out.exists()
    result = convert(str(src), str(out), trust=True)
    assert any('trusting' in warning for warning in result.warnings)
    state = load_output(out)['state_dict']
    assert torch.equal(state['head.fc.weight'], files['cls']['head.weight'])


def test_ema_saved_before_the_swap(tmp_path):
    """An EMA hook after the CheckpointHook (default priority NORMAL) leaves
    the average in the ema_* buffers: by default they replace the regular
    values, --no-ema keeps the regular ones."""
    config = AUTHORS_EMA_CONFIG.replace(',\n        priority=49)', ')')
    ckpt, raw, averaged = mmdet2_checkpoint(swapped=False, config=config)
    assert converter.ema_hook_settings(config) == ('ExpMomentumEMAHook', 50,
                                                   False)
    src = tmp_path / 'det.pth'
    torch.save(ckpt, src)
    key = 'roi_head.bbox_head.0.fc_reg.weight'
    convert(str(src), str(tmp_path / 'ema.pth'))
    state = load_output(tmp_path / 'ema.pth')['state_dict']
    assert torch.equal(state[key], averaged[key])
    result = convert(str(src), str(tmp_path / 'raw.pth'), use_ema=False)
    state = load_output(tmp_path / 'raw.pth')['state_dict']
    assert torch.equal(state[key], raw[key])
    assert any('regular keys hold the raw weights' in note
               for note in result.notes)


def test_where_the_average_is_without_counters():
    """mmcv 1.x's EMAHook averages parameters only: no counters to read, so
    the hook's priority in meta['config'] decides, else the authors'
    setting is assumed."""
    raw = {'a.weight': torch.zeros(2), 'ema_a_weight': torch.ones(2)}
    pairs, orphans = converter.pair_ema_buffers(raw)
    assert pairs == {'a.weight': 'ema_a_weight'} and orphans == []
    assert converter.locate_ema(raw, pairs, AUTHORS_EMA_CONFIG)[0] is True
    low = AUTHORS_EMA_CONFIG.replace('priority=49', "priority='LOW'")
    assert converter.ema_hook_settings(low)[1] == 70
    assert converter.locate_ema(raw, pairs, low)[0] is False
    iters = low.replace('EpochBasedRunner',
                        'IterBasedRunner').replace("'LOW'", '49')
    assert converter.locate_ema(raw, pairs, iters)[0] is False
    assert converter.ema_hook_settings('model = dict()') is None
    swapped, evidence = converter.locate_ema(raw, pairs, None)
    assert swapped is True and 'assumed' in evidence


def test_config_text_is_parsed_not_searched():
    """The EMA hook is found by walking the config's syntax tree: a
    commented-out hook or one named in a string does not count, brackets
    inside strings do not confuse it, and {...} literals work too."""
    text = ("# custom_hooks = [dict(type='EMAHook', priority=10)]\n"
            "note = \"type='EMAHook' (priority=5) ]]\"\n" +
            AUTHORS_EMA_CONFIG.replace('priority=49', "priority='VERY_LOW'"))
    assert converter.ema_hook_settings(text) == ('ExpMomentumEMAHook', 90,
                                                 False)
    literal = "custom_hooks = [{'type': 'EMAHook', 'priority': 40}]\n"
    assert converter.ema_hook_settings(literal) == ('EMAHook', 40, False)
    assert converter.ema_hook_settings('model = dict(') is None


def test_wrong_type_or_mmengine_checkpoint(tmp_path):
    ckpt, _, _ = mmdet2_checkpoint()
    src = tmp_path / 'det.pth'
    torch.save(ckpt, src)
    with pytest.raises(ConversionError, match=r'no decode_head\.\*'):
        convert(str(src), str(tmp_path / 'x.pth'), 'mmseg0')
    with pytest.raises(ConversionError,
                       match='not a UniRepLKNet ImageNet checkpoint'):
        convert(str(src), str(tmp_path / 'x.pth'), 'imagenet')
    converted = tmp_path / 'converted.pth'
    convert(str(src), str(converted))
    with pytest.raises(ConversionError, match='already an OpenMMLab 2.0'):
        convert(str(converted), str(tmp_path / 'again.pth'))
    assert not (tmp_path / 'x.pth').exists()
