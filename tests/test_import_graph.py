# Copyright (c) mmunirep contributors. All rights reserved.
"""The package's layers: each subpackage imports only its own layer and the
ones below, with no cycle, and the lowest layers name no config or tool."""
import ast
from collections import defaultdict
from pathlib import Path
from typing import Dict, Iterator, Set, Tuple

PACKAGE = Path(__file__).resolve().parents[1] / 'mmunirep'

#: Subpackage (or top-level module) -> layer, lowest first (see the style
#: guide: helpers, ops, models, checkpoints, then the users of models and
#: checkpoints, then the flows that tools call).
LAYERS = {
    'version': 0, 'registry': 0, 'env_check': 0, 'utils': 0,
    'ops': 1,
    'models': 2,
    'checkpoints': 3,
    'testing': 4, 'engine': 4, 'analysis': 4, 'converters': 4,
    'deployment': 4,
    'apis': 5,
}


def _modules() -> Iterator[Tuple[str, Path]]:
    """(dotted module name, file) of every module of the package."""
    for path in sorted(PACKAGE.rglob('*.py')):
        parts = path.relative_to(PACKAGE.parent).with_suffix('').parts
        if '.mim' in parts:
            continue
        if parts[-1] == '__init__':
            parts = parts[:-1]
        yield '.'.join(parts), path


def _imported(module: str, path: Path) -> Iterator[str]:
    """Every module ``module`` imports (at any depth of its code)."""
    package = module if path.name == '__init__.py' else \
        module.rsplit('.', 1)[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split('.')
                base = parts[:len(parts) - node.level + 1]
                yield '.'.join(base + ([node.module] if node.module else []))
            else:
                yield node.module or ''


def _subpackage(module: str) -> str:
    parts = module.split('.')
    return parts[1] if parts[0] == 'mmunirep' and len(parts) > 1 else ''


def import_edges() -> Dict[str, Set[Tuple[str, str]]]:
    """Subpackage -> {(imported subpackage, importing module)}."""
    edges = defaultdict(set)
    for module, path in _modules():
        source = _subpackage(module)
        if not source:
            continue  # mmunirep/__init__.py: the root may import anything
        for imported in _imported(module, path):
            target = _subpackage(imported)
            if target and target != source:
                edges[source].add((target, module))
    return edges


def test_every_subpackage_has_a_layer():
    names = {_subpackage(module) for module, _ in _modules()} - {''}
    assert names <= set(LAYERS), \
        f'place {sorted(names - set(LAYERS))} in LAYERS'


def test_no_import_runs_up_a_layer():
    upward = sorted(
        f'{module} imports mmunirep.{target} (layer {LAYERS[target]} above '
        f'{source}, layer {LAYERS[source]})'
        for source, targets in import_edges().items()
        for target, module in targets if LAYERS[target] > LAYERS[source])
    assert not upward, '\n'.join(upward)


def test_no_cycle_between_subpackages():
    graph = {source: {target for target, _ in targets}
             for source, targets in import_edges().items()}
    state: Dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(node, path):
        state[node] = 1
        for child in sorted(graph.get(node, ())):
            if state.get(child) == 1:
                cycle = path[path.index(child):] + [child]
                raise AssertionError('import cycle: ' + ' -> '.join(cycle))
            if child not in state:
                visit(child, path + [child])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])


def _string_literals(path: Path) -> Iterator[Tuple[int, str]]:
    """(line, text) of the string constants of a file, docstrings left
    out."""
    tree = ast.parse(path.read_text())
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef,
                             ast.AsyncFunctionDef)) and node.body and \
                isinstance(node.body[0], ast.Expr) and \
                isinstance(node.body[0].value, ast.Constant):
            docstrings.add(id(node.body[0].value))
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                and id(node) not in docstrings:
            yield node.lineno, node.value


def test_models_and_ops_name_no_config_or_tool():
    """Hints that name configs and tools belong to the layers above."""
    found = [f'{path.relative_to(PACKAGE.parent)}:{line}: {text!r}'
             for layer in ('models', 'ops')
             for path in sorted((PACKAGE / layer).rglob('*.py'))
             for line, text in _string_literals(path)
             if 'configs/' in text or 'tools/' in text]
    assert not found, '\n'.join(found)
