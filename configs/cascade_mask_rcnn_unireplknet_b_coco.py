# Paper row: UniRepLKNet-B, IN-22K: 155M params, 978G FLOPs, 54.8 / 47.4 (box /
# mask AP).
_base_ = './_base_/cascade_mask_rcnn_unireplknet_coco_ema.py'

model = dict(
    backbone=dict(
        arch='b',
        drop_path_rate=0.6,
        init_cfg=dict(
            type='Pretrained',
            checkpoint=(
                'https://huggingface.co/DingXiaoH/UniRepLKNet/resolve/main/'
                'unireplknet_b_in22k_pretrain.pth'))),
    neck=dict(in_channels=[128, 256, 512, 1024]))
optim_wrapper = dict(paramwise_cfg=dict(decay_rate=0.8))
