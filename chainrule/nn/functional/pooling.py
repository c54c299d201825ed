r"""Pooling: ``max_pool1d/2d``, ``avg_pool1d/2d`` and ``adaptive_avg_pool2d``, PyTorch's
arguments and output sizes.

A pooling layer slides a window of ``kernel_size`` elements over the last one (1d:
``(N, C, L)`` or ``(C, L)``) or two axes (2d: ``(N, C, H, W)`` or ``(C, H, W)``),
``stride`` apart (default: the kernel size), after ``padding`` on both sides. Along an
axis of length n the output has

.. math:: \Big\lfloor \frac{n + 2p - d(k-1) - 1}{s} \Big\rfloor + 1

positions (the ceiling with ``ceil_mode``, whose last window must still start inside the
input or its left padding); ``padding`` may be at most half of ``kernel_size``.

* Max pooling passes each window's gradient to its maximum — the first one, at a tie,
  as PyTorch (``cr.conventions()``); padding is −∞.
* Average pooling is a window sum divided by the window's count: ∂/∂xⱼ = g/count for each
  window holding xⱼ. Padding is 0 and counts towards the divisor with
  ``count_include_pad`` (the default), except for the part of a ``ceil_mode`` window that
  lies beyond the padding.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, overload

import numpy as np

from chainrule import ops as _ops
from chainrule.autodiff import apply, composite
from chainrule.errors import shape_str
from chainrule.ops.pooling import max_indices, max_pool, max_windows, pool_sum, pooled_size
from chainrule.tensor import Tensor, as_tensor

IntOrTuple = int | Sequence[int]
_LAYOUT = {1: "2-D (C, L) or 3-D (N, C, L)", 2: "3-D (C, H, W) or 4-D (N, C, H, W)"}


def _ints(who: str, name: str, value: Any, nd: int, least: int) -> tuple[int, ...]:
    """An int or a sequence of ``nd`` ints, each at least ``least``, as a tuple."""
    items = (value,) * nd if isinstance(value, (int, np.integer)) else value
    try:
        items = tuple(items)
    except TypeError:
        items = ()
    if len(items) != nd or any(isinstance(v, bool) or not isinstance(v, (int, np.integer))
                               for v in items):
        kind = "an int" if nd == 1 else f"an int or a tuple of {nd} ints"
        raise TypeError(f"{who}: {name} must be {kind}, got {value!r}")
    if any(v < least for v in items):
        relation = "positive" if least else "non-negative"
        raise ValueError(f"{who}: {name} must be {relation}, got {value!r}")
    return tuple(int(v) for v in items)


def _window_params(who: str, x: Tensor, nd: int, kernel_size: Any, stride: Any, padding: Any,
                  dilation: Any, ceil_mode: bool) -> dict[str, Any]:
    """Check a pooling call against the input and return the primitive's parameters."""
    if x.ndim not in (nd + 1, nd + 2):
        raise ValueError(f"{who}: expected a {_LAYOUT[nd]} input, got shape "
                         f"{shape_str(x.shape)}")
    kernel = _ints(who, "kernel_size", kernel_size, nd, 1)
    default_stride = stride is None or (isinstance(stride, list) and not stride)  # PyTorch: []
    strides = kernel if default_stride else _ints(who, "stride", stride, nd, 1)
    pads = _ints(who, "padding", padding, nd, 0)
    dilations = _ints(who, "dilation", dilation, nd, 1)
    if any(2 * p > k for p, k in zip(pads, kernel)):  # PyTorch's rule, dilated or not
        raise ValueError(f"{who}: padding {pads} must be at most half of kernel_size "
                         f"{kernel}")
    lengths = x.shape[-nd:]
    for axis, (n, k, s, p, d) in enumerate(zip(lengths, kernel, strides, pads, dilations)):
        if pooled_size(n, k, s, p, d, ceil_mode) < 1:
            raise ValueError(
                f"{who}: the window spans {d * (k - 1) + 1} positions along axis "
                f"{x.ndim - nd + axis}, but the input of shape {shape_str(x.shape)} has only "
                f"{n + 2 * p} there (padding {p} on each side)")
    return {"kernel": kernel, "stride": strides, "padding": pads, "dilation": dilations,
            "ceil_mode": bool(ceil_mode)}


# ---------------------------------------------------------------- max pooling


