# Paper row: UniRepLKNet-S, IN-1K: 113M params, 835G FLOPs, 53.0 / 45.9 (box /
# mask AP).
_base_ = './_base_/cascade_mask_rcnn_unireplknet_coco.py'

model = dict(
    backbone=dict(
        arch='s',
        drop_path_rate=0.5,
        init_cfg=dict(
            type='Pretrained',
            checkpoint=(
                'https://huggingface.co/DingXiaoH/UniRepLKNet/resolve/main/'
                'unireplknet_s_in1k_224_acc83.91.pth'))),
    neck=dict(in_channels=[96, 192, 384, 768]))
optim_wrapper = dict(paramwise_cfg=dict(decay_rate=0.8))
