# Copyright (c) mmunirep contributors. All rights reserved.
"""Describe the machine a measurement ran on.

A speed figure without its machine is not a claim: the same op differs by
2x between machines of the same kind. Every benchmark prints this.
"""
import os
import platform
import re
from typing import Dict, List

import torch

#: CPU flags that decide which kernels oneDNN and MKL can use.
ISA_FLAGS = ('avx2', 'avx512f', 'avx512_bf16', 'avx512_fp16', 'amx_tile',
             'amx_bf16', 'amx_int8')


def _cpuinfo() -> Dict[str, str]:
    """The first processor's fields of /proc/cpuinfo ({} elsewhere)."""
    try:
        with open('/proc/cpuinfo') as f:
            text = f.read().split('\n\n', 1)[0]
    except OSError:
        return {}
    fields = {}
    for line in text.splitlines():
        key, _, value = line.partition(':')
        fields[key.strip()] = value.strip()
    return fields


def _library_versions() -> Dict[str, str]:
    """MKL and oneDNN versions from torch's build configuration."""
    config = torch.__config__.show()
    found = {}
    for name, pattern in (('onednn', r'MKL-DNN v([\w.]+)'),
                          ('mkl', r'Math Kernel Library Version ([\w.]+)')):
        match = re.search(pattern, config)
        if match:
            found[name] = match.group(1)
    return found


def machine_info() -> Dict[str, object]:
    """What a speed figure depends on.

    Returns:
        dict: ``cpu`` (model name), ``isa`` (the present :data:`ISA_FLAGS`),
        ``cores`` (logical CPUs usable by this process), ``threads``
        (torch intra-op threads), ``torch``, ``onednn``, ``mkl`` and, with
        CUDA, ``gpu``.
    """
    info = _cpuinfo()
    flags = set(info.get('flags', '').split())
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count()
    result = dict(
        cpu=info.get('model name') or platform.processor() or 'unknown',
        isa=[flag for flag in ISA_FLAGS if flag in flags],
        cores=cores,
        threads=torch.get_num_threads(),
        torch=torch.__version__,
        **_library_versions())
    if torch.cuda.is_available():
        result['gpu'] = torch.cuda.get_device_name()
        result['cuda'] = torch.version.cuda
    return result


def describe_machine(info: Dict[str, object] = None) -> List[str]:
    """:func:`machine_info` as lines to print above a table."""
    info = info or machine_info()
    lines = [f"CPU: {info['cpu']}, {info['cores']} logical CPUs, "
             f"ISA: {' '.join(info['isa']) or 'none of ' + str(ISA_FLAGS)}",
             f"torch {info['torch']}, {info['threads']} threads"
             + (f", oneDNN {info['onednn']}" if 'onednn' in info else '')
             + (f", MKL {info['mkl']}" if 'mkl' in info else '')]
    if 'gpu' in info:
        lines.append(f"GPU: {info['gpu']} (CUDA {info['cuda']})")
    return lines
