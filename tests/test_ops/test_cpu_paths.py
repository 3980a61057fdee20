# Copyright (c) mmunirep contributors. All rights reserved.
"""The CPU paths: each candidate of each selector computes what the plain
PyTorch formulation computes, the choice is measured once per shape and
cached, and the plain ops run whenever the model is traced."""
import pytest
import torch
import torch.nn.functional as F

from mmunirep.models import GRN, UniRepLKNet
from mmunirep.ops import plain_ops, plain_ops_required
from mmunirep.ops.cpu import (DEPTHWISE_GRAD_INPUT_SELECTOR,
                              DEPTHWISE_GRAD_WEIGHT_SELECTOR,
                              DEPTHWISE_SELECTOR, LINEAR_SELECTOR,
                              PRODUCT_SUM_SELECTOR, SCALED_LINEAR_SELECTOR,
                              PathSelector, cpu_grn_ffn, cpu_linear,
                              grn_linear, linear_act, sample_groups,
                              uses_onednn)
from mmunirep.ops.plain import grn_ffn_torch
from mmunirep.testing import TOLERANCE, randomize_for_fusion, relative_error

SELECTORS = [DEPTHWISE_SELECTOR, LINEAR_SELECTOR, SCALED_LINEAR_SELECTOR,
             PRODUCT_SUM_SELECTOR]
CASES = [(s, name) for s in SELECTORS for name in s.candidates]
#: The selectors a training step (forward + backward) goes through.
TRAINING_SELECTORS = [DEPTHWISE_SELECTOR, DEPTHWISE_GRAD_INPUT_SELECTOR,
                      DEPTHWISE_GRAD_WEIGHT_SELECTOR, LINEAR_SELECTOR,
                      PRODUCT_SUM_SELECTOR]
TRAINING_CASES = [(s, name) for s in TRAINING_SELECTORS
                  for name in s.candidates]


def atto(deploy, seed=0):
    torch.manual_seed(seed)
    model = UniRepLKNet('a', deploy=deploy)
    return randomize_for_fusion(model, seed).eval()


@pytest.mark.parametrize('selector, candidate', CASES,
                         ids=[f'{s.name}:{n}' for s, n in CASES])
@pytest.mark.parametrize('deploy', [True, False])
def test_every_candidate_equals_the_plain_ops(selector, candidate, deploy):
    """A whole model (inference and training structure in eval mode), with
    one candidate forced for every shape, against the plain formulation."""
    model = atto(deploy)
    # channels-last and channels-first inputs, an odd size
    inputs = [torch.randn(2, 3, 75, 61),
              torch.randn(2, 3, 64, 64).contiguous(
                  memory_format=torch.channels_last)]
    for x in inputs:
        with torch.no_grad():
            with plain_ops():
                reference = model(x)
            with selector.force(candidate):
                outputs = model(x)
        for out, ref in zip(outputs, reference):
            assert relative_error(out, ref) < 1e-5


def training_step(candidate=None, selector=None, dtype=torch.float32):
    """Forward + backward of the training structure in training mode (every
    BN on batch statistics, every DRB branch on its own): outputs, input
    gradient and parameter gradients, in float64."""
    model = atto(deploy=False).train().to(dtype)
    x = torch.randn(2, 3, 96, 80, generator=torch.Generator().manual_seed(1),
                    dtype=torch.float64).to(dtype).requires_grad_()
    context = plain_ops() if candidate is None else selector.force(candidate)
    with context:
        outputs = model(x)
        weights = [torch.randn(o.shape, generator=torch.Generator()
                               .manual_seed(i), dtype=torch.float64)
                   for i, o in enumerate(outputs)]
        loss = sum((o * w.to(dtype)).sum() for o, w in zip(outputs, weights))
        loss.backward()
    grads = {'input': x.grad, **{n: p.grad for n, p in
                                 model.named_parameters()}}
    return ([o.double() for o in outputs],
            {n: g.double() for n, g in grads.items()})


@pytest.fixture(scope='module')
def training_references():
    """The plain ops in float64 (the truth) and in float32 (the rounding
    error every float32 path is allowed)."""
    return training_step(dtype=torch.float64), training_step()


