# Copyright (c) mmunirep contributors. All rights reserved.
"""Image files the tools read."""
import os
import os.path as osp
from typing import List

#: File name endings of the images the tools read (lower case).
IMAGE_SUFFIXES = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp')


def image_files(directory: str) -> List[str]:
    """The image files of a directory, sorted by name.

    Raises:
        ValueError: ``directory`` is not a directory.
    """
    if not osp.isdir(directory):
        raise ValueError(f'{directory} is not a directory')
    return [osp.join(directory, name) for name in sorted(os.listdir(directory))
            if name.lower().endswith(IMAGE_SUFFIXES)]
