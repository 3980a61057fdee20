# Copyright (c) mmunirep contributors. All rights reserved.
"""Effective receptive field (ERF), as the RepLKNet and UniRepLKNet papers
measure it.

For each image, the gradient of the centre point of the last stage's
feature map (ReLU of its channels, summed) with respect to the input image
is taken; its ReLU is summed over the colour channels and accumulated over
the images. The accumulated map is log-scaled (``log10(1 + x)``) and
normalised to a maximum of 1 for drawing and for the high-contribution
area ratios: the smallest square around the centre holding a fraction t of
the total (log-scaled) contribution, as a fraction of the image area.
"""
from typing import Callable, Dict, Iterable, List, Optional, Sequence

import mmcv
import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mmunirep.utils import IMAGE_SUFFIXES, atomic_write, image_files

#: Contribution fractions t of the papers' area-ratio tables.
THRESHOLDS = (0.2, 0.3, 0.5, 0.99)
#: ImageNet mean and std (RGB, 0..255), used when a config has no
#: data preprocessor.
IMAGENET_MEAN = (123.675, 116.28, 103.53)
IMAGENET_STD = (58.395, 57.12, 57.375)


def stage_modules(backbone: nn.Module) -> List[nn.Module]:
    """The stages of a backbone, first to last.

    Args:
        backbone (nn.Module): UniRepLKNet, mmpretrain ConvNeXt (``stages``)
            or mmpretrain / mmdet ResNet (``res_layers``).

    Returns:
        list[nn.Module]: The stage modules.

    Raises:
        ValueError: The backbone has neither.
    """
    stages = getattr(backbone, 'stages', None)
    if isinstance(stages, (nn.ModuleList, nn.Sequential)):
        return list(stages)
    names = getattr(backbone, 'res_layers', None)
    if names:
        return [getattr(backbone, name) for name in names]
    raise ValueError(
        f'cannot find the stages of {type(backbone).__name__}: the ERF needs '
        'a backbone with `stages` (UniRepLKNet, ConvNeXt) or `res_layers` '
        '(ResNet)')


def last_stage_output(backbone: nn.Module, images: Tensor) -> Tensor:
    """Run ``backbone`` and return the output of the last stage it ran.

    Args:
        backbone (nn.Module): See :func:`stage_modules`.
        images (Tensor): (N, 3, H, W).

    Returns:
        Tensor: (N, C, h, w), before any output norm or pooling.
    """
    outputs = {}
    handles = [
        stage.register_forward_hook(
            lambda module, args, output, index=i: outputs.__setitem__(
                index, output))
        for i, stage in enumerate(stage_modules(backbone))
    ]
    try:
        backbone(images)
    finally:
        for handle in handles:
            handle.remove()
    return outputs[max(outputs)]


