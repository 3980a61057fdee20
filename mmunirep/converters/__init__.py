# Copyright (c) mmunirep contributors. All rights reserved.
"""Checkpoint converters; the command lines are in tools/model_converters/."""
from .unireplknet_official import (FORMATS, ConversionError, ConversionResult,
                                   convert)

__all__ = ['FORMATS', 'ConversionError', 'ConversionResult', 'convert']
