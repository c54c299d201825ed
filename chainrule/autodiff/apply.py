"""Applying a primitive: validate, run the forward function, record a Node if needed."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np

from chainrule._config import STATE
from chainrule.autodiff.node import Node, Primitive, Traced
from chainrule.errors import shape_str

_F = TypeVar("_F", bound=Callable[..., Any])

_SCOPE: list[tuple[str, ...]] = [()]


def apply(prim: Primitive, args: tuple, params: dict, checked: bool = False) -> Traced:
    """Run ``prim`` on ``args`` (Traced values and constants) and record the graph.

    The result has the type of the first Traced argument. A Node is recorded only when
    grad mode is on and some argument requires grad. ``checked``: the caller has already
    validated everything the checks would, so they are skipped (no check twice).
    """
    # One pass over the arguments gathers the arrays, the result type and which inputs
    # need a gradient (W3: 6.7 -> 3.4 µs per recorded op, with the hoisted checks).
    first = None
    datas = []
    needs = []
    for arg in args:
        if isinstance(arg, Traced):
            if first is None:
                first = arg
            datas.append(arg.data)
            needs.append(arg.requires_grad)
        else:
            datas.append(arg)
            needs.append(False)
    if not checked:
        if prim.sum_to is not None:
            # Equal shapes and scalars always broadcast: tested here, not in a call
            # (x * y on two same-shaped tensors: 19k -> 15k instructions, callgrind).
            if len(datas) != 2:
                check_broadcast(prim.name, datas)
            else:
                shape, other = getattr(datas[0], "shape", ()), getattr(datas[1], "shape", ())
                if shape != other and shape != () and other != ():
                    check_broadcast(prim.name, datas)
        if prim.check is not None:
            prim.check(*datas, **params)
    out = prim.forward(*datas, **params) if params else prim.forward(*datas)
    saved = None
    if prim.saves:
        out, saved = out
    if type(out) is not np.ndarray:
        out = np.asarray(out)
    # The result is built here rather than by a constructor: one call less per op.
    result = _new(first._result_class)
    result.data = out
    result.grad = None
    if True in needs and STATE.grad_enabled:
        mask = prim.diff_mask
        if mask is not None:
            needs = [need and m for need, m in zip(needs, mask)]
        # Node(...) with its fields set here: one Python frame less per recorded op
        node = _new(Node)
        node.prim, node.inputs, node.arrays, node.out = prim, args, datas, out
        node.params, node.needs, node.scope, node.saved = params, needs, _SCOPE[-1], saved
        result._node = node
        result.requires_grad = True
    else:
        result._node = None
        result.requires_grad = False
    return result


def check_broadcast(op: str, arrays: list) -> None:
    """Raise a clear error unless the shapes of ``arrays`` broadcast together (NumPy's
    rules); run by :func:`apply` for every primitive that broadcasts (``sum_to`` set)."""
    shapes = [getattr(a, "shape", ()) for a in arrays]
    if all(s == shapes[0] or s == () for s in shapes):
        return
    try:
        np.broadcast_shapes(*shapes)
    except ValueError:
        described = " and ".join(shape_str(s) for s in shapes)
        raise ValueError(f"{op}: shapes {described} cannot be broadcast together") from None


_new = object.__new__


class ScopeName(str):
    """A composite's name, one object per call: equal to the plain name, but two calls of
    the same composite (``softmax(softmax(x))``, a layer used twice) have distinct
    objects, so ``draw_graph`` can tell them apart by identity."""

    __slots__ = ()


def current_scope() -> tuple[str, ...]:
    """The names of the composite operations currently being recorded, outermost first."""
    return _SCOPE[-1]


class scope:  # noqa: N801 (used as a function: ``with scope(name):``)
    """Context manager form of :func:`composite`: nodes recorded inside carry ``name``.

    A class, not ``contextlib.contextmanager``: every ``Module.__call__`` enters one
    (a ReLU module call: 39k -> 30k instructions, callgrind)."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __enter__(self) -> None:
        _SCOPE.append(_SCOPE[-1] + (ScopeName(self.name),))

    def __exit__(self, *exc: object) -> None:
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
