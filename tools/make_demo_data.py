# Copyright (c) mmunirep contributors. All rights reserved.
"""Generate the small synthetic shapes dataset of the CPU demo.

Every image shows 2-5 filled shapes of four classes on a muted, textured
background. Each class has its own outline and appearance (colour family and
texture); the colour is jittered per instance, so colour alone is not a
perfect cue. Shapes are drawn one after the other and may occlude each other;
all annotations describe the *visible* part of each instance.

The same scenes are written in two layouts under ``--out``:

* ``ade/``: mmseg's ADE20K layout (``images/{training,validation}/*.jpg`` and
  ``annotations/{training,validation}/*.png``). Label maps are uint8:
  ``0`` is the "unlabeled" value that ``reduce_zero_label=True`` ignores (it
  is never written), ``1`` is the background and ``2..5`` are the shape
  classes in :data:`CLASSES` order, so after ``reduce_zero_label`` the
  classes are :data:`SEG_CLASSES`.
* ``coco/``: mmdet's COCO instance layout (``{train,val}2017/*.jpg`` and
  ``annotations/instances_{train,val}2017.json``). Category ids are ``1..4``
  in :data:`CLASSES` order; bboxes, areas and polygons describe the visible
  mask; instances with fewer than :data:`MIN_AREA` visible pixels are left
  out of the json (their pixels stay labelled in the segmentation maps).

``classes.json`` lists the class names and palettes; ``meta.json`` records
the arguments and a hash of the content, so a second run with the same
arguments returns at once (``--force`` regenerates).

Generating replaces ``ade/`` and ``coco/`` under ``--out``, the standard
OpenMMLab locations of real datasets, so the tool marks the folders it makes
(:data:`MARKER`) and refuses a non-empty ``--out`` it did not make (say,
``--out data`` holding a real ADE20K / COCO tree) unless ``--overwrite`` is
given.

Generation is deterministic: every image draws from its own RNG seeded with
``(seed, split, index)``, so the same seed gives byte-identical files and an
image does not depend on how many images are generated.

Example::

    python tools/make_demo_data.py --out data/demo
"""
import argparse
import colorsys
import hashlib
import json
import os
import shutil
import sys
import time
from pathlib import Path

import cv2
import numpy as np

#: Shape classes: COCO category ids 1..4, segmentation labels 2..5.
CLASSES = ('circle', 'triangle', 'rectangle', 'star')
#: RGB visualisation colours of :data:`CLASSES`.
PALETTE = [(220, 50, 50), (50, 180, 60), (50, 100, 230), (240, 200, 30)]
#: Segmentation classes after ``reduce_zero_label`` (label value - 1).
SEG_CLASSES = ('background', ) + CLASSES
#: RGB visualisation colours of :data:`SEG_CLASSES`.
SEG_PALETTE = [(90, 90, 90)] + PALETTE

#: Label-map value ignored by ``reduce_zero_label=True`` (never written).
IGNORE_LABEL = 0
#: Label-map value of the background; shape class ``i`` is ``i + 2``.
BACKGROUND_LABEL = 1
#: Instances with a smaller visible area (pixels) are left out of the COCO
#: annotations.
MIN_AREA = 30
#: Bump when the generated content changes, to invalidate old datasets.
FORMAT_VERSION = 1
#: Written into ``--out`` before anything else: this tool made the folder
#: and may replace what it wrote there.
MARKER = '.mmunirep_demo_data'
#: What the tool writes under ``--out`` (and replaces on regeneration).
OUTPUTS = ('ade', 'coco', 'classes.json', 'meta.json')

JPEG_QUALITY = 95
#: (name, ADE20K folder, COCO folder) of each split, in seeding order.
SPLITS = (('train', 'training', 'train2017'),
          ('val', 'validation', 'val2017'))

