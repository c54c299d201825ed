r"""The machinery of ``cr.vmap``: batched tensors, the levels of nested maps, and the
dispatcher that runs a primitive on a batch by its batching rule.

Inside ``vmap(f)``, ``f`` sees each mapped argument as a :class:`BatchedTensor`: a Tensor
that *reports* one example's shape while holding the whole batch, its batch axis first,
in ``_value`` (a Tensor, or for nested maps the BatchedTensor of the enclosing map). Every
operation on it reaches :func:`chainrule.autodiff.apply`, which hands it to
:data:`DISPATCHER`; the dispatcher takes out the physical values of the innermost level
among the arguments, runs the primitive's batching rule (:mod:`chainrule.ops._batching`)
on them, and wraps the result again. Rules are written with primitives, so they are
recorded like any other computation, and an enclosing ``grad`` differentiates through them.

Each ``vmap`` call opens a *level* (an increasing integer with its batch size). A value
batched at an outer level but not the current one is a constant for the current level's
rule, and its own batching is handled when that rule applies primitives to it.

The values of a batched tensor cannot be read (``.numpy()``, ``float()``, ``if t > 0``)
inside ``vmap``: they are a whole batch, not one example; such a read raises a clear
error, as JAX's tracers do.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from chainrule._config import STATE, enable_grad
from chainrule.autodiff import Traced, reaches_leaf, set_batching
from chainrule.errors import shape_str
from chainrule.ops import RECORDS
from chainrule.tensor import Tensor, wrap

#: Active levels, outermost first: (level, batch size).
LEVELS: list[tuple[int, int]] = []
_COUNTER = [0]

_READ = ("vmap: the values of a batched tensor cannot be read inside vmap (they hold the "
         "whole batch, not one example); compute with tensor operations instead")


class BatchedTensor(Tensor):
    """One example's view of a batch inside ``vmap``: the shape, dtype and operations of an
    example; the batch itself (batch axis first) in ``_value``, at level ``_level``."""

    __slots__ = ("_value", "_level")

    _value: Any
    _level: int

    @property
    def _data(self) -> np.ndarray:  # type: ignore[override]
        raise RuntimeError(_READ)

    @property
    def requires_grad(self) -> bool:
        return bool(self._value.requires_grad)

    @requires_grad.setter
    def requires_grad(self, flag: bool) -> None:
        raise RuntimeError("vmap: requires_grad cannot be set on a batched tensor inside "
                           "vmap; differentiate with cr.grad inside the mapped function")

    @property
    def _node(self) -> Any:  # type: ignore[override]
        return self._value._node

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self._value.shape[1:])

    @property
    def dtype(self) -> np.dtype:
        return self._value.dtype

    @property
    def ndim(self) -> int:
        return len(self._value.shape) - 1

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    @property
    def mT(self) -> Tensor:  # noqa: N802 - PyTorch's name
        return self.swapaxes(-1, -2)

    def detach(self) -> Tensor:
        return batched(self._value.detach(), self._level)

    def __getitem__(self, index: Any) -> Tensor:
        out = take(self, index)
        return Tensor.__getitem__(self, index) if out is NotImplemented else out

    def argmax(self, axis: int | None = None) -> Tensor:
        """Each example's index of its largest element (no gradient)."""
        return self._arg(np.argmax, axis)

    def argmin(self, axis: int | None = None) -> Tensor:
        """Each example's index of its smallest element (no gradient)."""
        return self._arg(np.argmin, axis)

    def _arg(self, fn: Any, axis: int | None) -> Tensor:
        value = self._value
        if axis is None:
            value = value.reshape(value.shape[0], -1)
            axis = 0
        axis = int(axis) % max(self.ndim, 1) + 1
        return batched(value.argmax(axis=axis) if fn is np.argmax else value.argmin(axis=axis),
                       self._level)

    def _compare(self, op: str, ufunc: Any, other: Any) -> Tensor:
        """A comparison on the batch: elementwise, so the examples aligned by rank."""
        return _compare(op, ufunc, self, other)

    def __repr__(self) -> str:
        return (f"BatchedTensor(shape={shape_str(self.shape)}, dtype={self.dtype}, "
                f"level={self._level}, batch of {self._value.shape[0]})")


