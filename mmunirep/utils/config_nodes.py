# Copyright (c) mmunirep contributors. All rights reserved.
"""Walk the dicts of a config tree."""
from typing import Any, Iterator, MutableMapping, Tuple


def iter_config_nodes(node: Any,
                      path: str = '') -> Iterator[Tuple[str, MutableMapping]]:
    """Every dict inside ``node`` (itself included), depth first, in config
    order, with its dotted path (list items by index).

    The dicts are yielded before their contents are visited, so a caller
    may change their values (not their keys) as it goes.

    Args:
        node: A config, a part of one, or any nesting of dicts, lists and
            tuples.
        path (str): The path of ``node``, e.g. 'model'. Defaults to ''.

    Yields:
        tuple[str, MutableMapping]: ``(path, dict)``, e.g.
        ``('model.backbone.init_cfg', {'type': 'Pretrained', ...})``.

    Example:
        >>> cfg = dict(model=dict(heads=[dict(num_classes=3)]))
        >>> [p for p, _ in iter_config_nodes(cfg)]
        ['', 'model', 'model.heads.0']
    """
    if isinstance(node, MutableMapping):
        yield path, node
        children = node.items()
    elif isinstance(node, (list, tuple)):
        children = enumerate(node)
    else:
        return
    for key, value in children:
        yield from iter_config_nodes(value,
                                     f'{path}.{key}' if path else str(key))
