r"""Batching rules: how each primitive runs on a whole batch at once (``cr.vmap``).

Under ``vmap`` every batched value carries its batch axis first. A rule receives the
primitive, the *physical* values (the batched ones with that leading axis of size B, the others as
they are), their batch dims (``0`` or ``None``) and the primitive's parameters, and
returns ``(out, out_bdim)``: the batched result, computed by applying primitives to the
physical values, and where its batch axis is (``0``, or ``None`` when it has none).

Because a rule is written with primitives, its result is recorded like any other
computation: ``grad(vmap(f))`` differentiates through the rules, and a rule is correct for
every order of derivative as soon as its forward value is.

The families here:

* :func:`elementwise`: for ``f(x₁, …, xₙ)`` acting element by element with broadcasting,
  the batched operands are given as many length-1 axes after the batch axis as the
  widest operand has more axes, so that broadcasting from the right never meets the
  batch axis; then f runs once on the physical arrays.
* :func:`shifted`: for an op whose parameters name axes (reductions, softmax, pad…),
  the same op on the physical value with every axis shifted past the batch axis.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from chainrule.autodiff import Traced
from chainrule.ops._axes import shape_of

BatchRule = Callable[[Any, list[Any], list[Any], dict[str, Any]], tuple[Any, Any]]


def batch_size(values: Sequence[Any], bdims: Sequence[Any]) -> int:
    """B: the length of the leading axis of the (first) batched value."""
    for v, b in zip(values, bdims):
        if b is not None:
            return int(shape_of(v)[0])
    raise ValueError("batching rule called without a batched value")


def logical_shape(value: Any, bdim: Any) -> tuple[int, ...]:
    """The shape one example has: the physical shape less the batch axis."""
    shape = shape_of(value)
    return shape if bdim is None else shape[1:]


def with_rank(value: Any, bdim: Any, rank: int) -> Any:
    """A batched value (batch axis first) given length-1 axes after the batch axis so that
    its example has ``rank`` axes; an unbatched value as it is (broadcasting from the right
    gives it the leading axes). A batched value is always a Tensor: its methods are the
    primitives'."""
    if bdim is None:
        return value
    shape = shape_of(value)
    missing = rank - (len(shape) - 1)
    if missing <= 0:
        return value
    return value.reshape((shape[0],) + (1,) * missing + shape[1:])


def materialize(value: Any, bdim: Any, size: int) -> Any:
    """``value`` with a batch axis of ``size`` first: a batched value as it is, an unbatched
    one broadcast (a read-only view, no copy; recorded for a Tensor)."""
    if bdim is not None:
        return value
    shape = (size,) + shape_of(value)
    if isinstance(value, Traced):
        return value.expand(shape)  # type: ignore[attr-defined]
    return np.broadcast_to(np.asarray(value), shape)


def elementwise(prim: Any, values: list[Any], bdims: list[Any], params: dict[str, Any]
                ) -> tuple[Any, Any]:
    """f(x₁…xₙ)[b] = f(x₁[b]…xₙ[b]) for an elementwise op (any number of operands, NumPy
    broadcasting): the batched operands' examples aligned to the widest rank, then the op
    run once."""
    rank = max(len(logical_shape(v, b)) for v, b in zip(values, bdims))
    aligned = [with_rank(v, b, rank) for v, b in zip(values, bdims)]
    return prim(*aligned, **params), 0


def shift_axes(axis: Any, ndim: int) -> Any:
    """A normalised ``axis`` (None, an int or a tuple of non-negative ints) for one example
    of ``ndim`` axes, as the physical axes past the batch axis (None: all but the batch)."""
    if axis is None:
        return tuple(range(1, ndim + 1))
    if isinstance(axis, tuple):
        return tuple(a + 1 for a in axis)
    return axis + 1


def shifted(*names: str) -> BatchRule:
    """The rule of a one-input op whose parameters ``names`` hold axes (already normalised
    to non-negative ints or tuples, or None for all axes): the op on the physical value with
    those axes shifted past the batch axis."""

    def rule(prim: Any, values: list[Any], bdims: list[Any], params: dict[str, Any]
             ) -> tuple[Any, Any]:
        (x,) = values
        ndim = len(shape_of(x)) - 1
        moved = dict(params)
        for name in names:
            if name in moved:
                moved[name] = shift_axes(moved[name], ndim)
        return prim(x, **moved), 0

    rule.__doc__ = f"op[b] = op on the batch with its axes ({', '.join(names)}) shifted by one."
    return rule


def leading(*shape_params: str) -> BatchRule:
    """The rule of a one-input op that acts on trailing axes and takes any leading ones
    (pooling, the recurrent cells): the batch axis is one more leading axis; shape
    parameters named in ``shape_params`` get the batch size in front."""

    def rule(prim: Any, values: list[Any], bdims: list[Any], params: dict[str, Any]
             ) -> tuple[Any, Any]:
        size = batch_size(values, bdims)
        moved = dict(params)
        for name in shape_params:
            moved[name] = (size,) + tuple(moved[name])
        return prim(*values, **moved), 0

    rule.__doc__ = "op[b] = op on the batch: the batch axis is one more leading axis."
    return rule
