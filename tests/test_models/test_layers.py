# Copyright (c) mmunirep contributors. All rights reserved.
import copy

import pytest
import torch
import torch.nn.functional as F

from mmunirep.models.layers import (DRB_BRANCHES, GRN,
                                    SCALED_LINEAR_SELECTOR,
                                    DilatedReparamBlock, FFNLinear,
                                    LayerNorm2d, SEBlock, grn_linear,
                                    linear_act, uses_onednn)
from mmunirep.testing import (TOLERANCE, randomize_for_fusion,
                           reference_drb_forward, relative_error)

PAPER_BRANCHES = {  # the table of the paper, written out independently
    17: [(5, 1), (9, 2), (3, 4), (3, 5), (3, 7)],
    15: [(5, 1), (7, 2), (3, 3), (3, 5), (3, 7)],
    13: [(5, 1), (7, 2), (3, 3), (3, 4), (3, 5)],
    11: [(5, 1), (5, 2), (3, 3), (3, 4), (3, 5)],
    9: [(5, 1), (5, 2), (3, 3), (3, 4)],
    7: [(5, 1), (3, 2), (3, 3)],
    5: [(3, 1), (3, 2)],
}


@pytest.mark.parametrize('kernel_size', sorted(PAPER_BRANCHES))
def test_drb_branch_names_follow_the_paper(kernel_size):
    block = DilatedReparamBlock(8, kernel_size)
    expected = {f'dil_conv_k{k}_{r}' for k, r in PAPER_BRANCHES[kernel_size]}
    expected |= {f'dil_bn_k{k}_{r}' for k, r in PAPER_BRANCHES[kernel_size]}
    expected |= {'lk_origin', 'origin_bn'}
    assert {name for name, _ in block.named_children()} == expected
    for k, r in PAPER_BRANCHES[kernel_size]:
        conv = getattr(block, f'dil_conv_k{k}_{r}')
        assert conv.dilation == (r, r) and conv.bias is None
        # every branch keeps the spatial size and fits inside K
        assert (k - 1) * r + 1 <= kernel_size
    assert block.lk_origin.bias is None


@pytest.mark.parametrize('dtype', [torch.float64, torch.float32])
@pytest.mark.parametrize('kernel_size', sorted(DRB_BRANCHES))
def test_drb_deploy_equivalence(kernel_size, dtype):
    torch.manual_seed(kernel_size)
    block = randomize_for_fusion(DilatedReparamBlock(6, kernel_size)).to(dtype)
    block.eval()
    x = torch.randn(2, 6, 23, 19, dtype=dtype)
    with torch.no_grad():
        ref = reference_drb_forward(block, x)
        merged = block(x)  # eval mode: branches merged on the fly
        block.switch_to_deploy()
        out = block(x)
    assert relative_error(out, ref) < TOLERANCE[dtype]
    assert relative_error(merged, ref) < TOLERANCE[dtype]
    assert [n for n, _ in block.named_parameters()] == [
        'lk_origin.weight', 'lk_origin.bias']
    assert not block.training
    deployed = DilatedReparamBlock(6, kernel_size, deploy=True).to(dtype)
    deployed.load_state_dict(block.state_dict(), strict=True)
    with torch.no_grad():
        assert torch.equal(deployed.eval()(x), out)


@pytest.mark.parametrize('kernel_size', [17, 13, 7])
def test_drb_training_mode_equals_the_branchwise_definition(kernel_size):
    """Training mode (batch statistics; dense-equivalent dilated kernels on
    the CPU): same outputs, gradients and running statistics."""
    torch.manual_seed(0)
    block = randomize_for_fusion(DilatedReparamBlock(6, kernel_size)).double()
    reference = copy.deepcopy(block)
    x = torch.randn(3, 6, 20, 18, dtype=torch.float64)
    weight = torch.randn(3, 6, 20, 18, dtype=torch.float64)
    out = block.train()(x)
    ref = reference_drb_forward(reference.train(), x)
    assert relative_error(out, ref) < 1e-12
    (out * weight).sum().backward()
    (ref * weight).sum().backward()
    for (name, param), ref_param in zip(block.named_parameters(),
                                        reference.parameters()):
        assert relative_error(param.grad, ref_param.grad) < 1e-10, name
    for buf, ref_buf in zip(block.buffers(), reference.buffers()):
        assert torch.equal(buf, ref_buf)


def test_drb_invalid_kernel():
    with pytest.raises(ValueError, match='supports kernel sizes'):
        DilatedReparamBlock(4, 6)


def _grn_by_formula(x, gamma, beta):
    """GRN written with explicit sums, channels-last (N, H, W, C)."""
    gx = x.pow(2).sum(dim=(1, 2), keepdim=True).sqrt()
    nx = gx / (gx.mean(dim=-1, keepdim=True) + 1e-6)
    return gamma * (x * nx) + beta + x


