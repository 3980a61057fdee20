# Inference structure of ../unireplknet_s_in1k.py.
_base_ = '../unireplknet_s_in1k.py'
model = dict(backbone=dict(deploy=True))
