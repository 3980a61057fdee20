# UniRepLKNet-S, ImageNet-22K pretrained, fine-tuned on 1K at 384: 86.4 top-1
# in
# the paper. The recipe fine-tunes IN-22K weights, but the authors lost
# unireplknet_s_in22k_pretrain.pth (the one file of their table this config
# would start from; configs/README.md, "Lost files"). Training therefore needs
# your own IN-22K UniRepLKNet-S weights:
#   --cfg-options model.backbone.init_cfg.checkpoint=PATH
# Evaluating the released unireplknet_s_in22k_to_in1k_384_acc86.44.pth (after
# tools/model_converters/unireplknet_to_mmunirep.py) needs no start weights.
_base_ = './_base_/unireplknet_in22k_to_in1k_384.py'

model = dict(
    backbone=dict(
        arch='s',
        drop_path_rate=0.2,
        init_cfg=dict(
            type='Pretrained',
            checkpoint='checkpoints/unireplknet_s_in22k_pretrain.pth')),
    head=dict(in_channels=768))
