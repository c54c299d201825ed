r"""Pooling primitives: the maximum and the sum over sliding windows of the last axes.

Every window is a strided view of the (padded) input: the window at output position o
along an axis starts at o·s in padded coordinates and takes k elements d apart (kernel
k, stride s, dilation d, padding p on the left and as much as the last window needs on
the right). The forwards loop over the k₁·k₂ kernel offsets, each a vectorised operation
on a strided slice, never over pixels.

* ``max_pool``: out = max over the window. Its gradient goes, whole, to the element that
  attained the maximum: ∂L/∂xⱼ = Σ g over the windows whose arg-max is j (a scatter-add;
  overlapping windows may share an arg-max and then add). At a tie the *first* maximum in
  the window's row-major order receives it, as PyTorch's kernel does (its comparison is a
  strict ``>``). Padding holds −∞ and is never the arg-max; a dilated window that steps
  over the input altogether has the maximum −∞ (PyTorch's value) and passes no gradient.
* ``pool_sum``: out = Σ over the window (zero padding). It is linear; its adjoint
  ``pool_sum_transpose`` adds each window's gradient back onto the window's elements, and
  each is the other's derivative rule, as ``getitem`` and ``scatter_add`` are. Average
  pooling divides it by the window's count (:mod:`chainrule.nn.functional.pooling`).
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from chainrule.autodiff import Primitive, raw
from chainrule.errors import shape_str
from chainrule.ops._axes import shape_of
from chainrule.ops._batching import leading
from chainrule.ops._samples import Draw
from chainrule.ops._table import Convention, Exposure, primitive, sample
from chainrule.ops.elementwise import where
from chainrule.ops.shape import reshape, scatter_add

_draw = Draw("pooling")
Ints = tuple[int, ...]


# ---------------------------------------------------------------- window geometry


def pooled_size(n: int, k: int, s: int, p: int, d: int, ceil_mode: bool) -> int:
    r"""PyTorch's output length: :math:`\lfloor (n + 2p - d(k-1) - 1)/s \rfloor + 1`
    (the ceiling with ``ceil_mode``, whose last window must start inside the input or
    its left padding)."""
    span = d * (k - 1) + 1
    out = (n + 2 * p - span + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and out > 0 and (out - 1) * s >= n + p:
        out -= 1
    return out


def _geometry(x_shape: Ints, kernel: Ints, stride: Ints, padding: Ints, dilation: Ints,
              ceil_mode: bool) -> tuple[Ints, Ints]:
    """The output lengths of the pooled axes, and the padding each needs on its right."""
    outs: list[int] = []
    rights: list[int] = []
    for n, k, s, p, d in zip(x_shape[-len(kernel):], kernel, stride, padding, dilation):
        out = pooled_size(n, k, s, p, d, ceil_mode)
        outs.append(out)
        rights.append(max(0, (out - 1) * s + d * (k - 1) + 1 - n - p))
    return tuple(outs), tuple(rights)


def _padded(x: np.ndarray, padding: Ints, rights: Ints, fill: Any) -> np.ndarray:
    """``x`` with ``fill`` added before (``padding``) and after (``rights``) its last axes."""
    if not any(padding) and not any(rights):
        return x
    nd = len(padding)
    lead = x.shape[:-nd]
    shape = lead + tuple(n + p + r for n, p, r in zip(x.shape[-nd:], padding, rights))
    out = np.full(shape, fill, dtype=x.dtype)
    out[(Ellipsis,) + tuple(slice(p, p + n) for p, n in zip(padding, x.shape[-nd:]))] = x
    return out


def _window_slices(offset: Ints, outs: Ints, stride: Ints, dilation: Ints) -> tuple[Any, ...]:
    """The strided slice of the padded input holding element ``offset`` of every window."""
    return (Ellipsis,) + tuple(slice(j * d, j * d + (o - 1) * s + 1, s)
                               for j, o, s, d in zip(offset, outs, stride, dilation))


def _check_window(op: str, x: Any, kernel: Ints, stride: Ints, padding: Ints,
                  dilation: Ints, ceil_mode: bool) -> None:
    shape = np.shape(x)
    nd = len(kernel)
    if len(shape) < nd:
        raise ValueError(f"{op}: input of shape {shape_str(shape)} has fewer than {nd} axes")
    for name, values, least in (("kernel_size", kernel, 1), ("stride", stride, 1),
                                ("dilation", dilation, 1), ("padding", padding, 0)):
        if len(values) != nd or any(v < least for v in values):
            raise ValueError(f"{op}: {name} must be {nd} ints >= {least}, got {values}")
    outs, _ = _geometry(shape, kernel, stride, padding, dilation, ceil_mode)
    if any(o < 1 for o in outs):
        raise ValueError(f"{op}: the window (kernel_size {kernel}, dilation {dilation}) is "
                         f"larger than the padded input (shape {shape_str(shape)}, padding "
                         f"{padding})")


# ---------------------------------------------------------------- max pooling


def _lowest(dtype: np.dtype) -> Any:
    return -np.inf if dtype.kind == "f" else np.iinfo(dtype).min


def max_windows(x: np.ndarray, kernel: Ints, stride: Ints, padding: Ints, dilation: Ints,
                ceil_mode: bool) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray | None]]:
    """Each window's maximum, and where it is: the position in ``x.ravel()`` of each
    window's first maximum, as PyTorch picks it (a flat integer array, one per output
    element); and a mask of the windows that hold no element of ``x`` (a dilated window can
    step over the input: its maximum is the padding's −∞, and no gradient flows), or None
    when there are none."""
    nd = len(kernel)
    outs, rights = _geometry(x.shape, kernel, stride, padding, dilation, ceil_mode)
    lowest = _lowest(x.dtype)
    xp = _padded(x, padding, rights, lowest)
    lead, spatial = x.shape[:-nd], x.shape[-nd:]
    best = np.full(lead + outs, lowest, dtype=x.dtype)
    # PyTorch starts at each window's first element inside the input: a window of only
    # lowest values (all −∞) keeps that one, never a padded position
    first = [np.maximum(0, -((o * s - p) // d))
             for o, s, p, d in zip(_aranges(outs), stride, padding, dilation)]
    empty_axes = [(j >= k) | (o * s + j * d - p >= n) for j, o, s, d, p, k, n in zip(
        first, _aranges(outs), stride, dilation, padding, kernel, spatial)]
    first = [np.minimum(j, k - 1) for j, k in zip(first, kernel)]
    # which kernel offset holds the maximum so far, in the smallest integer type that fits
    offsets = list(itertools.product(*(range(k) for k in kernel)))
    small = np.min_scalar_type(len(offsets))
    which = np.ravel_multi_index(np.broadcast_arrays(*first), kernel).astype(small)
    which = np.broadcast_to(which, best.shape).copy()
    better = np.empty(best.shape, dtype=bool)
    change = np.empty(best.shape, dtype=small)
    has_nan = x.dtype.kind == "f" and bool(np.isnan(np.add.reduce(x, axis=None)))
    for flat, offset in enumerate(offsets):
        view = xp[_window_slices(offset, outs, stride, dilation)]
        np.greater(view, best, out=better)  # strict: the first of tied maxima stays
        if has_nan:
            better |= np.isnan(view)  # PyTorch takes a nan, so the window's max is nan
        np.maximum(best, view, out=best)  # = view where better (maximum keeps a nan)
        # which ← flat where better, as arithmetic (wrapping in the small type): a masked
        # write would branch on a mask that is random, and mispredict half the time
        np.subtract(flat, which, out=change, dtype=small, casting="unsafe")
        np.multiply(change, better, out=change)
        which += change
    # position in x.ravel() = the window's start + the offset's step (row-major strides)
    index = np.int32 if x.size < 2**31 else np.int64
    strides = [int(np.prod(spatial[a + 1:], dtype=np.int64)) for a in range(nd)]
    step = np.array([sum(j * d * st for j, d, st in zip(offset, dilation, strides))
                     for offset in offsets], dtype=index)
    position = np.take(step, which)
    for o, s, p, st in zip(_aranges(outs), stride, padding, strides):
        position += ((o * s - p) * st).astype(index)
    plane = int(np.prod(spatial, dtype=np.int64))
    position += np.arange(0, x.size, plane, dtype=index).reshape(lead + (1,) * nd)
    empty = np.logical_or.reduce(np.broadcast_arrays(*empty_axes)) if nd > 1 else empty_axes[0]
    if not empty.any():
        return best, (position.reshape(-1), None)
    position[np.broadcast_to(empty, position.shape)] = 0  # no element: any index, g is 0
    return best, (position.reshape(-1), empty)


def max_indices(shape: Ints, saved: tuple[np.ndarray, np.ndarray | None], kernel: Ints,
                stride: Ints, padding: Ints, dilation: Ints, ceil_mode: bool) -> np.ndarray:
    """PyTorch's ``return_indices``: where each window's maximum is, as an index into its
    (N, C) plane of the input flattened (int64, shaped as the output), from the positions
    :func:`max_windows` found (``saved``) for an input of ``shape``. A window holding no
    element of the input gets PyTorch's index too: its first position at or past the
    input's start along each axis (which lies past the input's end)."""
    position, empty = saved
    nd = len(kernel)
    spatial = shape[-nd:]
    outs, _ = _geometry(shape, kernel, stride, padding, dilation, ceil_mode)
    plane = int(np.prod(spatial, dtype=np.int64))
    index = (position.astype(np.int64) % plane).reshape(shape[:-nd] + outs)
    if empty is not None:
        strides = [int(np.prod(spatial[a + 1:], dtype=np.int64)) for a in range(nd)]
        start = sum((o * s - p + np.maximum(0, -((o * s - p) // d)) * d) * st
                    for o, s, p, d, st in zip(_aranges(outs), stride, padding, dilation,
                                              strides))
        mask = np.broadcast_to(empty, index.shape)
        index[mask] = np.broadcast_to(start, index.shape)[mask]
    return index


def _aranges(outs: Ints) -> list[np.ndarray]:
    """0…o−1 along each pooled axis, shaped to broadcast over the pooled axes."""
    nd = len(outs)
    return [np.arange(o).reshape((o,) + (1,) * (nd - 1 - a)) for a, o in enumerate(outs)]


def _max_pool_vjp(g: Any, out: Any, x: Any, kernel: Ints, stride: Ints, padding: Ints,
                  dilation: Ints, ceil_mode: bool, saved: Any = None) -> Any:
    """g added at each window's arg-max (a constant index: max is piecewise linear)."""
    if saved is None:
        saved = max_windows(np.asarray(raw(x)), kernel, stride, padding, dilation,
                            ceil_mode)[1]
    position, empty = saved
    if empty is not None:
        g = where(empty, 0.0, g)  # a window over padding only passes nothing back
    shape = shape_of(x)
    flat = scatter_add(reshape(g, shape=(-1,)), shape=(int(np.prod(shape, dtype=np.int64)),),
                       index=position, dtype=x.dtype)
    return reshape(flat, shape=shape)


