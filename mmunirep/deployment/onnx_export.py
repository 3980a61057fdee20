# Copyright (c) mmunirep contributors. All rights reserved.
"""Export an export module (:mod:`.export_modules`) to ONNX.

``torch.export`` (non-strict) traces the module with symbolic shapes: with
dynamic axes every size computation (padding, resizing, reshapes) stays a
function of the input size, and model code that would fix a dynamic axis is
an error rather than a silently static graph. ``torch.onnx.export`` (PyTorch's
default exporter since 2.9) converts the traced program. UniRepLKNet's fast
CPU paths (oneDNN Linear, GRN folded into the next Linear) step aside for
plain PyTorch ops while ``torch.export`` traces
(``torch.compiler.is_compiling()`` is true there), and every
``nn.AdaptiveAvgPool2d`` is exported through :mod:`.adaptive_pool`, which
stays exact at every input size.
"""
import re
from dataclasses import dataclass, replace
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from torch import Tensor, nn

from mmunirep.utils import atomic_write
from .adaptive_pool import exportable_adaptive_pools
from .export_blockers import export_blockers
from .export_modules import DetectorForExport

#: Smallest height and width that can be exported: every stage of the
#: backbone (stride 32) keeps at least 2 pixels, so that no size is
#: specialized to 1 while tracing with dynamic axes.
MIN_SIZE = 64
#: ONNX operator domains of the standard operator set.
STANDARD_DOMAINS = ('', 'ai.onnx')
#: Names of the input axes that ``--dynamic`` makes dynamic.
DYNAMIC_AXES = {0: 'batch', 2: 'height', 3: 'width'}


def check_inference_structure(model: nn.Module) -> None:
    """Make sure ``model`` is a re-parameterizable model in its inference
    structure (after ``build_model(..., deploy=True)``).

    Raises:
        ValueError: Nothing in the model can be re-parameterized, or a
            module is still in its training structure.
    """
    convertible = [
        name for name, module in model.named_modules()
        if callable(getattr(module, 'switch_to_deploy', None))
    ]
    if not convertible:
        backbone = getattr(model, 'backbone', model)
        raise ValueError(
            f'{type(model).__name__} (backbone {type(backbone).__name__}) '
            'has nothing to re-parameterize: this tool exports the inference '
            'structure of re-parameterizable models (mmunirep.UniRepLKNet, '
            'or any backbone with switch_to_deploy()). Use a config with '
            "type='mmunirep.UniRepLKNet', or export other models with "
            'torch.onnx.export / mmdeploy')
    training = [
        name or type(module).__name__
        for name, module in model.named_modules()
        if getattr(module, 'deploy', None) is False
    ]
    if training:
        raise ValueError(
            f'{len(training)} module(s) are still in the training structure '
            f'after re-parameterization, e.g. {training[0]}: their '
            'switch_to_deploy() does not convert them')


def check_export_shape(shape: Sequence[int]) -> Tuple[int, int]:
    """Validate an export size.

    Args:
        shape (Sequence[int]): (H, W) of the traced input.

    Returns:
        tuple[int, int]: (H, W).

    Raises:
        ValueError: Not two integers, or smaller than :data:`MIN_SIZE`.
    """
    if len(shape) != 2 or not all(isinstance(s, int) for s in shape):
        raise ValueError(f'--shape takes two integers H W, got {shape}')
    if min(shape) < MIN_SIZE:
        raise ValueError(
            f'--shape {shape[0]} {shape[1]} is too small: height and width '
            f'must be at least {MIN_SIZE}, so that the stride-32 stage of '
            'the backbone keeps 2 pixels; export at a typical input size '
            '(e.g. --shape 224 224, 512 512, 800 1344) and add --dynamic '
            'for other sizes')
    return shape[0], shape[1]