_new = object.__new__


def batched(value: Any, level: int) -> BatchedTensor:
    """A BatchedTensor of ``level`` around ``value`` (batch axis first)."""
    out = _new(BatchedTensor)
    out._value = value
    out._level = level
    out.grad = None
    return out


def _compare(op: str, ufunc: Any, x: Any, y: Any) -> Tensor:
    level = max(v._level for v in (x, y) if isinstance(v, BatchedTensor))
    values = [v._value if isinstance(v, BatchedTensor) and v._level == level else v
              for v in (x, y)]
    bdims = [0 if isinstance(v, BatchedTensor) and v._level == level else None for v in (x, y)]
    from chainrule.ops._batching import logical_shape, with_rank

    rank = max(len(logical_shape(v, b)) for v, b in zip(values, bdims))
    a, b = (with_rank(v, d, rank) for v, d in zip(values, bdims))
    if isinstance(a, Tensor):
        out = a._compare(op, ufunc, b)
    else:
        out = as_plain(b)._compare(op, lambda p, q: ufunc(q, p), a)
    return batched(out, level)


def is_batched(value: Any) -> bool:
    """Whether ``value`` is a batched tensor (inside ``vmap``): its values cannot be read,
    so a function that builds a constant mask from them compares tensors instead."""
    return type(value) is BatchedTensor


def values_for_checks(value: Any) -> np.ndarray:
    """The physical values under every level, for a *check* of their range only (every
    example's values are among them); never for computing."""
    return np.asarray(peel(value)._data)


def shaped_like(value: Any, array: np.ndarray) -> Any:
    """``array``, of the physical shape of batched ``value``, as a constant batched at
    ``value``'s levels (a per-example random mask, say)."""
    levels = []
    while type(value) is BatchedTensor:
        levels.append(value._level)
        value = value._value
    out: Any = wrap(array)
    for level in reversed(levels):
        out = batched(out, level)
    return out


def as_plain(value: Any) -> Tensor:
    return value if isinstance(value, Tensor) else wrap(np.asarray(value))


# ---------------------------------------------------------------- the dispatcher


def move_first(value: Any, axis: int) -> Any:
    """``value`` with axis ``axis`` moved to the front (a transpose, recorded)."""
    if axis == 0:
        return value
    ndim = len(value.shape)
    order = (axis,) + tuple(i for i in range(ndim) if i != axis)
    return value.transpose(*order)


def move_from_first(value: Any, axis: int) -> Any:
    """``value`` with its first axis moved to position ``axis``."""
    if axis == 0:
        return value
    ndim = len(value.shape)
    rest = list(range(1, ndim))
    order = tuple(rest[:axis] + [0] + rest[axis:])
    return value.transpose(*order)


def _rules() -> dict[Any, Any]:
    return {r.primitive: r.batch for r in RECORDS.values() if r.primitive is not None}


