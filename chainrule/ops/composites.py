r"""Operations built from primitives, with no derivative rule of their own.

Their gradients follow from the chain rule through the primitives they are made of, so
they need no test of their own rule, only of their values; each is written in a form
that is stable for any finite input.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any

import numpy as np

from chainrule._convert import shape_args
from chainrule.autodiff import raw
from chainrule.errors import shape_str
from chainrule.ops._axes import normalize_axis, normalize_one_axis, shape_of
from chainrule.ops._batching import shift_axes
from chainrule.ops._samples import Draw, reduction_samples
from chainrule.ops._table import Exposure, composite_op, sample
from chainrule.ops.broadcasting import broadcast_to
from chainrule.ops.elementwise import add, div, exp, log, mul, sqrt, sub, where
from chainrule.ops.reductions import sum as reduce_sum
from chainrule.ops.shape import concatenate, reshape, transpose

_draw = Draw("composites")


def _method_sample(name: str) -> Any:
    """A sample callable: the Tensor method ``name`` with the sample's parameters."""
    return lambda x, **kw: getattr(x, name)(**kw)


def _exposure(name: str, doc: str, numpy: tuple[Any, ...] = ()) -> Exposure:
    return Exposure(method=name, function=name, doc=doc, numpy=numpy)


def _count(shape: tuple[int, ...], axis: tuple[int, ...] | None) -> int:
    if axis is None:
        return int(np.prod(shape, dtype=np.int64))
    return int(np.prod([shape[a] for a in axis], dtype=np.int64))


@composite_op("mean", samples=reduction_samples(_method_sample("mean"), _draw.normal),
              expose=_exposure("mean", "Mean over ``axis``.", (np.mean,)))