#: Hue centre (degrees) of each class's colour family; jitter is
#: +-HUE_JITTER, so neighbouring families (red / yellow) come within 15
#: degrees of each other, and backgrounds can take any hue.
CLASS_HUES = (0, 130, 220, 55)
HUE_JITTER = 20
#: Shape size (outer diameter) as a fraction of the mean image side.
SIZE_RANGE = (0.12, 0.45)
NUM_INSTANCES = (2, 5)
#: Every instance keeps at least this fraction of its pixels visible.
MIN_VISIBLE_FRACTION = 0.5
MAX_PLACEMENT_TRIES = 40
#: Subpixel bits of the cv2 polygon coordinates.
SHIFT = 4


def parse_args(argv=None):
    """Parse the command line.

    Args:
        argv (list[str], optional): Arguments; ``sys.argv[1:]`` if None.

    Returns:
        argparse.Namespace: The parsed arguments.
    """
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--out', default='data/demo', help='output folder')
    parser.add_argument('--num-train', type=int, default=240,
                        help='number of training images')
    parser.add_argument('--num-val', type=int, default=60,
                        help='number of validation images')
    parser.add_argument('--width', type=int, default=160, help='image width')
    parser.add_argument('--height', type=int, default=128,
                        help='image height')
    parser.add_argument('--seed', type=int, default=0, help='random seed')
    parser.add_argument('--force', action='store_true',
                        help='regenerate even if the output is up to date')
    parser.add_argument('--overwrite', action='store_true',
                        help='write into a non-empty --out this tool did not '
                        'make, replacing its ade/, coco/, classes.json and '
                        'meta.json (other files are kept)')
    args = parser.parse_args(argv)
    if min(args.width, args.height) < 32:
        parser.error('--width and --height must be at least 32')
    if args.num_train < 0 or args.num_val < 0 or args.seed < 0:
        parser.error('counts and seed must not be negative')
    return args


# --------------------------------------------------------------- appearance
def hsv_color(hue, sat, val):
    """An RGB colour in [0, 1] from hue (degrees), saturation and value."""
    return np.array(colorsys.hsv_to_rgb((hue % 360) / 360, sat, val),
                    dtype=np.float32)


def pixel_grid(height, width, top=0, left=0):
    """Pixel coordinates ``(x, y)`` of a ``(height, width)`` window whose
    top-left pixel is ``(left, top)``, as float32 arrays."""
    y, x = np.mgrid[top:top + height, left:left + width]
    return x.astype(np.float32), y.astype(np.float32)


def rotated_coords(rng, x, y):
    """Pixel coordinates rotated by a random angle.

    Args:
        rng (np.random.Generator): Random generator.
        x (np.ndarray): x coordinates, see :func:`pixel_grid`.
        y (np.ndarray): y coordinates, same shape.

    Returns:
        tuple[np.ndarray, np.ndarray]: ``(u, v)``, shaped like ``x``.
    """
    theta = rng.uniform(0, np.pi)
    c, s = np.float32(np.cos(theta)), np.float32(np.sin(theta))
    return x * c + y * s, y * c - x * s


def smooth_noise(rng, height, width, cells, channels=1):
    """Smooth random field: a coarse normal grid upsampled bicubically.

    Returns:
        np.ndarray: ``(height, width, channels)`` float32, roughly unit std.
    """
    grid = rng.normal(size=(cells + 1, cells + 1, channels))
    field = cv2.resize(grid.astype(np.float32), (width, height),
                       interpolation=cv2.INTER_CUBIC)
    return field.reshape(height, width, channels)


def random_background(rng, height, width):
    """A muted background: two-colour gradient, smooth blotches, and
    sometimes faint stripes.

    Returns:
        np.ndarray: ``(height, width, 3)`` float32 RGB, roughly in [0, 1]
        (the scene is clipped when converted to uint8).
    """
    hue = rng.uniform(0, 360)
    color_a = hsv_color(hue, rng.uniform(0.05, 0.35), rng.uniform(0.35, 0.8))
    color_b = hsv_color(hue + rng.uniform(-60, 60), rng.uniform(0.05, 0.35),
                        rng.uniform(0.35, 0.8))
    x, y = pixel_grid(height, width)
    u, _ = rotated_coords(rng, x, y)
    ramp = ((u - u.min()) / np.ptp(u))[..., None]
    image = color_a * (1 - ramp) + color_b * ramp
    cells = int(rng.integers(2, 8))
    image += rng.uniform(0.05, 0.15) * smooth_noise(rng, height, width, cells)
    image += 0.04 * smooth_noise(rng, height, width, cells, channels=3)
    if rng.random() < 0.35:
        u, _ = rotated_coords(rng, x, y)
        period = rng.uniform(6, 24)
        image += rng.uniform(0.03, 0.08) * np.sin(2 * np.pi * u / period)[
            ..., None]
    return image