def _check_max_pool(x: Any, kernel: Ints, stride: Ints, padding: Ints, dilation: Ints,
                    ceil_mode: bool) -> None:
    if np.asarray(x).dtype.kind not in "fiu":
        raise TypeError(f"max_pool: input must be numeric, got dtype {np.asarray(x).dtype}")
    _check_window("max_pool", x, kernel, stride, padding, dilation, ceil_mode)
    if any(2 * p > k for p, k in zip(padding, kernel)):
        raise ValueError(f"max_pool: padding {padding} must be at most half of kernel_size "
                         f"{kernel}")


def _pool_sample(op: Any) -> Any:
    return lambda x, **params: op(x, **params)


def _geometry_params(k: Ints, s: Ints | None = None, p: Ints | None = None,
                     d: Ints | None = None, ceil_mode: bool = False) -> dict[str, Any]:
    nd = len(k)
    return {"kernel": k, "stride": k if s is None else s, "padding": p or (0,) * nd,
            "dilation": d or (1,) * nd, "ceil_mode": ceil_mode}


_MAX_SAMPLES = [
    ("1d_k2", (2, 3, 6), _geometry_params((2,))),
    ("1d_k3_s2_p1_ceil", (1, 2, 8), _geometry_params((3,), (2,), (1,), ceil_mode=True)),
    ("1d_k2_d3_p1", (2, 1, 9), _geometry_params((2,), (1,), (1,), (3,))),
    ("2d_k2", (2, 2, 4, 6), _geometry_params((2, 2))),
    ("2d_k3_s2_p1", (1, 2, 5, 7), _geometry_params((3, 3), (2, 2), (1, 1))),
    ("2d_k(2,3)_s1_d2_ceil", (1, 1, 6, 7),
     _geometry_params((2, 3), (1, 2), (1, 0), (2, 1), ceil_mode=True)),
    ("2d_unbatched_overlapping", (2, 5, 5), _geometry_params((3, 2), (1, 1))),
]

