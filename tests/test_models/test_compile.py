# Copyright (c) mmunirep contributors. All rights reserved.
"""``torch.compile(fullgraph=True)`` traces the backbone without graph
breaks, in both structures and with the Triton kernels in the graph, and
the compiled model computes what the eager one does."""
import copy

import pytest
import torch

from mmunirep.models import UniRepLKNet
from mmunirep.testing import randomize_for_fusion, relative_error


def compiled_and_eager(model, x, train):
    """Outputs (and, in training, gradients) of ``model`` eager and
    compiled with ``fullgraph=True``."""
    torch._dynamo.reset()
    results = []
    for compiled in (False, True):
        net = copy.deepcopy(model).train(train)
        run = torch.compile(net, fullgraph=True, backend='aot_eager') \
            if compiled else net
        with torch.set_grad_enabled(train):
            out = run(x)
        grads = None
        if train:
            sum(o.square().mean() for o in out).backward()
            grads = torch.cat([p.grad.flatten() for p in net.parameters()])
        results.append((out, grads))
    return results


#: Every kind of block (plain depthwise convs, a Dilated Reparam Block) at
#: little compile (and Triton interpreter) time.
SMALL = dict(depths=[1, 1, 1, 1], dims=[8, 16, 32, 64],
             kernel_sizes=[[3], [5], [7], [3]])


@pytest.mark.parametrize('deploy', [False, True])
@pytest.mark.parametrize('kernels', ['auto', 'triton'])
def test_backbone_compiles_with_fullgraph(deploy, kernels):
    torch.manual_seed(0)
    model = randomize_for_fusion(UniRepLKNet(SMALL, kernels=kernels))
    if deploy:
        model.switch_to_deploy()
    x = torch.randn(2, 3, 64, 64)
    (eager, eager_grads), (compiled, compiled_grads) = compiled_and_eager(
        model, x, train=not deploy)
    for a, b in zip(compiled, eager):
        assert relative_error(a, b) < 1e-4
    if not deploy:
        # all gradients together: single small ones are float32 noise
        assert ((compiled_grads - eager_grads).norm() /
                eager_grads.norm()).item() < 1e-4