def texture_pattern(rng, cls, x, y):
    """The class's texture as a blend weight between its two colours.

    circle: stripes, triangle: dots, rectangle: checker, star: solid (its
    texture is stronger noise, added by :func:`instance_appearance`).

    Args:
        rng (np.random.Generator): Random generator.
        cls (int): Class index into :data:`CLASSES`.
        x (np.ndarray): x coordinates, see :func:`pixel_grid`.
        y (np.ndarray): y coordinates, same shape.

    Returns:
        np.ndarray: Float32 in [0, 1], shaped like ``x``.
    """
    u, v = rotated_coords(rng, x, y)
    name = CLASSES[cls]
    if name == 'circle':
        wave = np.sin(2 * np.pi * u / rng.uniform(5, 9))
        return np.clip(wave * 2 + 0.5, 0, 1)
    if name == 'triangle':
        period = rng.uniform(5, 8)
        du = (u / period) % 1 - 0.5
        dv = (v / period) % 1 - 0.5
        dist = np.hypot(du, dv) * period
        return np.clip(rng.uniform(1.2, 2.0) - dist + 0.5, 0, 1)
    if name == 'rectangle':
        cell = rng.uniform(3.5, 6)
        return ((np.floor(u / cell) + np.floor(v / cell)) % 2).astype(
            np.float32)
    return np.zeros_like(x)


def instance_appearance(rng, cls, x, y):
    """The texture of one instance over a window of the image.

    Args:
        rng (np.random.Generator): Random generator.
        cls (int): Class index into :data:`CLASSES`.
        x (np.ndarray): x coordinates of the window, see :func:`pixel_grid`.
        y (np.ndarray): y coordinates, same shape.

    Returns:
        np.ndarray: Float32 RGB, shaped ``x.shape + (3, )``.
    """
    hue = CLASS_HUES[cls] + rng.uniform(-HUE_JITTER, HUE_JITTER)
    main = hsv_color(hue, rng.uniform(0.5, 1.0), rng.uniform(0.6, 1.0))
    second = main * rng.uniform(0.3, 0.55)
    weight = texture_pattern(rng, cls, x, y)[..., None]
    image = main * (1 - weight) + second * weight
    u, _ = rotated_coords(rng, x, y)
    image *= 1 + rng.uniform(0.0, 0.004) * (u - u.mean())[..., None]
    noise = 0.08 if CLASSES[cls] == 'star' else 0.03
    return image + noise * rng.standard_normal(image.shape, np.float32)


# ------------------------------------------------------------------- shapes
def shape_outline(rng, cls, center, size):
    """Vertices of one shape with random rotation and proportions.

    Args:
        rng (np.random.Generator): Random generator.
        cls (int): Class index into :data:`CLASSES`.
        center (np.ndarray): ``(x, y)`` centre.
        size (float): Outer diameter in pixels.

    Returns:
        np.ndarray: ``(N, 2)`` float vertices.
    """
    radius = size / 2
    rotation = rng.uniform(0, 2 * np.pi)
    name = CLASSES[cls]
    if name == 'circle':  # an ellipse, up to 30% flattened
        angles = np.linspace(0, 2 * np.pi, 48, endpoint=False)
        points = np.stack(
            [np.cos(angles), rng.uniform(0.7, 1.0) * np.sin(angles)], 1)
    elif name == 'triangle':
        angles = np.arange(3) * 2 * np.pi / 3 + rng.uniform(-0.25, 0.25, 3)
        points = np.stack([np.cos(angles), np.sin(angles)], 1)
    elif name == 'rectangle':  # aspect ratio 1 (square) to 2
        half = np.arctan(rng.uniform(0.5, 1.0))
        angles = np.array([half, np.pi - half, np.pi + half, -half])
        points = np.stack([np.cos(angles), np.sin(angles)], 1)
    else:  # five-pointed star
        angles = np.arange(10) * np.pi / 5
        radii = np.tile([1, rng.uniform(0.4, 0.55)], 5)
        points = np.stack([np.cos(angles), np.sin(angles)], 1) * radii[:, None]
    points = points * radius
    c, s = np.cos(rotation), np.sin(rotation)
    return points @ np.array([[c, s], [-s, c]]) + center


