r"""Convolutions and padding as functions: ``conv1d``, ``conv2d`` and ``pad``, with PyTorch's
arguments and layouts (sequences ``(N, C, L)``, images ``(N, C, H, W)``).

A convolution is a sum of products, so its derivatives are convolutions again (see
:mod:`chainrule.ops.convolution`): with respect to the input, the output gradient slid
through the flipped kernel; with respect to the kernel, the input correlated with the
output gradient.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule import ops as _ops
from chainrule.autodiff import apply, composite
from chainrule.errors import shape_str
from chainrule.tensor import Tensor, as_tensor

Ints = tuple[int, ...]
Pairs = tuple[tuple[int, int], ...]

_SPATIAL = {1: "L", 2: "H, W"}
_MODES = ("constant", "reflect", "replicate", "circular")


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _ints(who: str, name: str, value: Any, nd: int, minimum: int) -> Ints:
    """``value`` (an int, or a tuple of ``nd`` ints) as ``nd`` ints, each ≥ ``minimum``."""
    values = (value,) * nd if _is_int(value) else value
    if (not isinstance(values, (tuple, list)) or len(values) != nd
            or not all(_is_int(v) and v >= minimum for v in values)):
        raise ValueError(f"{who}: {name} must be an int or a tuple of {nd} ints, each "
                         f">= {minimum}, got {value!r}")
    return tuple(int(v) for v in values)


def _padding(who: str, padding: Any, kernel: Ints, stride: Ints, dilation: Ints) -> Pairs:
    r"""``padding`` as one ``(before, after)`` pair per spatial axis. ``"same"`` (stride 1
    only) pads :math:`d(k-1)` in all, half before and the odd one after, as PyTorch."""
    nd = len(kernel)
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0),) * nd
        if padding == "same":
            if any(s != 1 for s in stride):
                raise ValueError(f"{who}: padding='same' needs stride 1 (only then does the "
                                 f"output keep the input's size), got stride {stride}")
            totals = [d * (k - 1) for k, d in zip(kernel, dilation)]
            return tuple((t // 2, t - t // 2) for t in totals)
        raise ValueError(f"{who}: padding must be an int, a tuple of {nd} ints, 'same' or "
                         f"'valid', got {padding!r}")
    return tuple((p, p) for p in _ints(who, "padding", padding, nd, 0))


def _layout(nd: int, batched: bool) -> str:
    return f"({'N, ' if batched else ''}C, {_SPATIAL.get(nd, '*spatial')})"


def _check_input(who: str, nd: int, x: Tensor) -> None:
    if x.ndim not in (nd + 1, nd + 2):
        raise ValueError(f"{who}: expected a {nd + 1}-D {_layout(nd, False)} or {nd + 2}-D "
                         f"{_layout(nd, True)} input, got shape {shape_str(x.shape)}")
    if x.dtype.kind != "f":
        raise TypeError(f"{who}: input must be floating point, got dtype {x.dtype}")


def _convolve(who: str, nd: int, x: Tensor, weight: Tensor, bias: Tensor | None,
              stride: Ints, padding: Pairs, dilation: Ints, groups: int) -> Tensor:
    """The checked convolution of ``x`` (batched or not) plus ``bias``; ``who`` names the
    caller in error messages."""
    _check_input(who, nd, x)
    unbatched = x.ndim == nd + 1
    if unbatched:
        x = _ops.reshape(x, shape=(1, *x.shape))
    _ops.check_conv(who, x.shape, weight.shape, stride, padding, dilation, groups)
    for name, value in (("weight", weight), ("bias", bias)):
        if value is not None and value.dtype.kind != "f":
            raise TypeError(f"{who}: {name} must be floating point, got dtype {value.dtype}")
    if bias is not None and bias.shape != weight.shape[:1]:
        raise ValueError(f"{who}: bias must have shape ({weight.shape[0]},), one entry per "
                         f"output channel, got {shape_str(bias.shape)}")
    params = {"stride": stride, "padding": padding, "dilation": dilation, "groups": groups}
    # everything the primitive's check would look at is checked above, naming the caller
    out = apply(_ops.conv, (x, weight) if bias is None else (x, weight, bias), params,
                checked=True)
    return _ops.reshape(out, shape=out.shape[1:]) if unbatched else out


def _conv_nd(op: str, nd: int, input: Any, weight: Any, bias: Any, stride: Any,
             padding: Any, dilation: Any, groups: Any) -> Tensor:
    x = as_tensor(input, op)
    weight = as_tensor(weight, op)
    bias = None if bias is None else as_tensor(bias, op)
    if weight.ndim != nd + 2:
        raise ValueError(f"{op}: weight must be {nd + 2}-D (out_channels, in_channels/groups, "
                         f"{'kernel' if nd == 1 else 'kH, kW'}), got shape "
                         f"{shape_str(weight.shape)}")
    if weight.dtype.kind != "f":
        raise TypeError(f"{op}: weight must be floating point, got dtype {weight.dtype}")
    if not _is_int(groups) or groups < 1:
        raise ValueError(f"{op}: groups must be a positive int, got {groups!r}")
    stride = _ints(op, "stride", stride, nd, 1)
    dilation = _ints(op, "dilation", dilation, nd, 1)
    pairs = _padding(op, padding, weight.shape[2:], stride, dilation)
    return _convolve(op, nd, x, weight, bias, stride, pairs, dilation, int(groups))


@composite("conv1d")
def conv1d(input: Any, weight: Any, bias: Any = None, stride: Any = 1, padding: Any = 0,
           dilation: Any = 1, groups: int = 1) -> Tensor:
    r"""1-d convolution (PyTorch's cross-correlation) of sequences:
    :math:`y[n, o, l] = b_o + \sum_{c, k} \tilde x[n, c, s\,l + d\,k]\, w[o, c, k]`.

    Gradients: :math:`\partial L/\partial x` is g slid through the flipped kernel (a
    transposed convolution), :math:`\partial L/\partial w[o, c, k] = \sum_{n, l} g[n, o, l]\,
    \tilde x[n, c, s\,l + d\,k]`, :math:`\partial L/\partial b_o = \sum_{n, l} g[n, o, l]`.

    Args:
        input: ``(N, C_in, L)``, or ``(C_in, L)`` unbatched.
        weight: ``(C_out, C_in/groups, k)``.
        bias: ``(C_out,)`` or None.
        stride: an int or a 1-tuple, ≥ 1.
        padding: zeros added at both ends: an int, a 1-tuple, ``"valid"`` (none) or
            ``"same"`` (output length = input length; stride 1 only; an odd total puts the
            extra zero at the end).
        dilation: spacing between kernel taps, ≥ 1.
        groups: split the channels into independent groups (``C_in`` and ``C_out``
            divisible by it).

    Returns:
        ``(N, C_out, L_out)``, :math:`L_{out} = \lfloor (L + 2p - d(k-1) - 1)/s \rfloor + 1`.

    >>> import chainrule as cr
    >>> import chainrule.nn.functional as F
    >>> F.conv1d(cr.tensor([[[1.0, 2.0, 3.0, 4.0]]]), cr.tensor([[[1.0, -1.0]]])).tolist()
    [[[-1.0, -1.0, -1.0]]]
    """
    return _conv_nd("conv1d", 1, input, weight, bias, stride, padding, dilation, groups)


@composite("conv2d")
def conv2d(input: Any, weight: Any, bias: Any = None, stride: Any = 1, padding: Any = 0,
           dilation: Any = 1, groups: int = 1) -> Tensor:
    r"""2-d convolution (PyTorch's cross-correlation) of images:
    :math:`y[n, o, i, j] = b_o + \sum_{c, p, q} \tilde x[n, c, s_h i + d_h p, s_w j + d_w q]
    \, w[o, c, p, q]`.

    Gradients: :math:`\partial L/\partial x` is g slid through the flipped kernel (a
    transposed convolution); :math:`\partial L/\partial w` correlates the input with g;
    :math:`\partial L/\partial b_o = \sum_{n,i,j} g[n, o, i, j]`. Both rules are
    convolutions themselves, so second derivatives work.

    Args:
        input: ``(N, C_in, H, W)``, or ``(C_in, H, W)`` unbatched.
        weight: ``(C_out, C_in/groups, kH, kW)``.
        bias: ``(C_out,)`` or None.
        stride: an int or a pair, ≥ 1.
        padding: zeros added on each side: an int, a pair, ``"valid"`` (none) or ``"same"``
            (output size = input size; stride 1 only; an odd total puts the extra row or
            column at the bottom or right, as PyTorch).
        dilation: spacing between kernel taps, an int or a pair, ≥ 1.
        groups: split the channels into independent groups (``C_in`` and ``C_out``
            divisible by it; ``groups = C_in`` is a depthwise convolution).

    Returns:
        ``(N, C_out, H_out, W_out)``, :math:`H_{out} = \lfloor (H + 2p - d(k-1) - 1)/s
        \rfloor + 1` (likewise W).

    Raises:
        ValueError: the input's channels differ from ``weight.shape[1] * groups``, the
            kernel is larger than the padded input, or a parameter is invalid.

    >>> import chainrule as cr
    >>> import chainrule.nn.functional as F
    >>> F.conv2d(cr.ones(1, 1, 4, 4), cr.ones(1, 1, 3, 3), padding=1)[0, 0].tolist()[0]
    [4.0, 6.0, 6.0, 4.0]
    """
    return _conv_nd("conv2d", 2, input, weight, bias, stride, padding, dilation, groups)


# ---------------------------------------------------------------- padding


def _pad_widths(x: Tensor, pad: Any) -> Pairs:
    """PyTorch's flat pad tuple (last axis first: left, right, top, bottom, …) as one
    ``(before, after)`` pair per axis, first axis first."""
    values = tuple(pad) if isinstance(pad, (tuple, list)) else None
    if values is None or not all(_is_int(v) for v in values) or len(values) % 2:
        raise ValueError(f"pad: pad must be a tuple of ints in (before, after) pairs, last "
                         f"axis first (e.g. (1, 1) or (left, right, top, bottom)), got {pad!r}")
    pairs = len(values) // 2
    if pairs > x.ndim:
        raise ValueError(f"pad: {pairs} (before, after) pairs for a tensor of shape "
                         f"{shape_str(x.shape)}, which has {x.ndim} axes")
    given = [(int(values[2 * i]), int(values[2 * i + 1])) for i in range(pairs)]
    return ((0, 0),) * (x.ndim - pairs) + tuple(reversed(given))


def _pad_axis(x: Tensor, axis: int, before: int, after: int, mode: str) -> Tensor:
    """Pad one axis by slicing and concatenating: the gradient of each copied element
    flows back to the element it copies."""
    n = x.shape[axis]
    limit = n - 1 if mode == "reflect" else n
    if min(before, after) < 0 or max(before, after) > limit or n == 0:
        rule = "less than" if mode == "reflect" else "at most"
        raise ValueError(f"pad: mode={mode!r} needs paddings >= 0 and {rule} the axis' size; "
                         f"axis {axis} has size {n}, padding ({before}, {after})")
    lead = (slice(None),) * axis

    def part(index: slice) -> Tensor:
        return _ops.getitem(x, index=lead + (index,))

    if mode == "reflect":  # mirrored without repeating the edge: x[b], …, x[1] | x | …
        left = part(slice(before, 0, -1))
        right = part(slice(n - 2, n - 2 - after if n - 2 - after >= 0 else None, -1))
    elif mode == "circular":  # wrapped around: x[n-b:] | x | x[:a]
        left, right = part(slice(n - before, n)), part(slice(0, after))
    else:  # replicate: the edge element repeated

        def repeated(edge: int, times: int) -> Tensor:
            shape = x.shape[:axis] + (times,) + x.shape[axis + 1:]
            return _ops.broadcast_to(part(slice(edge, edge + 1)), shape=shape)

        left, right = repeated(0, before), repeated(n - 1, after)
    return _ops.concatenate(left, x, right, axis=axis)


@composite("pad")
def pad(input: Any, pad: Any, mode: str = "constant", value: float = 0.0) -> Tensor:
    r"""Pad the last axes, PyTorch's ``F.pad``: ``pad`` lists (before, after) pairs from the
    **last** axis backwards, e.g. ``(left, right, top, bottom)`` for an image.

    Modes: ``"constant"`` (``value``; a negative width crops), ``"reflect"`` (mirrored
    without repeating the edge), ``"replicate"`` (the edge repeated), ``"circular"``
    (wrapped around). Gradient: each output element's gradient flows back to the input
    element it copies (summed where it was copied several times); padding constants get
    none.

    Args:
        input: any shape.
        pad: a tuple of ints of even length, at most twice ``input.ndim``.
        mode: one of ``"constant"``, ``"reflect"``, ``"replicate"``, ``"circular"``.
        value: the fill value of ``"constant"`` padding.

    >>> import chainrule as cr
    >>> import chainrule.nn.functional as F
    >>> F.pad(cr.tensor([[1.0, 2.0, 3.0]]), (2, 1), mode="reflect").tolist()
    [[3.0, 2.0, 1.0, 2.0, 3.0, 2.0]]
    """
    x = as_tensor(input, "pad")
    widths = _pad_widths(x, pad)
    if mode == "constant":
        return _ops.pad(x, widths=widths, value=float(value))
    if mode not in _MODES:
        raise ValueError(f"pad: mode must be one of {', '.join(map(repr, _MODES))}, "
                         f"got {mode!r}")
    if value:
        raise ValueError(f"pad: mode={mode!r} takes no value (only 'constant' fills with "
                         f"one), got value={value!r}")
    for axis, (before, after) in enumerate(widths):
        if before or after:
            x = _pad_axis(x, axis, before, after, mode)
    return x
