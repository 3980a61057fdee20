# Copyright (c) mmunirep contributors. All rights reserved.
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from mmunirep.ops import dilated_to_dense, fuse_bn, pad_to_size
from mmunirep.testing import randomize_for_fusion, relative_error


@pytest.mark.parametrize('with_conv_bias', [False, True])
def test_fuse_bn_matches_conv_then_bn(with_conv_bias):
    torch.manual_seed(0)
    conv = nn.Conv2d(6, 6, 5, padding=2, groups=3,
                     bias=with_conv_bias).double()
    bn = randomize_for_fusion(nn.BatchNorm2d(6).double()).eval()
    x = torch.randn(2, 6, 11, 9, dtype=torch.float64)
    kernel, bias = fuse_bn(conv.weight, bn, conv.bias)
    out = F.conv2d(x, kernel, bias, padding=2, groups=3)
    assert relative_error(out, bn(conv(x))) < 1e-12


def test_fuse_bn_by_hand():
    bn = nn.BatchNorm1d(1, eps=0.0).eval()
    bn.running_mean.fill_(2.)
    bn.running_var.fill_(4.)
    bn.weight.data.fill_(3.)
    bn.bias.data.fill_(1.)
    # y = (w*x + b0 - 2) / 2 * 3 + 1 with w = 5, b0 = 0.5
    kernel, bias = fuse_bn(torch.tensor([[5.]]), bn, torch.tensor([0.5]))
    assert kernel.item() == pytest.approx(7.5)
    assert bias.item() == pytest.approx((0.5 - 2) / 2 * 3 + 1)


@pytest.mark.parametrize('k', [3, 5, 7, 9])
@pytest.mark.parametrize('r', [1, 2, 3, 4, 5, 7])
def test_dilated_to_dense_equals_dilated_conv(k, r):
    torch.manual_seed(k * 10 + r)
    channels = 4
    kernel = torch.randn(channels, 1, k, k, dtype=torch.float64)
    x = torch.randn(2, channels, 31, 29, dtype=torch.float64)
    pad = r * (k - 1) // 2
    ref = F.conv2d(x, kernel, padding=pad, dilation=r, groups=channels)
    dense = dilated_to_dense(kernel, r)
    assert dense.shape[-1] == (k - 1) * r + 1
    out = F.conv2d(x, dense, padding=dense.shape[-1] // 2, groups=channels)
    assert relative_error(out, ref) < 1e-12


@pytest.mark.parametrize('r', [2, 3, 5])
def test_dilated_to_dense_equals_transposed_identity(r):
    """The formulation in the paper: transposed conv with a 1x1 identity."""
    kernel = torch.randn(3, 1, 3, 3, dtype=torch.float64)
    identity = torch.ones(1, 1, 1, 1, dtype=torch.float64)
    expected = F.conv_transpose2d(kernel, identity, stride=r)
    assert torch.equal(dilated_to_dense(kernel, r), expected)


def test_pad_to_size():
    kernel = torch.arange(9.).reshape(1, 1, 3, 3)
    padded = pad_to_size(kernel, 7)
    assert padded.shape == (1, 1, 7, 7)
    assert torch.equal(padded[..., 2:5, 2:5], kernel)
    assert padded.abs().sum() == kernel.abs().sum()
    with pytest.raises(ValueError, match='cannot pad'):
        pad_to_size(kernel, 2)
    with pytest.raises(ValueError, match='cannot pad'):
        pad_to_size(kernel, 4)
