# Copyright (c) mmunirep contributors. All rights reserved.
"""UperNet in plain PyTorch, for benchmarks on machines without mmseg.

mmseg needs mmcv's compiled ops, which a lent GPU machine with ``mmcv-lite``
lacks; this module rebuilds what ``configs/upernet_unireplknet_xl_ade20k.py``
trains, layer for layer, so the GPU benchmark can time the paper's headline
segmentation config there:

- :class:`UPerHeadPlain`: mmseg's ``UPerHead`` (`Unified Perceptual Parsing
  <https://arxiv.org/abs/1807.10221>`_): a pyramid pooling module on the last
  stage, lateral 1x1 and FPN 3x3 convs, a 3x3 bottleneck over the
  concatenated levels, dropout and a 1x1 classifier;
- :class:`FCNHeadPlain`: mmseg's ``FCNHead`` as the auxiliary head (convs on
  one stage, ``concat_input=False``);
- :class:`UperNetPlain`: backbone + both heads, mmseg's training loss
  (cross-entropy on logits resized to the crop, auxiliary weight 0.4) and
  its whole-image inference.

Every conv + BatchNorm + ReLU is mmcv's ``ConvModule`` (bias-free conv), so
the parameter counts equal mmseg's (``tests/test_analysis/
test_upernet_plain.py`` builds both and compares). :data:`XL_ADE20K` holds
the config's settings; the same test reads the config and checks them.
"""
from dataclasses import dataclass
from typing import Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mmunirep.models import UniRepLKNet

#: The label mmseg's ADE20K pipeline gives to pixels without a class.
IGNORE_INDEX = 255


@dataclass(frozen=True)
class UperNetSettings:
    """What a UperNet + UniRepLKNet segmentor is built from.

    Args:
        arch (str): UniRepLKNet arch.
        drop_path_rate (float): The backbone's stochastic depth.
        with_cp (bool): Gradient checkpointing in the backbone's blocks.
        channels (int): Width of the decode head.
        pool_scales (tuple[int]): Output sizes of the pyramid pooling.
        aux_channels (int): Width of the auxiliary head's conv.
        aux_in_index (int): The backbone stage the auxiliary head reads.
        num_classes (int): Classes of the dataset.
        crop_size (tuple[int, int]): Training crop (H, W).
        dropout_ratio (float): Dropout before both classifiers.
            Defaults to 0.1.
        aux_loss_weight (float): Weight of the auxiliary loss.
            Defaults to 0.4.
    """

    arch: str
    drop_path_rate: float
    with_cp: bool
    channels: int
    pool_scales: Tuple[int, ...]
    aux_channels: int
    aux_in_index: int
    num_classes: int
    crop_size: Tuple[int, int]
    dropout_ratio: float = 0.1
    aux_loss_weight: float = 0.4


#: ``configs/upernet_unireplknet_xl_ade20k.py`` (one GPU: BN for SyncBN).
XL_ADE20K = UperNetSettings(
    arch='xl', drop_path_rate=0.4, with_cp=True, channels=512,
    pool_scales=(1, 2, 3, 6), aux_channels=256, aux_in_index=2,
    num_classes=150, crop_size=(640, 640))

#: A toy segmentor on the same code path (``--tiny`` benchmark runs).
TINY_ADE20K = UperNetSettings(
    arch='a', drop_path_rate=0.4, with_cp=True, channels=32,
    pool_scales=(1, 2, 3, 6), aux_channels=16, aux_in_index=2,
    num_classes=150, crop_size=(64, 64))