def second_shape(height: int, width: int) -> Tuple[int, int]:
    """A second, odd-sized (H, W) other than the traced one, to check a
    dynamic export at: 3/4 of the height and 5/4 of the width, made odd."""
    return max(MIN_SIZE, height * 3 // 4) | 1, (width * 5 // 4) | 1


@dataclass
class ExportResult:
    """What :func:`export_onnx` wrote.

    Attributes:
        onnx_file (str | None): The ONNX file, once written.
        input_shape (tuple): The traced input shape (N, 3, H, W).
        output_names (list[str]): Graph outputs, in order.
        output_shapes (list[tuple]): Their shapes at the traced input.
        opset (int): Default-domain opset of the graph.
        op_types (list[str]): Operator types the graph uses.
    """
    onnx_file: Optional[str]
    input_shape: Tuple[int, ...]
    output_names: List[str]
    output_shapes: List[Tuple[int, ...]]
    opset: int
    op_types: List[str]


def _check_standard_ops(model_proto) -> List[str]:
    """The graph's operator types; raises on any non-standard domain."""
    nodes = list(model_proto.graph.node)
    for function in model_proto.functions:
        nodes.extend(function.node)
    custom = sorted({f'{n.domain}::{n.op_type}' for n in nodes
                     if n.domain not in STANDARD_DOMAINS} -
                    {f'{f.domain}::{f.name}' for f in model_proto.functions})
    if custom:
        raise RuntimeError(
            f'the exported graph uses non-standard operators {custom}; '
            'onnxruntime and other runtimes cannot run them')
    return sorted({n.op_type for n in nodes})


def _name_dynamic_axes(model_proto, axes: Dict[int, str]) -> None:
    """Rename the symbols of the input's dynamic axes (``s31``, ...) to
    ``axes`` names everywhere in the graph's declared shapes.

    Raises:
        RuntimeError: A requested dynamic axis came out static.
    """
    dims = model_proto.graph.input[0].type.tensor_type.shape.dim
    static = [name for axis, name in axes.items()
              if not dims[axis].dim_param]
    if static:
        raise RuntimeError(f'the exporter made the {static} axes of the '
                           'input static')
    renames = {dims[axis].dim_param: name for axis, name in axes.items()}
    if not renames:
        return
    symbol = re.compile(r'\b(' + '|'.join(map(re.escape, renames)) + r')\b')
    graph = model_proto.graph
    for value in (*graph.input, *graph.output, *graph.value_info):
        for dim in value.type.tensor_type.shape.dim:
            if dim.dim_param:
                dim.dim_param = symbol.sub(lambda m: renames[m.group(1)],
                                           dim.dim_param)


def trace_for_export(module: nn.Module, example: Tensor,
                     dynamic_axes: Sequence[int] = ()):
    """``torch.export`` an export module without autograd, with
    :func:`exportable_adaptive_pools`.

    Args:
        module (nn.Module): The module, in eval mode.
        example (Tensor): Its input.
        dynamic_axes (Sequence[int]): Input axes to keep dynamic. A size of
            1 on such an axis would be specialized: trace a batch of 2 for a
            dynamic batch.

    Returns:
        torch.export.ExportedProgram: The traced program.

    Raises:
        Exception: Whatever stops ``torch.export``, including a dynamic axis
            that the model's code makes static.
    """
    dims = {axis: torch.export.Dim.DYNAMIC for axis in dynamic_axes}
    with torch.no_grad(), exportable_adaptive_pools(module):
        return torch.export.export(
            module, (example, ),
            dynamic_shapes={'input': dims} if dims else None,
            strict=False)


def convert_to_onnx(module: nn.Module,
                    shape: Sequence[int],
                    dynamic: bool = False,
                    dynamic_batch: bool = True,
                    opset: Optional[int] = None,
                    simplify: bool = False):
    """Trace an export module (e.g. :class:`SegmentorForExport`) and
    convert it to an ONNX graph in memory.

    Args:
        module (nn.Module): The module to export; set to eval mode.
        shape (Sequence[int]): (H, W) of the traced input; see
            :func:`check_export_shape`.
        dynamic (bool): Make height and width (and the batch, with
            ``dynamic_batch``) of ``input`` dynamic, named ``height``,
            ``width`` and ``batch``. Defaults to False (batch 1).
        dynamic_batch (bool): With ``dynamic``, make the batch dynamic too.
            Defaults to True.
        opset (int, optional): ONNX opset; None takes the exporter's
            default. Defaults to None.
        simplify (bool): Simplify the graph with onnxslim. Defaults to False.

    Returns:
        tuple[onnx.ModelProto, ExportResult]: The checked graph and its
        description (``onnx_file`` is None until :func:`write_onnx`).

    Raises:
        Exception: Whatever stops ``torch.export`` or the conversion.
    """
    import onnx
    height, width = check_export_shape(list(shape))
    axes = {axis: name for axis, name in DYNAMIC_AXES.items()
            if dynamic and (axis != 0 or dynamic_batch)}
    example = torch.randn(2 if 0 in axes else 1, 3, height, width,
                          generator=torch.Generator().manual_seed(0))
    module.eval()
    with torch.no_grad():
        output_shapes = [tuple(out.shape) for out in module(example)]
    output_names = module.output_names(len(output_shapes))
    program = trace_for_export(module, example, list(axes))
    model_proto = torch.onnx.export(
        program, (), input_names=['input'], output_names=output_names,
        opset_version=opset, verbose=False).model_proto
    _name_dynamic_axes(model_proto, axes)
    if simplify:
        import onnxslim
        model_proto = onnxslim.slim(model_proto)
    onnx.checker.check_model(model_proto)
    op_types = _check_standard_ops(model_proto)
    opset_used = next(o.version for o in model_proto.opset_import
                      if o.domain in STANDARD_DOMAINS)
    return model_proto, ExportResult(None, tuple(example.shape),
                                     output_names, output_shapes,
                                     opset_used, op_types)


def write_onnx(model_proto, result: ExportResult,
               out_file: str) -> ExportResult:
    """Save a graph from :func:`convert_to_onnx` atomically.

    Returns:
        ExportResult: ``result`` with ``onnx_file`` set.
    """
    with atomic_write(out_file) as f:
        f.write(model_proto.SerializeToString())
    return replace(result, onnx_file=out_file)


def export_onnx(module: nn.Module, out_file: str, shape: Sequence[int],
                **kwargs) -> ExportResult:
    """:func:`convert_to_onnx` then :func:`write_onnx` to ``out_file``
    (same keyword arguments)."""
    return write_onnx(*convert_to_onnx(module, shape, **kwargs), out_file)


def export_full_detector(module: DetectorForExport,
                         out_file: str,
                         shape: Sequence[int],
                         dynamic: bool = False,
                         **kwargs) -> Tuple[Optional[ExportResult],
                                            List[str]]:
    """Export a whole detector if it can be traced and converted.

    Args:
        module (DetectorForExport): The detector.
        out_file (str): Where the graph goes.
        shape (Sequence[int]): (H, W) to trace at (batch 1).
        dynamic (bool): Dynamic height and width. Defaults to False.
        **kwargs: ``opset`` and ``simplify`` of :func:`convert_to_onnx`.

    Returns:
        tuple[ExportResult | None, list[str]]: What was written, or None
        and what stops it (see :func:`export_blockers`).
    """
    try:
        model_proto, result = convert_to_onnx(
            module, shape, dynamic, dynamic_batch=False, **kwargs)
    except Exception as error:  # noqa: BLE001 (any failure is reported)
        return None, export_blockers(module, shape, error)
    return write_onnx(model_proto, result, out_file), []
