# Inference structure of ../unireplknet_l_in22k_to_in1k_384.py.
_base_ = '../unireplknet_l_in22k_to_in1k_384.py'
model = dict(backbone=dict(deploy=True, init_cfg=None))
