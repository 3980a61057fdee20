# Copyright (c) mmunirep contributors. All rights reserved.
import copy

import pytest
import torch
import torch.nn.functional as F

from mmunirep.models.layers import (DRB_BRANCHES, GRN, DilatedReparamBlock,
                                    LayerNorm2d, SEBlock)
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
    assert beta.shape == (12, ) and grn.beta is None
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


@pytest.mark.parametrize('impl', ['auto', 'torch'])
@pytest.mark.parametrize('use_bias', [True, False])
def test_grn_backward_matches_autograd_of_the_formula(use_bias, impl):
    """The CPU's hand-written backward ('auto') and the plain formula's
    autograd ('torch') against the formula written out here."""
    torch.manual_seed(0)
    grn = randomize_for_fusion(GRN(6, use_bias=use_bias, impl=impl)).double()
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
