# UniRepLKNet-B, ImageNet-22K pretrained, fine-tuned on 1K at 384: 87.4 top-1
# in
# the paper. Fine-tunes from the authors' unireplknet_b_in22k_pretrain.pth
# (fetched by URL and cached; tools/download_checkpoints.py pre-fetches it).
_base_ = './_base_/unireplknet_in22k_to_in1k_384.py'

model = dict(
    backbone=dict(
        arch='b',
        drop_path_rate=0.2,
        init_cfg=dict(
            type='Pretrained',
            checkpoint=(
                'https://huggingface.co/DingXiaoH/UniRepLKNet/resolve/main/'
                'unireplknet_b_in22k_pretrain.pth'))),
    head=dict(in_channels=1024))
