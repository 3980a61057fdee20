# Copyright (c) mmunirep contributors. All rights reserved.
"""Install mmunirep.

``pip install mmunirep`` installs only what mmunirep needs besides the
OpenMMLab stack; ``pip install "mmunirep[mim]"`` (or ``mim install mmunirep``)
adds mmcv, mmengine, mmdet, mmsegmentation and mmpretrain, as mmdet and mmyolo
keep them under their ``mim`` extra: installing mmunirep into an environment
with a working mmcv never rebuilds it. torch (>= 2.6) is left to the user, as
OpenMMLab does; ``import mmunirep`` checks torch, mmcv and mmengine and says
what to fix. ``bash tools/setup_env.sh`` installs the whole tested stack,
including mmcv 2.1.0 built with its ops.
"""
import os
import os.path as osp
import shutil
import sys
from setuptools import find_packages, setup

HERE = osp.dirname(osp.abspath(__file__))
#: Shipped inside the package as ``mmunirep/.mim/<item>``.
MIM_ITEMS = ('configs', 'tools', 'model-index.yml')

#: What ``import mmunirep`` needs besides torch and the ``mim`` extra.
INSTALL_REQUIRES = ['numpy', 'packaging']
EXTRAS_REQUIRE = {
    # the OpenMMLab stack (mmcv with its compiled ops for mmdet / mmseg)
    'mim': [
        'mmcv>=2.0.0,<2.2.0',
        'mmengine>=0.8.0,<1.0.0',
        'mmdet>=3.3.0,<3.4.0',
        'mmsegmentation>=1.2.0,<1.3.0',
        'mmpretrain>=1.2.0,<1.3.0',
        # mmseg 1.2 imports its CLIP tokenizer (ftfy, regex) eagerly
        'ftfy',
        'regex',
    ],
    # modelindex parses model-index.yml as `mim search` does; scikit-image
    # ships real photos (skimage/data) for the inferencer tests; Triton's
    # interpreter runs the CUDA kernels' tests on the CPU; flake8 and isort
    # lint (tools/lint.sh); pytest-xdist runs the suite on 2 processes
    # (tools/run_tests.sh)
    'tests': ['pytest>=7', 'pytest-timeout', 'pytest-xdist>=3', 'model-index',
              'scikit-image', 'triton>=3.3', 'flake8', 'isort'],
    # ONNX export (torch's dynamo exporter needs onnxscript; --simplify
    # uses onnxslim) and its runtime check
    'deploy': ['onnx', 'onnxruntime', 'onnxscript', 'onnxslim'],
}


def read_version() -> str:
    namespace = {}
    with open(osp.join(HERE, 'mmunirep', 'version.py')) as f:
        exec(compile(f.read(), 'version.py', 'exec'), namespace)
    return namespace['__version__']


def add_mim_extension() -> None:
    """Ship configs/, tools/ and model-index.yml inside the package as
    ``mmunirep/.mim``.

    Editable installs link them (edits show up at once); wheels and sdists
    copy them. This is the layout mmdet, mmseg and mmyolo use, so an
    installed mmunirep finds its configs and tools.
    """
    if {'develop', 'editable_wheel'} & set(sys.argv):
        mode = 'symlink'
    elif {'sdist', 'bdist_wheel', 'build', 'install'} & set(sys.argv):
        mode = 'copy'
    else:
        return
    mim_path = osp.join(HERE, 'mmunirep', '.mim')
    os.makedirs(mim_path, exist_ok=True)
    for item in MIM_ITEMS:
        src, dst = osp.join(HERE, item), osp.join(mim_path, item)
        if osp.islink(dst) or osp.isfile(dst):
            os.remove(dst)
        elif osp.isdir(dst):
            shutil.rmtree(dst)
        if mode == 'symlink':
            os.symlink(osp.relpath(src, mim_path), dst)
        elif osp.isdir(src):
            shutil.copytree(src, dst)
        else:
            shutil.copyfile(src, dst)


if __name__ == '__main__':
    add_mim_extension()
    with open(osp.join(HERE, 'README.md'), encoding='utf-8') as f:
        long_description = f.read()
    setup(
        name='mmunirep',
        version=read_version(),
        description='UniRepLKNet for OpenMMLab 2.0: classification, '
        'detection and segmentation with structural re-parameterization',
        long_description=long_description,
        long_description_content_type='text/markdown',
        license='Apache License 2.0',
        python_requires='>=3.8',
        # mmunirep and its subpackages only: no top-level tests/configs/tools
        packages=find_packages(include=('mmunirep', 'mmunirep.*')),
        include_package_data=True,
        install_requires=INSTALL_REQUIRES,
        extras_require=EXTRAS_REQUIRE,
        classifiers=[
            'Programming Language :: Python :: 3',
            'Topic :: Scientific/Engineering :: Artificial Intelligence',
        ],
        zip_safe=False)
