# UniRepLKNet-S, ImageNet-22K pretrained, fine-tuned on 1K at 384: 86.4 top-1 in
# the paper. Fine-tunes from checkpoints/unireplknet_s_in22k_pretrain.pth.
_base_ = './_base_/unireplknet_in22k_to_in1k_384.py'

model = dict(
    backbone=dict(
        arch='s',
        drop_path_rate=0.2,
        init_cfg=dict(
            type='Pretrained',
            checkpoint='checkpoints/unireplknet_s_in22k_pretrain.pth')),
    head=dict(in_channels=768))
