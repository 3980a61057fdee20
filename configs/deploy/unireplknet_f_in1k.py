# Inference structure of ../unireplknet_f_in1k.py.
_base_ = '../unireplknet_f_in1k.py'
model = dict(backbone=dict(deploy=True))
