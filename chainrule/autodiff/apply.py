"""Applying a primitive: validate, run the forward function, record a Node if needed."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from chainrule._config import STATE
from chainrule.autodiff.node import Node, Primitive, Traced

_F = TypeVar("_F", bound=Callable[..., Any])

_SCOPE: list[tuple[str, ...]] = [()]


def apply(prim: Primitive, args: tuple, params: dict) -> Traced:
    """Run ``prim`` on ``args`` (Traced values and constants) and record the graph.

    The result has the type of the first Traced argument. A Node is recorded only when
    grad mode is on and some argument requires grad.
    """
    first = None
    record = False
    datas = []
    for arg in args:
        if isinstance(arg, Traced):
            if first is None:
                first = arg
            datas.append(arg.data)
            if arg.requires_grad:
                record = True
        else:
            datas.append(arg)
    if prim.check is not None:
        prim.check(*datas, **params)
    out = prim.forward(*datas, **params)
    result = type(first)._from_op(out, None)
    if not (record and STATE.grad_enabled):
        return result
    mask = prim.diff_mask
    if mask is None:
        needs = tuple(isinstance(arg, Traced) and arg.requires_grad for arg in args)
    else:
        needs = tuple(
            m and isinstance(arg, Traced) and arg.requires_grad for arg, m in zip(args, mask)
        )
    result._node = Node(prim, args, result.data, params, needs, _SCOPE[-1])
    result.requires_grad = True
    return result


class ScopeName(str):
    """A composite's name, one object per call: equal to the plain name, but two calls of
    the same composite (``softmax(softmax(x))``, a layer used twice) have distinct
    objects, so ``draw_graph`` can tell them apart by identity."""

    __slots__ = ()


def current_scope() -> tuple[str, ...]:
    """The names of the composite operations currently being recorded, outermost first."""
    return _SCOPE[-1]


@contextlib.contextmanager
def scope(name: str) -> Iterator[None]:
    """Context manager form of :func:`composite`: nodes recorded inside carry ``name``."""
    _SCOPE.append(_SCOPE[-1] + (ScopeName(name),))
    try:
        yield
    finally:
        _SCOPE.pop()


def composite(name: str) -> Callable[[_F], _F]:
    """Mark a function built from primitives (softmax, a loss, a layer) so that the nodes
    it records carry its name; ``draw_graph`` can then draw it collapsed or expanded."""

    def decorate(func: _F) -> _F:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            _SCOPE.append(_SCOPE[-1] + (ScopeName(name),))
            try:
                return func(*args, **kwargs)
            finally:
                _SCOPE.pop()

        return wrapper  # type: ignore[return-value]

    return decorate
