# UniRepLKNet-L, ImageNet-22K pretrained, fine-tuned on 1K at 384: 87.9 top-1
# in
# the paper. Fine-tunes from the authors' unireplknet_l_in22k_pretrain.pth
# (fetched by URL and cached; tools/download_checkpoints.py pre-fetches it).
_base_ = './_base_/unireplknet_in22k_to_in1k_384.py'

model = dict(
    backbone=dict(
        arch='l',
        drop_path_rate=0.3,
        init_cfg=dict(
            type='Pretrained',
            checkpoint=(
                'https://huggingface.co/DingXiaoH/UniRepLKNet/resolve/main/'
                'unireplknet_l_in22k_pretrain.pth'))),
    head=dict(in_channels=1536))
max_epochs = 20
param_scheduler = [
    dict(type='CosineAnnealingLR', eta_min=1e-6, by_epoch=True, begin=0,
         end=max_epochs)
]
train_cfg = dict(max_epochs=max_epochs)
custom_hooks = [dict(type='EMAHook', momentum=1e-4, priority='ABOVE_NORMAL')]
