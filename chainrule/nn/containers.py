r"""Containers: ``Sequential`` (modules applied one after another), ``ModuleList`` and
``ModuleDict`` (a Python list and dict of modules). Their entries are registered as
children, so ``parameters()``, ``state_dict()``, ``to()`` and ``train()`` see them (a plain
``list`` of layers would hide them all). PyTorch's names and rules.
"""

from __future__ import annotations

import operator
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, TypeVar, cast, overload

import numpy as np

from chainrule.nn.module import Module

__all__ = ["ModuleDict", "ModuleList", "Sequential"]

_L = TypeVar("_L", bound="ModuleList")
_D = TypeVar("_D", bound="ModuleDict")


def _require_module(op: str, module: Any) -> Module:
    if not isinstance(module, Module):
        raise TypeError(f"{op}: expected an nn.Module, got {type(module).__name__}")
    return module


class Sequential(Module):
    r"""Modules applied one after another: ``Sequential(a, b, c)(x) = c(b(a(x)))``.

    Children are named ``"0"``, ``"1"``, … (or by the keys of an ``OrderedDict``), so
    parameters read ``"0.weight"``, ``"0.bias"``… Supports ``len``, iteration, indexing
    (a slice gives a new Sequential sharing the modules) and ``append``.

    Shape:
        - Input: what the first module takes. Output: what the last one returns.

    >>> from chainrule import nn
    >>> net = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    >>> [name for name, _ in net.named_parameters()]
    ['0.weight', '0.bias', '2.weight', '2.bias']
    >>> net[1]
    ReLU()
    """

    def __init__(self, *modules: Any) -> None:
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], Mapping):
            items = list(modules[0].items())
        else:
            items = [(str(i), m) for i, m in enumerate(modules)]
        for name, module in items:
            if not isinstance(module, Module):
                raise TypeError(
                    f"Sequential: entry {name!r} is a {type(module).__name__}, not an nn.Module "
                    "(wrap functions in a Module, e.g. nn.ReLU() instead of F.relu)"
                )
            self.add_module(str(name), module)

    def forward(self, x: Any) -> Any:
        # The slots hold modules: the constructor and append() only ever add modules.
        for module in cast("Iterable[Module]", self._modules.values()):
            x = module(x)
        return x

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(cast("Iterable[Module]", self._modules.values()))

    @overload
    def __getitem__(self, index: int) -> Module: ...
    @overload
    def __getitem__(self, index: slice) -> Sequential: ...
    def __getitem__(self, index: int | slice) -> Module | Sequential:
        items = list(self._modules.items())
        if isinstance(index, slice):
            return Sequential(OrderedDict(items[index]))
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
            raise TypeError(
                f"Sequential: indices must be ints or slices, got {type(index).__name__}"
            )
        if not -len(items) <= index < len(items):
            raise IndexError(f"Sequential: index {index} is out of range for {len(items)} modules")
        return cast(Module, items[index][1])

    def append(self, module: Module) -> Sequential:
        """Add ``module`` at the end (named by its position)."""
        if not isinstance(module, Module):
            raise TypeError(
                f"Sequential.append: expected an nn.Module, got {type(module).__name__}"
            )
        self.add_module(str(len(self)), module)
        return self


