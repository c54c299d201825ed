r"""Reductions: ``sum``, and ``max``/``min`` with ties splitting the gradient evenly.

A reduction's gradient is the incoming gradient copied back over the reduced axes:
∂(Σᵢ xᵢ)/∂xⱼ = 1, so every summed element receives g. The forms normalise ``axis`` to a
sorted tuple (or ``None``) before the primitive sees it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule.autodiff import Primitive, apply, raw
from chainrule.ops._axes import keepdims_shape, normalize_axis, shape_of
from chainrule.ops._batching import shifted
from chainrule.ops._samples import Draw, reduction_samples
from chainrule.ops._table import Convention, Exposure, primitive
from chainrule.ops.broadcasting import broadcast_to
from chainrule.ops.elementwise import mul
from chainrule.ops.shape import reshape

_draw = Draw("reductions")


def expand_reduced(g: Any, shape: tuple[int, ...], axis: Any, keepdims: bool) -> Any:
    """Copy a reduction's gradient back over the reduced axes of ``shape``."""
    if not keepdims:
        g = reshape(g, shape=keepdims_shape(shape, axis))
    return broadcast_to(g, shape=shape)


def _params(x: Any, axis: Any, keepdims: Any, op: str) -> dict[str, Any]:
    """A reduction's parameters: ``axis`` as a sorted tuple of non-negative axes (or None)."""
    axis = None if axis is None else normalize_axis(axis, len(shape_of(x)), op)
    return {"axis": axis, "keepdims": bool(keepdims)}


def _reduce_sample(name: str) -> Any:
    return lambda x, **kw: getattr(x, name)(**kw)


def _sum(x: Any, axis: Any = None, keepdims: Any = False) -> Any:
    # add.reduce is what np.sum runs, without its Python wrapper
    return np.add.reduce(x, axis=axis, keepdims=keepdims)


def _sum_form(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    """Sum over ``axis`` (all axes when None)."""
    return apply(sum, (x,), _params(x, axis, keepdims, "sum"))


sum: Primitive = primitive(  # noqa: A001 - the API name
    "sum", _sum,
    [lambda g, out, x, axis=None, keepdims=False: expand_reduced(g, shape_of(x), axis, keepdims)],
    formula="∂(Σᵢ xᵢ)/∂xⱼ = 1",
    batch=shifted("axis"),
    samples=reduction_samples(_reduce_sample("sum"), _draw.normal),
    expose=Exposure(form=_sum_form, method="sum", function="sum", numpy=(np.sum,)),
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


def _extremum(name: str, reduce: Any, doc: str, convention: Convention) -> Primitive:
    """Declare ``max`` or ``min``: the gradient goes to the elements equal to the result,
    split evenly among ties."""

    def form(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
        return apply(prim, (x,), _params(x, axis, keepdims, name))

    prim = primitive(
        name,
        lambda x, axis=None, keepdims=False: reduce(x, axis=axis, keepdims=keepdims),
        [_extremum_vjp],
        formula=f"∂{name}(x)/∂xⱼ = 1/k for the k elements equal to the {name}, else 0",
        check=_check_nonempty(name),
        batch=shifted("axis"),
        samples=reduction_samples(_reduce_sample(name), _draw.distinct),
        expose=Exposure(form=form, method=name, function=name, doc=doc,
                        numpy=(reduce, getattr(np, f"a{name}"))),
        conventions=[convention],
    )
    return prim


max: Primitive = _extremum(  # noqa: A001 - the API name
    "max", np.max, "Maximum over ``axis``; ties split the gradient evenly.",
    Convention(
        "max ties", "∂max(x)/∂xⱼ = 1/k for each of k tied maxima", 0.5,
        "symmetric in the tied elements (value shown for k = 2); PyTorch's amax and "
        "full-reduction max agree, while max(dim) picks one index",
        "test_max_reduction_splits_ties_evenly",
    ),
)
min: Primitive = _extremum(  # noqa: A001 - the API name
    "min", np.min, "Minimum over ``axis``; ties split the gradient evenly.",
    Convention(
        "min ties", "∂min(x)/∂xⱼ = 1/k for each of k tied minima", 0.5,
        "as for max (value shown for k = 2); PyTorch's amin agrees",
        "test_min_reduction_splits_ties_evenly",
    ),
)