max_pool: Primitive = primitive(
    "max_pool",
    lambda x, kernel, stride, padding, dilation, ceil_mode: max_windows(
        x, kernel, stride, padding, dilation, ceil_mode),
    [_max_pool_vjp],
    formula="∂max_pool(x)ₒ/∂xⱼ = 1 if xⱼ is window o's first maximum (row-major), else 0",
    check=_check_max_pool,
    batch=leading(),
    saves=True,
    samples=[sample(name, _pool_sample(lambda x, **kw: max_pool(x, **kw)),
                    [_draw.distinct(*shape)], **params)
             for name, shape, params in _MAX_SAMPLES],
    expose=Exposure(internal="F.max_pool1d, F.max_pool2d"),
    conventions=[Convention(
        "max_pool ties", "∂max_pool(x)ₒ/∂xⱼ = 1 for the first maximum of the window in "
        "row-major order, 0 for the other tied maxima", 1.0,
        "PyTorch's choice (its kernel compares with a strict >), so gradients agree "
        "element for element; unlike max's even split, a window routes to one input",
        "test_max_pool_sends_a_tie_to_the_first_maximum",
    )],
)


# ---------------------------------------------------------------- window sums


def _pool_sum(x: np.ndarray, kernel: Ints, stride: Ints, padding: Ints,
              ceil_mode: bool) -> np.ndarray:
    """Σ over each window of the zero-padded input (dilation 1)."""
    ones = (1,) * len(kernel)
    outs, rights = _geometry(x.shape, kernel, stride, padding, ones, ceil_mode)
    xp = _padded(x, padding, rights, 0)
    offsets = itertools.product(*(range(k) for k in kernel))
    out = xp[_window_slices(next(offsets), outs, stride, ones)].copy()
    for offset in offsets:
        out += xp[_window_slices(offset, outs, stride, ones)]
    return out