def shape_mask(points, height, width):
    """Rasterise a polygon (subpixel vertices) to a uint8 0/1 mask."""
    mask = np.zeros((height, width), np.uint8)
    fixed = np.round(points * (1 << SHIFT)).astype(np.int32)
    cv2.fillPoly(mask, [fixed], 1, lineType=cv2.LINE_8, shift=SHIFT)
    return mask


def has_hole(mask):
    """Whether a 0/1 mask encloses a hole (not representable by COCO
    polygons)."""
    _, hierarchy = cv2.findContours(mask, cv2.RETR_CCOMP,
                                    cv2.CHAIN_APPROX_SIMPLE)
    return hierarchy is not None and bool((hierarchy[0, :, 3] >= 0).any())


def occlusion_ok(masks, new_mask):
    """Whether drawing ``new_mask`` on top keeps every earlier instance at
    least :data:`MIN_VISIBLE_FRACTION` visible and free of holes.

    Args:
        masks (list[np.ndarray]): Full masks of the earlier instances,
            bottom first.
        new_mask (np.ndarray): Full mask of the candidate.
    """
    covered = new_mask.copy()
    for mask in reversed(masks):
        visible = mask & (1 - covered)
        if (visible.sum() < MIN_VISIBLE_FRACTION * mask.sum()
                or has_hole(visible)):
            return False
        covered |= mask
    return True


def place_instances(rng, height, width):
    """Random shapes, bottom first, with limited occlusion.

    Returns:
        list[tuple[int, np.ndarray]]: ``(class index, full mask)`` pairs.
    """
    target = int(rng.integers(NUM_INSTANCES[0], NUM_INSTANCES[1] + 1))
    side = (height + width) / 2
    instances = []
    for _ in range(MAX_PLACEMENT_TRIES):
        if len(instances) == target:
            break
        cls = int(rng.integers(len(CLASSES)))
        size = rng.uniform(*SIZE_RANGE) * side
        margin = 0.3 * size
        center = rng.uniform([margin, margin],
                             [width - margin, height - margin])
        mask = shape_mask(shape_outline(rng, cls, center, size), height, width)
        if mask.sum() >= 2 * MIN_AREA and occlusion_ok(
                [m for _, m in instances], mask):
            instances.append((cls, mask))
    return instances


def visible_masks(instances, shape):
    """The visible part of each instance (later instances lie on top).

    Args:
        instances (list[tuple[int, np.ndarray]]): Full masks, bottom first.
        shape (tuple[int, int]): ``(height, width)`` of the image.

    Returns:
        list[tuple[int, np.ndarray]]: Boolean visible masks, same order.
    """
    covered = np.zeros(shape, bool)
    visible = []
    for cls, mask in reversed(instances):
        visible.append((cls, mask.astype(bool) & ~covered))
        covered |= mask.astype(bool)
    return visible[::-1]


def render_scene(rng, height, width):
    """Draw one scene.

    Returns:
        tuple: ``(image, label_map, instances)``: the uint8 RGB image, the
        uint8 label map and ``(class index, visible mask)`` pairs, bottom
        first.
    """
    image = random_background(rng, height, width)
    label_map = np.full((height, width), BACKGROUND_LABEL, np.uint8)
    instances = place_instances(rng, height, width)
    for cls, mask in instances:
        x0, y0, w, h = cv2.boundingRect(mask)
        window = (slice(y0, y0 + h), slice(x0, x0 + w))
        inside = mask[window].astype(bool)
        texture = instance_appearance(rng, cls, *pixel_grid(h, w, y0, x0))
        image[window][inside] = texture[inside]
        label_map[window][inside] = cls + 2
    visible = visible_masks(instances, (height, width))
    image = np.clip(image * 255 + 0.5, 0, 255).astype(np.uint8)
    return image, label_map, visible


