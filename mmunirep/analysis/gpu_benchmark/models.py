# Copyright (c) mmunirep contributors. All rights reserved.
"""The models the GPU benchmark times and the steps it calls.

- mmunirep's UniRepLKNet with ``kernels='auto'`` (Triton depthwise kernels on
  CUDA) and ``kernels='plain'`` (plain PyTorch ops);
- ConvNeXt of the same size: timm's when timm is installed, else
  mmpretrain's;
- the authors' ``unireplknet.py``, if the user names the file: imported from
  that path at run time (never part of this repository).
"""
import copy
import importlib.util
import io
from contextlib import contextmanager, nullcontext, redirect_stdout
from types import ModuleType
from typing import Callable, Iterator, Optional, Tuple

import torch
from torch import Tensor, nn

from mmunirep.models import UniRepLKNet

#: Timed modes: the inference structure's forward, the training
#: structure's forward + backward.
MODES = ('forward', 'fwd+bwd')
#: Precision names -> autocast dtype (None: float32, TF32 allowed on CUDA).
PRECISIONS = {'fp32 (TF32)': None, 'bf16': torch.bfloat16}
#: ConvNeXt of the same size as each UniRepLKNet arch (the paper's peers).
CONVNEXT_SIZES = {'a': 'atto', 't': 'tiny', 's': 'small'}
#: (depths, dims) of the authors' UniRepLKNet per arch.
AUTHORS_ARCHS = {
    'a': ((2, 2, 6, 2), (40, 80, 160, 320)),
    't': ((3, 3, 18, 3), (80, 160, 320, 640)),
    's': ((3, 3, 27, 3), (96, 192, 384, 768)),
}
#: Row labels of the models.
OURS_AUTO, OURS_PLAIN, AUTHORS = ('mmunirep (auto)', 'mmunirep (plain ops)',
                                  "authors' code")


class AuthorsCodeError(RuntimeError):
    """The authors' file could not be imported or could not build a
    model (the message says why)."""


@contextmanager
def tf32(allowed: bool) -> Iterator[None]:
    """Allow or forbid TF32 in CUDA matmuls and convolutions inside the
    block (restored after)."""
    before = (torch.backends.cuda.matmul.allow_tf32,
              torch.backends.cudnn.allow_tf32)
    torch.backends.cuda.matmul.allow_tf32 = allowed
    torch.backends.cudnn.allow_tf32 = allowed
    try:
        yield
    finally:
        (torch.backends.cuda.matmul.allow_tf32,
         torch.backends.cudnn.allow_tf32) = before


def synchronizer(device: str) -> Callable[[], None]:
    """A function that waits for ``device`` (a no-op on the CPU)."""
    if torch.device(device).type == 'cuda':
        return torch.cuda.synchronize
    return lambda: None


def autocast(device: str, dtype: Optional[torch.dtype]):
    """``torch.autocast`` to ``dtype``, or nothing for float32."""
    if dtype is None:
        return nullcontext()
    return torch.autocast(torch.device(device).type, dtype=dtype)


def first_output(out) -> Tensor:
    """The last feature of a backbone that returns a tuple, else ``out``."""
    return out[-1] if isinstance(out, (tuple, list)) else out


def resident_bytes(*objects) -> int:
    """Bytes of the parameters and buffers of modules and of the state of
    optimizers."""
    total = 0
    for obj in objects:
        if isinstance(obj, nn.Module):
            tensors = [*obj.parameters(), *obj.buffers()]
        else:
            tensors = [t for state in obj.state.values()
                       for t in state.values() if isinstance(t, Tensor)]
        total += sum(t.numel() * t.element_size() for t in tensors)
    return total


def channels_last(model: nn.Module, device: str) -> nn.Module:
    """``model`` on ``device`` with channels-last weights."""
    return model.to(device).to(memory_format=torch.channels_last)