def mean(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    r"""Arithmetic mean :math:`\frac1n\sum_i x_i` over ``axis``; ∂/∂xᵢ = 1/n."""
    axis = normalize_axis(axis, len(shape_of(x)), "mean")
    n = _count(shape_of(x), axis)
    return div(reduce_sum(x, axis=axis, keepdims=bool(keepdims)), n)


@composite_op("var", samples=[
    *reduction_samples(_method_sample("var"), _draw.normal, zero_d=False),
    sample("ddof=1_axis=1", _method_sample("var"), [_draw.normal(3, 4)],
           axis=1, ddof=1, keepdims=False),
], expose=_exposure("var", "Variance over ``axis`` (ddof=0 by default, as NumPy).", (np.var,)))
def var(x: Any, axis: Any = None, ddof: int = 0, keepdims: bool = False) -> Any:
    r"""Variance :math:`\frac{1}{n-\mathrm{ddof}}\sum_i (x_i-\bar x)^2` (NumPy's ``ddof=0``).

    ∂/∂xᵢ = 2(xᵢ − x̄)/(n − ddof) (the terms through x̄ sum to zero).
    """
    axis = normalize_axis(axis, len(shape_of(x)), "var")
    n = _count(shape_of(x), axis)
    centred = sub(x, mean(x, axis=axis, keepdims=True))
    return div(reduce_sum(mul(centred, centred), axis=axis, keepdims=bool(keepdims)), n - ddof)


def _reduction_batch(name: str) -> Any:
    """The rule of a composite reduction that reads values (a shift, a scale): the same
    composite on the physical value, its axes shifted past the batch axis."""

    def rule(values: list[Any], bdims: list[Any], kwargs: dict[str, Any]) -> tuple[Any, Any]:
        body = COMPOSITE_BODIES[name]
        bound = inspect.signature(body).bind(*values, **kwargs).arguments
        x = bound.pop("x")
        ndim = len(shape_of(x)) - 1
        axis = normalize_axis(bound.pop("axis", None), ndim, name)
        return body(x, axis=shift_axes(axis, ndim), **bound), 0

    rule.__doc__ = f"{name}[b] = {name} of the batch over the shifted axes."
    return rule


def _log_softmax_batch(values: list[Any], bdims: list[Any], kwargs: dict[str, Any]
                       ) -> tuple[Any, Any]:
    """log_softmax[b] = log_softmax of the batch along the shifted axis."""
    bound = inspect.signature(COMPOSITE_BODIES["log_softmax"]).bind(*values, **kwargs).arguments
    x = bound["x"]
    ndim = len(shape_of(x)) - 1
    axis = normalize_one_axis(bound.get("axis", -1), ndim, "log_softmax")
    return COMPOSITE_BODIES["log_softmax"](x, axis=axis + 1), 0


#: The composites with a batching rule: what their rules run on the physical batch (again
#: through the rule when that is batched at an enclosing level, under nested vmaps).
COMPOSITE_BODIES: dict[str, Any] = {}


@composite_op("std", batch=_reduction_batch("std"), samples=[
    *reduction_samples(_method_sample("std"), _draw.normal, zero_d=False),
    sample("ddof=1_all", _method_sample("std"), [_draw.normal(3, 4)],
           axis=None, ddof=1, keepdims=False),
], expose=_exposure("std", "Standard deviation over ``axis`` (ddof=0 by default).", (np.std,)))
def std(x: Any, axis: Any = None, ddof: int = 0, keepdims: bool = False) -> Any:
    r"""Standard deviation :math:`\sqrt{\mathrm{var}(x)}`.

    ∂/∂xᵢ = (xᵢ − x̄)/((n − ddof)·std). Where the spread is 0 this is 0/0; like PyTorch we
    take it as 0 (sqrt alone would give ∞·0 = nan), by taking the root only where var > 0.

    A very small or very large spread is computed as s·std(x/s), s the largest power of
    two <= max|xᵢ − x̄| (a constant: value and gradient are unchanged, the scaling is
    exact). The squares then neither underflow (float32 std([0, 1e-30]) would be 0, with
    gradient 0) nor overflow (float32 std([1e20, −1e20]) would be inf).
    """
    axes = normalize_axis(axis, len(shape_of(x)), "std")
    keepdims = bool(keepdims)
    scale = _spread_scale(x, axes)
    if scale is None:
        return _root_of_var(x, axes, ddof, keepdims)
    root = mul(_root_of_var(div(x, scale), axes, ddof, True), scale)
    if keepdims:
        return root
    reduced = tuple(n for i, n in enumerate(shape_of(x)) if axes is not None and i not in axes)
    return reshape(root, shape=reduced)


COMPOSITE_BODIES["std"] = std


def _spread_scale(x: Any, axes: tuple[int, ...] | None) -> np.ndarray | None:
    """A power of two near max|x − x̄| per slice (kept dims), or None when no slice needs
    one (spreads within 2^±40, whose squares are safe in float32)."""
    data = np.asarray(raw(x))
    if data.size == 0 or data.dtype.kind != "f":
        return None
    with np.errstate(all="ignore"):  # inf/nan inputs: those slices are left unscaled
        centred = data - np.mean(data, axis=axes, keepdims=True)
        spread = np.max(np.abs(centred), axis=axes, keepdims=True)
    usable = np.isfinite(spread) & (spread > 0)
    if not (usable & ((spread > 2.0**40) | (spread < 2.0**-40))).any():
        return None
    # spread = f·2^e with f in [½, 1): s = 2^(e−1) <= spread, so s never overflows
    _, exponent = np.frexp(np.where(usable, spread, 1.0))
    return np.ldexp(np.ones_like(spread), np.where(usable, exponent - 1, 0)).astype(data.dtype)


def _root_of_var(x: Any, axes: tuple[int, ...] | None, ddof: int, keepdims: bool) -> Any:
    variance = var(x, axis=axes, ddof=ddof, keepdims=keepdims)
    # != 0 rather than > 0: a nan variance (nan in the input) must stay nan, not become 0
    spread = np.asarray(raw(variance)) != 0
    if spread.all():
        return sqrt(variance)
    # the root of 1 where var = 0, then masked to 0: value 0 and gradient 0, no ∞ anywhere
    return mul(sqrt(where(spread, variance, 1.0)), spread)


def _max_shift(x: Any, axis: tuple[int, ...] | None) -> np.ndarray:
    """max(x) over ``axis`` (kept), a constant: 0 for slices whose max is not finite."""
    shift = np.max(raw(x), axis=axis, keepdims=True)
    return np.where(np.isfinite(shift), shift, 0)  # all −∞ (or ±∞) slices: no shift


@composite_op("logsumexp", batch=_reduction_batch("logsumexp"),
              samples=reduction_samples(_method_sample("logsumexp"), _draw.normal),
              expose=_exposure("logsumexp", "log Σ exp(x) over ``axis``, shifted by the max."))
def logsumexp(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    r"""Stable :math:`\log\sum_i e^{x_i} = m + \log\sum_i e^{x_i - m}`, m = max(x).

    Shifting by the max keeps every exponent ≤ 0, so nothing overflows; the shift is a
    constant (its gradient contributions cancel), so ∂/∂xᵢ = softmax(x)ᵢ.
    """
    axis = normalize_axis(axis, len(shape_of(x)), "logsumexp")
    shift = _max_shift(x, axis)
    with np.errstate(over="ignore"):  # x − m < −finfo.max is −inf, and e^(−inf) = 0 is right
        shifted = sub(x, shift)
    total = add(log(reduce_sum(exp(shifted), axis=axis, keepdims=True)), shift)
    keepdims = bool(keepdims)
    if keepdims:
        return total
    reduced = tuple(n for i, n in enumerate(shape_of(x)) if axis is not None and i not in axis)
    return reshape(total, shape=reduced)


COMPOSITE_BODIES["logsumexp"] = logsumexp


def _softmax_samples(name: str) -> list[Any]:
    fn = _method_sample(name)
    return [
        sample("axis=-1", fn, [_draw.normal(3, 4)], axis=-1),
        sample("axis=0", fn, [_draw.normal(3, 4)], axis=0),
        sample("axis=1_of_3d", fn, [_draw.normal(2, 3, 2)], axis=1),
        sample("large_spread", fn, [np.array([[-30.0, 0.0, 2.0, 25.0]])], axis=-1),
    ]


@composite_op("log_softmax", batch=_log_softmax_batch, samples=_softmax_samples("log_softmax"),
              expose=_exposure("log_softmax", "x − logsumexp(x) along ``axis``."))
def log_softmax(x: Any, axis: int = -1) -> Any:
    r""":math:`\log\mathrm{softmax}(x)_i = (x_i - m) - \log\sum_j e^{x_j - m}`, m = max(x).

    Any constant m gives the same value and gradient, ∂/∂xⱼ = δᵢⱼ − softmax(x)ⱼ; the max keeps
    every exponent ≤ 0. Subtracting m first, rather than x − logsumexp(x), matters in
    float32: logsumexp(x) ≈ 10⁴ carries an absolute rounding error of 5·10⁻⁴ that the
    small difference x − logsumexp(x) would inherit.
    """
    axis = normalize_one_axis(axis, len(shape_of(x)), "log_softmax")
    with np.errstate(over="ignore"):  # x − m < −finfo.max is −inf, and e^(−inf) = 0 is right
        shifted = sub(x, _max_shift(x, (axis,)))
    return sub(shifted, log(reduce_sum(exp(shifted), axis=(axis,), keepdims=True)))


COMPOSITE_BODIES["log_softmax"] = log_softmax


@composite_op("squeeze", scoped=False, samples=[
    sample(f"axis={axis}" if axis is not None else "all", lambda x, axis: x.squeeze(axis),
           [_draw.normal(1, 3, 1)], axis=axis)
    for axis in (None, 0, -1, (0, 2))
], expose=_exposure("squeeze", "Remove axes of length one.", (np.squeeze,)))
def squeeze(x: Any, axis: Any = None) -> Any:
    """Remove axes of length one (all of them when ``axis`` is None)."""
    shape = shape_of(x)
    axes = normalize_axis(axis, len(shape), "squeeze")
    if axes is None:
        axes = tuple(i for i, n in enumerate(shape) if n == 1)
    for a in axes:
        if shape[a] != 1:
            raise ValueError(
                f"squeeze: cannot squeeze axis {a} of size {shape[a]} "
                f"(tensor of shape {shape_str(shape)}); only axes of length 1 can be removed"
            )
    return reshape(x, shape=tuple(n for i, n in enumerate(shape) if i not in axes))


@composite_op("unsqueeze", scoped=False, samples=[
    sample("axis=0", lambda x, axis: x.unsqueeze(axis), [_draw.normal(2, 3)], axis=0),
    sample("axis=-1", lambda x, axis: x.unsqueeze(axis), [_draw.normal(2, 3)], axis=-1),
    sample("axis=1", lambda x, axis: x.unsqueeze(axis), [_draw.normal(2, 3)], axis=1),
    sample("0-d", lambda x, axis: x.unsqueeze(axis), [_draw.normal()], axis=0),
], expose=_exposure("unsqueeze", "Insert an axis of length one.", (np.expand_dims,)))
def unsqueeze(x: Any, axis: int) -> Any:
    """Insert an axis of length one at position ``axis`` (−ndim−1 ≤ axis ≤ ndim)."""
    shape = shape_of(x)
    axis = normalize_one_axis(axis, len(shape) + 1, "unsqueeze")
    return reshape(x, shape=shape[:axis] + (1,) + shape[axis:])


@composite_op("swapaxes", scoped=False, samples=[
    sample("0,2", lambda x, axis1, axis2: x.swapaxes(axis1, axis2), [_draw.normal(2, 3, 4)],
           axis1=0, axis2=2),
    sample("-1,0", lambda x, axis1, axis2: x.swapaxes(axis1, axis2), [_draw.normal(2, 3)],
           axis1=-1, axis2=0),
], expose=_exposure("swapaxes", "Exchange two axes.", (np.swapaxes,)))
def swapaxes(x: Any, axis1: int, axis2: int) -> Any:
    """Exchange two axes (NumPy's ``swapaxes``)."""
    ndim = len(shape_of(x))
    a = normalize_one_axis(axis1, ndim, "swapaxes")
    b = normalize_one_axis(axis2, ndim, "swapaxes")
    axes = list(range(ndim))
    axes[a], axes[b] = axes[b], axes[a]
    return transpose(x, axes=tuple(axes))


def _expand_form(x: Any, *shape: Any) -> Any:
    """A broadcasting view of ``shape`` (``-1`` keeps an axis); ``expand(shape)`` too."""
    return expand(x, shape_args("expand", shape))


def _expand_sample(x: Any, shape: tuple[int, ...]) -> Any:
    return x.expand(*shape)


@composite_op("expand", scoped=False, samples=[
    sample("(3,1)->(2,3,4)", _expand_sample, [_draw.normal(3, 1)], shape=(2, 3, 4)),
    sample("(3,1)->(-1,4)", _expand_sample, [_draw.normal(3, 1)], shape=(-1, 4)),
    sample("0-d->(2,2)", _expand_sample, [_draw.normal()], shape=(2, 2)),
], expose=Exposure(form=_expand_form, method="expand", function="expand",
                   doc="Broadcast to a shape without copying.", numpy=(np.broadcast_to,)))
def expand(x: Any, shape: Sequence[int]) -> Any:
    """Broadcast to ``shape`` without copying; ``-1`` keeps that axis's size (PyTorch)."""
    shape = tuple(int(n) for n in shape)
    own = shape_of(x)
    lead = len(shape) - len(own)
    resolved = tuple(
        own[i - lead] if n == -1 and i >= lead else n for i, n in enumerate(shape)
    )
    return broadcast_to(x, shape=resolved)


def _stack_sample(*xs: Any, axis: int) -> Any:
    return stack(xs, axis=axis)


@composite_op("stack", scoped=False, samples=[
    sample("axis=0", _stack_sample, [_draw.normal(2, 3), _draw.normal(2, 3)], axis=0),
    sample("axis=-1", _stack_sample, [_draw.normal(2, 3), _draw.normal(2, 3),
                                      _draw.normal(2, 3)], axis=-1),
    sample("0-d", _stack_sample, [_draw.normal(), _draw.normal()], axis=0),
    sample("axis=1_of_(2,3,2)", _stack_sample, [_draw.normal(2, 3, 2), _draw.normal(2, 3, 2),
                                                _draw.normal(2, 3, 2)], axis=1),
], expose=Exposure(function="stack", operands="sequence", numpy=(np.stack,)))
def stack(tensors: Sequence[Any], axis: int = 0) -> Any:
    """Join tensors of one shape along a new axis."""
    if not tensors:
        raise ValueError("stack: expected at least one tensor")
    shapes = {shape_of(t) for t in tensors}
    if len(shapes) > 1:
        described = ", ".join(shape_str(s) for s in sorted(shapes))
        raise ValueError(f"stack: all tensors must have the same shape, got {described}")
    shape = shape_of(tensors[0])
    ndim = len(shape)
    axis = normalize_one_axis(axis, ndim + 1, "stack")
    if axis < ndim:
        # joined along the existing axis, whose index is then k·n + i, and that axis split
        # into (k, i): two nodes however many tensors, not one per tensor and a join
        joined = concatenate(*tensors, axis=axis)
        return reshape(joined, shape=(*shape[:axis], len(tensors), *shape[axis:]))
    return concatenate(*[unsqueeze(t, axis) for t in tensors], axis=axis)

