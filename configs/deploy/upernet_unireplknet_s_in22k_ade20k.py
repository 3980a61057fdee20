# Inference structure of ../upernet_unireplknet_s_in22k_ade20k.py; load a
# checkpoint
# converted by tools/reparameterize.py.
_base_ = '../upernet_unireplknet_s_in22k_ade20k.py'
model = dict(backbone=dict(deploy=True, init_cfg=None))