def test_grn_matches_formula_and_removes_bias():
    torch.manual_seed(0)
    grn = randomize_for_fusion(GRN(12)).double()
    x = torch.randn(2, 5, 7, 12, dtype=torch.float64)
    ref = _grn_by_formula(x, grn.gamma, grn.beta)
    assert relative_error(grn(x), ref) < 1e-12
    beta = grn.remove_bias()
    assert beta.shape == (12, ) and not hasattr(grn, 'beta')
    assert relative_error(grn(x) + beta, ref) < 1e-12
    assert torch.equal(grn.remove_bias(), torch.zeros(12, dtype=beta.dtype))


def test_grn_half_precision_does_not_overflow():
    grn = GRN(4)
    grn.gamma.data.fill_(1.)
    x = torch.full((1, 64, 64, 4), 200., dtype=torch.float16)
    # the sum of squares (2.6e8) is far beyond float16's range (6.5e4)
    out = grn.half()(x)
    assert torch.isfinite(out).all()
    assert out[0, 0, 0, 0].item() == pytest.approx(400., rel=1e-2)


def test_layernorm2d_matches_manual():
    torch.manual_seed(0)
    norm = LayerNorm2d(5).double()
    norm.weight.data.uniform_(0.5, 1.5)
    norm.bias.data.uniform_(-1, 1)
    x = torch.randn(3, 5, 4, 6, dtype=torch.float64)
    mean = x.mean(1, keepdim=True)
    var = (x - mean).pow(2).mean(1, keepdim=True)
    ref = (x - mean) / (var + 1e-6).sqrt() * norm.weight[:, None, None] \
        + norm.bias[:, None, None]
    assert relative_error(norm(x), ref) < 1e-12
    assert set(norm.state_dict()) == {'weight', 'bias'}


def test_se_block_by_hand():
    se = SEBlock(4, 1).double()
    for p in se.parameters():
        p.data.zero_()
    x = torch.randn(2, 4, 3, 3, dtype=torch.float64)
    # zero weights and biases: the gate is sigmoid(0) = 0.5 everywhere
    assert torch.allclose(se(x), x * 0.5)
    torch.manual_seed(1)
    se = SEBlock(4, 2).double()
    pooled = x.mean(dim=(2, 3))
    hidden = F.relu(pooled @ se.down.weight[:, :, 0, 0].T + se.down.bias)
    gate = torch.sigmoid(hidden @ se.up.weight[:, :, 0, 0].T + se.up.bias)
    assert relative_error(se(x), x * gate[:, :, None, None]) < 1e-12


@pytest.mark.parametrize('use_bias', [True, False])
def test_grn_backward_matches_autograd_of_the_formula(use_bias):
    torch.manual_seed(0)
    grn = randomize_for_fusion(GRN(6, use_bias=use_bias)).double()
    x = torch.randn(2, 4, 3, 6, dtype=torch.float64, requires_grad=True)
    x.data[1, :, :, 2] = 0  # a dead channel: zero norm, finite gradient
    assert torch.autograd.gradcheck(
        lambda inp: grn(inp), (x, ), eps=1e-6, atol=1e-7)
    weight = torch.randn(2, 4, 3, 6, dtype=torch.float64)
    (grn(x) * weight).sum().backward()
    ours = [x.grad.clone()] + [p.grad.clone() for p in grn.parameters()]
    x.grad = None
    grn.zero_grad()
    beta = grn.beta if use_bias else 0
    # torch.linalg.vector_norm's subgradient at 0 is 0, like ours
    gx = torch.linalg.vector_norm(x, dim=(1, 2), keepdim=True)
    nx = gx / (gx.mean(dim=-1, keepdim=True) + 1e-6)
    ((grn.gamma * x * nx + beta + x) * weight).sum().backward()
    reference = [x.grad] + [p.grad for p in grn.parameters()]
    for mine, ref in zip(ours, reference):
        assert torch.isfinite(mine).all()
        assert relative_error(mine, ref) < 1e-10


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
            out = grn_linear(x.clone(), grn, linear)
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
def test_ffn_linear_equals_nn_linear_forward_and_backward(bias, permuted):
    """Same parameters, outputs and gradients as nn.Linear, on the oneDNN
    training path (CPU, float32) and under autocast (plain path)."""
    torch.manual_seed(0)
    ours = FFNLinear(24, 40, bias=bias)
    ref = torch.nn.Linear(24, 40, bias=bias)
    ref.load_state_dict(ours.state_dict(), strict=True)
    source = torch.randn(2, 24, 5, 3)
    x = source.permute(0, 2, 3, 1) if permuted else source.reshape(2, 5, 3, 24)
    x_ours, x_ref = x.clone().requires_grad_(), x.clone().requires_grad_()
    upstream = torch.randn(2, 5, 3, 40)
    (ours(x_ours) * upstream).sum().backward()
    (ref(x_ref) * upstream).sum().backward()
    assert relative_error(ours(x), ref(x)) < 1e-6
    assert relative_error(x_ours.grad, x_ref.grad) < 1e-6
    assert relative_error(ours.weight.grad, ref.weight.grad) < 1e-6
    if bias:
        assert relative_error(ours.bias.grad, ref.bias.grad) < 1e-6
    with torch.autocast('cpu', dtype=torch.bfloat16):
        assert ours(x).dtype == torch.bfloat16  # autocast still applies
