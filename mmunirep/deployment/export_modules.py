# Copyright (c) mmunirep contributors. All rights reserved.
"""What is exported for each task: modules that take preprocessed float32
images ``input`` (N, 3, H, W) and return a tuple of tensors, with a
``output_names`` method naming them.

- classifier: ``scores`` (N, num_classes), the head's output before softmax
  (``model(x, mode='tensor')``);
- segmentor: ``logits`` (N, num_classes, H, W), the decode head's output
  resized bilinearly to the input size (mmseg's ``encode_decode``);
- detector: ``feat0``.. the backbone + neck feature maps
  (:class:`DetectorFeaturesForExport`), or the whole detector with its
  post-processing for one image (:class:`DetectorForExport`).
"""
from typing import List, Tuple

from torch import Tensor, nn


class ClassifierForExport(nn.Module):
    """(N, 3, H, W) -> ``scores`` (N, num_classes), before softmax.

    Args:
        model (nn.Module): An mmpretrain ``ImageClassifier``.
    """

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        if not getattr(model, 'with_head', False):
            raise ValueError(
                f'{type(model).__name__} has no head: there are no class '
                'scores to export')
        self.model = model

    def forward(self, input: Tensor) -> Tuple[Tensor]:
        return (self.model(input, mode='tensor'), )

    @staticmethod
    def output_names(num_outputs: int) -> List[str]:
        return ['scores']


class SegmentorForExport(nn.Module):
    """(N, 3, H, W) -> ``logits`` (N, num_classes, H, W), before argmax.

    Args:
        model (nn.Module): An mmseg ``EncoderDecoder``.
    """

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, input: Tensor) -> Tuple[Tensor]:
        # a torch.Size img_shape is what mmseg's sliding-window inference
        # passes: the logits are resized to exactly this size. mmseg reads
        # the first image's meta only; one per image would fix the batch.
        return (self.model.encode_decode(
            input, [dict(img_shape=input.shape[2:])]), )

    @staticmethod
    def output_names(num_outputs: int) -> List[str]:
        return ['logits']


class DetectorFeaturesForExport(nn.Module):
    """(N, 3, H, W) -> ``feat0``.. the feature maps of backbone + neck.

    Args:
        model (nn.Module): An mmdet detector.
    """

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, input: Tensor) -> Tuple[Tensor, ...]:
        return tuple(self.model.extract_feat(input))

    @staticmethod
    def output_names(num_outputs: int) -> List[str]:
        return [f'feat{i}' for i in range(num_outputs)]


class DetectorForExport(nn.Module):
    """(1, 3, H, W) -> the predictions of one image, in input pixels.

    Runs mmdet's ``predict`` (post-processing included) with the input as
    the whole image (no rescaling) and returns ``bboxes`` (K, 4),
    ``scores`` (K,), ``labels`` (K,) and, for detectors with a mask head,
    ``masks`` (K, H, W).

    Args:
        model (nn.Module): An mmdet detector.
    """

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model
        self.fields = ['bboxes', 'scores', 'labels']
        if getattr(model, 'with_mask', False):
            self.fields.append('masks')

    def forward(self, input: Tensor) -> Tuple[Tensor, ...]:
        from mmdet.structures import DetDataSample
        size = tuple(input.shape[2:])
        sample = DetDataSample()
        # set_field, not metainfo=: the latter deep-copies, which symbolic
        # sizes do not survive while torch.export traces
        for key, value in dict(img_shape=size, ori_shape=size,
                               pad_shape=size, batch_input_shape=size,
                               scale_factor=(1.0, 1.0)).items():
            sample.set_field(value, key, field_type='metainfo')
        instances = self.model.predict(input, [sample], rescale=False)[0]
        return tuple(
            instances.pred_instances.get(field) for field in self.fields)

    def output_names(self, num_outputs: int) -> List[str]:
        return self.fields


#: Task (a config's default scope) -> what is exported.
EXPORT_MODULES = dict(
    mmpretrain=ClassifierForExport,
    mmseg=SegmentorForExport,
    mmdet=DetectorFeaturesForExport)