def _pool_max(who: str, nd: int, input: Any, kernel_size: Any, stride: Any, padding: Any,
              dilation: Any, ceil_mode: bool, return_indices: bool = False
              ) -> Tensor | tuple[Tensor, Tensor]:
    """Max pooling over the last ``nd`` axes, and with ``return_indices`` where each maximum
    is; errors name ``who`` (a function or a layer)."""
    x = as_tensor(input, who)
    if x.dtype.kind not in "fiu":
        raise TypeError(f"{who}: input must be numeric, got dtype {x.dtype}")
    params = _window_params(who, x, nd, kernel_size, stride, padding, dilation, ceil_mode)
    out = apply(max_pool, (x,), params, checked=True)
    if not return_indices:
        return out
    node = out._node
    # the forward found the positions; a recorded node keeps them, else they are found again
    saved = node.saved if node is not None else max_windows(x.numpy(), **params)[1]
    return out, Tensor(max_indices(x.shape, saved, **params))


@overload
def max_pool1d(input: Any, kernel_size: IntOrTuple, stride: IntOrTuple | None = None,
               padding: IntOrTuple = 0, dilation: IntOrTuple = 1, ceil_mode: bool = False,
               return_indices: Literal[False] = False) -> Tensor: ...
@overload
def max_pool1d(input: Any, kernel_size: IntOrTuple, stride: IntOrTuple | None = None,
               padding: IntOrTuple = 0, dilation: IntOrTuple = 1, ceil_mode: bool = False,
               *, return_indices: Literal[True]) -> tuple[Tensor, Tensor]: ...
def max_pool1d(input: Any, kernel_size: IntOrTuple, stride: IntOrTuple | None = None,
               padding: IntOrTuple = 0, dilation: IntOrTuple = 1, ceil_mode: bool = False,
               return_indices: bool = False) -> Tensor | tuple[Tensor, Tensor]:
    r"""The maximum over windows of the last axis: :math:`y_{n,c,o} = \max_{j<k}
    x_{n,c,\,os + jd - p}`.

    Derivative: :math:`\partial y_o/\partial x_i = 1` for the window's first maximum,
    else 0 (PyTorch's tie rule; see ``cr.conventions()``).

    Args:
        input: ``(N, C, L)`` or ``(C, L)``.
        kernel_size: the window length k.
        stride: the step s between windows (default: ``kernel_size``).
        padding: −∞ added at both ends, at most half of ``kernel_size``.
        dilation: the spacing d between a window's elements.
        ceil_mode: round the output length up instead of down.
        return_indices: also return where each maximum is, as PyTorch: an int64 tensor
            shaped as the output holding the maximum's index into its (N, C) row of the
            input (no gradient flows through it).

    Returns:
        ``(N, C, L_out)`` (or ``(C, L_out)``), the input's dtype; with ``return_indices``,
        ``(values, indices)``.

    >>> import chainrule as cr
    >>> import chainrule.nn.functional as F
    >>> F.max_pool1d(cr.tensor([[[1.0, 3.0, 2.0, 5.0, 4.0]]]), 2).tolist()
    [[[3.0, 5.0]]]
    >>> F.max_pool1d(cr.tensor([[[1.0, 3.0, 2.0, 5.0, 4.0]]]), 2, return_indices=True)[1]
    tensor([[[1, 3]]])
    """
    return _pool_max("max_pool1d", 1, input, kernel_size, stride, padding, dilation, ceil_mode,
                     return_indices)


@overload
def max_pool2d(input: Any, kernel_size: IntOrTuple, stride: IntOrTuple | None = None,
               padding: IntOrTuple = 0, dilation: IntOrTuple = 1, ceil_mode: bool = False,
               return_indices: Literal[False] = False) -> Tensor: ...
@overload
def max_pool2d(input: Any, kernel_size: IntOrTuple, stride: IntOrTuple | None = None,
               padding: IntOrTuple = 0, dilation: IntOrTuple = 1, ceil_mode: bool = False,
               *, return_indices: Literal[True]) -> tuple[Tensor, Tensor]: ...
def max_pool2d(input: Any, kernel_size: IntOrTuple, stride: IntOrTuple | None = None,
               padding: IntOrTuple = 0, dilation: IntOrTuple = 1, ceil_mode: bool = False,
               return_indices: bool = False) -> Tensor | tuple[Tensor, Tensor]:
    r"""The maximum over windows of the last two axes:
    :math:`y_{n,c,o,q} = \max_{i<k_H,\,j<k_W} x_{n,c,\,os_H + id_H - p_H,\,qs_W + jd_W - p_W}`.

    Derivative: 1 for each window's first maximum in row-major order, else 0 (PyTorch's tie
    rule); an input that is the maximum of several windows receives the sum of their
    gradients.

    Args:
        input: ``(N, C, H, W)`` or ``(C, H, W)``.
        kernel_size, stride, padding, dilation: an int or an ``(H, W)`` pair each;
            ``stride`` defaults to ``kernel_size``; padding (−∞) at most half of it.
        ceil_mode: round the output size up instead of down.
        return_indices: also return where each maximum is, as PyTorch: an int64 tensor
            shaped as the output holding the maximum's index into its (N, C) plane of the
            input flattened, ``row·W + column`` (no gradient flows through it).

    Returns:
        ``(N, C, H_out, W_out)`` (or ``(C, H_out, W_out)``), the input's dtype; with
        ``return_indices``, ``(values, indices)``.

    >>> import chainrule as cr
    >>> import chainrule.nn.functional as F
    >>> x = cr.arange(16.0).reshape(1, 1, 4, 4)
    >>> F.max_pool2d(x, 2).tolist()
    [[[[5.0, 7.0], [13.0, 15.0]]]]
    >>> F.max_pool2d(x, 2, return_indices=True)[1].tolist()
    [[[[5, 7], [13, 15]]]]
    """
    return _pool_max("max_pool2d", 2, input, kernel_size, stride, padding, dilation, ceil_mode,
                     return_indices)