def _pool_sum_transpose(g: np.ndarray, shape: Ints, kernel: Ints, stride: Ints,
                        padding: Ints, ceil_mode: bool) -> np.ndarray:
    """Each window's value added onto the window's elements (the adjoint of the window
    sum): zeros of the padded shape, the windows added in, the padding cut off."""
    ones = (1,) * len(kernel)
    outs, rights = _geometry(shape, kernel, stride, padding, ones, ceil_mode)
    nd = len(kernel)
    spatial = tuple(n + p + r for n, p, r in zip(shape[-nd:], padding, rights))
    total = np.zeros(tuple(shape[:-nd]) + spatial, dtype=g.dtype)
    for offset in itertools.product(*(range(k) for k in kernel)):
        total[_window_slices(offset, outs, stride, ones)] += g
    inside = (Ellipsis,) + tuple(slice(p, p + n) for p, n in zip(padding, shape[-nd:]))
    return np.ascontiguousarray(total[inside])


def _check_pool_sum(x: Any, kernel: Ints, stride: Ints, padding: Ints,
                    ceil_mode: bool) -> None:
    _check_window("pool_sum", x, kernel, stride, padding, (1,) * len(kernel), ceil_mode)


def _check_pool_sum_transpose(g: Any, shape: Ints, kernel: Ints, stride: Ints,
                              padding: Ints, ceil_mode: bool) -> None:
    ones = (1,) * len(kernel)
    outs, _ = _geometry(shape, kernel, stride, padding, ones, ceil_mode)
    expected = tuple(shape[:-len(kernel)]) + outs
    if np.shape(g) != expected:
        raise ValueError(f"pool_sum_transpose: gradient of shape {shape_str(np.shape(g))} "
                         f"for windows of an input of shape {shape_str(shape)}, expected "
                         f"{shape_str(expected)}")