class ModuleList(Module):
    r"""A list of modules, registered as children named ``"0"``, ``"1"``, …

    Indexing, slicing (a new ModuleList sharing the modules), ``len``, iteration,
    ``append``, ``extend``, ``insert``, ``pop``, ``+`` and ``+=`` work as on a list;
    deleting an entry renumbers the rest, so names stay ``0 … len-1``. A ModuleList has no
    ``forward``: the module that holds it decides how to call its entries.

    Args:
        modules: an iterable of modules (default: empty).

    >>> import chainrule as cr
    >>> from chainrule import nn
    >>> layers = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    >>> [name for name, _ in layers.named_parameters()][:3]
    ['0.weight', '0.bias', '1.weight']
    >>> x = cr.ones(1, 2)
    >>> for layer in layers:
    ...     x = layer(x)
    >>> x.shape
    (1, 2)
    """

    def __init__(self, modules: Iterable[Module] | None = None) -> None:
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def _key(self, index: Any) -> str:
        """The child's name for list index ``index`` (negative allowed)."""
        if isinstance(index, bool):
            raise TypeError("ModuleList: indices must be ints or slices, got bool")
        try:
            i = operator.index(index)
        except TypeError:
            raise TypeError(
                f"ModuleList: indices must be ints or slices, got {type(index).__name__}"
            ) from None
        n = len(self)
        if not -n <= i < n:
            raise IndexError(f"ModuleList: index {i} is out of range for {n} modules")
        return str(i % n)

    def _renumber(self, modules: Iterable[Module]) -> None:
        """Register ``modules`` as the whole list, named ``"0"``, ``"1"``, … in order."""
        entries = OrderedDict((str(i), m) for i, m in enumerate(modules))
        object.__setattr__(self, "_modules", entries)
        for name, module in entries.items():
            object.__setattr__(module, "_label", name)

    @overload
    def __getitem__(self, index: int) -> Module: ...
    @overload
    def __getitem__(self: _L, index: slice) -> _L: ...
    def __getitem__(self, index: int | slice) -> Module | ModuleList:
        if isinstance(index, slice):
            return type(self)(list(self)[index])
        return cast(Module, self._modules[self._key(index)])

    def __setitem__(self, index: int, module: Module) -> None:
        setattr(self, self._key(index), _require_module("ModuleList", module))

    def __delitem__(self, index: int | slice) -> None:
        modules = list(self)
        if isinstance(index, slice):
            del modules[index]
        else:
            del modules[int(self._key(index))]
        self._renumber(modules)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(cast("Iterable[Module]", self._modules.values()))

    def __iadd__(self: _L, modules: Iterable[Module]) -> _L:
        return self.extend(modules)

    def __add__(self, other: Iterable[Module]) -> ModuleList:
        return ModuleList([*self, *other])

    def append(self: _L, module: Module) -> _L:
        """Add ``module`` at the end; returns the list."""
        self.add_module(str(len(self)), _require_module("ModuleList.append", module))
        return self

    def extend(self: _L, modules: Iterable[Module]) -> _L:
        """Append every module of ``modules``; returns the list."""
        if not isinstance(modules, Iterable):
            raise TypeError(
                f"ModuleList.extend: expected an iterable of modules, "
                f"got {type(modules).__name__}"
            )
        for module in list(modules):
            self.append(module)
        return self

    def insert(self, index: int, module: Module) -> None:
        """Insert ``module`` before position ``index`` (as ``list.insert``)."""
        modules = list(self)
        modules.insert(operator.index(index), _require_module("ModuleList.insert", module))
        self._renumber(modules)

    def pop(self, index: int = -1) -> Module:
        """Remove and return the module at ``index`` (the last by default)."""
        module = self[index]
        del self[index]
        return module

    def __dir__(self) -> Iterable[str]:
        return [name for name in super().__dir__() if not name.isdigit()]

    def __repr__(self) -> str:
        # PyTorch's compact form: a run of identical entries prints once, as "(0-2): 3 x …"
        runs: list[tuple[int, int, str]] = []
        for i, module in enumerate(self):
            text = repr(module)
            if runs and runs[-1][2] == text:
                runs[-1] = (runs[-1][0], i, text)
            else:
                runs.append((i, i, text))
        if not runs:
            return f"{type(self).__name__}()"
        lines = [(f"({a}): {text}" if a == b else f"({a}-{b}): {b - a + 1} x {text}")
                 .replace("\n", "\n  ") for a, b, text in runs]
        return f"{type(self).__name__}(\n  " + "\n  ".join(lines) + "\n)"


class ModuleDict(Module):
    r"""An ordered dict of modules, registered as children under their keys.

    The mapping interface of ``dict``: ``d[key]``, ``d[key] = module``, ``del d[key]``,
    ``len``, iteration over keys, ``in``, ``keys()``, ``values()``, ``items()``,
    ``update()``, ``pop()``, ``clear()``. Keys are strings without ``"."`` that are not
    already attributes of the ModuleDict (``"train"``, ``"keys"`` are taken), as in
    PyTorch. A ModuleDict has no ``forward``.

    Args:
        modules: a mapping of name to module, or an iterable of ``(name, module)`` pairs.

    >>> from chainrule import nn
    >>> heads = nn.ModuleDict({"cls": nn.Linear(4, 3), "reg": nn.Linear(4, 1)})
    >>> list(heads), heads["reg"]
    (['cls', 'reg'], Linear(in_features=4, out_features=1, bias=True))
    """

    def __init__(self, modules: Mapping[str, Module] | Iterable[tuple[str, Module]] | None
                 = None) -> None:
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key: str) -> Module:
        module = self._modules[key]
        return cast(Module, module)

    def __setitem__(self, key: str, module: Module) -> None:
        self.add_module(key, _require_module("ModuleDict", module))

    def __delitem__(self, key: str) -> None:
        if key not in self._modules:
            raise KeyError(key)
        del self._modules[key]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[str]:
        return iter(self._modules)

    def __contains__(self, key: object) -> bool:
        return key in self._modules

    def keys(self) -> Iterable[str]:
        """The keys, in insertion order."""
        return self._modules.keys()

    def values(self) -> Iterable[Module]:
        """The modules, in insertion order."""
        return cast("Iterable[Module]", self._modules.values())

    def items(self) -> Iterable[tuple[str, Module]]:
        """``(key, module)`` pairs, in insertion order."""
        return cast("Iterable[tuple[str, Module]]", self._modules.items())

    def pop(self, key: str) -> Module:
        """Remove ``key`` and return its module."""
        module = self[key]
        del self[key]
        return module

    def clear(self) -> None:
        """Remove every entry."""
        self._modules.clear()

    def update(self, modules: Mapping[str, Module] | Iterable[tuple[str, Module]]) -> None:
        """Add or replace entries from a mapping (in its order) or from ``(key, module)``
        pairs; a replaced key keeps its place."""
        if isinstance(modules, (Mapping, ModuleDict)):
            pairs: Iterable[Any] = modules.items()
        elif isinstance(modules, Iterable) and not isinstance(modules, (str, Module)):
            pairs = modules
        else:
            raise TypeError(
                f"ModuleDict.update: expected a mapping or an iterable of (key, module) "
                f"pairs, got {type(modules).__name__}"
            )
        for i, pair in enumerate(pairs):
            if not isinstance(pair, (tuple, list)) or len(pair) != 2:
                raise ValueError(
                    f"ModuleDict.update: element #{i} must be a (key, module) pair, got "
                    f"{pair!r}"
                )
            self[pair[0]] = pair[1]
