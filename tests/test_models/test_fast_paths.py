# Copyright (c) mmunirep contributors. All rights reserved.
"""The fast inference paths: each candidate of each selector computes what
the plain PyTorch formulation computes, the choice is measured once per
shape and cached, and the plain ops run whenever the model is traced."""
import pytest
import torch

from mmunirep.models import UniRepLKNet
from mmunirep.models.layers import (DEPTHWISE_SELECTOR, LINEAR_SELECTOR,
                                    SCALED_LINEAR_SELECTOR,
                                    SQUARE_SUM_SELECTOR, PathSelector,
                                    plain_ops, plain_ops_required)
from tests.helpers import randomize_for_fusion, relative_error

SELECTORS = [DEPTHWISE_SELECTOR, LINEAR_SELECTOR, SCALED_LINEAR_SELECTOR,
             SQUARE_SUM_SELECTOR]
CASES = [(s, name) for s in SELECTORS for name in s.candidates]


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