# ---------------------------------------------------------------- average pooling


def _counts(n: int, k: int, s: int, p: int, out: int, include_pad: bool) -> np.ndarray:
    """How many elements each window along one axis averages (PyTorch's divisor): the
    window clipped to the padded input, or to the input itself without ``include_pad``."""
    start = np.arange(out) * s - p
    end = np.minimum(start + k, n + p)
    if include_pad:
        return end - start
    return np.minimum(end, n) - np.maximum(start, 0)


def _pool_avg(who: str, nd: int, input: Any, kernel_size: Any, stride: Any, padding: Any,
             ceil_mode: bool, count_include_pad: bool, divisor_override: Any) -> Tensor:
    """Average pooling over the last ``nd`` axes; errors name ``who``."""
    x = as_tensor(input, who)
    if x.dtype.kind != "f":
        raise TypeError(f"{who}: input must be floating point, got dtype {x.dtype}")
    params = _window_params(who, x, nd, kernel_size, stride, padding, 1, ceil_mode)
    del params["dilation"]
    sums = apply(pool_sum, (x,), params, checked=True)
    if divisor_override is not None:
        if isinstance(divisor_override, bool) or not isinstance(divisor_override, int) or \
                divisor_override == 0:
            raise ValueError(f"{who}: divisor_override must be a non-zero int, got "
                             f"{divisor_override!r}")
        return _ops.div(sums, divisor_override)
    counts = [_counts(n, k, s, p, o, bool(count_include_pad))
              for n, k, s, p, o in zip(x.shape[-nd:], params["kernel"], params["stride"],
                                       params["padding"], sums.shape[-nd:])]
    divisor = counts[0] if nd == 1 else np.multiply.outer(counts[0], counts[1])
    if (divisor == divisor.flat[0]).all():
        return _ops.div(sums, int(divisor.flat[0]))
    return _ops.div(sums, divisor.astype(x.dtype))


@composite("avg_pool1d")
def avg_pool1d(input: Any, kernel_size: IntOrTuple, stride: IntOrTuple | None = None,
               padding: IntOrTuple = 0, ceil_mode: bool = False,
               count_include_pad: bool = True) -> Tensor:
    r"""The mean over windows of the last axis: :math:`y_{n,c,o} = \frac1k\sum_{j<k}
    x_{n,c,\,os + j - p}` (zero padding).

    Derivative: :math:`\partial y_o/\partial x_i = 1/\mathrm{count}_o` for each window o
    holding :math:`x_i`; count is k, less the padding with ``count_include_pad=False``,
    less a ``ceil_mode`` window's part beyond the padding.

    Args:
        input: ``(N, C, L)`` or ``(C, L)``, floating point.
        kernel_size: the window length k.
        stride: the step s between windows (default: ``kernel_size``).
        padding: zeros added at both ends, at most half of ``kernel_size``.
        ceil_mode: round the output length up instead of down.
        count_include_pad: count the padding zeros in each window's divisor.

    >>> import chainrule as cr
    >>> import chainrule.nn.functional as F
    >>> F.avg_pool1d(cr.tensor([[[1.0, 3.0, 2.0, 6.0]]]), 2).tolist()
    [[[2.0, 4.0]]]
    """
    return _pool_avg("avg_pool1d", 1, input, kernel_size, stride, padding, ceil_mode,
                    count_include_pad, None)


