r"""N-d convolution (PyTorch's cross-correlation) as three primitives that are closed under
differentiation, as PyTorch's ``convolution_backward``; and ``pad``, the constant padding
of ``F.pad``.

For an input x of shape (N, C, *S), a kernel w of shape (O, C/G, *K) and G groups,

.. math:: \mathrm{conv}(x, w)[n, o, p] = \sum_{c \in \mathrm{group}(o)} \sum_k
          \tilde x[n, c, s\,p + d\,k]\; w[o, c, k]

with :math:`\tilde x` the zero-padded input, s the stride and d the dilation. The sum is
bilinear in (x, w), so each gradient is the other operand applied to g:

* ∂L/∂x = ``conv_input_grad(g, w)``: g scattered back through the kernel (a *transposed*
  convolution, the flipped kernel slid over g), cropped to x's shape;
* ∂L/∂w = ``conv_weight_grad(x, g)``: the correlation of the input with the output
  gradient, Σ_{n,p} g[n, o, p] x̃[n, c, s p + d k].

Both are bilinear too, and their rules are the same three operations (the adjoint of each
slot): for ``conv_input_grad(g, w)`` with incoming gradient h (shaped like x),
∂/∂g = conv(h, w) and ∂/∂w = conv_weight_grad(h, g); for ``conv_weight_grad(x, g)`` with
h shaped like w, ∂/∂x = conv_input_grad(g, h) and ∂/∂g = conv(x, h). So derivatives of
any order through a convolution are convolutions.

Each is im2col and one GEMM (the transposed convolution: a GEMM, then col2im, a loop over
the kernel's taps adding slices), no Python loop over pixels: the NumPy kernels are in
:mod:`chainrule.ops._im2col`.

Parameters, already resolved by ``F.conv1d``/``F.conv2d``: ``stride`` and ``dilation``
(one int per spatial axis), ``padding`` (one ``(before, after)`` pair per spatial axis)
and ``groups``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule.autodiff import Primitive
from chainrule.errors import shape_str
from chainrule.ops import _im2col
from chainrule.ops._axes import shape_of
from chainrule.ops._batching import batch_size, materialize
from chainrule.ops._im2col import conv_output_size
from chainrule.ops._samples import Draw
from chainrule.ops._table import Exposure, primitive, sample
from chainrule.ops.broadcasting import sum_to
from chainrule.ops.shape import reshape, transpose

Ints = tuple[int, ...]
Pairs = tuple[tuple[int, int], ...]

_draw = Draw("convolution")

# ---------------------------------------------------------------- geometry and checks


def check_conv(op: str, x_shape: Ints, w_shape: Ints, stride: Ints, padding: Pairs,
               dilation: Ints, groups: int) -> Ints:
    """Raise a clear error unless x (N, C, *S) and w (O, C/groups, *K) make a convolution
    with these parameters; return the output's spatial shape."""
    nd = len(w_shape) - 2
    if nd < 1 or len(x_shape) != nd + 2:
        raise ValueError(f"{op}: input of shape {shape_str(x_shape)} and weight of shape "
                         f"{shape_str(w_shape)} need the same number of dimensions, at least 3 "
                         "((N, C, *spatial) and (out_channels, in_channels/groups, *kernel))")
    channels = x_shape[1]
    if channels != w_shape[1] * groups:
        noun = "channel" if channels == 1 else "channels"
        raise ValueError(
            f"{op}: input of shape {shape_str(x_shape)} has {channels} {noun}, but weight of "
            f"shape {shape_str(w_shape)} with groups={groups} expects {w_shape[1] * groups} "
            f"(weight.shape[1] * groups)")
    if w_shape[0] % groups:
        raise ValueError(f"{op}: weight of shape {shape_str(w_shape)} has {w_shape[0]} output "
                         f"channels, not divisible by groups={groups}")
    size = x_shape[2:]
    padded = tuple(n + lo + hi for n, (lo, hi) in zip(size, padding))
    span = tuple(d * (k - 1) + 1 for k, d in zip(w_shape[2:], dilation))
    if any(s > p for s, p in zip(span, padded)):
        raise ValueError(
            f"{op}: the kernel spans {shape_str(span)} (size {shape_str(w_shape[2:])}, "
            f"dilation {shape_str(dilation)}), more than the padded input "
            f"{shape_str(padded)} (input {shape_str(size)} plus padding)")
    return conv_output_size(size, w_shape[2:], stride, padding, dilation)


