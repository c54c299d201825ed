r"""Reductions: ``sum``, and ``max``/``min`` with ties splitting the gradient evenly.

A reduction's gradient is the incoming gradient copied back over the reduced axes:
∂(Σᵢ xᵢ)/∂xⱼ = 1, so every summed element receives g. ``axis`` is already normalised to
a sorted tuple (or ``None``) by the caller.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule.autodiff import Primitive, raw
from chainrule.ops._helpers import keepdims_shape, shape_of
from chainrule.ops.elementwise import mul
from chainrule.ops.shape import broadcast_to, reshape


def expand_reduced(g: Any, shape: tuple[int, ...], axis: Any, keepdims: bool) -> Any:
    """Copy a reduction's gradient back over the reduced axes of ``shape``."""
    if not keepdims:
        g = reshape(g, shape=keepdims_shape(shape, axis))
    return broadcast_to(g, shape=shape)


sum = Primitive(  # noqa: A001 - the API name
    "sum",
    # add.reduce is what np.sum runs, without its Python wrapper (W1 −2 µs per sum)
    lambda x, axis=None, keepdims=False: np.add.reduce(x, axis=axis, keepdims=keepdims),
    [lambda g, out, x, axis=None, keepdims=False: expand_reduced(g, shape_of(x), axis, keepdims)],
    formula="∂(Σᵢ xᵢ)/∂xⱼ = 1",
    linear=True,
)


def _extremum_vjp(g: Any, out: Any, x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    """The gradient goes to the elements equal to the extremum, split evenly among ties."""
    data = np.asarray(raw(x))
    best = np.asarray(raw(out))
    if not keepdims:
        best = best.reshape(keepdims_shape(data.shape, axis))
    winners = data == best
    count = np.maximum(winners.sum(axis=axis, keepdims=True), 1)  # all-nan slices: no winner
    share = (winners / count).astype(data.dtype if data.dtype.kind == "f" else np.float64)
    return mul(expand_reduced(g, data.shape, axis, keepdims), share)


def _check_nonempty(name: str) -> Any:
    def check(x: Any, axis: Any = None, keepdims: bool = False) -> None:
        shape = np.shape(x)
        sizes = shape if axis is None else [shape[a] for a in axis]
        if 0 in sizes:
            raise ValueError(f"{name}: cannot reduce over an empty axis (shape {tuple(shape)})")

    return check


max = Primitive(  # noqa: A001 - the API name
    "max",
    lambda x, axis=None, keepdims=False: np.max(x, axis=axis, keepdims=keepdims),
    [_extremum_vjp],
    formula="∂max(x)/∂xⱼ = 1/k for the k elements equal to the max, else 0",
    check=_check_nonempty("max"),
)

min = Primitive(  # noqa: A001 - the API name
    "min",
    lambda x, axis=None, keepdims=False: np.min(x, axis=axis, keepdims=keepdims),
    [_extremum_vjp],
    formula="∂min(x)/∂xⱼ = 1/k for the k elements equal to the min, else 0",
    check=_check_nonempty("min"),
)
