# Copyright (c) mmunirep contributors. All rights reserved.
"""The single place that holds mmunirep's version (setup.py reads it)."""

__version__ = '0.1.0'
version_info = tuple(int(part) for part in __version__.split('.'))
