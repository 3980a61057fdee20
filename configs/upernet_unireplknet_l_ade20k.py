# Paper row: UniRepLKNet-L, IN-22K, 640: 254M params, 2507G FLOPs, 54.5 / 55.0
# mIoU.
_base_ = './_base_/upernet_unireplknet_ade20k_640.py'

model = dict(
    backbone=dict(
        arch='l',
        drop_path_rate=0.4,
        with_cp=True,
        init_cfg=dict(
            type='Pretrained',
            checkpoint=(
                'https://huggingface.co/DingXiaoH/UniRepLKNet/resolve/main/'
                'unireplknet_l_in22k_to_in1k_384_acc87.88.pth'))),
    decode_head=dict(in_channels=[192, 384, 768, 1536]),
    auxiliary_head=dict(in_channels=768))
optim_wrapper = dict(paramwise_cfg=dict(decay_rate=0.85, num_layers=12))
