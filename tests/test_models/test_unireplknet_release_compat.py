# Copyright (c) mmunirep contributors. All rights reserved.
"""The backbone against the paper's numbers and the authors' file layout."""
import pytest
import torch
from mmengine.registry import init_default_scope

from mmunirep.models import UniRepLKNet
from mmunirep.utils import CheckpointError

# Parameters of the inference structure with a 1000-class LayerNorm + Linear
# head, in millions (Table of the paper, two decimals as in the authors'
# model zoo).
PAPER_PARAMS = {
    'a': 4.44, 'f': 6.24, 'p': 10.74, 'n': 18.32, 't': 31.04, 's': 55.65,
    'b': 98.01, 'l': 218.45, 'xl': 386.53
}


@pytest.mark.parametrize('arch', list(PAPER_PARAMS))
def test_parameter_count_matches_the_paper(arch):
    with torch.device('meta'):
        backbone = UniRepLKNet(arch, deploy=True, out_indices=(3, ),
                               gap_before_final_norm=True)
        head = torch.nn.Linear(backbone.dims[-1], 1000)
    count = sum(p.numel() for p in backbone.parameters())
    count += sum(p.numel() for p in head.parameters())
    assert round(count / 1e6, 2) == PAPER_PARAMS[arch]


def test_training_structure_is_slightly_larger():
    with torch.device('meta'):
        train = UniRepLKNet('t', out_indices=(3, ), gap_before_final_norm=True)
    count = sum(p.numel() for p in train.parameters()) + 640 * 1000 + 1000
    assert round(count / 1e6, 2) == 31.69  # the authors' reported figure


