# Copyright (c) mmunirep contributors. All rights reserved.
"""The Triton depthwise conv against ``F.conv2d``: forward, gradients,
layouts, dtypes, argument checks, ``torch.compile`` and host syncs.

Without a GPU these run the kernels in Triton's CPU interpreter
(``TRITON_INTERPRET=1``, set by ``tests/conftest.py``), which has no
bfloat16: bf16 runs only on a GPU. Shapes are tiny: the interpreter runs
every program in Python.
"""
from unittest import mock

import pytest
import torch
import torch.nn.functional as F

from mmunirep.ops.cuda import depthwise as depthwise_module
from mmunirep.ops.cuda import (triton_available, triton_depthwise_conv2d,
                               triton_unsupported_reason)

DEVICE = 'cuda' if torch.cuda.is_available() else 'cpu'

pytestmark = pytest.mark.skipif(
    triton_unsupported_reason(torch.zeros(1, 1, 3, 3, device=DEVICE),
                              torch.zeros(1, 1, 3, 3, device=DEVICE))
    is not None, reason='the Triton kernels cannot run here')

#: Tolerance relative to the largest reference magnitude, by result dtype.
_TOLERANCE = {torch.float32: 1e-5, torch.float16: 2e-3, torch.bfloat16: 1e-2}
_NEEDS_GPU = pytest.mark.skipif(
    DEVICE == 'cpu', reason='the Triton interpreter has no bfloat16')


def _inputs(n, c, h, w, k, dtype, weight_dtype, bias, channels_last):
    """Random x, weight, bias (float32 when given) needing gradients."""
    x = torch.randn(n, c, h, w, device=DEVICE).to(dtype)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    weight = torch.randn(c, 1, k, k, device=DEVICE).to(weight_dtype)
    b = torch.randn(c, device=DEVICE) if bias else None
    return [t.requires_grad_() if t is not None else None
            for t in (x, weight, b)]


def _reference(x, weight, bias, dilation, grad):
    """F.conv2d in float64: output and gradients for x, weight, bias."""
    leaves = [t.detach().double().requires_grad_() if t is not None else None
              for t in (x, weight, bias)]
    out = F.conv2d(leaves[0], leaves[1], leaves[2],
                   padding=dilation * (weight.shape[-1] - 1) // 2,
                   dilation=dilation, groups=x.shape[1])
    out.backward(grad.double())
    return [out] + [t.grad if t is not None else None for t in leaves]


def _assert_close(actual, expected):
    """``actual`` within its dtype's tolerance of the float64 truth."""
    tol = _TOLERANCE[actual.dtype] * max(1.0, expected.abs().max().item())
    torch.testing.assert_close(actual.double(), expected, atol=tol, rtol=0)


# (n, c, h, w, k, dilation, channels_last, dtype, weight dtype, bias)
CASES = [
    (2, 19, 11, 13, 3, 1, False, torch.float32, torch.float32, True),
    (1, 5, 7, 5, 3, 2, True, torch.float32, torch.float32, False),
    (2, 5, 11, 13, 3, 3, False, torch.float32, torch.float32, True),
    (1, 19, 7, 5, 3, 5, True, torch.float32, torch.float32, True),
    (2, 19, 11, 13, 5, 1, True, torch.float32, torch.float32, True),
    (1, 5, 11, 13, 5, 2, False, torch.float16, torch.float16, False),
    (2, 5, 7, 5, 7, 1, False, torch.float32, torch.float32, False),
    (1, 19, 11, 13, 7, 2, True, torch.float16, torch.float16, True),
    (2, 5, 11, 13, 13, 1, True, torch.float32, torch.float32, True),
    (1, 19, 9, 7, 13, 1, False, torch.float16, torch.float32, True),
    (1, 3, 5, 6, 31, 1, True, torch.float16, torch.float32, False),
]
BF16_CASES = [
    (2, 19, 11, 13, 13, 2, True, torch.bfloat16, torch.float32, True),
    (1, 5, 9, 7, 7, 1, False, torch.bfloat16, torch.bfloat16, False),
]


def _case_id(n, c, h, w, k, dilation, channels_last, dtype, weight_dtype,
             bias):
    """E.g. ``2x19x11x13-k3d1-cl-float16-wfloat32-bias``."""
    return (f'{n}x{c}x{h}x{w}-k{k}d{dilation}-'
            f'{"cl" if channels_last else "cf"}-{str(dtype)[6:]}-'
            f'w{str(weight_dtype)[6:]}{"-bias" if bias else ""}')


@pytest.mark.parametrize(
    'n,c,h,w,k,dilation,channels_last,dtype,weight_dtype,bias',
    [pytest.param(*case, id=_case_id(*case)) for case in CASES]
    + [pytest.param(*case, id=_case_id(*case), marks=_NEEDS_GPU)
       for case in BF16_CASES])