def _check_params(op: str, nd: int, stride: Ints, padding: Pairs, dilation: Ints,
                  groups: int) -> None:
    ok = (len(stride) == len(dilation) == len(padding) == nd and min(stride) >= 1
          and min(dilation) >= 1 and min(min(p) for p in padding) >= 0 and groups >= 1)
    if not ok:
        raise ValueError(f"{op}: invalid parameters for a {nd}-d convolution: stride={stride}, "
                         f"padding={padding}, dilation={dilation}, groups={groups}")


def _check_dtypes(op: str, *arrays: Any) -> None:
    for a in arrays:
        if np.asarray(a).dtype.kind != "f":
            dtypes = ", ".join(str(np.asarray(b).dtype) for b in arrays)
            raise TypeError(f"{op}: expects floating-point tensors, got dtypes {dtypes}")


def _check_conv(x: Any, w: Any, b: Any = None, *, stride: Ints, padding: Pairs,
                dilation: Ints, groups: int) -> None:
    _check_params("conv", np.ndim(w) - 2, stride, padding, dilation, groups)
    _check_dtypes("conv", x, w, *(() if b is None else (b,)))
    check_conv("conv", np.shape(x), np.shape(w), stride, padding, dilation, groups)
    if b is not None and np.shape(b) != np.shape(w)[:1]:
        raise ValueError(f"conv: bias must have shape ({np.shape(w)[0]},), one entry per "
                         f"output channel, got {shape_str(np.shape(b))}")


def _check_output_grad(op: str, g_shape: Ints, expected: Ints) -> None:
    if g_shape != expected:
        raise ValueError(f"{op}: the output gradient has shape {shape_str(g_shape)}, "
                         f"expected {shape_str(expected)}")


def _check_input_grad(g: Any, w: Any, input_shape: Ints, stride: Ints, padding: Pairs,
                      dilation: Ints, groups: int) -> None:
    op = "conv_input_grad"
    _check_params(op, np.ndim(w) - 2, stride, padding, dilation, groups)
    _check_dtypes(op, g, w)
    size = check_conv(op, input_shape, np.shape(w), stride, padding, dilation, groups)
    _check_output_grad(op, np.shape(g), (input_shape[0], np.shape(w)[0], *size))


def _check_weight_grad(x: Any, g: Any, weight_shape: Ints, stride: Ints, padding: Pairs,
                       dilation: Ints, groups: int) -> None:
    op = "conv_weight_grad"
    _check_params(op, len(weight_shape) - 2, stride, padding, dilation, groups)
    _check_dtypes(op, x, g)
    size = check_conv(op, np.shape(x), weight_shape, stride, padding, dilation, groups)
    _check_output_grad(op, np.shape(g), (np.shape(x)[0], weight_shape[0], *size))


# ---------------------------------------------------------------- the three primitives


def _conv_vjp_x(g: Any, out: Any, x: Any, w: Any, b: Any = None, *, stride: Ints,
                padding: Pairs, dilation: Ints, groups: int) -> Any:
    """∂L/∂x = conv_input_grad(g, w): g scattered back through the kernel."""
    return conv_input_grad(g, w, input_shape=shape_of(x), stride=stride, padding=padding,
                           dilation=dilation, groups=groups)


def _conv_vjp_w(g: Any, out: Any, x: Any, w: Any, b: Any = None, *, stride: Ints,
                padding: Pairs, dilation: Ints, groups: int) -> Any:
    """∂L/∂w = conv_weight_grad(x, g): the input correlated with g."""
    return conv_weight_grad(x, g, weight_shape=shape_of(w), stride=stride, padding=padding,
                            dilation=dilation, groups=groups)