class ConvBNReLU(nn.Sequential):
    """Conv (no bias) + BatchNorm + ReLU, mmcv's ``ConvModule`` with
    ``norm_cfg=dict(type='BN')`` (same sub-module names).

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels.
        kernel_size (int): Odd kernel size; the padding keeps the size.
    """

    def __init__(self, in_channels: int, out_channels: int,
                 kernel_size: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size,
                              padding=kernel_size // 2, bias=False)
        self.bn = nn.BatchNorm2d(out_channels)
        self.activate = nn.ReLU(inplace=True)


def _resize(x: Tensor, size: Sequence[int]) -> Tensor:
    """Bilinear resize as mmseg's heads do (``align_corners=False``)."""
    return F.interpolate(x, size=tuple(size), mode='bilinear',
                         align_corners=False)


class UPerHeadPlain(nn.Module):
    """mmseg's ``UPerHead`` in plain PyTorch.

    Args:
        in_channels (Sequence[int]): Channels of the backbone's stages.
        channels (int): Width of every level. Defaults to 512.
        pool_scales (Sequence[int]): Pyramid pooling output sizes.
            Defaults to (1, 2, 3, 6).
        num_classes (int): Defaults to 150.
        dropout_ratio (float): Dropout2d before the classifier.
            Defaults to 0.1.
    """

    def __init__(self,
                 in_channels: Sequence[int],
                 channels: int = 512,
                 pool_scales: Sequence[int] = (1, 2, 3, 6),
                 num_classes: int = 150,
                 dropout_ratio: float = 0.1) -> None:
        super().__init__()
        last = in_channels[-1]
        self.psp_modules = nn.ModuleList([
            nn.Sequential(nn.AdaptiveAvgPool2d(scale),
                          ConvBNReLU(last, channels, 1))
            for scale in pool_scales
        ])
        self.bottleneck = ConvBNReLU(last + len(pool_scales) * channels,
                                     channels, 3)
        self.lateral_convs = nn.ModuleList(
            [ConvBNReLU(c, channels, 1) for c in in_channels[:-1]])
        self.fpn_convs = nn.ModuleList(
            [ConvBNReLU(channels, channels, 3) for _ in in_channels[:-1]])
        self.fpn_bottleneck = ConvBNReLU(len(in_channels) * channels,
                                         channels, 3)
        self.dropout = nn.Dropout2d(dropout_ratio)
        self.conv_seg = nn.Conv2d(channels, num_classes, 1)

    def pyramid_pooling(self, x: Tensor) -> Tensor:
        """(N, C_last, h, w) -> (N, channels, h, w): the input and its pooled
        versions, concatenated, through the bottleneck."""
        pooled = [_resize(module(x), x.shape[2:])
                  for module in self.psp_modules]
        return self.bottleneck(torch.cat([x, *pooled], dim=1))

    def forward(self, features: Sequence[Tensor]) -> Tensor:
        """Per-class logits at the first stage's resolution.

        Args:
            features (Sequence[Tensor]): (N, C_i, H / 2^(i+2), W / 2^(i+2))
                per stage ``i``.

        Returns:
            Tensor: (N, num_classes, H / 4, W / 4).
        """
        levels = [conv(f) for conv, f in zip(self.lateral_convs, features)]
        levels.append(self.pyramid_pooling(features[-1]))
        for i in range(len(levels) - 1, 0, -1):
            levels[i - 1] = levels[i - 1] + _resize(levels[i],
                                                    levels[i - 1].shape[2:])
        outs = [conv(level) for conv, level in zip(self.fpn_convs, levels)]
        outs.append(levels[-1])
        outs = [outs[0]] + [_resize(o, outs[0].shape[2:]) for o in outs[1:]]
        fused = self.fpn_bottleneck(torch.cat(outs, dim=1))
        return self.conv_seg(self.dropout(fused))


class FCNHeadPlain(nn.Module):
    """mmseg's ``FCNHead`` with one 3x3 conv and ``concat_input=False``
    (UperNet's auxiliary head).

    Args:
        in_channels (int): Channels of the stage it reads.
        in_index (int): Which stage. Defaults to 2.
        channels (int): Width of the conv. Defaults to 256.
        num_classes (int): Defaults to 150.
        dropout_ratio (float): Dropout2d before the classifier.
            Defaults to 0.1.
    """

    def __init__(self,
                 in_channels: int,
                 in_index: int = 2,
                 channels: int = 256,
                 num_classes: int = 150,
                 dropout_ratio: float = 0.1) -> None:
        super().__init__()
        self.in_index = in_index
        self.convs = nn.Sequential(ConvBNReLU(in_channels, channels, 3))
        self.dropout = nn.Dropout2d(dropout_ratio)
        self.conv_seg = nn.Conv2d(channels, num_classes, 1)

    def forward(self, features: Sequence[Tensor]) -> Tensor:
        """(N, C, h, w) of stage ``in_index`` -> (N, num_classes, h, w)."""
        return self.conv_seg(self.dropout(self.convs(
            features[self.in_index])))


class UperNetPlain(nn.Module):
    """Backbone + UperNet decode head (+ FCN auxiliary head), with mmseg's
    loss and whole-image inference.

    Args:
        backbone (nn.Module): Returns one feature map per stage.
        decode_head (UPerHeadPlain): The decode head.
        auxiliary_head (FCNHeadPlain, optional): Only used by the loss.
            Defaults to None.
        aux_loss_weight (float): Defaults to 0.4.
    """

    def __init__(self,
                 backbone: nn.Module,
                 decode_head: UPerHeadPlain,
                 auxiliary_head: Optional[FCNHeadPlain] = None,
                 aux_loss_weight: float = 0.4) -> None:
        super().__init__()
        self.backbone = backbone
        self.decode_head = decode_head
        self.auxiliary_head = auxiliary_head
        self.aux_loss_weight = aux_loss_weight

    def loss(self, images: Tensor, labels: Tensor) -> Tensor:
        """mmseg's training loss: cross-entropy of each head's logits,
        resized to the labels, averaged over all pixels.

        Args:
            images (Tensor): (N, 3, H, W).
            labels (Tensor): (N, H, W) class indices, ``IGNORE_INDEX`` for
                unlabelled pixels.

        Returns:
            Tensor: Scalar, decode loss + ``aux_loss_weight`` x auxiliary.
        """
        features = self.backbone(images)
        heads = [(self.decode_head, 1.)]
        if self.auxiliary_head is not None:
            heads.append((self.auxiliary_head, self.aux_loss_weight))
        total = 0.
        for head, weight in heads:
            logits = _resize(head(features), labels.shape[1:])
            total = total + weight * F.cross_entropy(
                logits.float(), labels, ignore_index=IGNORE_INDEX,
                reduction='none').mean()
        return total

    def predict(self, images: Tensor) -> Tensor:
        """Whole-image inference.

        Args:
            images (Tensor): (N, 3, H, W).

        Returns:
            Tensor: (N, H, W) predicted classes.
        """
        logits = self.decode_head(self.backbone(images))
        return _resize(logits, images.shape[2:]).argmax(dim=1)


def build_upernet_plain(settings: UperNetSettings,
                        kernels: str = 'auto') -> UperNetPlain:
    """The segmentor of ``settings``, with BatchNorm everywhere (one GPU).

    Args:
        settings (UperNetSettings): E.g. :data:`XL_ADE20K`.
        kernels (str): The backbone's ops implementation ('auto', 'plain'
            or 'triton'). Defaults to 'auto'.

    Returns:
        UperNetPlain: In training mode.
    """
    backbone = UniRepLKNet(settings.arch, out_indices=(0, 1, 2, 3),
                           drop_path_rate=settings.drop_path_rate,
                           with_cp=settings.with_cp,
                           norm_cfg=dict(type='BN'), kernels=kernels)
    dims = list(backbone.dims)
    decode_head = UPerHeadPlain(dims, settings.channels,
                                settings.pool_scales, settings.num_classes,
                                settings.dropout_ratio)
    auxiliary_head = FCNHeadPlain(dims[settings.aux_in_index],
                                  settings.aux_in_index,
                                  settings.aux_channels,
                                  settings.num_classes,
                                  settings.dropout_ratio)
    return UperNetPlain(backbone, decode_head, auxiliary_head,
                        settings.aux_loss_weight)