def build_ours(arch: str, mode: str, kernels: str = 'auto') -> nn.Module:
    """mmunirep's classifier backbone (pooled, normalised last stage) in
    the structure ``mode`` times: deploy for 'forward', training else."""
    model = UniRepLKNet(arch, out_indices=(3, ), gap_before_final_norm=True,
                        kernels=kernels)
    if mode == 'forward':
        model.switch_to_deploy()
    return model


def plain_copy(model: nn.Module) -> nn.Module:
    """A copy of an mmunirep model that runs plain PyTorch ops."""
    plain = copy.deepcopy(model)
    plain.kernels = 'plain'
    return plain


def build_convnext(arch: str) -> Tuple[str, nn.Module]:
    """ConvNeXt of the size of ``arch`` with pooled features (no
    classifier): timm's if installed, else mmpretrain's.

    Returns:
        tuple[str, nn.Module]: Its row label and the model.
    """
    size = CONVNEXT_SIZES[arch]
    label = f'ConvNeXt-{arch.upper()}'
    try:
        import timm
    except ImportError:
        from mmpretrain.models import ConvNeXt
        return f'{label} (mmpretrain)', ConvNeXt(
            size, out_indices=(3, ), gap_before_final_norm=True)
    return f'{label} (timm)', timm.create_model(f'convnext_{size}',
                                                num_classes=0)


def load_authors_module(path: str) -> ModuleType:
    """Import the authors' ``unireplknet.py`` from ``path``.

    Its prints (it reports every layer it builds) are swallowed.

    Raises:
        AuthorsCodeError: The file is missing, fails to import, or has no
            ``UniRepLKNet`` class.
    """
    spec = importlib.util.spec_from_file_location('unireplknet_authors',
                                                  path)
    if spec is None:
        raise AuthorsCodeError(f'{path} is not a Python file')
    module = importlib.util.module_from_spec(spec)
    try:
        with redirect_stdout(io.StringIO()):
            spec.loader.exec_module(module)
    except Exception as error:  # third-party code: skip it, never crash
        raise AuthorsCodeError(f'importing {path} failed: '
                               f'{type(error).__name__}: {error}') from error
    if not isinstance(getattr(module, 'UniRepLKNet', None), type):
        raise AuthorsCodeError(f'{path} defines no class UniRepLKNet')
    return module


def build_authors(module: ModuleType, arch: str, mode: str) -> nn.Module:
    """The authors' classifier of ``arch`` (with its 1000-class head), in
    the inference structure for 'forward'.

    Raises:
        AuthorsCodeError: Building or re-parameterizing failed.
    """
    depths, dims = AUTHORS_ARCHS[arch]
    try:
        with redirect_stdout(io.StringIO()):
            model = module.UniRepLKNet(depths=depths, dims=dims,
                                       num_classes=1000)
            if mode == 'forward':
                deploy = (getattr(model, 'reparameterize_unireplknet', None)
                          or getattr(model, 'switch_to_deploy'))
                deploy()
    except Exception as error:  # third-party code: skip it, never crash
        raise AuthorsCodeError(f'building {arch.upper()} ({mode}) failed: '
                               f'{type(error).__name__}: {error}') from error
    return model


def make_step(model: nn.Module, x: Tensor, mode: str,
              dtype: Optional[torch.dtype]) -> Callable[[], None]:
    """One timed call: inference-mode forward, or forward + backward of
    ``out.float().square().mean()`` (gradients dropped after).

    Args:
        model (nn.Module): On ``x``'s device.
        x (Tensor): (N, 3, H, W) input.
        mode (str): One of :data:`MODES`.
        dtype (torch.dtype, optional): Autocast dtype, None for float32.
    """
    device = str(x.device)
    if mode == 'forward':
        model.eval()

        def step():
            with torch.inference_mode(), autocast(device, dtype):
                model(x)
    else:
        model.train()

        def step():
            with autocast(device, dtype):
                out = first_output(model(x))
            out.float().square().mean().backward()
            model.zero_grad(set_to_none=True)
    return step