def _conv_vjp_b(g: Any, out: Any, x: Any, w: Any, b: Any = None, *, stride: Ints,
                padding: Pairs, dilation: Ints, groups: int) -> Any:
    """∂L/∂b_o = Σ_{n,p} g[n, o, p]: g summed over the batch and every position."""
    channels = shape_of(w)[0]
    summed = sum_to(g, shape=(channels,) + (1,) * (len(shape_of(w)) - 2))
    return reshape(summed, shape=(channels,))


def _input_grad_vjp_gy(g: Any, out: Any, gy: Any, w: Any, input_shape: Ints, stride: Ints,
                       padding: Pairs, dilation: Ints, groups: int) -> Any:
    """∂/∂gy conv_input_grad(gy, w) = conv(g, w) (its adjoint)."""
    return conv(g, w, stride=stride, padding=padding, dilation=dilation, groups=groups)


def _input_grad_vjp_w(g: Any, out: Any, gy: Any, w: Any, input_shape: Ints, stride: Ints,
                      padding: Pairs, dilation: Ints, groups: int) -> Any:
    """∂/∂w conv_input_grad(gy, w) = conv_weight_grad(g, gy)."""
    return conv_weight_grad(g, gy, weight_shape=shape_of(w), stride=stride, padding=padding,
                            dilation=dilation, groups=groups)


def _weight_grad_vjp_x(g: Any, out: Any, x: Any, gy: Any, weight_shape: Ints, stride: Ints,
                       padding: Pairs, dilation: Ints, groups: int) -> Any:
    """∂/∂x conv_weight_grad(x, gy) = conv_input_grad(gy, g)."""
    return conv_input_grad(gy, g, input_shape=shape_of(x), stride=stride, padding=padding,
                           dilation=dilation, groups=groups)


def _weight_grad_vjp_gy(g: Any, out: Any, x: Any, gy: Any, weight_shape: Ints, stride: Ints,
                        padding: Pairs, dilation: Ints, groups: int) -> Any:
    """∂/∂gy conv_weight_grad(x, gy) = conv(x, g)."""
    return conv(x, g, stride=stride, padding=padding, dilation=dilation, groups=groups)


# ---------------------------------------------------------------- batching rules
#
# The kernels take (N, C, *S) arrays and no further axis. A vmap batch over the input alone
# is folded into N; a batch over the weight is folded into the *groups*: B examples' inputs
# side by side as B·C channels and their kernels as B·O output channels make one
# convolution with B·groups groups, whose group b·G + g is example b's group g.


def _fold_channels(a: Any) -> Any:
    """(B, N, C, *S) → (N, B·C, *S): the batch as channel groups."""
    shape = shape_of(a)
    moved = transpose(a, axes=(1, 0) + tuple(range(2, len(shape))))
    return reshape(moved, shape=(shape[1], shape[0] * shape[2]) + shape[3:])


