"""Shared test setup: every test starts from the library's defaults and leaves them so; and
the suite runs where PyTorch, the test oracle, is not installed.

chainrule keeps process-wide settings (default dtype, grad mode, the default generator);
a test that changes one and fails half-way must not change the outcome of the next.

torch is the oracle: many tests compare chainrule with PyTorch on the same program. Where
torch is missing, ``import torch`` (and ``import torch.nn.functional as TF``…) in a test
module gives a stand-in instead of failing the module's collection: every test that *uses*
torch (calls it, or checks ``isinstance`` against it) is skipped at that point, with
:data:`ORACLE_MISSING` as its reason, and every other test runs. The summary counts the
skipped comparisons. ``make test`` installs torch, so there nothing is skipped.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import sys
import types
from collections.abc import Iterator
from typing import Any, NoReturn

import numpy as np
import pytest

from chainrule._config import STATE


@pytest.fixture(autouse=True)
def _restore_global_state() -> Iterator[None]:
    dtype, grad_enabled, generator = STATE.default_dtype, STATE.grad_enabled, STATE.generator
    STATE.default_dtype = np.dtype(np.float32)
    STATE.grad_enabled = True
    try:
        yield
    finally:
        STATE.default_dtype, STATE.grad_enabled, STATE.generator = dtype, grad_enabled, generator


# ---------------------------------------------------------------- torch, the test oracle
ORACLE_MISSING = "torch (the test oracle) is not installed: comparison with PyTorch skipped"


def _skip() -> NoReturn:
    pytest.skip(ORACLE_MISSING)


def _refuse_probe(attr: str) -> None:
    """Python's protocols (``__wrapped__``…) and pytest's probes (``pytestmark``, a mock's
    ``_mock_name``) must find nothing, or pytest would take a stand-in for a test or a mock."""
    if (attr.startswith("__") and attr.endswith("__")) or attr == "pytestmark" or \
            attr.startswith(("_mock", "_pytest")):
        raise AttributeError(attr)


class _Absent:
    """Any attribute of the missing torch (``torch.sigmoid``, ``torch.float64``): it may be
    named (in a table of references, as a default argument), and using it skips the test."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attr: str) -> _Absent:
        _refuse_probe(attr)
        return _Absent(f"{self._name}.{attr}")

    def __call__(self, *args: Any, **kwargs: Any) -> NoReturn:
        _skip()

    def __instancecheck__(self, instance: Any) -> NoReturn:
        _skip()

    def __subclasscheck__(self, subclass: Any) -> NoReturn:
        _skip()

    def __iter__(self) -> NoReturn:
        _skip()

    def __mro_entries__(self, bases: tuple[Any, ...]) -> NoReturn:  # class F(torch.autograd…)
        _skip()

    def __repr__(self) -> str:
        return f"<{self._name}: torch is not installed>"


class _AbsentModule(types.ModuleType):
    """``torch`` or one of its submodules, standing in for the missing package."""

    def __getattr__(self, attr: str) -> _Absent:
        _refuse_probe(attr)
        return _Absent(f"{self.__name__}.{attr}")


class _AbsentTorch(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds ``torch`` and ``torch.*`` as stand-in modules (installed only when torch is
    missing)."""

    def find_spec(self, fullname: str, path: Any = None, target: Any = None
                  ) -> importlib.machinery.ModuleSpec | None:
        if fullname != "torch" and not fullname.startswith("torch."):
            return None
        return importlib.util.spec_from_loader(fullname, self, is_package=True)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        return _AbsentModule(spec.name)

    def exec_module(self, module: types.ModuleType) -> None:
        module.__path__ = []


def _torch_is_installed() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


TORCH = _torch_is_installed()
if not TORCH:
    sys.meta_path.insert(0, _AbsentTorch())


def pytest_report_header() -> str:
    if TORCH:
        return "torch (the test oracle): installed"
    return "torch (the test oracle): NOT installed; every comparison with PyTorch is skipped"


def pytest_terminal_summary(terminalreporter: Any) -> None:
    skipped = [r for r in terminalreporter.stats.get("skipped", [])
               if ORACLE_MISSING in str(getattr(r, "longrepr", ""))]
    if skipped:
        terminalreporter.write_line(
            f"{len(skipped)} tests skipped their comparison with PyTorch: torch (the test "
            "oracle) is not installed; `make test` installs it"
        )
