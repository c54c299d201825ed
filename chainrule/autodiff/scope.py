"""Composite scopes: the names of the composite operations (softmax, a loss, a layer)
being recorded, so that ``draw_graph`` can draw a composite collapsed or expanded and
``explain`` can say where a primitive came from."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

_F = TypeVar("_F", bound=Callable[..., Any])

#: The stack of open scopes; each entry is the full tuple of names, outermost first, so
#: that recording reads the current scope with one index.
SCOPES: list[tuple[str, ...]] = [()]


class ScopeName(str):
    """A composite's name, one object per call: equal to the plain name, but two calls of
    the same composite (``softmax(softmax(x))``, a layer used twice) have distinct
    objects, so ``draw_graph`` can tell them apart by identity."""

    __slots__ = ()


class scope:  # noqa: N801 (used as a function: ``with scope(name):``)
    """Context manager form of :func:`composite`: nodes recorded inside carry ``name``.

    A class rather than a ``contextlib`` generator because every ``Module.__call__``
    enters one."""

    __slots__ = ("name",)

    name: str

    def __init__(self, name: str) -> None:
        self.name = name

    def __enter__(self) -> None:
        SCOPES.append(SCOPES[-1] + (ScopeName(self.name),))

    def __exit__(self, *exc: object) -> None:
        SCOPES.pop()


def composite(name: str) -> Callable[[_F], _F]:
    """Mark a function built from primitives (softmax, a loss, a layer) so that the nodes
    it records carry its name."""

    def decorate(func: _F) -> _F:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with scope(name):
                return func(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate
