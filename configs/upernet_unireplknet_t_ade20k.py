# Paper row: UniRepLKNet-T, IN-1K, 512: 61M params, 946G FLOPs, 48.6 / 49.1
# mIoU.
# The authors train T without layer decay (rate 1 over 9 layers).
_base_ = './_base_/upernet_unireplknet_ade20k.py'

model = dict(
    backbone=dict(
        arch='t',
        drop_path_rate=0.2,
        with_cp=False,
        init_cfg=dict(
            type='Pretrained',
            checkpoint=(
                'https://huggingface.co/DingXiaoH/UniRepLKNet/resolve/main/'
                'unireplknet_t_in1k_224_acc83.21.pth'))),
    decode_head=dict(in_channels=[80, 160, 320, 640]),
    auxiliary_head=dict(in_channels=320))
optim_wrapper = dict(paramwise_cfg=dict(decay_rate=1.0, num_layers=9))
