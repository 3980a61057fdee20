# Copyright (c) mmunirep contributors. All rights reserved.
"""Which implementation runs: the dispatcher's choice per device and
``impl``, the backbone's ``kernels`` switch, and a CUDA dispatch that does
nothing on the host but launch kernels."""
import time

import pytest
import torch

from mmunirep.models import UniRepLKNet
from mmunirep.models.layers import GRN, DepthwiseConv2d, OpsCaller, SEBlock
from mmunirep.ops import check_impl, dispatch, family, plain_ops
from mmunirep.ops.cpu import PathSelector
from mmunirep.testing import randomize_for_fusion, relative_error


def as_cuda(monkeypatch, triton=True):
    """Make the dispatcher treat every tensor as a CUDA tensor."""
    monkeypatch.setattr(dispatch, 'device_type', lambda x: 'cuda')
    monkeypatch.setattr(dispatch, 'triton_available', lambda: triton)


def test_auto_picks_the_family_of_the_device(monkeypatch):
    x = torch.zeros(1)
    assert family('auto', x) == 'cpu'
    assert family('torch', x) == 'torch'
    assert family('triton', x) == 'triton'
    with plain_ops():
        assert family('auto', x) == 'torch'
        assert family('triton', x) == 'torch'
    monkeypatch.setenv('MMUNIREP_FAST_PATHS', '0')
    assert family('auto', x) == 'torch'
    monkeypatch.delenv('MMUNIREP_FAST_PATHS')
    as_cuda(monkeypatch)
    assert family('auto', x) == 'triton'
    as_cuda(monkeypatch, triton=False)  # no Triton: PyTorch, no error
    assert family('auto', x) == 'torch'
    monkeypatch.setattr(dispatch, 'device_type', lambda x: 'mps')
    assert family('auto', x) == 'torch'


def test_plain_ops_while_traced():
    seen = []

    def probe(x):
        seen.append(family('auto', x))
        return x * 2

    torch.jit.trace(probe, torch.ones(2), check_trace=False)
    assert seen == ['torch']


def test_unknown_impl_and_kernels_name_the_choices():
    with pytest.raises(ValueError, match=r"choose one of \('auto', "
                       r"'torch', 'triton'\)"):
        check_impl('cuda')
    with pytest.raises(ValueError, match=r"kernels must be one of \['auto', "
                       r"'plain', 'triton'\], got 'fast'"):
        UniRepLKNet('a', kernels='fast')


def test_kernels_switch_reaches_every_op_caller():
    model = UniRepLKNet('a', kernels='plain')
    callers = [m for m in model.modules() if isinstance(m, OpsCaller)]
    kinds = {type(m) for m in callers}
    assert {DepthwiseConv2d, GRN, SEBlock} <= kinds
    assert {m.impl for m in callers} == {'torch'}
    model.kernels = 'auto'
    assert model.kernels == 'auto'
    assert {m.impl for m in model.modules()
            if isinstance(m, OpsCaller)} == {'auto'}
    model.switch_to_deploy()  # new convs keep the choice
    model.kernels = 'plain'
    model.switch_to_deploy()
    assert {m.impl for m in model.modules()
            if isinstance(m, OpsCaller)} == {'torch'}


@pytest.mark.parametrize('deploy', [False, True])
def test_plain_and_auto_kernels_compute_the_same(deploy):
    torch.manual_seed(0)
    model = randomize_for_fusion(UniRepLKNet('a', deploy=deploy)).eval()
    x = torch.randn(2, 3, 48, 40)
    with torch.no_grad():
        auto = model(x)
        model.kernels = 'plain'
        plain = model(x)
    for a, p in zip(auto, plain):
        assert relative_error(a, p) < 1e-5


def _refuse(name):
    def refuse(*args, **kwargs):
        raise AssertionError(f'{name} called on the CUDA dispatch path')
    return refuse


def test_cuda_dispatch_does_no_host_work(monkeypatch):
    """With every tensor taken for a CUDA tensor, a training step and an
    inference pass of the whole backbone run the Triton kernel (here under
    the interpreter) and plain ops, and never time, synchronise or read a
    value back to the host."""
    as_cuda(monkeypatch)
    triton_calls = []
    from mmunirep.ops import functional
    launch = functional.triton_depthwise_conv2d

    def counted(*args):
        triton_calls.append(args[0].shape)
        return launch(*args)

    monkeypatch.setattr(functional, 'triton_depthwise_conv2d', counted)
    for name, target in [('torch.cuda.synchronize', torch.cuda),
                         ('time.perf_counter', time)]:
        monkeypatch.setattr(target, name.rsplit('.', 1)[1], _refuse(name))
    monkeypatch.setattr(PathSelector, 'choose', _refuse('a CPU selector'))
    monkeypatch.setattr(torch.Tensor, 'item', _refuse('Tensor.item'))
    torch.manual_seed(0)
    model = UniRepLKNet(dict(depths=[1, 1, 1, 1], dims=[8, 16, 32, 64],
                             kernel_sizes=[[3], [5], [7], [3]]),
                        out_indices=(3, ), gap_before_final_norm=True)
    x = torch.randn(2, 3, 32, 32)
    model(x)[0].sum().backward()
    assert len(triton_calls) == sum(
        1 for m in model.modules() if isinstance(m, DepthwiseConv2d))
    model.switch_to_deploy()
    with torch.no_grad():
        model.eval()(x)
