# Paper row: UniRepLKNet-L, IN-22K: 276M params, 1385G FLOPs, 55.8 / 48.4 (box
# / mask AP).
_base_ = './_base_/cascade_mask_rcnn_unireplknet_coco_ema.py'

model = dict(
    backbone=dict(
        arch='l',
        drop_path_rate=0.7,
        init_cfg=dict(
            type='Pretrained',
            checkpoint=(
                'https://huggingface.co/DingXiaoH/UniRepLKNet/resolve/main/'
                'unireplknet_l_in22k_pretrain.pth'))),
    neck=dict(in_channels=[192, 384, 768, 1536]))
optim_wrapper = dict(paramwise_cfg=dict(decay_rate=0.7))
