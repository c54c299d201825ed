r"""Matrix multiplication, NumPy's ``matmul`` semantics (1-D operands, batch broadcasting).

For 2-D operands, out = x @ y gives ∂L/∂x = g @ yᵀ and ∂L/∂y = xᵀ @ g: matmul is
bilinear, so each gradient is the other operand applied to g. Batch dimensions that were
broadcast are summed back with ``sum_to``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from chainrule.autodiff import Primitive
from chainrule.errors import shape_str
from chainrule.ops._axes import shape_of
from chainrule.ops._batching import logical_shape, with_rank
from chainrule.ops._samples import Draw
from chainrule.ops._table import Exposure, primitive, sample
from chainrule.ops.broadcasting import sum_to
from chainrule.ops.elementwise import mul
from chainrule.ops.reductions import sum as reduce_sum
from chainrule.ops.shape import reshape, transpose

_draw = Draw("linalg")


def _swap_last(x: Any) -> Any:
    ndim = len(shape_of(x))
    axes = tuple(range(ndim - 2)) + (ndim - 1, ndim - 2)
    return transpose(x, axes=axes)


def _check_matmul(x: Any, y: Any) -> None:
    xs, ys = np.shape(x), np.shape(y)
    if len(xs) == 0 or len(ys) == 0:
        raise ValueError(
            f"matmul: both operands need at least 1 dimension, got shapes "
            f"{shape_str(xs)} and {shape_str(ys)} (use * for scalars)"
        )
    inner_x = xs[-1]
    inner_y = ys[-2] if len(ys) > 1 else ys[0]
    if inner_x != inner_y:
        raise ValueError(
            f"matmul: shapes {shape_str(xs)} and {shape_str(ys)} are not aligned "
            f"({inner_x} != {inner_y})"
        )
    try:
        np.broadcast_shapes(xs[:-2], ys[:-2])
    except ValueError:
        raise ValueError(
            f"matmul: batch dimensions of shapes {shape_str(xs)} and {shape_str(ys)} "
            "cannot be broadcast together"
        ) from None


def _unsqueeze_last(g: Any) -> Any:
    return reshape(g, shape=shape_of(g) + (1,))


def _unsqueeze_second_last(g: Any) -> Any:
    shape = shape_of(g)
    return reshape(g, shape=shape[:-1] + (1,) + shape[-1:])


def _summed_to(a: Any, shape: tuple[int, ...]) -> Any:
    """``sum_to(a, shape)``, or ``a`` itself when it has that shape already (no call, no
    recorded node: the common case, operands that were not broadcast)."""
    return a if shape_of(a) == shape else sum_to(a, shape=shape)


def _matmul_vjp_x(g: Any, out: Any, x: Any, y: Any) -> Any:
    """∂L/∂x = g @ yᵀ (with NumPy's 1-D promotions undone)."""
    xnd, ynd = len(shape_of(x)), len(shape_of(y))
    if xnd == 1 and ynd == 1:
        return mul(g, y)
    if ynd == 1:  # (..., n, k) @ (k,) -> (..., n)
        return _summed_to(mul(_unsqueeze_last(g), y), shape=shape_of(x))
    if xnd == 1:  # (k,) @ (..., k, n) -> (..., n)
        return _summed_to(reduce_sum(mul(y, _unsqueeze_second_last(g)), axis=(ynd - 1,)),
                          shape=shape_of(x))
    if _outer_into_transposed(g, x):  # (y gᵀ)ᵀ: the same products, in x's own layout
        return _summed_to(_swap_last(matmul(y, _swap_last(g))), shape=shape_of(x))
    return _summed_to(matmul(g, _swap_last(y)), shape=shape_of(x))


def _matmul_vjp_y(g: Any, out: Any, x: Any, y: Any) -> Any:
    """∂L/∂y = xᵀ @ g (with NumPy's 1-D promotions undone)."""
    xnd, ynd = len(shape_of(x)), len(shape_of(y))
    if xnd == 1 and ynd == 1:
        return mul(g, x)
    if xnd == 1:  # (k,) @ (..., k, n) -> (..., n)
        return _summed_to(mul(_unsqueeze_last(x), _unsqueeze_second_last(g)),
                          shape=shape_of(y))
    if ynd == 1:  # (..., n, k) @ (k,) -> (..., n)
        return _summed_to(mul(x, _unsqueeze_last(g)), shape=shape_of(y))
    if _outer_into_transposed(x, y, inner=-2):  # (gᵀ x)ᵀ: the same products, in y's layout
        return _summed_to(_swap_last(matmul(_swap_last(g), x)), shape=shape_of(y))
    return _summed_to(matmul(_swap_last(x), g), shape=shape_of(y))


def _outer_into_transposed(a: Any, operand: Any, inner: int = -1) -> bool:
    """Whether ``operand``'s gradient is a stack of outer products (``a``'s contracted axis,
    ``inner``, has length 1) and ``operand`` is an array laid out transposed (its last axis
    the slower one, e.g. ``W.T`` of a weight broadcast along a vmap batch): then the
    gradient is written in that layout too, so that the weight's own gradient comes out
    contiguous (a product of length-1 sums is exact in either order)."""
    if type(operand) is not np.ndarray or operand.ndim < 3 or shape_of(a)[inner] != 1:
        return False
    strides = operand.strides
    return strides[-1] > strides[-2] and operand.shape[-1] > 1 and operand.shape[-2] > 1


def _blas_ready(a: Any) -> Any:
    """``a``, copied to contiguous memory if it is a broadcast view (a stride of 0, e.g.
    sum's gradient): np.matmul hands such operands to its slow non-BLAS loop."""
    if type(a) is np.ndarray and a.ndim >= 2 and 0 in a.strides and a.size > 1:
        return np.ascontiguousarray(a)
    return a


def _shared_matrix(a: Any) -> Any:
    """For a 3-D array whose leading axis has stride 0 (one matrix seen B times: a weight
    broadcast along a vmap batch), that matrix; else None."""
    if a.strides[0] == 0 and a.shape[0] > 1:
        return a[0]
    return None


def _matmul(x: Any, y: Any) -> Any:
    if type(x) is np.ndarray and type(y) is np.ndarray and x.ndim == y.ndim == 3:
        return _stacked_matmul(x, y)
    # the gradient of a sum is a stride-0 matrix of ones, which would otherwise leave BLAS
    return np.matmul(_blas_ready(x), _blas_ready(y))


def _stacked_matmul(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Stacks of matrices (vmap's batched products): two cases get a faster kernel."""
    # One matrix broadcast along the batch (per-example gradients under vmap): one GEMM
    # with the batch folded into the rows, not B small products over a copied operand.
    shared = _shared_matrix(y)
    if shared is not None and type(x) is np.ndarray and x.ndim == 3 and x.shape[0] == y.shape[0]:
        rows = np.matmul(_blas_ready(x).reshape(-1, x.shape[-1]), shared)
        return rows.reshape(x.shape[:-1] + shared.shape[-1:])
    shared = _shared_matrix(x)
    if shared is not None and type(y) is np.ndarray and y.ndim == 3 and y.shape[0] == x.shape[0]:
        if y.shape[-1] == 1:
            # a batch of column vectors (linear's batching rule: W xᵦ for each b): one GEMM,
            # the columns as rows, (B, k) @ Wᵀ, not B matrix-vector products
            rows = np.matmul(y.reshape(y.shape[0], y.shape[1]), shared.T)
            return rows.reshape(rows.shape + (1,))
        return np.matmul(shared, _blas_ready(y))
    if x.shape[-1] == 1 and y.shape[-2] == 1:
        return _stacked_outer(x, y)
    return np.matmul(_blas_ready(x), _blas_ready(y))


def _stacked_outer(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """A batch of outer products, (B, m, 1) @ (B, 1, n): per-example weight gradients.

    NumPy's matmul takes no BLAS for k = 1 and its own loop is several times slower than
    the products written out. Large ones (m·n ≥ 4096, floating point) run as one BLAS GEMM
    per example with k padded to 2 by zeros, x₀y₀ + 0·0: the same single product in every
    entry (bar the sign of a zero), written by BLAS's kernels about 1.4× faster than
    einsum's loop, which writes the small ones (faster than the broadcast multiply). A
    transposed weight's gradient is asked for transposed by the matmul rules, so a weight's
    own gradient comes out contiguous either way."""
    dtype = np.result_type(x, y)
    size, m, n = x.shape[0], x.shape[1], y.shape[2]
    if m * n < 4096 or dtype not in (np.float32, np.float64) or y.shape[0] != size:
        return np.einsum("bik,bkj->bij", x, y)
    a = np.zeros((size, m, 2), dtype)
    a[:, :, :1] = x
    b = np.zeros((size, 2, n), dtype)
    b[:, :1, :] = y
    return np.matmul(a, b)


def _matmul_batch(prim: Any, values: list[Any], bdims: list[Any], params: dict[str, Any]
                  ) -> tuple[Any, Any]:
    """x@y on the batch. A batched vector times an unbatched matrix is one matrix product
    (the batch as rows); otherwise 1-D examples are promoted to matrices as NumPy does, the
    examples aligned to one rank (so matmul's own batch broadcasting never meets the vmap
    axis), one batched product, and the promoted axes removed."""
    (x, y), (bx, by) = values, bdims
    sx, sy = logical_shape(x, bx), logical_shape(y, by)
    if bx is not None and by is None and len(sx) == 1 and len(sy) == 2:
        return matmul(x, y), 0  # (B, k) @ (k, n): the batch as rows
    if bx is None and by is not None and len(sx) == 2 and len(sy) == 1:
        return matmul(y, _swap_last(x)), 0  # A·y_b for each b: (B, k) @ Aᵀ
    if len(sx) == 1:
        x = reshape(x, shape=shape_of(x)[:-1] + (1,) + sx)
    if len(sy) == 1:
        y = reshape(y, shape=shape_of(y) + (1,))
    rank = max(len(sx), len(sy), 2)
    out = matmul(with_rank(x, bx, rank), with_rank(y, by, rank))
    shape = shape_of(out)
    if len(sy) == 1:
        shape = shape[:-1]
    if len(sx) == 1:
        shape = shape[:-1] if len(sy) == 1 else shape[:-2] + shape[-1:]
    if len(sy) == 1 or len(sx) == 1:
        out = reshape(out, shape=shape)
    return out, 0


def _matmul_sample(x: Any, y: Any) -> Any:
    return x @ y


# prepare_g: a broadcast incoming gradient is made contiguous once for both rules, not once
# in each rule's matmul
matmul: Primitive = primitive(
    "matmul",
    _matmul,
    [_matmul_vjp_x, _matmul_vjp_y],
    formula="∂(X@Y)/∂X: G ↦ G@Yᵀ, ∂(X@Y)/∂Y: G ↦ Xᵀ@G",
    batch=_matmul_batch,
    check=_check_matmul,
    prepare_g=_blas_ready,
    samples=[
        sample(description, _matmul_sample, [_draw.normal(*xs), _draw.normal(*ys)])
        for description, xs, ys in [
            ("(3,4)@(4,2)", (3, 4), (4, 2)),
            ("(4,)@(4,)", (4,), (4,)),
            ("(3,4)@(4,)", (3, 4), (4,)),
            ("(4,)@(4,3)", (4,), (4, 3)),
            ("(2,3,4)@(4,)", (2, 3, 4), (4,)),
            ("(4,)@(2,4,3)", (4,), (2, 4, 3)),
            ("batch(2,1,3,4)@(3,4,2)", (2, 1, 3, 4), (3, 4, 2)),
            ("(3,4)@(2,4,5)", (3, 4), (2, 4, 5)),
        ]
    ],
    expose=Exposure(function="matmul", operators=("__matmul__", "__rmatmul__"),
                    operands=(0, 1), doc="Matrix product with NumPy's ``matmul`` rules.",
                    numpy=(np.matmul,)),
)


# ---------------------------------------------------------------- linear (fused)


def _rows(a: Any) -> Any:
    """``a`` as a matrix of rows: the batch axes of a (…, k) array flattened into one."""
    shape = shape_of(a)
    return a if len(shape) == 2 else reshape(a, shape=(-1, shape[-1]))


def _linear(x: Any, w: Any, b: Any = None) -> Any:
    out = np.matmul(_blas_ready(x), w.T)
    if b is None:
        return out
    if b.dtype == out.dtype or out.dtype == np.result_type(out, b):
        out += b  # in place: one temporary less than out + b
        return out
    return out + b


def _check_linear(x: Any, w: Any, b: Any = None) -> None:
    xs, ws = shape_of(x), shape_of(w)
    if len(ws) != 2:
        raise ValueError(f"linear: weight must be 2-D (out, in), got shape {shape_str(ws)}")
    if len(xs) == 0 or xs[-1] != ws[1]:
        features = "no feature axis" if len(xs) == 0 else f"{xs[-1]} features"
        raise ValueError(
            f"linear: input of shape {shape_str(xs)} has {features}, but weight of shape "
            f"{shape_str(ws)} expects {ws[1]}"
        )
    if b is not None and shape_of(b) != ws[:1]:
        raise ValueError(
            f"linear: bias must have shape ({ws[0]},), one entry per output, "
            f"got {shape_str(shape_of(b))}"
        )


def _linear_vjp_w(g: Any, out: Any, x: Any, w: Any, b: Any = None) -> Any:
    """∂L/∂W = gᵀ x, summed over every batch axis."""
    return _rows(g).T @ _rows(x)


def _linear_batch(prim: Any, values: list[Any], bdims: list[Any], params: dict[str, Any]
                  ) -> tuple[Any, Any]:
    """linear on the batch. An unbatched weight: one fused node over the batch's rows (the
    batch is one more leading axis of x), a batched bias added after. A batched weight
    (per-example gradients of a layer): x as (B, rows, in) times the weights transposed,
    (B, in, out), a batched matrix product; then the bias."""
    x, w = values[0], values[1]
    b = values[2] if len(values) > 2 else None
    bx, bw = bdims[0], bdims[1]
    bb = bdims[2] if len(values) > 2 else None
    sx = logical_shape(x, bx)
    if bw is None:
        out = linear(x, w, b if bb is None else None)
        if bb is not None:
            out = out + with_rank(b, 0, len(sx))  # (B, 1…, out) against (B?, *lead, out)
        return out, 0
    size = shape_of(w)[0]
    lead = sx[:-1]
    if bx is not None and not lead:
        # one example is a vector (per-example gradients of a layer): one fused node, each
        # example's own W x + b; the weight's gradient, g xᵀ per example, comes out in the
        # weight's own layout
        if b is None or bb is None:
            out = stacked_linear(x, w)
            return (out if b is None else out + b), 0
        return stacked_linear(x, w, b), 0
    rows = math.prod(lead)
    x3 = reshape(x, shape=((size if bx is not None else 1), rows, sx[-1]))
    out = matmul(x3, transpose(w, axes=(0, 2, 1)))  # (B, rows, out)
    if b is not None:
        out = out + (reshape(b, shape=(size, 1, shape_of(b)[-1])) if bb is not None else b)
    return reshape(out, shape=(size, *lead, shape_of(out)[-1])), 0


def _linear_sample(x: Any, w: Any, b: Any = None) -> Any:
    return linear(x, w, b)


# fused: one node for x @ Wᵀ + b instead of three (transpose, matmul, add), and the input's
# gradient is skipped when the input needs none (the data). The rules use operators (g @ w):
# NumPy's own on the arrays of a first-order pass, recorded on Tensors (create_graph).
linear: Primitive = primitive(
    "linear",
    _linear,
    [
        lambda g, out, x, w, b=None: g @ w,
        _linear_vjp_w,
        lambda g, out, x, w, b=None: sum_to(g, shape=shape_of(b)),
    ],
    formula="∂(xWᵀ+b)/∂x: g ↦ gW, ∂/∂W: g ↦ gᵀx, ∂/∂b: g ↦ Σ_batch g",
    batch=_linear_batch,
    check=_check_linear,
    prepare_g=_blas_ready,
    samples=[
        sample("(5,4)W(3,4)+b", _linear_sample,
               [_draw.normal(5, 4), _draw.normal(3, 4), _draw.normal(3)]),
        sample("1-d_input", _linear_sample,
               [_draw.normal(4), _draw.normal(3, 4), _draw.normal(3)]),
        sample("batch(2,5,4)", _linear_sample,
               [_draw.normal(2, 5, 4), _draw.normal(3, 4), _draw.normal(3)]),
        sample("no_bias", _linear_sample, [_draw.normal(5, 4), _draw.normal(3, 4)]),
    ],
    expose=Exposure(internal="F.linear and nn.Linear"),
)


# ---------------------------------------------------------------- linear on a stack of weights


def _stacked_linear(x: Any, w: Any, b: Any = None) -> Any:
    out = _stacked_matmul(w, x[:, :, None])[:, :, 0]
    if b is None:
        return out
    if b.dtype == out.dtype or out.dtype == np.result_type(out, b):
        out += b
        return out
    return out + b


def _check_stacked_linear(x: Any, w: Any, b: Any = None) -> None:
    xs, ws = shape_of(x), shape_of(w)
    if len(xs) != 2 or len(ws) != 3 or ws[0] != xs[0] or ws[2] != xs[1] or (
            b is not None and shape_of(b) != ws[:2]):
        raise ValueError(
            f"stacked_linear: needs x (B, in), w (B, out, in) and b (B, out), got "
            f"{shape_str(xs)}, {shape_str(ws)}"
            + ("" if b is None else f" and {shape_str(shape_of(b))}"))


def _stacked_linear_vjp_x(g: Any, out: Any, x: Any, w: Any, b: Any = None) -> Any:
    """∂L/∂xᵦ = Wᵦᵀ gᵦ: (B, 1, out) @ (B, out, in), one GEMM when W is shared."""
    size, n = shape_of(g)  # (.reshape: NumPy's on arrays, recorded on tensors)
    return matmul(g.reshape((size, 1, n)), w).reshape(shape_of(x))


def _stacked_linear_vjp_w(g: Any, out: Any, x: Any, w: Any, b: Any = None) -> Any:
    """∂L/∂Wᵦ = gᵦ xᵦᵀ: a stack of outer products."""
    size, n = shape_of(g)
    return matmul(g.reshape((size, n, 1)), x.reshape((size, 1, shape_of(x)[1])))


def _stacked_linear_batch(prim: Any, values: list[Any], bdims: list[Any],
                          params: dict[str, Any]) -> tuple[Any, Any]:
    """stacked_linear on a further batch (nested vmap): Wᵦ xᵦ as matmul's (…, out, in) @
    (…, in, 1), the examples aligned so that matmul broadcasts the unbatched operands."""
    x, w = values[0], values[1]
    out = matmul(with_rank(w, bdims[1], 3),
                 with_rank(reshape(x, shape=shape_of(x) + (1,)), bdims[0], 3))
    out = reshape(out, shape=shape_of(out)[:-1])
    if len(values) > 2 and values[2] is not None:
        out = out + with_rank(values[2], bdims[2], 2)
    return out, 0


def _stacked_linear_sample(x: Any, w: Any, b: Any = None) -> Any:
    return stacked_linear(x, w, b)


# vmap's linear with a batched weight and vector examples (per-example gradients of a
# layer): one node for each example's own Wᵦxᵦ + bᵦ, instead of reshapes around a matmul
stacked_linear: Primitive = primitive(
    "stacked_linear",
    _stacked_linear,
    [
        _stacked_linear_vjp_x,
        _stacked_linear_vjp_w,
        lambda g, out, x, w, b=None: g,
    ],
    formula="yᵦ = Wᵦxᵦ + bᵦ: ∂/∂xᵦ: gᵦ ↦ Wᵦᵀgᵦ, ∂/∂Wᵦ: gᵦ ↦ gᵦxᵦᵀ, ∂/∂bᵦ: gᵦ ↦ gᵦ",
    batch=_stacked_linear_batch,
    check=_check_stacked_linear,
    samples=[
        sample("(3,4)W(3,5,4)+b(3,5)", _stacked_linear_sample,
               [_draw.normal(3, 4), _draw.normal(3, 5, 4), _draw.normal(3, 5)]),
        sample("no_bias", _stacked_linear_sample, [_draw.normal(2, 4), _draw.normal(2, 3, 4)]),
    ],
    expose=Exposure(internal="cr.vmap of F.linear with per-example weights"),
)
