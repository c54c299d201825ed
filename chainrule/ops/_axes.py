"""Shapes and axes as the op table's forms and rules read them: the shape of an array,
a Traced value or a number, and user axes normalised to sorted non-negative tuples."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


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