def authors_state_dict_shapes(depths, dims, kernel_sizes, mode):
    """Key -> shape of the authors' UniRepLKNet checkpoints, written from
    their published layout (not from our model)."""
    drb = {13: [(5, 1), (7, 2), (3, 3), (3, 4), (3, 5)]}
    bn = ('weight', 'bias', 'running_mean', 'running_var',
          'num_batches_tracked')
    shapes = {}

    def add_bn(prefix, c):
        for name in bn:
            shapes[f'{prefix}.{name}'] = () if name == 'num_batches_tracked' \
                else (c, )

    c0 = dims[0]
    shapes.update({
        'downsample_layers.0.0.weight': (c0 // 2, 3, 3, 3),
        'downsample_layers.0.0.bias': (c0 // 2, ),
        'downsample_layers.0.1.weight': (c0 // 2, ),
        'downsample_layers.0.1.bias': (c0 // 2, ),
        'downsample_layers.0.3.weight': (c0, c0 // 2, 3, 3),
        'downsample_layers.0.3.bias': (c0, ),
        'downsample_layers.0.4.weight': (c0, ),
        'downsample_layers.0.4.bias': (c0, ),
    })
    for i in range(1, 4):
        shapes[f'downsample_layers.{i}.0.weight'] = (dims[i], dims[i - 1], 3,
                                                     3)
        shapes[f'downsample_layers.{i}.0.bias'] = (dims[i], )
        shapes[f'downsample_layers.{i}.1.weight'] = (dims[i], )
        shapes[f'downsample_layers.{i}.1.bias'] = (dims[i], )
    for i, (depth, c) in enumerate(zip(depths, dims)):
        for b in range(depth):
            p = f'stages.{i}.{b}'
            k = kernel_sizes[i][b]
            if k == 3:
                shapes[f'{p}.dwconv.weight'] = (c, 1, 3, 3)
            else:
                shapes[f'{p}.dwconv.lk_origin.weight'] = (c, 1, k, k)
                add_bn(f'{p}.dwconv.origin_bn', c)
                for bk, r in drb[k]:
                    shapes[f'{p}.dwconv.dil_conv_k{bk}_{r}.weight'] = (c, 1,
                                                                       bk, bk)
                    add_bn(f'{p}.dwconv.dil_bn_k{bk}_{r}', c)
            add_bn(f'{p}.norm', c)
            shapes.update({
                f'{p}.se.down.weight': (c // 4, c, 1, 1),
                f'{p}.se.down.bias': (c // 4, ),
                f'{p}.se.up.weight': (c, c // 4, 1, 1),
                f'{p}.se.up.bias': (c, ),
                f'{p}.pwconv1.1.weight': (4 * c, c),
                f'{p}.pwconv1.1.bias': (4 * c, ),
                f'{p}.act.1.gamma': (1, 1, 1, 4 * c),
                f'{p}.act.1.beta': (1, 1, 1, 4 * c),
                f'{p}.pwconv2.0.weight': (c, 4 * c),
                f'{p}.gamma': (c, ),
            })
            add_bn(f'{p}.pwconv2.2', c)
    if mode == 'classifier':
        shapes.update({
            'norm.weight': (dims[3], ), 'norm.bias': (dims[3], ),
            'head.weight': (1000, dims[3]), 'head.bias': (1000, )
        })
    else:
        for i in range(4):
            shapes[f'norm{i}.weight'] = (dims[i], )
            shapes[f'norm{i}.bias'] = (dims[i], )
    return shapes


def authors_checkpoint(mode, prefix=''):
    shapes = authors_state_dict_shapes([2, 2, 6, 2], [40, 80, 160, 320],
                                       UniRepLKNet('a').kernel_sizes, mode)
    gen = torch.Generator().manual_seed(0)
    return {
        prefix + key: (torch.randn(shape, generator=gen) if shape else
                       torch.tensor(7))
        for key, shape in shapes.items()
    }


def test_our_keys_and_shapes_equal_the_authors_classifier():
    model = UniRepLKNet('a', out_indices=(3, ), gap_before_final_norm=True)
    ours = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    theirs = authors_state_dict_shapes(model.depths, model.dims,
                                       model.kernel_sizes, 'classifier')
    del theirs['head.weight'], theirs['head.bias']
    assert ours == theirs


def test_imagenet_checkpoint_into_dense_mode():
    state = authors_checkpoint('classifier')
    model = UniRepLKNet('a')
    missing, unexpected = model.load_state_dict(state, strict=False)
    assert sorted(missing) == sorted(f'norm{i}.{p}' for i in range(4)
                                     for p in ('weight', 'bias'))
    assert sorted(unexpected) == ['head.bias', 'head.weight', 'norm.bias',
                                  'norm.weight']
    assert torch.equal(model.stages[2][5].fc1.weight,
                       state['stages.2.5.pwconv1.1.weight'])


def test_imagenet_checkpoint_into_classification_mode():
    state = authors_checkpoint('classifier')
    model = UniRepLKNet('a', out_indices=(3, ), gap_before_final_norm=True)
    missing, unexpected = model.load_state_dict(state, strict=False)
    assert missing == []
    assert sorted(unexpected) == ['head.bias', 'head.weight']
    assert torch.equal(model.norm.weight, state['norm.weight'])


def test_dense_checkpoint_through_init_cfg(tmp_path):
    """The authors' det/seg backbone weights, as ``init_cfg`` loads them."""
    path = tmp_path / 'authors_dense.pth'
    torch.save(authors_checkpoint('dense'), path)
    model = UniRepLKNet(
        'a', init_cfg=dict(type='Pretrained', checkpoint=str(path)))
    model.init_weights()
    state = authors_checkpoint('dense')
    for key, value in model.state_dict().items():
        assert torch.equal(value, state[key]), key
    assert set(model.state_dict()) == set(state)


@pytest.mark.parametrize('scope', ['mmdet', 'mmseg', 'mmpretrain'])
def test_builds_from_each_downstream_registry(scope):
    registry = __import__(f'{scope}.registry', fromlist=['MODELS']).MODELS
    init_default_scope(scope)
    model = registry.build(
        dict(type='mmunirep.UniRepLKNet', arch='a', out_indices=(2, 3),
             norm_cfg=dict(type='SyncBN')))
    assert isinstance(model, UniRepLKNet)
    assert isinstance(model.stages[0][0].norm, torch.nn.SyncBatchNorm)


def test_wrapped_checkpoint_and_prefix(tmp_path):
    """The authors' training script saves {'model': state_dict}; detector
    checkpoints need prefix='backbone.'."""
    wrapped = tmp_path / 'wrapped.pth'
    torch.save({'model': authors_checkpoint('classifier')}, wrapped)
    model = UniRepLKNet('a', out_indices=(3, ), gap_before_final_norm=True,
                        init_cfg=dict(type='Pretrained',
                                      checkpoint=str(wrapped)))
    model.init_weights()
    state = authors_checkpoint('classifier')
    assert torch.equal(model.norm.weight, state['norm.weight'])
    detector = tmp_path / 'detector.pth'
    torch.save({'state_dict': authors_checkpoint('dense', 'backbone.'),
                'meta': {}}, detector)
    model = UniRepLKNet('a', init_cfg=dict(type='Pretrained',
                                           checkpoint=str(detector),
                                           prefix='backbone.'))
    model.init_weights()
    assert torch.equal(model.norm2.bias,
                       authors_checkpoint('dense')['norm2.bias'])


def test_bad_pretrained_checkpoints_say_what_is_wrong(tmp_path):
    missing = UniRepLKNet('a', init_cfg=dict(
        type='Pretrained', checkpoint=str(tmp_path / 'nope.pth')))
    with pytest.raises(FileNotFoundError, match='huggingface.co/DingXiaoH'):
        missing.init_weights()
    # a published file not fetched yet: its URL and the download tool
    name = 'unireplknet_a_in1k_224_acc77.03.pth'
    not_fetched = UniRepLKNet('a', init_cfg=dict(
        type='Pretrained', checkpoint=f'checkpoints/{name}'))
    with pytest.raises(FileNotFoundError) as error:
        not_fetched.init_weights()
    assert (f'https://huggingface.co/DingXiaoH/UniRepLKNet/resolve/main/'
            f'{name}') in str(error.value)
    assert f'tools/download_checkpoints.py {name}' in str(error.value)
    # a file the authors lost: what replaces it
    lost = UniRepLKNet('xl', init_cfg=dict(
        type='Pretrained',
        checkpoint=('checkpoints/'
                    'unireplknet_xl_in22k_to_in1k_384_acc87.96.pth')))
    with pytest.raises(
            FileNotFoundError,
            match='lost by the authors.*unireplknet_xl_in22k_pretrain'):
        lost.init_weights()
    path = tmp_path / 'a.pth'
    torch.save(authors_checkpoint('classifier'), path)
    wrong_arch = UniRepLKNet('f', init_cfg=dict(type='Pretrained',
                                                checkpoint=str(path)))
    with pytest.raises(CheckpointError, match='downsample_layers.0.0.weight '
                       'has shape \\(20, 3, 3, 3\\) in the checkpoint but '
                       '\\(24, 3, 3, 3\\) in the model'):
        wrong_arch.init_weights()
    wrong_prefix = UniRepLKNet('a', init_cfg=dict(
        type='Pretrained', checkpoint=str(path), prefix='backbone.'))
    with pytest.raises(CheckpointError,
                       match="no keys starting with 'backbone.'"):
        wrong_prefix.init_weights()


def test_checkpoint_with_python_objects_points_to_the_converter(tmp_path):
    import argparse
    path = tmp_path / 'with_args.pth'
    torch.save({'model': authors_checkpoint('classifier'),
                'args': argparse.Namespace(lr=1.0)}, path)
    model = UniRepLKNet('a', init_cfg=dict(type='Pretrained',
                                           checkpoint=str(path)))
    with pytest.raises(CheckpointError, match='unireplknet_to_mmunirep.py SRC '
                       'DST --trust'):
        model.init_weights()
