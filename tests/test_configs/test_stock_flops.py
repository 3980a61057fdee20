# Copyright (c) mmunirep contributors. All rights reserved.
"""The stock counters users run (MMEngine's get_model_complexity_info, as
mmseg's and mmdet's get_flops.py call it), in eval mode under no_grad, give
the paper's FLOPs: the fast inference paths (oneDNN Linear, GRN folded into
the Linear, the layout-choosing depthwise conv) show themselves to tracing
as the ops they replace."""
import pytest
import torch
from mmengine.analysis import get_model_complexity_info
from mmengine.model import revert_sync_batchnorm
from mmengine.registry import MODELS, init_default_scope

from mmunirep.apis import load_config
from mmunirep.models import UniRepLKNet


@pytest.mark.parametrize('deploy', [True, False])
def test_t_backbone_counts_4_9_gmacs_under_no_grad(deploy):
    model = UniRepLKNet('t', out_indices=(3, ), gap_before_final_norm=True,
                        deploy=deploy).eval()
    with torch.no_grad():
        result = get_model_complexity_info(model, (3, 224, 224),
                                           show_table=False, show_arch=False)
    # the paper: 4.9 GMACs; the training structure also counts its BNs
    assert abs(result['flops'] / 1e9 - 4.91) / 4.91 < 0.01


def test_upernet_t_counts_946_gmacs_as_mmseg_get_flops_does():
    """As mmseg's tools/analysis_tools/get_flops.py counts: the config's
    model with no auxiliary head, in eval mode, on the data preprocessor's
    output (that tool also passes the input shape, which MMEngine 0.10
    refuses together with ``inputs``)."""
    from mmseg.structures import SegDataSample
    cfg = load_config('configs/deploy/upernet_unireplknet_t_ade20k.py')
    init_default_scope('mmseg')
    model = revert_sync_batchnorm(MODELS.build(cfg.model))
    model.auxiliary_head = None
    shape = (3, 512, 2048)
    meta = dict(ori_shape=shape[1:], pad_shape=shape[1:])
    data = model.data_preprocessor(dict(
        inputs=[torch.rand(shape)], data_samples=[SegDataSample(
            metainfo=meta)]))
    model.eval()
    with torch.no_grad():
        result = get_model_complexity_info(model, inputs=data['inputs'],
                                           show_table=False, show_arch=False)
    assert abs(result['flops'] / 1e9 - 946) / 946 < 0.01