def input_gradient_map(backbone: nn.Module, image: Tensor) -> Tensor:
    """The contribution of each input pixel to the centre of the last
    stage's feature map, for one image.

    Args:
        backbone (nn.Module): In eval mode.
        image (Tensor): (1, 3, H, W), preprocessed.

    Returns:
        Tensor: (H, W), non-negative: ReLU of the input gradient of
        ``sum_c relu(feature[c, h // 2, w // 2])``, summed over colours.
    """
    image = image.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        feature = last_stage_output(backbone, image)
        height, width = feature.shape[-2:]
        centre = F.relu(feature[:, :, height // 2, width // 2]).sum()
        gradient, = torch.autograd.grad(centre, image)
    return F.relu(gradient).sum(dim=(0, 1)).detach()


def compute_erf(backbone: nn.Module,
                images: Iterable[Tensor],
                progress: Optional[Callable[[], None]] = None) -> Tensor:
    """Accumulate :func:`input_gradient_map` over images.

    Args:
        backbone (nn.Module): Switched to eval mode; its parameters stop
            requiring gradients (only the input gradient is needed).
        images (Iterable[Tensor]): (1, 3, H, W) preprocessed images of one
            size.
        progress (callable, optional): Called after each image.

    Returns:
        Tensor: (H, W) float64, the summed contributions.
    """
    backbone.eval()
    for param in backbone.parameters():
        param.requires_grad_(False)
    total = None
    for image in images:
        contribution = input_gradient_map(backbone, image).double()
        total = contribution if total is None else total + contribution
        if progress is not None:
            progress()
    if total is None:
        raise ValueError('no images to compute the ERF on')
    return total


def scale_erf(erf: Tensor) -> np.ndarray:
    """``log10(1 + erf)`` normalised to a maximum of 1 (the papers' scale).

    Raises:
        ValueError: The map is all zero (the centre does not depend on the
            input, e.g. a dead network).
    """
    scaled = np.log10(1 + erf.double().cpu().numpy())
    peak = scaled.max()
    if not np.isfinite(peak) or peak <= 0:
        raise ValueError(
            'the ERF is zero (or not finite) everywhere: the centre of the '
            'last feature map does not depend on the input')
    return scaled / peak


def area_ratios(
        scaled: np.ndarray,
        thresholds: Sequence[float] = THRESHOLDS) -> Dict[float, float]:
    """High-contribution area ratios of a scaled ERF.

    Args:
        scaled (np.ndarray): (H, W) from :func:`scale_erf`.
        thresholds (Sequence[float]): Fractions t in (0, 1].

    Returns:
        dict[float, float]: t -> area of the smallest square (centred on
        pixel (H // 2, W // 2), side 1, 3, 5, ..., clipped to the map) that
        holds at least t of the total, as a fraction of H * W.
    """
    height, width = scaled.shape
    integral = np.zeros((height + 1, width + 1))
    integral[1:, 1:] = scaled.cumsum(0).cumsum(1)
    radius = np.arange(max(height, width))
    top = np.clip(height // 2 - radius, 0, height)
    bottom = np.clip(height // 2 + radius + 1, 0, height)
    left = np.clip(width // 2 - radius, 0, width)
    right = np.clip(width // 2 + radius + 1, 0, width)
    sums = (integral[bottom, right] - integral[top, right] -
            integral[bottom, left] + integral[top, left])
    areas = (bottom - top) * (right - left) / (height * width)
    # the largest square is the whole map: its sum is the total
    return {t: float(areas[np.searchsorted(sums, t * sums[-1])])
            for t in thresholds}


def list_images(directory: str, num_images: int) -> List[str]:
    """The first ``num_images`` image files of a directory, sorted by name.

    Raises:
        ValueError: The directory is missing or has fewer images.
    """
    paths = image_files(directory)
    if len(paths) < num_images:
        raise ValueError(
            f'{directory} has {len(paths)} images '
            f'({", ".join(IMAGE_SUFFIXES)}), fewer than --num-images '
            f'{num_images}')
    return paths[:num_images]


def load_image(path: str, size: int, mean: Sequence[float],
               std: Sequence[float], to_rgb: bool = True) -> Tensor:
    """Read an image, resize its short side to ``size``, centre-crop it to
    ``size`` x ``size`` and normalise it.

    Returns:
        Tensor: (1, 3, size, size) float32.
    """
    image = mmcv.imread(path, channel_order='rgb' if to_rgb else 'bgr')
    height, width = image.shape[:2]
    scale = size / min(height, width)
    image = mmcv.imresize(
        image, (max(size, round(width * scale)), max(size, round(height *
                                                                 scale))))
    top = (image.shape[0] - size) // 2
    left = (image.shape[1] - size) // 2
    image = image[top:top + size, left:left + size].astype(np.float32)
    image = (image - np.asarray(mean, np.float32)) / np.asarray(
        std, np.float32)
    return torch.from_numpy(image).permute(2, 0, 1)[None].contiguous()


def normalization_of(model_cfg: dict) -> dict:
    """``mean``, ``std`` and ``to_rgb`` of a model config's data
    preprocessor (mmdet / mmseg ``bgr_to_rgb``, mmpretrain ``to_rgb``);
    ImageNet's in RGB when there is none."""
    preprocessor = model_cfg.get('data_preprocessor') or {}
    return dict(
        mean=tuple(preprocessor.get('mean', IMAGENET_MEAN)),
        std=tuple(preprocessor.get('std', IMAGENET_STD)),
        to_rgb=bool(preprocessor.get('bgr_to_rgb',
                                     preprocessor.get('to_rgb', True))))


def draw_erfs(scaled_maps: Dict[str, np.ndarray],
              ratios: Dict[str, Dict[float, float]],
              out_file: str,
              panel_inches: float = 4.0,
              dpi: int = 160) -> None:
    """Draw ERF heatmaps side by side and save them as one (palette) PNG.

    Args:
        scaled_maps (dict[str, np.ndarray]): Label -> (H, W) map from
            :func:`scale_erf`. A label ``name (detail)`` is drawn on two
            lines.
        ratios (dict[str, dict]): Label -> :func:`area_ratios`, shown under
            each panel.
        out_file (str): The PNG to write (atomically).
        panel_inches (float): Width of one panel. Defaults to 4.
        dpi (int): Pixels per inch; a panel is ``panel_inches * dpi`` pixels
            wide (640 by default). Defaults to 160.
    """
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from PIL import Image

    # a 200-level colour map plus 56 greys (text, frames) fill exactly the
    # 256 colours of a palette PNG, about a third of an RGBA PNG's size
    # (ERF maps are noisy and compress badly)
    levels = 200
    cmap = matplotlib.colormaps['RdYlGn'].resampled(levels)
    palette = np.concatenate([
        cmap(np.arange(levels))[:, :3] * 255,
        np.linspace(0, 255, 256 - levels)[:, None].repeat(3, axis=1)
    ]).round().astype(np.uint8)

    figure = Figure(figsize=(panel_inches * len(scaled_maps) + 0.8,
                             panel_inches + 0.9), dpi=dpi,
                    layout='constrained')
    axes = figure.subplots(1, len(scaled_maps), squeeze=False)[0]
    image = None
    for axis, (label, scaled) in zip(axes, scaled_maps.items()):
        image = axis.imshow(scaled, cmap=cmap, vmin=0, vmax=1,
                            interpolation='nearest')
        axis.set_xticks([])
        axis.set_yticks([])
        axis.set_title(label.replace(' (', '\n('), fontsize=9)
        text = [f't={t:.0%}: {r:.1%}' for t, r in ratios[label].items()]
        half = (len(text) + 1) // 2
        axis.set_xlabel('   '.join(text[:half]) + '\n' +
                        '   '.join(text[half:]), fontsize=8)
    figure.colorbar(image, ax=list(axes), shrink=0.8,
                    label='log10(1 + contribution), normalised')
    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    rgb = np.asarray(canvas.buffer_rgba())[..., :3]
    # each distinct colour to its nearest palette entry (PIL's own palette
    # mapping is approximate: it turns white into light grey)
    colours, pixel_colour = np.unique(rgb.reshape(-1, 3), axis=0,
                                      return_inverse=True)
    distances = ((colours[:, None].astype(np.int32) -
                  palette[None].astype(np.int32))**2).sum(-1)
    indices = distances.argmin(1).astype(np.uint8)[pixel_colour.reshape(-1)]
    image = Image.fromarray(indices.reshape(rgb.shape[:2]), mode='P')
    image.putpalette(palette.reshape(-1).tolist())
    with atomic_write(out_file) as f:
        image.save(f, format='PNG', optimize=True)
