# Paper row: UniRepLKNet-S, IN-22K: 113M params, 835G FLOPs, 54.3 / 47.1 (box /
# mask AP).
# Starts from the authors' S IN-22K -> 1K (384) file: their S IN-22K pretrain
# file, which the paper's detector started from, is lost (configs/README.md,
# "Lost files").
_base_ = './_base_/cascade_mask_rcnn_unireplknet_coco_ema.py'

model = dict(
    backbone=dict(
        arch='s',
        drop_path_rate=0.5,
        init_cfg=dict(
            type='Pretrained',
            checkpoint=(
                'https://huggingface.co/DingXiaoH/UniRepLKNet/resolve/main/'
                'unireplknet_s_in22k_to_in1k_384_acc86.44.pth'))),
    neck=dict(in_channels=[96, 192, 384, 768]))
optim_wrapper = dict(paramwise_cfg=dict(decay_rate=0.8))
