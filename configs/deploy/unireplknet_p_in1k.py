# Inference structure of ../unireplknet_p_in1k.py.
_base_ = '../unireplknet_p_in1k.py'
model = dict(backbone=dict(deploy=True))