def test_matches_conv2d(n, c, h, w, k, dilation, channels_last, dtype,
                        weight_dtype, bias):
    """Forward, input, weight and bias gradients equal F.conv2d's (float64),
    in x's layout and dtype, weight and bias gradients in their dtypes."""
    x, weight, b = _inputs(n, c, h, w, k, dtype, weight_dtype, bias,
                           channels_last)
    out = triton_depthwise_conv2d(x, weight, b, dilation)
    grad = torch.randn_like(out, memory_format=torch.contiguous_format)
    out.backward(grad)
    expected = _reference(x, weight, b, dilation, grad)
    layout = torch.channels_last if channels_last else torch.contiguous_format
    assert out.dtype == dtype and out.is_contiguous(memory_format=layout)
    assert x.grad.dtype == dtype
    assert x.grad.is_contiguous(memory_format=layout)
    assert weight.grad.dtype == weight_dtype
    for actual, truth in zip((out, x.grad, weight.grad), expected):
        _assert_close(actual, truth)
    if bias:
        assert b.grad.dtype == b.dtype
        _assert_close(b.grad, expected[3])


def test_other_strides_and_expanded_grad():
    """A transposed input comes out channels-first; an expanded (stride-0)
    output gradient, as ``.sum()`` gives, is read correctly; a float64
    bias gets a float64 gradient."""
    x = torch.randn(2, 3, 6, 5, device=DEVICE).transpose(2, 3)
    x.requires_grad_()
    weight = torch.randn(3, 1, 5, 5, device=DEVICE, requires_grad=True)
    bias = torch.randn(3, device=DEVICE, dtype=torch.float64,
                       requires_grad=True)
    out = triton_depthwise_conv2d(x, weight, bias, dilation=1)
    out.sum().backward()
    expected = _reference(x, weight, bias, 1, torch.ones_like(out))
    assert out.is_contiguous() and out.dtype == torch.float32
    assert bias.grad.dtype == torch.float64
    for actual, truth in zip((out, x.grad, weight.grad), expected):
        _assert_close(actual, truth)
    torch.testing.assert_close(bias.grad, expected[3])


@pytest.mark.filterwarnings('ignore:Input #:UserWarning')
def test_gradcheck():
    """torch.autograd.gradcheck of all three inputs.

    In float32, not float64: the kernels sum in float32 by design (and the
    op takes no float64). The conv is linear in each input, so central
    differences with a large step are exact up to float32 rounding.
    """
    x, weight, b = _inputs(1, 3, 5, 4, 3, torch.float32, torch.float32, True,
                           True)
    assert torch.autograd.gradcheck(
        lambda *args: triton_depthwise_conv2d(*args, dilation=2),
        (x, weight, b), eps=1e-2, atol=1e-3, rtol=1e-3, fast_mode=True)


@pytest.mark.parametrize('x_shape,w_shape,dtype,w_dtype,dilation,message', [
    ((2, 4, 5), (4, 1, 3, 3), torch.float32, None, 1, '4-D'),
    ((1, 4, 5, 5), (4, 2, 3, 3), torch.float32, None, 1, 'groups == C'),
    ((1, 4, 5, 5), (3, 1, 3, 3), torch.float32, None, 1, 'groups == C'),
    ((1, 4, 5, 5), (4, 1, 4, 4), torch.float32, None, 1, 'odd'),
    ((1, 4, 5, 5), (4, 1, 33, 33), torch.float32, None, 1, 'odd'),
    ((1, 4, 5, 5), (4, 1, 1, 1), torch.float32, None, 1, 'odd'),
    ((1, 4, 5, 5), (4, 1, 3, 3), torch.float32, None, 0, 'dilation'),
    ((1, 4, 5, 5), (4, 1, 3, 3), torch.float64, None, 1, 'float64'),
    ((1, 4, 5, 5), (4, 1, 3, 3), torch.float32, torch.float16, 1,
     'weight must be float32'),
    ((0, 4, 5, 5), (4, 1, 3, 3), torch.float32, None, 1, 'empty'),
], ids=['3d', 'groups', 'channels', 'even', 'too-large', 'k1', 'dilation0',
        'float64', 'weight-fp16', 'empty'])
def test_unsupported_arguments(x_shape, w_shape, dtype, w_dtype, dilation,
                               message):
    """Unsupported arguments: a reason, and a ValueError naming it and the
    PyTorch fallback."""
    x = torch.zeros(x_shape, dtype=dtype, device=DEVICE)
    weight = torch.zeros(w_shape, dtype=w_dtype or dtype, device=DEVICE)
    assert message in triton_unsupported_reason(x, weight, dilation)
    with pytest.raises(ValueError, match=f"(?s){message}.*impl='torch'"):
        triton_depthwise_conv2d(x, weight, dilation=dilation)


