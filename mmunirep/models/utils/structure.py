# Copyright (c) mmunirep contributors. All rights reserved.
"""Tell the training structure of UniRepLKNet from the inference (deploy)
structure by the keys of a state dict."""
import re
from enum import Enum
from typing import Iterable, Optional


class Structure(Enum):
    """The two structures of UniRepLKNet; ``str()`` is how messages name
    them."""
    TRAINING = 'training'
    DEPLOY = 'inference (deploy)'

    def __str__(self) -> str:
        return self.value

    @classmethod
    def of(cls, deploy: bool) -> 'Structure':
        """The structure a model built with ``deploy`` has."""
        return cls.DEPLOY if deploy else cls.TRAINING


_BLOCK_KEY = re.compile(r'stages\.\d+\.\d+\.(.+)$')
#: Block entries that only the training structure has: the BN after the
#: token mixer, the BN after the second Linear, the DRB branches and BNs,
#: the layer scale.
_TRAINING_ONLY = ('norm.', 'pwconv2.2.', 'dwconv.origin_bn.', 'dwconv.dil_',
                  'gamma')


def state_dict_structure(keys: Iterable[str],
                         prefix: str = '') -> Optional[Structure]:
    """The structure of the UniRepLKNet whose keys start with ``prefix``.

    Every training-structure block has a BatchNorm ``norm`` after its token
    mixer; re-parameterization folds it away, so a block without it is in
    the inference structure. The authors' own deploy files (whose
    large-kernel blocks keep ``dwconv.lk_origin``) count as inference
    structure too.

    Args:
        keys (Iterable[str]): State-dict keys.
        prefix (str): The backbone's prefix, e.g. 'backbone.'. Defaults to
            ''.

    Returns:
        Structure | None: The structure, or None when no key
        under ``prefix`` belongs to a UniRepLKNet block.
    """
    start = prefix + 'stages.'
    has_blocks = False
    for key in keys:
        if not key.startswith(start):
            continue
        match = _BLOCK_KEY.match(key[len(prefix):])
        if match is None:
            continue
        has_blocks = True
        if match.group(1).startswith(_TRAINING_ONLY):
            return Structure.TRAINING
    return Structure.DEPLOY if has_blocks else None
