# Paper row: UniRepLKNet-S, IN-22K, 640: 86M params, 1618G FLOPs, 52.3 / 52.7
# mIoU.
_base_ = './_base_/upernet_unireplknet_ade20k_640.py'

model = dict(
    backbone=dict(
        arch='s',
        drop_path_rate=0.3,
        with_cp=True,
        init_cfg=dict(
            type='Pretrained',
            checkpoint=(
                'https://huggingface.co/DingXiaoH/UniRepLKNet/resolve/main/'
                'unireplknet_s_in22k_to_in1k_384_acc86.44.pth'))),
    decode_head=dict(in_channels=[96, 192, 384, 768]),
    auxiliary_head=dict(in_channels=384))
optim_wrapper = dict(paramwise_cfg=dict(decay_rate=0.9, num_layers=12))