@composite("avg_pool2d")
def avg_pool2d(input: Any, kernel_size: IntOrTuple, stride: IntOrTuple | None = None,
               padding: IntOrTuple = 0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override: int | None = None
               ) -> Tensor:
    r"""The mean over windows of the last two axes:
    :math:`y_{n,c,o,q} = \frac1{k_Hk_W}\sum_{i<k_H,\,j<k_W} x_{n,c,\,os_H+i-p_H,\,qs_W+j-p_W}`.

    Derivative: :math:`1/\mathrm{count}` to each element of each window (see
    :func:`avg_pool1d`); with ``divisor_override`` the divisor is that number instead.

    Args:
        input: ``(N, C, H, W)`` or ``(C, H, W)``, floating point.
        kernel_size, stride, padding: an int or an ``(H, W)`` pair each; ``stride``
            defaults to ``kernel_size``; padding (zeros) at most half of it.
        ceil_mode: round the output size up instead of down.
        count_include_pad: count the padding zeros in each window's divisor.
        divisor_override: divide every window sum by this instead.

    >>> import chainrule as cr
    >>> import chainrule.nn.functional as F
    >>> F.avg_pool2d(cr.arange(16.0).reshape(1, 1, 4, 4), 2).tolist()
    [[[[2.5, 4.5], [10.5, 12.5]]]]
    """
    return _pool_avg("avg_pool2d", 2, input, kernel_size, stride, padding, ceil_mode,
                    count_include_pad, divisor_override)


# ---------------------------------------------------------------- adaptive average pooling


def _averaging_matrix(n: int, out: int, dtype: np.dtype) -> np.ndarray:
    r"""The (out, n) matrix whose row i averages x[start_i : end_i], PyTorch's windows
    :math:`\lfloor in/out \rfloor` to :math:`\lceil (i+1)n/out \rceil`."""
    i = np.arange(out)
    start = (i * n) // out
    end = -((-(i + 1) * n) // out)
    columns = np.arange(n)
    inside = (columns >= start[:, None]) & (columns < end[:, None])
    return (inside / (end - start)[:, None]).astype(dtype)


def _adaptive_pool_size(who: str, output_size: Any, x: Tensor) -> tuple[int, int]:
    """``output_size`` (an int, or a pair whose ``None`` keeps the input's size) checked
    against a 3-D or 4-D input."""
    if x.ndim not in (3, 4):
        raise ValueError(f"{who}: expected a {_LAYOUT[2]} input, got shape "
                         f"{shape_str(x.shape)}")
    pair = (output_size, output_size) if isinstance(output_size, (int, np.integer)) or \
        output_size is None else tuple(output_size)
    if len(pair) != 2:
        raise TypeError(f"{who}: output_size must be an int or a pair (None keeps a size), "
                        f"got {output_size!r}")
    sizes = tuple(x.shape[-2 + a] if size is None else size for a, size in enumerate(pair))
    if any(isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 1
           for s in sizes):
        raise ValueError(f"{who}: output_size must hold positive ints, got {output_size!r}")
    if x.shape[-2] == 0 or x.shape[-1] == 0:
        raise ValueError(f"{who}: cannot pool an empty input of shape {shape_str(x.shape)}")
    return int(sizes[0]), int(sizes[1])


@composite("adaptive_avg_pool2d")
def adaptive_avg_pool2d(input: Any, output_size: int | Sequence[int | None]) -> Tensor:
    r"""Average pooling to a fixed output size: output (i, j) is the mean of rows
    :math:`\lfloor iH/H_{out}\rfloor` to :math:`\lceil (i+1)H/H_{out}\rceil - 1` and the
    columns found the same way (PyTorch's windows; they may overlap or differ in size).

    Computed as :math:`A_H\,x\,A_W^\top`, :math:`A` averaging matrices, so the derivative
    is :math:`\partial L/\partial x = A_H^\top\, g\, A_W`: each output's gradient spread
    evenly over its window.

    Args:
        input: ``(N, C, H, W)`` or ``(C, H, W)``, floating point.
        output_size: ``(H_out, W_out)``, or an int for both; ``None`` keeps that size.

    >>> import chainrule as cr
    >>> import chainrule.nn.functional as F
    >>> F.adaptive_avg_pool2d(cr.arange(6.0).reshape(1, 2, 3), 1).tolist()
    [[[2.5]]]
    """
    x = as_tensor(input, "adaptive_avg_pool2d")
    return _adaptive_avg(x, output_size, "adaptive_avg_pool2d")


def _adaptive_avg(x: Tensor, output_size: Any, who: str) -> Tensor:
    """:func:`adaptive_avg_pool2d` with errors naming ``who``."""
    if x.dtype.kind != "f":
        raise TypeError(f"{who}: input must be floating point, got dtype {x.dtype}")
    out_h, out_w = _adaptive_pool_size(who, output_size, x)
    h, w = x.shape[-2:]
    if (out_h, out_w) == (1, 1):  # global average pooling: one mean, exactly PyTorch's
        return _ops.mean(x, axis=(-2, -1), keepdims=True)
    if out_h != h:
        x = _ops.matmul(_averaging_matrix(h, out_h, x.dtype), x)
    if out_w != w:
        x = _ops.matmul(x, _averaging_matrix(w, out_w, x.dtype).T)
    return x