class _Dispatcher:
    """Runs primitives (and composites with a rule) on batches; installed into the engine
    while a ``vmap`` is active."""

    def __init__(self) -> None:
        self.rules: dict[Any, Any] | None = None

    def __call__(self, prim: Any, args: tuple[Any, ...], params: dict[str, Any]) -> Any:
        level = 0
        for a in args:
            if type(a) is BatchedTensor and a._level > level:
                level = a._level
        if not level:
            return NotImplemented
        if self.rules is None:
            self.rules = _rules()
        rule = self.rules.get(prim)
        if rule is None:
            raise NotImplementedError(
                f"vmap: {prim.name} has no batching rule (a custom cr.Function cannot be "
                "mapped; write it with library operations, or loop)")
        values, bdims = _split(args, level)
        out, bdim = rule(prim, values, bdims, params)
        return _wrap(out, bdim, level)

    def getitem(self, x: Any, index: Any) -> Any:
        """``x[index]`` with batched integer tensors in ``index``: see :func:`take`."""
        return take(x, index)

    def composite(self, rule: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        level = max((a._level for a in args if type(a) is BatchedTensor), default=0)
        if not level:
            return NotImplemented
        values, bdims = _split(args, level)
        out, bdim = rule(values, bdims, dict(kwargs))
        return _wrap(out, bdim, level)


def _split(args: Any, level: int) -> tuple[list[Any], list[Any]]:
    values: list[Any] = []
    bdims: list[Any] = []
    for a in args:
        if type(a) is BatchedTensor and a._level == level:
            values.append(a._value)
            bdims.append(0)
        else:
            values.append(a)
            bdims.append(None)
    return values, bdims


def _wrap(out: Any, bdim: Any, level: int) -> Any:
    if bdim is None:
        return out
    return batched(move_first(out, bdim), level)


DISPATCHER = _Dispatcher()


def push(size: int) -> int:
    """Open a level of batch ``size``; returns it (installs the dispatcher)."""
    _COUNTER[0] += 1
    LEVELS.append((_COUNTER[0], size))
    set_batching(DISPATCHER)
    return _COUNTER[0]


def pop(level: int) -> None:
    """Close ``level`` (the innermost one); the dispatcher goes with the last level."""
    assert LEVELS and LEVELS[-1][0] == level
    LEVELS.pop()
    if not LEVELS:
        set_batching(None)


def take(x: Any, index: Any) -> Any:
    r"""``x[index]`` where ``index`` holds integer tensors batched at some level (JAX's
    gather): on the batch, ``x[b][i_b]`` is ``x_phys[arange(B), i_phys]``, the batch's own
    index array leading the advanced indices, so the batch axis comes first in the result
    whatever NumPy does with the others. ``NotImplemented`` when nothing in ``index`` is
    batched."""
    parts = index if isinstance(index, tuple) else (index,)
    levels = [p._level for p in parts if type(p) is BatchedTensor]
    if not levels:
        return NotImplemented
    level = max(levels)
    if type(x) is BatchedTensor and x._level > level:
        return NotImplemented  # x's own level first: its rule takes this index apart
    size = dict(LEVELS)[level]
    physical_x = x._value if type(x) is BatchedTensor and x._level == level \
        else broadcast_level(as_plain(x), size)
    converted: list[Any] = []
    rank = 0
    for p in parts:
        if type(p) is BatchedTensor and p._level == level:
            if p.dtype.kind not in "iu":
                raise TypeError("vmap: a batched index must hold integers (a batched boolean "
                                "mask would give each example a different shape)")
            array = np.asarray(p._value._data)  # a plain integer Tensor below this level
            rank = max(rank, array.ndim - 1)
            converted.append(array)
        elif isinstance(p, Traced):
            array = np.asarray(p._data)
            rank = max(rank, array.ndim)
            converted.append(array)
        else:
            if isinstance(p, (list, np.ndarray)):
                rank = max(rank, np.ndim(p))
            converted.append(np.asarray(p) if isinstance(p, list) else p)
    batch = np.arange(size).reshape((size,) + (1,) * rank)
    return batched(physical_x[(batch,) + tuple(converted)], level)


# ---------------------------------------------------------------- transforms inside vmap


def peel(value: Any) -> Any:
    """The physical value below every level of ``value``."""
    while type(value) is BatchedTensor:
        value = value._value
    return value


def wrap_levels(physical: Any, levels: list[tuple[int, int]]) -> Any:
    """``physical`` (one axis per level in ``levels``, outermost first) as the BatchedTensor
    an example sees."""
    for level, _ in levels:
        physical = batched(physical, level)
    return physical


def broadcast_level(value: Any, size: int) -> Any:
    """``value`` given a new leading axis of ``size`` (recorded; dispatched at the levels
    ``value`` is batched at)."""
    shape = tuple(value.shape)
    return value.reshape((1,) + shape).expand((size,) + shape)


def physical(value: Any, levels: list[tuple[int, int]]) -> Any:
    """``value`` batched at every level of ``levels`` (broadcast where it is not, recorded)
    and peeled: the physical tensor, one axis per level, outermost first."""
    value = as_plain(value)
    for level, size in reversed(levels):
        if type(value) is BatchedTensor and value._level == level:
            value = value._value
        else:
            value = broadcast_level(value, size)
    return value


def lift(leaf: Any, levels: list[tuple[int, int]]) -> tuple[Any, Any]:
    """A differentiated argument's leaf inside ``vmap``, as a variable batched at every
    active level: returns what ``f`` sees and the physical tensor to differentiate.

    A leaf not batched at some level is broadcast along it (a read-only view), so each
    example gets its own copy to differentiate: per-example gradients. A leaf an outer
    transform differentiates stays connected (the broadcast is recorded).
    """
    if isinstance(leaf, Traced) and leaf.requires_grad:
        target = physical(leaf, levels)
    else:
        base = leaf
        present: list[int] = []
        while type(base) is BatchedTensor:
            present.append(base._level)
            base = base._value
        data = base._data if isinstance(base, Traced) else np.asarray(base)
        if data.dtype.kind != "f":
            data = data.astype(STATE.default_dtype)
        present.reverse()  # outermost first, as the physical axes
        shape = list(data.shape[len(present):])
        view_shape: list[int] = []
        full: list[int] = []
        axis = 0
        for level, size in levels:
            if level in present:
                view_shape.append(data.shape[axis])
                axis += 1
            else:
                view_shape.append(1)
            full.append(size)
        data = np.broadcast_to(data.reshape(view_shape + shape), tuple(full + shape))
        target = wrap(data)
        target.requires_grad = True
    return wrap_levels(target, levels), target


# ---------------------------------------------------------------- gradients under vmap
# (cr.grad and the Jacobians call these from chainrule.transforms, passing the engine's
# backward: they are the transforms' _gradients for the two batched cases)


def lifted_gradients(backward: Any, out: Any, variables: Sequence[Any], cotangent: Any,
                     outer: bool, retain_graph: bool, own: Sequence[Any]) -> list[Any]:
    """∂⟨cotangent, out⟩/∂variable inside ``vmap``, for variables lifted to every active
    level (:func:`lift`): one backward pass over the physical graph, whose examples are
    independent, gives every example's gradient at once."""
    levels = list(LEVELS)
    with enable_grad():
        root = physical(out, levels)
    targets = [peel(v) for v in variables]
    if isinstance(cotangent, Traced):
        with enable_grad():
            cotangent = physical(cotangent, levels)
    else:
        cotangent = np.broadcast_to(np.asarray(cotangent, dtype=root.dtype), root.shape)
    if not root.requires_grad:
        return [wrap_levels(wrap(np.zeros(t.shape, t.dtype)), levels) for t in targets]
    create = outer or reaches_leaf(root, [*targets, *(peel(o) for o in own)]) or (
        isinstance(cotangent, Traced) and cotangent.requires_grad)
    if not create and isinstance(cotangent, Traced):
        cotangent = cotangent._data
    grads = backward(root, cotangent, retain_graph or create, create, targets=targets)
    result = []
    for t, g in zip(targets, grads):
        if g is None:
            g = wrap(np.zeros(t.shape, t.dtype))
        elif not isinstance(g, Tensor):
            g = wrap(np.asarray(g, dtype=t.dtype))
        result.append(wrap_levels(g, levels))
    return result


def cotangent_gradients(backward: Any, out: Any, variables: Sequence[Any], cotangent: Any,
                        outer: bool, own: Sequence[Any]) -> list[Any]:
    """∂⟨cotangent, out⟩/∂variable for a batch of cotangents (``vmap`` over a
    vector-Jacobian product, as ``jacrev`` runs it): the backward pass runs its rules on the
    batched cotangent (recorded, so they see tensors), and each rule's primitives run by
    their batching rules."""
    keep = outer or reaches_leaf(out, [*variables, *own])  # as the unbatched case decides
    grads = backward(out, cotangent, True, True, targets=variables)
    result = []
    for v, g in zip(variables, grads):
        if g is None:
            result.append(wrap(np.zeros(v.shape, v.dtype)))
        else:
            result.append(g if keep else g.detach())
    return result