# --------------------------------------------------------------------- COCO
def mask_to_polygons(mask):
    """Outer contours of a boolean mask as COCO polygons.

    The contours are traced on a 2x nearest upsampled mask, so the polygons
    run a quarter pixel inside the pixel edges and rasterise back (with
    pycocotools) to the same pixels.

    Returns:
        list[list[float]]: ``[[x1, y1, x2, y2, ...], ...]``, each with at
        least 3 points.
    """
    upsampled = mask.astype(np.uint8).repeat(2, 0).repeat(2, 1)
    contours, _ = cv2.findContours(upsampled, cv2.RETR_EXTERNAL,
                                   cv2.CHAIN_APPROX_SIMPLE)
    return [((c.reshape(-1, 2) + 0.5) / 2).ravel().tolist() for c in contours
            if len(c) >= 3]


def coco_annotations(visible, image_id, first_id):
    """COCO annotations of one image's instances.

    Args:
        visible (list[tuple[int, np.ndarray]]): Visible instance masks.
        image_id (int): Id of the image.
        first_id (int): Id of the first annotation.

    Returns:
        list[dict]: Annotations of the instances of at least
        :data:`MIN_AREA` visible pixels with a valid polygon.
    """
    annotations = []
    for cls, mask in visible:
        area = int(mask.sum())
        polygons = mask_to_polygons(mask) if area >= MIN_AREA else []
        if not polygons:
            continue
        annotations.append(
            dict(id=first_id + len(annotations), image_id=image_id,
                 category_id=cls + 1,
                 bbox=list(cv2.boundingRect(mask.astype(np.uint8))),
                 area=area, iscrowd=0, segmentation=polygons))
    return annotations


# ------------------------------------------------------------------- output
def encode(ext, array, params=()):
    """Encode an image with cv2, raising on failure."""
    ok, buffer = cv2.imencode(ext, array, list(params))
    if not ok:
        raise RuntimeError(f'cannot encode {ext}')
    return buffer.tobytes()


def write_split(out, split_index, num_images, args):
    """Generate one split in both layouts.

    Returns:
        int: Number of COCO annotations written.
    """
    name, ade_name, coco_name = SPLITS[split_index]
    ade_images = out / 'ade' / 'images' / ade_name
    ade_labels = out / 'ade' / 'annotations' / ade_name
    coco_images = out / 'coco' / coco_name
    for folder in (ade_images, ade_labels, coco_images):
        folder.mkdir(parents=True, exist_ok=True)
    images, annotations = [], []
    for index in range(num_images):
        rng = np.random.default_rng([args.seed, split_index, index])
        image, label_map, visible = render_scene(rng, args.height, args.width)
        stem = f'{name}_{index:05d}'
        jpeg = encode('.jpg', cv2.cvtColor(image, cv2.COLOR_RGB2BGR),
                      (cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY))
        (ade_images / f'{stem}.jpg').write_bytes(jpeg)
        (coco_images / f'{stem}.jpg').write_bytes(jpeg)
        (ade_labels / f'{stem}.png').write_bytes(encode('.png', label_map))
        images.append(dict(id=index + 1, file_name=f'{stem}.jpg',
                           width=args.width, height=args.height))
        annotations += coco_annotations(visible, index + 1,
                                        len(annotations) + 1)
    coco = dict(images=images, annotations=annotations,
                categories=[dict(id=i + 1, name=c)
                            for i, c in enumerate(CLASSES)])
    ann_dir = out / 'coco' / 'annotations'
    ann_dir.mkdir(parents=True, exist_ok=True)
    (ann_dir / f'instances_{coco_name}.json').write_text(json.dumps(coco))
    return len(annotations)


