# Inference structure of ../unireplknet_t_in1k.py.
_base_ = '../unireplknet_t_in1k.py'
model = dict(backbone=dict(deploy=True))