@pytest.mark.parametrize('selector, candidate', TRAINING_CASES,
                         ids=[f'{s.name}:{n}' for s, n in TRAINING_CASES])
def test_training_step_gradients_equal_the_plain_ops(
        training_references, selector, candidate):
    """Every candidate's outputs and gradients are as close to the float64
    truth as the plain float32 ops are (gradients that nearly cancel, such
    as GRN's beta, are only as exact as float32 makes them)."""
    (ref_out, ref_grads), (plain_out, plain_grads) = training_references
    out, grads = training_step(candidate, selector)
    for a, plain, ref in zip(out, plain_out, ref_out):
        assert relative_error(a, ref) < 1e-5
    for name, ref in ref_grads.items():
        error = (grads[name] - ref).abs().max()
        plain_error = (plain_grads[name] - ref).abs().max()
        assert error <= 4 * plain_error + 1e-4 * ref.abs().max(), name


def test_bfloat16_inference_stays_close_to_float32():
    """bf16 (the model cast, as on AMX CPUs): within 5% (max relative) of
    float32 and the same top class, with every fast path free to choose."""
    model = UniRepLKNet('a', out_indices=(3, ), gap_before_final_norm=True,
                        deploy=True)
    model = randomize_for_fusion(model).eval()
    head = torch.nn.Linear(320, 10)
    x = torch.randn(4, 3, 96, 96)
    with torch.no_grad():
        ref = head(model(x)[0])
        out = head.bfloat16()(model.bfloat16()(x.bfloat16())[0]).float()
    assert relative_error(out, ref) < 0.05
    assert torch.equal(out.argmax(1), ref.argmax(1))


def test_selector_measures_once_per_key_and_caches():
    calls = []

    def slow(x):
        calls.append('slow')
        torch.ones(300, 300) @ torch.ones(300, 300)
        return x + 1

    def fast(x):
        calls.append('fast')
        return x + 1

    selector = PathSelector('test', {'slow': slow, 'fast': fast}, repeats=2)
    x = torch.zeros(3)
    assert torch.equal(selector('k', x), x + 1)
    assert selector.choices == {'k': 'fast'}
    probes = len(calls)
    assert probes == 2 * 3 + 1  # warm-up + 2 timed runs each, then the call
    selector('k', x)
    assert len(calls) == probes + 1 and calls[-1] == 'fast'
    with selector.force('slow'):
        selector('k', x)
    assert calls[-1] == 'slow'
    with pytest.raises(KeyError, match='no candidate'):
        with selector.force('nope'):
            pass


def test_candidates_get_clones_while_timed():
    """A candidate that works in place must not change the caller's data
    while it is being timed."""
    def in_place(x):
        return x.mul_(2)

    selector = PathSelector('test', {'plain': lambda x: x * 2,
                                     'in place': in_place})
    x = torch.ones(4)
    selector.choose('k', (x, ))
    assert torch.equal(x, torch.ones(4))


def test_plain_ops_while_traced_or_asked():
    assert not plain_ops_required()
    with plain_ops():
        assert plain_ops_required()
    seen = []

    def probe(x):
        seen.append(plain_ops_required())
        return x * 2

    torch.jit.trace(probe, torch.ones(2), check_trace=False)
    assert seen == [True]


@pytest.mark.parametrize('strategy', list(SCALED_LINEAR_SELECTOR.candidates))
@pytest.mark.parametrize('dtype', [torch.float64, torch.float32])
def test_grn_linear_equals_linear_of_grn(dtype, strategy):
    """Both strategies (scaled weights, scaled activation), and in float32
    the oneDNN matmul on the CPU."""
    torch.manual_seed(0)
    for shape, out_features in [((2, 9, 7, 16), 8), ((2, 2, 2, 16), 8)]:
        grn = randomize_for_fusion(GRN(16)).to(dtype)
        linear = torch.nn.Linear(16, out_features).to(dtype)
        x = torch.randn(*shape, dtype=dtype)
        with torch.no_grad(), SCALED_LINEAR_SELECTOR.force(strategy):
            ref = linear(grn(x))
            out = grn_linear(x.clone(), grn.gamma, grn.beta, linear.weight,
                             linear.bias)
        assert relative_error(out, ref) < TOLERANCE[dtype] / 100


