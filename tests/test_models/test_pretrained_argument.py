# Copyright (c) mmunirep contributors. All rights reserved.
"""``pretrained=``: the deprecated alias mmseg's and mmdet's backbones keep."""
import pytest
import torch

from mmunirep.models import UniRepLKNet
from mmunirep.utils import CheckpointError


def test_pretrained_is_an_init_cfg_alias_with_a_warning(tmp_path):
    source = UniRepLKNet('a')
    torch.save(source.state_dict(), tmp_path / 'a.pth')
    with pytest.warns(UserWarning, match='deprecated'):
        model = UniRepLKNet('a', pretrained=str(tmp_path / 'a.pth'))
    assert model.pretrained_cfg == dict(type='Pretrained',
                                        checkpoint=str(tmp_path / 'a.pth'))
    model.init_weights()
    for key, value in source.state_dict().items():
        torch.testing.assert_close(model.state_dict()[key], value)


def test_pretrained_with_init_cfg_is_an_error():
    with pytest.raises(ValueError, match='give only init_cfg'):
        UniRepLKNet('a', pretrained='a.pth',
                    init_cfg=dict(type='Pretrained', checkpoint='b.pth'))


def test_pretrained_must_be_a_path():
    with pytest.raises(TypeError, match='checkpoint path or URL'):
        UniRepLKNet('a', pretrained=True)


def test_no_pretrained_changes_nothing():
    assert UniRepLKNet('a', pretrained=None).pretrained_cfg is None


def test_a_model_zoo_name_is_refused_before_any_download():
    """mmseg's bases hand their ResNet's model.pretrained to the backbone:
    a model built to test a checkpoint never loads it (a warning), and
    loading it fails before any download, naming the cause and the fix."""
    with pytest.warns(UserWarning, match='set `pretrained=None`'):
        model = UniRepLKNet('a', pretrained='open-mmlab://resnet50_v1c')
    with pytest.raises(ValueError) as err:
        model.init_weights()
    message = str(err.value)
    assert "pretrained='open-mmlab://resnet50_v1c'" in message
    assert 'nothing was downloaded' in message
    assert '`model.pretrained` to the backbone' in message
    assert 'model.pretrained=None' in message


def test_a_checkpoint_of_another_backbone_names_model_pretrained(tmp_path):
    resnet_like = {'conv1.weight': torch.zeros(64, 3, 7, 7),
                   'layer1.0.conv1.weight': torch.zeros(64, 64, 1, 1)}
    torch.save(resnet_like, tmp_path / 'r50.pth')
    with pytest.warns(UserWarning, match='deprecated'):
        model = UniRepLKNet('a', pretrained=str(tmp_path / 'r50.pth'))
    with pytest.raises(CheckpointError) as err:
        model.init_weights()
    message = str(err.value)
    assert 'r50.pth shares no key with UniRepLKNet' in message
    assert f"reached UniRepLKNet as pretrained='{tmp_path / 'r50.pth'}'" in \
        message
    assert 'model.pretrained=None' in message
    # a missing file given as pretrained= says the same
    with pytest.warns(UserWarning):
        model = UniRepLKNet('a', pretrained='pretrain/vit-b16.pth')
    with pytest.raises(FileNotFoundError, match='model.pretrained=None'):
        model.init_weights()
