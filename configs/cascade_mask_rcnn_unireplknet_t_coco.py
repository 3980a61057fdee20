# Paper row: UniRepLKNet-T, IN-1K: 89M params, 749G FLOPs, 51.8 box AP / 44.9
# mask AP (box / mask AP).
_base_ = './_base_/cascade_mask_rcnn_unireplknet_coco.py'

model = dict(
    backbone=dict(
        arch='t',
        drop_path_rate=0.3,
        init_cfg=dict(
            type='Pretrained',
            checkpoint=(
                'https://huggingface.co/DingXiaoH/UniRepLKNet/resolve/main/'
                'unireplknet_t_in1k_224_acc83.21.pth'))),
    neck=dict(in_channels=[80, 160, 320, 640]))
optim_wrapper = dict(paramwise_cfg=dict(decay_rate=0.8))
