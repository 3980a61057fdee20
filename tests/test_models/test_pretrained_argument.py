# Copyright (c) mmunirep contributors. All rights reserved.
"""``pretrained=``: the deprecated alias mmseg's and mmdet's backbones keep."""
import pytest
import torch

from mmunirep.models import UniRepLKNet


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