def test_unsupported_environment(monkeypatch):
    """Reasons for a bad bias, a non-CUDA device, bf16 or no interpreter
    on the CPU, and triton missing."""
    x = torch.zeros(1, 4, 5, 5, device=DEVICE)
    weight = torch.zeros(4, 1, 3, 3, device=DEVICE)
    with pytest.raises(ValueError, match='bias must be'):
        triton_depthwise_conv2d(x, weight, torch.zeros(3, device=DEVICE))
    meta = triton_unsupported_reason(x.to('meta'), weight.to('meta'))
    assert 'CUDA devices, not meta' in meta
    cpu_x, cpu_weight = x.cpu(), weight.cpu()
    monkeypatch.setattr(depthwise_module._kernels, 'INTERPRETED', True)
    assert 'no bfloat16' in triton_unsupported_reason(
        cpu_x.bfloat16(), cpu_weight.bfloat16())
    monkeypatch.setattr(depthwise_module._kernels, 'INTERPRETED', False)
    assert 'TRITON_INTERPRET=1' in triton_unsupported_reason(cpu_x,
                                                             cpu_weight)
    monkeypatch.setattr(depthwise_module, '_TRITON_MISSING',
                        'triton is not installed')
    assert not triton_available()
    assert triton_unsupported_reason(x, weight) == 'triton is not installed'


def test_torch_compile_fullgraph():
    """The custom ops, their fake functions and the autograd formula trace
    into one graph (fullgraph=True) and give eager's values and grads."""
    torch._dynamo.reset()

    def loss(x, weight, bias):
        return triton_depthwise_conv2d(x, weight, bias, dilation=2).square(
        ).sum()

    compiled = torch.compile(loss, fullgraph=True, backend='aot_eager')
    results = []
    for fn in (loss, compiled):
        torch.manual_seed(0)
        inputs = _inputs(2, 5, 7, 6, 5, torch.float32, torch.float32, True,
                         True)
        value = fn(*inputs)
        value.backward()
        results.append([value] + [t.grad for t in inputs])
    for eager, traced in zip(*results):
        torch.testing.assert_close(traced, eager)


@pytest.mark.parametrize('channels_last', [False, True], ids=['cf', 'cl'])
def test_cuda_configs(channels_last, monkeypatch):
    """Every CUDA autotune config, launched through its autotuner, gives
    F.conv2d's results; the autotuner's benchmark runs each config (the
    launchers are made to take their CUDA path; without a GPU the
    interpreter runs the kernels and a stand-in times them)."""
    kernels = depthwise_module._kernels
    x, weight, b = (t.detach() for t in _inputs(
        1, 3, 5, 7, 3, torch.float16, torch.float32, True, channels_last))
    grad = torch.randn_like(x)
    expected = _reference(x, weight, b, 2, grad)
    layout = torch.channels_last if channels_last else torch.contiguous_format
    conv = kernels._CONV[channels_last]
    grad_weight = kernels._GRAD_WEIGHT[channels_last]
    benchmarked = []
    for tuner in (conv, grad_weight):
        assert set(tuner.keys) <= set(tuner.arg_names)
        monkeypatch.setattr(tuner, 'cache', {})
        monkeypatch.setattr(tuner, 'do_bench', lambda call, quantiles: (
            call(), benchmarked.append(call), [1.0, 1.0, 1.0])[-1])
    with mock.patch.object(torch.Tensor, 'is_cuda', return_value=True,
                           new_callable=mock.PropertyMock):
        _assert_close(kernels.depthwise_conv(x, weight, b, 2, False, layout),
                      expected[0])
        assert len(benchmarked) == len(conv.configs)
        for config in list(conv.configs):
            monkeypatch.setattr(conv, 'configs', [config])
            _assert_close(kernels.depthwise_conv(x, weight, b, 2, False,
                                                 layout), expected[0])
            _assert_close(kernels.depthwise_conv(grad, weight, None, 2, True,
                                                 layout), expected[1])
        for config in list(grad_weight.configs):
            monkeypatch.setattr(grad_weight, 'configs', [config])
            _assert_close(kernels.depthwise_grad_weight(grad, x, 3, 2),
                          expected[2])


def _fail(*args, **kwargs):
    raise AssertionError('host synchronisation in the op')


def test_no_host_synchronisation():
    """Forward and backward run with every host-sync entry point raising
    (the interpreter itself copies storages, not tensors, so it is
    unaffected)."""
    x, weight, b = _inputs(2, 5, 7, 6, 7, torch.float16, torch.float32, True,
                           True)
    grad = torch.randn(2, 5, 7, 6, device=DEVICE, dtype=torch.float16)
    with mock.patch('torch.cuda.synchronize', _fail), \
            mock.patch.object(torch.Tensor, 'item', _fail), \
            mock.patch.object(torch.Tensor, 'cpu', _fail), \
            mock.patch.object(torch.Tensor, 'tolist', _fail):
        with pytest.raises(AssertionError, match='host synchronisation'):
            grad.sum().item()
        triton_depthwise_conv2d(x, weight, b, dilation=3).backward(grad)
    assert x.grad is not None and weight.grad is not None
