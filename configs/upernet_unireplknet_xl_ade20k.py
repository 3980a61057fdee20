# Paper row: UniRepLKNet-XL, IN-22K, 640: 425M params, 3420G FLOPs, 55.2 / 55.6
# mIoU.
# The paper publishes no XL segmentation recipe; L's decay (0.85 / 12)
# and drop path 0.4 are the natural choice. It starts from the authors' XL
# IN-22K pretrain file: their XL IN-22K -> 1K (384) file, from which the other
# IN-22K segmentors start, is lost (configs/README.md, "Lost files").
_base_ = './_base_/upernet_unireplknet_ade20k_640.py'

model = dict(
    backbone=dict(
        arch='xl',
        drop_path_rate=0.4,
        with_cp=True,
        init_cfg=dict(
            type='Pretrained',
            checkpoint=(
                'https://huggingface.co/DingXiaoH/UniRepLKNet/resolve/main/'
                'unireplknet_xl_in22k_pretrain.pth'))),
    decode_head=dict(in_channels=[256, 512, 1024, 2048]),
    auxiliary_head=dict(in_channels=1024))
optim_wrapper = dict(paramwise_cfg=dict(decay_rate=0.85, num_layers=12))
