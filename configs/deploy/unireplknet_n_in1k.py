# Inference structure of ../unireplknet_n_in1k.py.
_base_ = '../unireplknet_n_in1k.py'
model = dict(backbone=dict(deploy=True))
