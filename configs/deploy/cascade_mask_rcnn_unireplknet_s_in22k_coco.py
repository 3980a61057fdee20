# Inference structure of ../cascade_mask_rcnn_unireplknet_s_in22k_coco.py; load
# a
# checkpoint converted by tools/reparameterize.py.
_base_ = '../cascade_mask_rcnn_unireplknet_s_in22k_coco.py'
model = dict(backbone=dict(deploy=True, init_cfg=None))
