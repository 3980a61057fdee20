# Paper row: UniRepLKNet-B, IN-22K, 640: 130M params, 1850G FLOPs, 53.5 / 53.9
# mIoU.
_base_ = './_base_/upernet_unireplknet_ade20k_640.py'

model = dict(
    backbone=dict(
        arch='b',
        drop_path_rate=0.3,
        with_cp=True,
        init_cfg=dict(
            type='Pretrained',
            checkpoint=(
                'https://huggingface.co/DingXiaoH/UniRepLKNet/resolve/main/'
                'unireplknet_b_in22k_to_in1k_384_acc87.40.pth'))),
    decode_head=dict(in_channels=[128, 256, 512, 1024]),
    auxiliary_head=dict(in_channels=512))
optim_wrapper = dict(paramwise_cfg=dict(decay_rate=0.9, num_layers=12))