def content_hash(out):
    """SHA-256 over the relative paths and bytes of the generated files."""
    digest = hashlib.sha256()
    files = [out / 'classes.json']
    for sub in ('ade', 'coco'):
        files += sorted(p for p in (out / sub).rglob('*') if p.is_file())
    for path in files:
        digest.update(path.relative_to(out).as_posix().encode() + b'\0')
        digest.update(path.read_bytes())
    return digest.hexdigest()


def dataset_meta(args):
    """What ``meta.json`` records about the generating arguments."""
    return dict(format_version=FORMAT_VERSION, num_train=args.num_train,
                num_val=args.num_val, width=args.width, height=args.height,
                seed=args.seed)


def is_up_to_date(out, args):
    """Whether ``out`` holds an intact dataset generated with ``args``."""
    try:
        meta = json.loads((out / 'meta.json').read_text())
        return (meta['args'] == dataset_meta(args)
                and meta['content_hash'] == content_hash(out))
    except (OSError, ValueError, KeyError):
        return False


def made_by_this_tool(out):
    """Whether ``out`` holds the marker, or an intact dataset of a version
    that wrote none (its ``meta.json`` hash matches the content)."""
    if (out / MARKER).is_file():
        return True
    try:
        meta = json.loads((out / 'meta.json').read_text())
        return meta['content_hash'] == content_hash(out)
    except (OSError, ValueError, KeyError, TypeError):
        return False


def destination_problem(out, overwrite):
    """Why generating into ``out`` could destroy data, or None."""
    if not out.exists():
        return None
    if not out.is_dir():
        return f'--out {out} is a file, not a folder'
    entries = sorted(os.listdir(out))
    if not entries or overwrite or made_by_this_tool(out):
        return None
    shown = ', '.join(entries[:5]) + (', ...' if len(entries) > 5 else '')
    return (f'--out {out} is not empty ({shown}) and was not made by this '
            f'tool: generating would replace {out / "ade"} and '
            f'{out / "coco"} (the standard ADE20K / COCO locations). Choose '
            'an empty or new folder (e.g. --out data/demo), or pass '
            '--overwrite to replace those in this one')


def generate(args):
    """Write the dataset described by ``args`` (replacing an old one).

    Returns:
        tuple[int, int]: Number of images and of COCO annotations written.
    """
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / MARKER).write_text(
        'Made by tools/make_demo_data.py, which may replace '
        f'{", ".join(OUTPUTS)} here.\n')
    (out / 'meta.json').unlink(missing_ok=True)
    for sub in ('ade', 'coco'):
        shutil.rmtree(out / sub, ignore_errors=True)
    num_annotations = sum(
        write_split(out, split_index, count, args)
        for split_index, count in enumerate((args.num_train, args.num_val)))
    classes = dict(classes=list(CLASSES), palette=PALETTE,
                   seg_classes=list(SEG_CLASSES), seg_palette=SEG_PALETTE,
                   ignore_label=IGNORE_LABEL,
                   background_label=BACKGROUND_LABEL)
    (out / 'classes.json').write_text(json.dumps(classes, indent=2) + '\n')
    meta = dict(args=dataset_meta(args), content_hash=content_hash(out))
    (out / 'meta.json').write_text(json.dumps(meta, indent=2) + '\n')
    return args.num_train + args.num_val, num_annotations


def main(argv=None):
    """Command-line entry point."""
    args = parse_args(argv)
    problem = destination_problem(Path(args.out), args.overwrite)
    if problem:
        sys.exit(f'error: {problem}')
    if not args.force and is_up_to_date(Path(args.out), args):
        print(f'{args.out} is up to date (same arguments and content); '
              'use --force to regenerate')
        return
    start = time.perf_counter()
    num_images, num_annotations = generate(args)
    print(f'Wrote {num_images} images ({args.num_train} train, '
          f'{args.num_val} val, {args.width}x{args.height}) with '
          f'{num_annotations} instances to {args.out} in '
          f'{time.perf_counter() - start:.1f} s')


if __name__ == '__main__':
    sys.exit(main())
