"""Builders and checks shared by the op table: axis normalisation, broadcasting checks,
and the elementwise builder that un-broadcasts every gradient in one place."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from chainrule.autodiff import Primitive


def shape_of(value: Any) -> tuple[int, ...]:
    """The shape of an array, a Traced value or a Python number (``()``)."""
    return getattr(value, "shape", ())


def normalize_axis(axis: Any, ndim: int, op: str) -> tuple[int, ...] | None:
    """Turn ``axis`` (None, an int or a sequence of ints, negatives allowed) into a sorted
    tuple of non-negative axes, or ``None`` for "all axes".

    Raises:
        TypeError: ``axis`` is not an int, a sequence of ints or None.
        ValueError: an axis is out of range for ``ndim``, or repeated.
    """
    if axis is None:
        return None
    axes = (axis,) if isinstance(axis, (int, np.integer)) else axis
    try:
        axes = tuple(axes)
    except TypeError:
        raise TypeError(
            f"{op}: axis must be an int, a tuple of ints or None, got {type(axis).__name__}"
        ) from None
    result = []
    for a in axes:
        if isinstance(a, bool) or not isinstance(a, (int, np.integer)):
            raise TypeError(f"{op}: axis must be an int, a tuple of ints or None, got {axis!r}")
        if not -ndim <= a < max(ndim, 1) or (ndim == 0 and a not in (0, -1)):
            raise ValueError(
                f"{op}: axis {int(a)} is out of range for a tensor with ndim {ndim} "
                f"(valid: {-ndim} to {ndim - 1})"
                if ndim
                else f"{op}: axis {int(a)} is out of range for a 0-d tensor"
            )
        result.append(int(a) % ndim if ndim else 0)
    if len(set(result)) != len(result):
        raise ValueError(f"{op}: repeated axis in {axis!r}")
    if ndim == 0:
        return ()
    return tuple(sorted(result))


def normalize_one_axis(axis: Any, ndim: int, op: str) -> int:
    """A single axis as a non-negative int (for softmax, concatenate, unsqueeze…)."""
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"{op}: axis must be an int, got {type(axis).__name__}")
    if not -ndim <= axis < ndim:
        raise ValueError(
            f"{op}: axis {int(axis)} is out of range for a tensor with ndim {ndim} "
            f"(valid: {-ndim} to {ndim - 1})"
        )
    return int(axis) % ndim


def keepdims_shape(shape: Sequence[int], axis: tuple[int, ...] | None) -> tuple[int, ...]:
    """The shape a reduction over ``axis`` has with ``keepdims=True``."""
    if axis is None:
        return (1,) * len(shape)
    return tuple(1 if i in axis else n for i, n in enumerate(shape))


def elementwise(
    name: str,
    forward: Callable[..., Any],
    vjps: Sequence[Callable[..., Any] | None],
    formula: str,
    check: Callable[..., None] | None = None,
) -> Primitive:
    r"""Declare an elementwise primitive.

    The rules are written for same-shaped arguments; the engine sums each gradient back
    to its input's shape (``sum_to``), which is the whole of broadcasting's calculus: an
    input copied along an axis receives the sum of the gradients of its copies. (Done in
    the engine's loop, not by a wrapper around every rule: ≈0.3 µs per node, W3.)
    The engine checks that the inputs broadcast together (every primitive with
    ``sum_to``); ``check``, when given, runs after it (dtype rules NumPy would otherwise
    enforce with its own message).
    """
    from chainrule.ops.shape import sum_to

    broadcasts = len(vjps) > 1  # a unary op cannot broadcast
    return Primitive(name, forward, vjps, formula=formula, check=check,
                     sum_to=sum_to if broadcasts else None)