def _sum_params(k: Ints, s: Ints | None = None, p: Ints | None = None,
                ceil_mode: bool = False) -> dict[str, Any]:
    params = _geometry_params(k, s, p, None, ceil_mode)
    del params["dilation"]
    return params


_SUM_SAMPLES = [
    ("1d_k2", (2, 3, 6), _sum_params((2,))),
    ("1d_k3_s2_p1_ceil", (1, 2, 8), _sum_params((3,), (2,), (1,), ceil_mode=True)),
    ("2d_k2", (2, 1, 4, 4), _sum_params((2, 2))),
    ("2d_k3_s(2,1)_p1", (1, 2, 5, 6), _sum_params((3, 3), (2, 1), (1, 1))),
    ("2d_k(3,2)_s2_ceil", (1, 1, 6, 5), _sum_params((3, 2), (2, 2), (1, 0), ceil_mode=True)),
]

pool_sum: Primitive = primitive(
    "pool_sum",
    _pool_sum,
    [lambda g, out, x, kernel, stride, padding, ceil_mode: pool_sum_transpose(
        g, shape=shape_of(x), kernel=kernel, stride=stride, padding=padding,
        ceil_mode=ceil_mode)],
    formula="∂(Σ_{j∈window o} xⱼ)/∂xⱼ = 1 (g spread back over each window)",
    check=_check_pool_sum,
    batch=leading(),
    samples=[sample(name, _pool_sample(lambda x, **kw: pool_sum(x, **kw)),
                    [_draw.normal(*shape)], **params)
             for name, shape, params in _SUM_SAMPLES],
    expose=Exposure(internal="F.avg_pool1d, F.avg_pool2d"),
)


def _transpose_sample(name: str, shape: Ints, params: dict[str, Any]) -> Any:
    ones = (1,) * len(params["kernel"])
    outs, _ = _geometry(shape, params["kernel"], params["stride"], params["padding"], ones,
                        params["ceil_mode"])
    g = _draw.normal(*(shape[:-len(outs)] + outs))
    return sample(name, _pool_sample(lambda x, **kw: pool_sum_transpose(x, **kw)), [g],
                  shape=shape, **params)


pool_sum_transpose: Primitive = primitive(
    "pool_sum_transpose",
    _pool_sum_transpose,
    [lambda g, out, y, shape, kernel, stride, padding, ceil_mode: pool_sum(
        g, kernel=kernel, stride=stride, padding=padding, ceil_mode=ceil_mode)],
    formula="∂/∂y (y spread onto each window) = the window sum of the gradient",
    check=_check_pool_sum_transpose,
    batch=leading("shape"),
    samples=[_transpose_sample(name, shape, params) for name, shape, params in _SUM_SAMPLES],
    expose=Exposure(internal="the gradient of average pooling"),
)
