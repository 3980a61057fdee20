# The COCO recipe with weight EMA (momentum 1e-4), used by the IN-22K models.
_base_ = './cascade_mask_rcnn_unireplknet_coco.py'

custom_hooks = [
    dict(
        type='EMAHook',
        ema_type='ExpMomentumEMA',
        momentum=0.0001,
        update_buffers=True,
        priority=49)
]
