"""Imports flow one way (docs/architecture.md): a module imports only from its own layer or
from layers below it, and third-party libraries stay behind their fences."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "chainrule"

# First matching prefix wins: module path (dotted, relative to chainrule) → layer.
LAYERS = [
    ("_config", 0), ("errors", 0), ("_typing", 0), ("_quiet", 0),
    ("autodiff", 1),
    ("ops", 2),
    ("_convert", 1), ("_tensor_methods", 3), ("tensor", 3), ("creation", 3), ("function_forms", 3),
    ("transforms", 4), ("explain", 4), ("checking", 4), ("custom_function", 4),
    ("calculus", 4), ("serialization", 4),
    ("nn", 5), ("data", 5),
    ("optim", 6), ("train", 6),
    ("viz", 7), ("cli", 7), ("__main__", 7),
]

# Third-party modules and the lowest layer allowed to import them.
FENCES = {"matplotlib": 6, "graphviz": 6, "tqdm": 6, "sklearn": 5, "torch": None}

# The same rule one level down, for a package whose submodules stack: package → {first part
# of the submodule's name: rank}. A submodule imports only from its own rank or below, and
# never from the package itself (its __init__ re-exports the top).
SUBLAYERS = {
    "nn": {"functional": 0, "init": 0, "module": 1, "layers": 2, "losses": 2},
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
    for name in _imports(path):
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
