# Inference structure of ../upernet_unireplknet_a_shapes.py; load a checkpoint
# converted by
# tools/reparameterize.py.
_base_ = '../upernet_unireplknet_a_shapes.py'
model = dict(backbone=dict(deploy=True))
