# Copyright (c) mmunirep contributors. All rights reserved.
"""What the converter raises."""
from mmunirep.utils import StateDictMismatchError


class ConversionError(Exception):
    """An input this tool cannot convert; the message says what to do."""


class ConvertedWeightsMismatchError(StateDictMismatchError, ConversionError):
    """The converted weights do not fit the model of the config given."""
