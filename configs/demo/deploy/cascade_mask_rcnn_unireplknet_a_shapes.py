# Inference structure of ../cascade_mask_rcnn_unireplknet_a_shapes.py; load a
# checkpoint converted by
# tools/reparameterize.py.
_base_ = '../cascade_mask_rcnn_unireplknet_a_shapes.py'
model = dict(backbone=dict(deploy=True))