@pytest.mark.parametrize('gelu', [False, True])
def test_linear_act_equals_linear_then_gelu(gelu):
    torch.manual_seed(0)
    linear = torch.nn.Linear(24, 40)
    # a permuted (non-contiguous) input, as the block passes it
    x = torch.randn(2, 24, 5, 3).permute(0, 2, 3, 1)
    ref = linear(x)
    ref = F.gelu(ref) if gelu else ref
    assert uses_onednn(x) is False  # grad enabled: the plain ops
    with torch.no_grad(), torch.backends.mkldnn.flags(enabled=False):
        assert uses_onednn(x) is False  # the user turned oneDNN off
    with torch.no_grad():
        out = linear_act(x, linear.weight, linear.bias, gelu=gelu)
        no_bias = linear_act(x, linear.weight, None, gelu=gelu)
    assert out.shape == (2, 5, 3, 40)
    assert relative_error(out, ref) < 1e-6
    plain = x @ linear.weight.t()
    plain = F.gelu(plain) if gelu else plain
    assert relative_error(no_bias, plain) < 1e-6


@pytest.mark.parametrize('bias', [True, False])
@pytest.mark.parametrize('permuted', [True, False])
def test_cpu_linear_equals_f_linear_forward_and_backward(bias, permuted):
    """Outputs and gradients of F.linear, on the oneDNN training path (CPU,
    float32, whichever the selector picks) and under autocast."""
    torch.manual_seed(0)
    linear = torch.nn.Linear(24, 40, bias=bias)
    source = torch.randn(2, 24, 5, 3)
    x = source.permute(0, 2, 3, 1) if permuted else source.reshape(2, 5, 3, 24)
    upstream = torch.randn(2, 5, 3, 40)
    grads = []
    for candidate in LINEAR_SELECTOR.candidates:
        inputs = x.clone().requires_grad_()
        linear.zero_grad()
        with LINEAR_SELECTOR.force(candidate):
            out = cpu_linear(inputs, linear.weight, linear.bias)
        (out * upstream).sum().backward()
        assert relative_error(out, F.linear(x, linear.weight,
                                            linear.bias)) < 1e-6
        grads.append([inputs.grad] + [p.grad for p in linear.parameters()])
    for ours, ref in zip(*grads):
        assert relative_error(ours, ref) < 1e-6
    with torch.autocast('cpu', dtype=torch.bfloat16):
        assert cpu_linear(x, linear.weight, linear.bias).dtype == \
            torch.bfloat16  # autocast still applies


@pytest.mark.parametrize('batch, per_sample, size', [
    (5, 3 << 20, 2), (3, 64 << 20, 1), (4, 1, 4)])
def test_sample_groups_cover_the_batch_in_order(batch, per_sample, size):
    """Groups of at most 8 MB (at least one sample), in order."""
    groups = sample_groups(batch, per_sample)
    indices = [list(range(batch))[group] for group in groups]
    assert sum(indices, []) == list(range(batch))
    assert max(len(i) for i in indices) == size


@pytest.mark.parametrize('grad', [False, True])
def test_grouped_ffn_equals_the_plain_formula(grad, monkeypatch):
    """The FFN in several sample groups (training and inference) equals the
    plain formula over the whole batch."""
    monkeypatch.setattr('mmunirep.ops.cpu.ffn.FFN_GROUP_BYTES', 2000)
    torch.manual_seed(0)
    grn = randomize_for_fusion(GRN(24))
    fc1, fc2 = torch.nn.Linear(8, 24), torch.nn.Linear(24, 8)
    x = torch.randn(5, 8, 4, 3)
    args = (fc1.weight, fc1.bias, grn.gamma, grn.beta, fc2.weight, fc2.bias)
    with torch.set_grad_enabled(grad):
        ours = cpu_grn_ffn(x, *args)
        ref = grn_ffn_torch(x, *args)
    assert ours.shape == (5, 8, 4, 3)
    assert relative_error(ours, ref) < TOLERANCE[torch.float32] / 10
