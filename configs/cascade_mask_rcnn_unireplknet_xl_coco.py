# Paper row: UniRepLKNet-XL, IN-22K: 443M params, 1952G FLOPs, 56.4 / 49.0 (box
# / mask AP).
_base_ = './_base_/cascade_mask_rcnn_unireplknet_coco_ema.py'

model = dict(
    backbone=dict(
        arch='xl',
        drop_path_rate=0.7,
        init_cfg=dict(
            type='Pretrained',
            checkpoint=(
                'https://huggingface.co/DingXiaoH/UniRepLKNet/resolve/main/'
                'unireplknet_xl_in22k_pretrain.pth'))),
    neck=dict(in_channels=[256, 512, 1024, 2048]))
optim_wrapper = dict(paramwise_cfg=dict(decay_rate=0.7))
