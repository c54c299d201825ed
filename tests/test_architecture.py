"""Imports flow one way (docs/architecture.md): a module imports only from its own layer or
from layers below it, and third-party libraries stay behind their fences."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "chainrule"

# First matching prefix wins: module path (dotted, relative to chainrule) → layer.
LAYERS = [
    ("_config", 0), ("errors", 0), ("_typing", 0), ("_quiet", 0), ("_optional", 0),
    ("_source", 0), ("_decide", 1),
    ("autodiff", 1),
    ("ops", 2),
    ("_convert", 1), ("_inplace", 3), ("_numpy", 3), ("_tensor_methods", 3), ("tensor", 3),
    ("creation", 3), ("function_forms", 3),
    ("pytree", 4), ("transforms", 4), ("explain", 4), ("checking", 4), ("custom_function", 4),
    ("calculus", 4), ("serialization", 4), ("batching", 4), ("vectorize", 4),
    ("compiler", 4),
    ("nn", 5), ("data", 5),
    ("optim", 6), ("train", 6), ("distributed", 6),
    ("viz", 7), ("cli", 7), ("__main__", 7),
]

# Third-party modules and the lowest layer allowed to import them.
FENCES = {"matplotlib": 6, "graphviz": 6, "tqdm": 6, "sklearn": 5, "mnist1d": 5, "torch": None,
          "mpi4py": 6}

# The same rule one level down, for a package whose submodules stack: package → {first part
# of the submodule's name: rank}. A submodule imports only from its own rank or below, and
# never from the package itself (its __init__ re-exports the top).
SUBLAYERS = {
    "autodiff": {"node": 0, "scope": 0, "saved": 0, "primitive": 1, "graph": 1, "backward": 2},
    "ops": {"_table": 0, "_axes": 0, "_im2col": 0, "_batching": 0, "_samples": 1, "broadcasting": 2,
            "convolution": 4,
            "elementwise": 3, "shape": 3, "reductions": 4, "linalg": 5, "losses": 5,
            "composites": 5, "pooling": 4, "softmax": 6,
            "recurrent": 4},
    "checking": {"differences": 0, "conventions": 0, "op_table": 1, "gradcheck": 1},
    "nn": {"functional": 0, "init": 0, "parameter": 0, "slots": 0, "utils": 0, "module": 1,
           "containers": 2, "layers": 2, "losses": 2,
           "pooling": 2, "normalization": 2, "embedding": 2, "conv": 2,
           "attention": 2, "transformer": 3,
           "recurrent": 2, "recurrent_cells": 2},
    "train": {"metrics": 0, "progress": 0, "callbacks": 1, "loop": 2, "parallel": 1},
    "distributed": {"_mpi": 0, "collectives": 1, "gradients": 1},
    "compiler": {"follow": 0, "capture": 1, "codegen": 2, "walk": 2, "training": 3,
                 "function": 4},
}


def _layer(module: str) -> int | None:
    """Layer of ``chainrule.<module>``; None for the top-level package (re-exports only)."""
    if module in ("", "__init__"):
        return None
    for prefix, layer in LAYERS:
        if module == prefix or module.startswith(prefix + ".") or module.startswith(prefix + "/"):
            return layer
    raise AssertionError(f"chainrule.{module} has no layer in tests/test_architecture.py")


def _modules() -> list[tuple[str, Path]]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found.append((".".join(parts), path))
    return found


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.extend(_from_import(node.module, [alias.name for alias in node.names]))
    return names


def _from_import(module: str, aliases: list[str]) -> list[str]:
    """``from chainrule import nn`` and ``from chainrule.nn import functional`` name the
    submodule; any other name comes from the module (or package) itself."""
    if module != "chainrule" and not module.startswith("chainrule."):
        return [module]
    folder = PACKAGE.joinpath(*module.split(".")[1:])
    if not folder.is_dir():
        return [module]
    return [
        f"{module}.{alias}"
        if (folder / alias).is_dir() or (folder / f"{alias}.py").is_file()
        else module
        for alias in aliases
    ]


@pytest.mark.parametrize("module,path", _modules(), ids=[m or "chainrule" for m, _ in _modules()])
def test_imports_flow_one_way(module: str, path: Path) -> None:
    own = _layer(module)
    if own is None:
        return  # chainrule/__init__.py re-exports from every layer
    for name in _imports(path):
        if name == "chainrule" or name.startswith("chainrule."):
            target = name[len("chainrule."):] if name != "chainrule" else ""
            target_layer = _layer(target)
            assert target_layer is not None, (
                f"chainrule.{module} imports the top-level package; import the module it needs"
            )
            assert target_layer <= own, (
                f"chainrule.{module} (L{own}) imports chainrule.{target} (L{target_layer}): "
                "imports must flow down the layers"
            )
        root = name.split(".")[0]
        if root in FENCES:
            lowest = FENCES[root]
            assert lowest is not None and own >= lowest, (
                f"chainrule.{module} (L{own}) imports {root}, allowed only from "
                f"{'tests' if lowest is None else f'L{lowest} up'}"
            )


def _sub_rank(package: str, module: str) -> int | None:
    """Rank of ``chainrule.<module>`` inside ``chainrule.<package>``; None for the package."""
    if module == package:
        return None
    head = module[len(package) + 1:].split(".")[0]
    ranks = SUBLAYERS[package]
    assert head in ranks, (
        f"chainrule.{module} has no rank in SUBLAYERS[{package!r}] (tests/test_architecture.py)"
    )
    return ranks[head]


_STACKED = [(m, p) for m, p in _modules() if m.split(".")[0] in SUBLAYERS]


@pytest.mark.parametrize("module,path", _STACKED, ids=[m for m, _ in _STACKED])
def test_imports_flow_one_way_inside_a_layer(module: str, path: Path) -> None:
    package = module.split(".")[0]
    own = _sub_rank(package, module)
    if own is None:
        return  # the package's __init__ re-exports from every rank
    # typing-only imports (under ``if TYPE_CHECKING:``) may point up: Node names the
    # Primitive it records without importing it
    for name in ("chainrule." + n for n in _runtime_imports(path)):
        if name != f"chainrule.{package}" and not name.startswith(f"chainrule.{package}."):
            continue
        target = name[len("chainrule."):]
        target_rank = _sub_rank(package, target)
        assert target_rank is not None, (
            f"chainrule.{module} imports chainrule.{package}, which re-exports it; "
            "import the module it needs"
        )
        assert target_rank <= own, (
            f"chainrule.{module} (rank {own}) imports chainrule.{target} (rank {target_rank}): "
            f"inside {package}/, imports must flow down the ranks"
        )


def test_library_files_stay_small() -> None:
    too_long = {
        str(path.relative_to(PACKAGE)): n
        for _, path in _modules()
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > 600
    }
    assert not too_long, f"files over 600 lines, split them: {too_long}"


def _runtime_imports(path: Path) -> list[str]:
    """The chainrule modules ``path`` imports when it runs: at module level or inside a
    function (a late import still closes a cycle), but not under ``if TYPE_CHECKING:``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(child) for child in ast.walk(node))
    names = []
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.extend(_from_import(node.module, [alias.name for alias in node.names]))
    return [n[len("chainrule."):] for n in names if n.startswith("chainrule.")]


def _import_graph() -> dict[str, set[str]]:
    """module -> the modules it makes Python import, each with its enclosing packages
    (importing ``ops.shape`` runs ``ops/__init__.py`` first) except the importer's own."""
    graph: dict[str, set[str]] = {}
    for module, path in _modules():
        if not module:
            continue
        own = {".".join(module.split(".")[:i]) for i in range(1, module.count(".") + 2)}
        targets = set()
        for name in _runtime_imports(path):
            parts = name.split(".")
            for i in range(1, len(parts) + 1):
                target = ".".join(parts[:i])
                if target not in own or target == name:
                    targets.add(target)
        graph[module] = targets - {module}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan's algorithm,
    with an explicit stack)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.get(root, ()))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_no_import_cycles() -> None:
    assert _cycles(_import_graph()) == []


def test_the_cycle_check_finds_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c"]]
