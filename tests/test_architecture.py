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
    ("tensor", 3), ("creation", 3), ("functions", 3),
    ("transforms", 4), ("checking", 4), ("explain", 4), ("conventions", 4), ("function", 4),
    ("calculus", 4), ("serialization", 4), ("opcheck", 4),
    ("nn", 5), ("data", 5),
    ("optim", 6), ("train", 6),
    ("viz", 7), ("cli", 7), ("__main__", 7),
]

# Third-party modules and the lowest layer allowed to import them.
FENCES = {"matplotlib": 6, "graphviz": 6, "tqdm": 6, "sklearn": 5, "torch": None}


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
            if node.module != "chainrule":
                names.append(node.module)
                continue
            for alias in node.names:  # `from chainrule import nn` names a submodule
                is_module = (PACKAGE / alias.name).is_dir() or (
                    PACKAGE / f"{alias.name}.py"
                ).is_file()
                names.append(f"chainrule.{alias.name}" if is_module else "chainrule")
    return names


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


def test_library_files_stay_small() -> None:
    too_long = {
        str(path.relative_to(PACKAGE)): n
        for _, path in _modules()
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > 600
    }
    assert not too_long, f"files over 600 lines, split them: {too_long}"
