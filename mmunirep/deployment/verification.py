# Copyright (c) mmunirep contributors. All rights reserved.
"""Run an exported graph with onnxruntime against PyTorch."""
from typing import List, Optional, Sequence, Tuple

import torch
from torch import nn

#: Largest relative difference (max |ort - torch| / max |torch|) that
#: :func:`verify_onnx` is expected to show in float32.
TOLERANCE = 1e-4


def max_relative_difference(outputs: Sequence, references: Sequence) -> float:
    """max over outputs of max |out - ref| / max |ref|."""
    worst = 0.
    for out, ref in zip(outputs, references):
        ref = ref.detach().double()
        out = torch.as_tensor(out).double()
        if out.shape != ref.shape:
            raise RuntimeError(f'onnxruntime gives shape {tuple(out.shape)}, '
                               f'PyTorch {tuple(ref.shape)}')
        scale = ref.abs().max().clamp_min(torch.finfo(torch.float32).tiny)
        worst = max(worst, ((out - ref).abs().max() / scale).item())
    return worst


def verify_onnx(onnx_file: str,
                module: nn.Module,
                input_shapes: Sequence[Sequence[int]],
                threads: Optional[int] = None,
                seed: int = 0) -> List[Tuple[Tuple[int, ...], float]]:
    """Run an exported graph with onnxruntime and ``module`` with PyTorch on
    the same random inputs.

    Args:
        onnx_file (str): The exported graph.
        module (nn.Module): What was exported (eval mode).
        input_shapes (Sequence[Sequence[int]]): (N, 3, H, W) shapes to run.
        threads (int, optional): onnxruntime intra-op threads.
        seed (int): Seed of the inputs. Defaults to 0.

    Returns:
        list[tuple[tuple, float]]: Each input shape with the largest
        relative difference (:func:`max_relative_difference`).
    """
    session = ort_session(onnx_file, threads)
    generator = torch.Generator().manual_seed(seed)
    results = []
    for shape in input_shapes:
        inputs = torch.randn(*shape, generator=generator)
        with torch.no_grad():
            references = module(inputs)
        outputs = session.run(None, {'input': inputs.numpy()})
        results.append((tuple(shape),
                        max_relative_difference(outputs, references)))
    return results


def ort_session(onnx_file: str, threads: Optional[int] = None):
    """An onnxruntime CPU session with all graph optimizations.

    Args:
        onnx_file (str): The graph.
        threads (int, optional): Intra-op threads; None lets onnxruntime
            choose.
    """
    import onnxruntime as ort
    options = ort.SessionOptions()
    options.graph_optimization_level = \
        ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if threads:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    return ort.InferenceSession(onnx_file, options,
                                providers=['CPUExecutionProvider'])
