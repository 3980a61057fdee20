# Inference structure of ../unireplknet_a_in1k.py.
_base_ = '../unireplknet_a_in1k.py'
model = dict(backbone=dict(deploy=True))