def _unfold_channels(a: Any, size: int) -> Any:
    """(N, B·C, *S) → (B, N, C, *S)."""
    shape = shape_of(a)
    split = reshape(a, shape=(shape[0], size, shape[1] // size) + shape[2:])
    return transpose(split, axes=(1, 0) + tuple(range(2, len(shape) + 1)))


def _fold_rows(a: Any) -> Any:
    """(B, N, *rest) → (B·N, *rest): the batch as more examples."""
    shape = shape_of(a)
    return reshape(a, shape=(shape[0] * shape[1],) + shape[2:])


def _grouped(params: dict[str, Any], size: int) -> dict[str, Any]:
    return {**params, "groups": params["groups"] * size}


def _conv_batch(prim: Any, values: list[Any], bdims: list[Any], params: dict[str, Any]
                ) -> tuple[Any, Any]:
    """conv on the batch: a batched input alone folded into N; a batched weight folded
    into the groups (the input broadcast if unbatched); the bias added after when batched
    or when the weight is."""
    size = batch_size(values, bdims)
    x, w = values[0], values[1]
    b = values[2] if len(values) > 2 else None
    bx, bw = bdims[0], bdims[1]
    bb = bdims[2] if len(values) > 2 else None
    nd = len(shape_of(w)) - (3 if bw is not None else 2)
    if bw is None:
        if bx is None:
            out = conv(x, w, **params)
        else:
            out = conv(_fold_rows(x), w, *([b] if b is not None and bb is None else []),
                       **params)
            out = reshape(out, shape=(size, shape_of(x)[1]) + shape_of(out)[1:])
            if bb is None:
                return out, 0
    else:
        xs = _fold_channels(materialize(x, bx, size))
        ws = shape_of(w)
        out = conv(xs, reshape(w, shape=(size * ws[1],) + ws[2:]), **_grouped(params, size))
        out = _unfold_channels(out, size)
    if b is not None:
        channels = shape_of(b)[-1]
        bias = (reshape(b, shape=(size, 1, channels) + (1,) * nd) if bb is not None
                else reshape(b, shape=(channels,) + (1,) * nd))
        out = out + bias
    return out, 0


def _input_grad_batch(prim: Any, values: list[Any], bdims: list[Any],
                      params: dict[str, Any]) -> tuple[Any, Any]:
    """conv_input_grad on the batch: folded into N when only gy is batched, into the groups
    when the weight is."""
    size = batch_size(values, bdims)
    (gy, w), (bg, bw) = values, bdims
    shape = tuple(params["input_shape"])
    if bw is None:
        out = conv_input_grad(_fold_rows(gy), w,
                              **{**params, "input_shape": (size * shape[0],) + shape[1:]})
        return reshape(out, shape=(size,) + shape), 0
    ws = shape_of(w)
    grouped = {**_grouped(params, size),
               "input_shape": (shape[0], size * shape[1]) + shape[2:]}
    out = conv_input_grad(_fold_channels(materialize(gy, bg, size)),
                          reshape(w, shape=(size * ws[1],) + ws[2:]), **grouped)
    return _unfold_channels(out, size), 0


def _weight_grad_batch(prim: Any, values: list[Any], bdims: list[Any],
                       params: dict[str, Any]) -> tuple[Any, Any]:
    """conv_weight_grad on the batch: each example's sum over N stays its own, so the batch
    is folded into the groups (both operands broadcast to the batch)."""
    size = batch_size(values, bdims)
    x, gy = (materialize(v, b, size) for v, b in zip(values, bdims))
    shape = tuple(params["weight_shape"])
    grouped = {**_grouped(params, size), "weight_shape": (size * shape[0],) + shape[1:]}
    out = conv_weight_grad(_fold_channels(x), _fold_channels(gy), **grouped)
    return reshape(out, shape=(size,) + shape), 0


# Sample configurations: (description, x's shape, w's shape, stride, padding, dilation,
# groups), each run through all three primitives.
_CONFIGS: list[tuple[str, Ints, Ints, Ints, Pairs, Ints, int]] = [
    ("2d", (2, 3, 5, 4), (4, 3, 3, 2), (1, 1), ((0, 0), (0, 0)), (1, 1), 1),
    ("2d_stride_padding_odd", (1, 2, 7, 6), (3, 2, 3, 3), (2, 3), ((1, 1), (2, 2)), (1, 1), 1),
    ("2d_dilation", (2, 2, 7, 6), (2, 2, 3, 2), (1, 1), ((1, 1), (0, 0)), (2, 3), 1),
    ("2d_groups", (2, 4, 5, 5), (6, 2, 2, 3), (2, 1), ((1, 1), (1, 1)), (1, 1), 2),
    ("2d_asymmetric_padding", (1, 1, 4, 5), (2, 1, 2, 4), (1, 1), ((0, 1), (1, 2)), (1, 1), 1),
    ("1d_stride", (3, 2, 9), (4, 2, 3), (2,), ((1, 1),), (1,), 1),
    ("1d_depthwise_dilated", (1, 3, 8), (3, 1, 2), (1,), ((2, 2),), (2,), 3),
    ("1d_padding_wider_than_the_input", (2, 1, 2), (2, 1, 3), (3,), ((3, 3),), (1,), 1),
    ("3d", (1, 2, 4, 3, 3), (2, 2, 2, 2, 1), (1, 2, 1), ((0, 0), (1, 1), (0, 0)), (1, 1, 2), 1),
    # every stride 1: the flat layout, its extended grid cropped
    ("2d_flat_groups_dilation", (2, 4, 5, 6), (6, 2, 3, 2), (1, 1), ((1, 0), (2, 1)), (2, 1),
     2),
    ("3d_flat", (1, 2, 3, 4, 3), (2, 2, 2, 3, 2), (1, 1, 1), ((1, 0), (1, 1), (0, 1)),
     (1, 1, 2), 1),
]


def _params(stride: Ints, padding: Pairs, dilation: Ints, groups: int) -> dict[str, Any]:
    return {"stride": stride, "padding": padding, "dilation": dilation, "groups": groups}


def _out_shape(xs: Ints, ws: Ints, stride: Ints, padding: Pairs, dilation: Ints) -> Ints:
    return (xs[0], ws[0], *conv_output_size(xs[2:], ws[2:], stride, padding, dilation))


def _conv_sample(x: Any, w: Any, b: Any = None, **params: Any) -> Any:
    return conv(x, w, **params) if b is None else conv(x, w, b, **params)


def _input_grad_sample(gy: Any, w: Any, **params: Any) -> Any:
    return conv_input_grad(gy, w, **params)


def _weight_grad_sample(x: Any, gy: Any, **params: Any) -> Any:
    return conv_weight_grad(x, gy, **params)


def _contiguous(g: Any) -> Any:
    """The incoming gradient in C order, once for both rules (the gradient of a sum is a
    stride-0 view, which np.matmul would take off BLAS onto its slow loop)."""
    return np.ascontiguousarray(g) if type(g) is np.ndarray else g


_FAMILY = "F.conv1d, F.conv2d, nn.Conv1d and nn.Conv2d (and their derivatives)"

# the bias is fused (an optional third input, added to each chunk of the output while it
# is in cache): one node for a conv layer instead of three (conv, reshape, add)
conv: Primitive = primitive(
    "conv",
    _im2col.conv,
    [_conv_vjp_x, _conv_vjp_w, _conv_vjp_b],
    formula="∂conv(x,w)/∂x: g ↦ conv_input_grad(g, w), ∂/∂w: g ↦ conv_weight_grad(x, g), "
            "∂/∂b: g ↦ Σ_{n,p} g",
    check=_check_conv,
    batch=_conv_batch,
    prepare_g=_contiguous,
    samples=[
        sample(d, _conv_sample, [_draw.normal(*xs), _draw.normal(*ws)],
               **_params(s, p, dl, gr))
        for d, xs, ws, s, p, dl, gr in _CONFIGS
    ] + [
        sample(d + "_bias", _conv_sample, [_draw.normal(*xs), _draw.normal(*ws),
                                           _draw.normal(ws[0])], **_params(s, p, dl, gr))
        for d, xs, ws, s, p, dl, gr in _CONFIGS[::3]
    ],
    expose=Exposure(internal=_FAMILY),
)

conv_input_grad: Primitive = primitive(
    "conv_input_grad",
    _im2col.input_grad,
    [_input_grad_vjp_gy, _input_grad_vjp_w],
    formula="∂/∂gy: h ↦ conv(h, w), ∂/∂w: h ↦ conv_weight_grad(h, gy)",
    check=_check_input_grad,
    batch=_input_grad_batch,
    samples=[
        sample(d, _input_grad_sample,
               [_draw.normal(*_out_shape(xs, ws, s, p, dl)), _draw.normal(*ws)],
               input_shape=xs, **_params(s, p, dl, gr))
        for d, xs, ws, s, p, dl, gr in _CONFIGS
    ],
    expose=Exposure(internal=_FAMILY),
)

conv_weight_grad: Primitive = primitive(
    "conv_weight_grad",
    _im2col.weight_grad,
    [_weight_grad_vjp_x, _weight_grad_vjp_gy],
    formula="∂/∂x: h ↦ conv_input_grad(gy, h), ∂/∂gy: h ↦ conv(x, h)",
    check=_check_weight_grad,
    batch=_weight_grad_batch,
    samples=[
        sample(d, _weight_grad_sample,
               [_draw.normal(*xs), _draw.normal(*_out_shape(xs, ws, s, p, dl))],
               weight_shape=ws, **_params(s, p, dl, gr))
        for d, xs, ws, s, p, dl, gr in _CONFIGS
    ],
    expose=Exposure(internal=_FAMILY),
)

# ---------------------------------------------------------------- constant padding


def _pad(x: np.ndarray, widths: Pairs, value: float) -> np.ndarray:
    """x with ``before``/``after`` elements of ``value`` added on each axis (a negative
    width removes elements instead, as PyTorch's constant padding)."""
    crop = tuple(slice(max(-lo, 0), n - max(-hi, 0)) for n, (lo, hi) in zip(x.shape, widths))
    x = x[crop]
    shape = tuple(n + max(lo, 0) + max(hi, 0) for n, (lo, hi) in zip(x.shape, widths))
    out = np.full(shape, value, dtype=x.dtype)
    out[tuple(slice(max(lo, 0), max(lo, 0) + n) for n, (lo, _) in zip(x.shape, widths))] = x
    return out


def _check_pad(x: Any, widths: Pairs, value: float) -> None:
    shape = np.shape(x)
    if len(widths) != len(shape):
        raise ValueError(f"pad: {len(widths)} (before, after) pairs for a tensor of shape "
                         f"{shape_str(shape)}; give one per axis")
    for axis, (n, (lo, hi)) in enumerate(zip(shape, widths)):
        if n + lo + hi < 0:
            raise ValueError(f"pad: axis {axis} of size {n} with padding ({lo}, {hi}) would "
                             f"have a negative size {n + lo + hi}")


def _pad_vjp(g: Any, out: Any, x: Any, widths: Pairs, value: float) -> Any:
    """The adjoint of padding is cropping (and of cropping, padding with zeros)."""
    return pad(g, widths=tuple((-lo, -hi) for lo, hi in widths), value=0.0)


def _pad_batch(prim: Any, values: list[Any], bdims: list[Any], params: dict[str, Any]
               ) -> tuple[Any, Any]:
    """pad on the batch: no padding on the batch axis."""
    (x,) = values
    return pad(x, widths=((0, 0),) + tuple(params["widths"]), value=params["value"]), 0


def _pad_sample(x: Any, widths: Pairs, value: float) -> Any:
    return pad(x, widths=widths, value=value)


pad: Primitive = primitive(
    "pad",
    _pad,
    [_pad_vjp],
    formula="∂pad(x)/∂x: g ↦ g with the padding cropped off",
    check=_check_pad,
    batch=_pad_batch,
    samples=[
        sample("(2,3)", _pad_sample, [_draw.normal(2, 3)], widths=((1, 2), (0, 1)), value=0.0),
        sample("crop_and_pad", _pad_sample, [_draw.normal(3, 5)], widths=((-1, 1), (2, -2)),
               value=0.5),
        sample("(2,1,3,3)_last_two", _pad_sample, [_draw.normal(2, 1, 3, 3)],
               widths=((0, 0), (0, 0), (1, 1), (2, 0)), value=-1.0),
    ],
    expose=Exposure(internal="F.pad (mode='constant')"),
)
