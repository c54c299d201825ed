r"""The op table's samples and its self-check (``chainrule gradcheck`` runs it).

``SAMPLES`` maps the name of every primitive in :data:`chainrule.ops.OP_TABLE` and every
composite in :data:`chainrule.ops.COMPOSITES` to a list of :class:`Sample`: a call of the
op through chainrule, float64 inputs inside the op's domain and away from its kinks,
keyword parameters, and a short description. The samples cover broadcasting, keepdims,
negative axes, 0-d tensors and indexing with repeated indices.

:func:`check_op_table` compares, for every sample, the reverse-mode gradient of a
random-weighted sum of the output,

.. math:: L(x) = \sum_k w_k\, f(x)_k, \qquad \frac{\partial L}{\partial x_i}
          \approx \frac{L(x + h e_i) - L(x - h e_i)}{2h},

with the central finite difference on the right (error O(h²) + rounding/h).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from chainrule import functions as _fn
from chainrule import ops
from chainrule._config import no_grad
from chainrule.tensor import Tensor


@dataclass(frozen=True)
class Sample:
    r"""One way of calling an op: ``fn(*Tensor(inputs), **params)``.

    Args:
        op: the name in ``OP_TABLE`` or ``COMPOSITES``.
        fn: applies the op through chainrule; takes Tensors, then the ``params``.
        inputs: the differentiable inputs, float64 arrays inside the op's domain.
        params: keyword parameters (axes, shapes, indices, masks), the same for any
            reference implementation.
        description: what this sample exercises (used as the test id).
    """

    op: str
    fn: Callable[..., Any]
    inputs: tuple[np.ndarray, ...]
    params: dict[str, Any] = field(default_factory=dict)
    description: str = ""

    def __call__(self, *tensors: Any) -> Any:
        return self.fn(*tensors, **self.params)

    @property
    def id(self) -> str:
        """A readable identifier, ``op:description``."""
        return f"{self.op}:{self.description}"


@dataclass(frozen=True)
class Row:
    """The result of checking one op over all its samples."""

    op: str
    samples: int
    max_abs_err: float
    max_rel_err: float
    passed: bool


# ---------------------------------------------------------------- input domains

_RNG = np.random.default_rng(20240229)  # a private generator: fixed samples, global RNG untouched


def _normal(*shape: int) -> np.ndarray:
    return _RNG.standard_normal(shape)


def _positive(*shape: int) -> np.ndarray:
    """Values in [0.5, 2]: inside the domain of log, sqrt and a real power."""
    return _RNG.uniform(0.5, 2.0, shape)


def _nonzero(*shape: int) -> np.ndarray:
    """Values with 0.2 ≤ |x| ≤ 1.5: away from the kink of abs and relu, and from 1/0."""
    return _RNG.choice([-1.0, 1.0], shape) * _RNG.uniform(0.2, 1.5, shape)


def _distinct(*shape: int) -> np.ndarray:
    """Distinct values at least 0.1 apart, so that max/min have no ties within ±h."""
    n = int(np.prod(shape, dtype=np.int64))
    return _RNG.permutation(np.linspace(-2.0, 2.0, max(n, 2))[:n]).reshape(shape)


def _apart_from(x: np.ndarray) -> np.ndarray:
    """Values that differ from ``x`` by 0.2 to 1 everywhere (no ties for maximum/minimum)."""
    return x + _RNG.choice([-1.0, 1.0], x.shape) * _RNG.uniform(0.2, 1.0, x.shape)


def _away_from_edges(lo: float, hi: float, *shape: int) -> np.ndarray:
    """Values in [lo − 1, hi + 1] at least 0.05 from the clip edges ``lo`` and ``hi``."""
    x = _RNG.uniform(lo - 1.0, hi + 1.0, shape)
    for edge in (lo, hi):
        near = np.abs(x - edge) < 0.05
        x[near] = edge + 0.1
    return x


def _mask(*shape: int) -> np.ndarray:
    mask = _RNG.random(shape) < 0.5
    mask.flat[0], mask.flat[-1] = True, False  # both branches are exercised
    return mask


# ---------------------------------------------------------------- the samples

SAMPLES: dict[str, list[Sample]] = {}


def _add(op: str, description: str, fn: Callable[..., Any], inputs: Sequence[np.ndarray],
         **params: Any) -> None:
    sample = Sample(op, fn, tuple(np.asarray(a, dtype=np.float64) for a in inputs),
                    params, description)
    SAMPLES.setdefault(op, []).append(sample)


def _binary_samples(op: str, fn: Callable[..., Any], draw_y: Callable[..., np.ndarray]) -> None:
    _add(op, "(3,4)&(3,4)", fn, [_normal(3, 4), draw_y(3, 4)])
    _add(op, "broadcast(3,1)&(4,)", fn, [_normal(3, 1), draw_y(4)])
    _add(op, "broadcast(2,1,3)&(4,1)", fn, [_normal(2, 1, 3), draw_y(4, 1)])
    _add(op, "0-d&(3,)", fn, [_normal(), draw_y(3)])


def _arithmetic() -> None:
    _binary_samples("add", lambda x, y: x + y, _normal)
    _add("add", "python_float+tensor", lambda x, c: c + x, [_normal(2, 3)], c=1.5)
    _binary_samples("sub", lambda x, y: x - y, _normal)
    _add("sub", "python_float-tensor", lambda x, c: c - x, [_normal(2, 3)], c=2.0)
    _binary_samples("mul", lambda x, y: x * y, _normal)
    _add("mul", "tensor*array", lambda x, c: x * c, [_normal(2, 3)], c=_normal(3))
    _binary_samples("div", lambda x, y: x / y, _nonzero)
    _add("div", "python_float/tensor", lambda x, c: c / x, [_nonzero(2, 3)], c=3.0)
    _add("neg", "(2,3)", lambda x: -x, [_normal(2, 3)])
    _add("neg", "0-d", lambda x: -x, [_normal()])
    _add("pow", "(3,4)**(3,4)", lambda x, y: x ** y, [_positive(3, 4), _normal(3, 4)])
    _add("pow", "broadcast(3,1)**(4,)", lambda x, y: x ** y, [_positive(3, 1), _normal(4)])
    _add("pow", "x**3_negative_base", lambda x, exponent: x ** exponent, [_nonzero(2, 3)],
         exponent=3)
    _add("pow", "x**0.5", lambda x, exponent: x ** exponent, [_positive(4)], exponent=0.5)
    _add("pow", "2**x", lambda x, base: base ** x, [_normal(2, 3)], base=2.0)


def _unary() -> None:
    unary = {
        "abs": (lambda x: abs(x), _nonzero),
        "exp": (lambda x: x.exp(), _normal),
        "log": (lambda x: x.log(), _positive),
        "log1p": (lambda x: ops.log1p(x), _positive),
        "sqrt": (lambda x: x.sqrt(), _positive),
        "sin": (lambda x: x.sin(), _normal),
        "cos": (lambda x: x.cos(), _normal),
        "tanh": (lambda x: x.tanh(), _normal),
        "sigmoid": (lambda x: x.sigmoid(), _normal),
        "relu": (lambda x: x.relu(), _nonzero),
        "softplus": (lambda x: ops.softplus(x), _normal),
        "erf": (lambda x: ops.erf(x), _normal),
    }
    for op, (fn, draw) in unary.items():
        _add(op, "(2,3)", fn, [draw(2, 3)])
        _add(op, "0-d", fn, [draw()])
    _add("sigmoid", "large|x|", lambda x: x.sigmoid(), [np.array([-8.0, -3.0, 3.0, 8.0])])
    _add("softplus", "large|x|", lambda x: ops.softplus(x), [np.array([-8.0, -3.0, 3.0, 8.0])])


def _selections() -> None:
    x = _normal(3, 4)
    _add("maximum", "(3,4)&(3,4)", lambda x, y: x.maximum(y), [x, _apart_from(x)])
    x = _normal(3, 1)
    _add("maximum", "broadcast(3,1)&(4,)", lambda x, y: x.maximum(y),
         [x, _apart_from(np.broadcast_to(x, (3, 4)))[0]])
    _add("maximum", "tensor&python_float", lambda x, c: x.maximum(c), [_nonzero(2, 3)], c=0.0)
    x = _normal(3, 4)
    _add("minimum", "(3,4)&(3,4)", lambda x, y: x.minimum(y), [x, _apart_from(x)])
    x = _normal(3, 1)
    _add("minimum", "broadcast(3,1)&(4,)", lambda x, y: x.minimum(y),
         [x, _apart_from(np.broadcast_to(x, (3, 4)))[0]])
    where = lambda x, y, cond: ops.where(cond, x, y)  # noqa: E731 - a sample callable
    _add("where", "(3,4)&(3,4)", where, [_normal(3, 4), _normal(3, 4)], cond=_mask(3, 4))
    _add("where", "broadcast(3,1)&(4,)", where, [_normal(3, 1), _normal(4)], cond=_mask(3, 4))
    _add("where", "tensor&python_float", lambda x, cond, c: ops.where(cond, x, c),
         [_normal(2, 3)], cond=_mask(2, 3), c=0.0)
    clip = lambda x, lo, hi: x.clip(lo, hi)  # noqa: E731 - a sample callable
    _add("clip", "lo&hi", clip, [_away_from_edges(-0.5, 0.5, 3, 4)], lo=-0.5, hi=0.5)
    _add("clip", "lo_only", clip, [_away_from_edges(0.0, 0.0, 2, 3)], lo=0.0, hi=None)
    _add("clip", "hi_only", clip, [_away_from_edges(0.3, 0.3, 2, 3)], lo=None, hi=0.3)


def _reductions() -> None:
    reduce = {
        "sum": (lambda x, **kw: x.sum(**kw), _normal),
        "max": (lambda x, **kw: x.max(**kw), _distinct),
        "min": (lambda x, **kw: x.min(**kw), _distinct),
        "mean": (lambda x, **kw: x.mean(**kw), _normal),
        "var": (lambda x, **kw: x.var(**kw), _normal),
        "std": (lambda x, **kw: x.std(**kw), _normal),
        "logsumexp": (lambda x, **kw: x.logsumexp(**kw), _normal),
    }
    for op, (fn, draw) in reduce.items():
        _add(op, "all", fn, [draw(3, 4)], axis=None, keepdims=False)
        _add(op, "all_keepdims", fn, [draw(3, 4)], axis=None, keepdims=True)
        _add(op, "axis=0", fn, [draw(3, 4)], axis=0, keepdims=False)
        _add(op, "axis=-1_keepdims", fn, [draw(2, 3, 4)], axis=-1, keepdims=True)
        _add(op, "axis=(0,2)", fn, [draw(2, 3, 4)], axis=(0, 2), keepdims=False)
    for op in ("sum", "max", "min", "mean", "logsumexp"):
        fn, draw = reduce[op]
        _add(op, "0-d", fn, [draw()], axis=None, keepdims=False)
    _add("var", "ddof=1_axis=1", lambda x, **kw: x.var(**kw), [_normal(3, 4)],
         axis=1, ddof=1, keepdims=False)
    _add("std", "ddof=1_all", lambda x, **kw: x.std(**kw), [_normal(3, 4)],
         axis=None, ddof=1, keepdims=False)
    for op in ("softmax", "log_softmax"):
        fn = (lambda x, axis: x.softmax(axis=axis)) if op == "softmax" else (
            lambda x, axis: x.log_softmax(axis=axis))
        _add(op, "axis=-1", fn, [_normal(3, 4)], axis=-1)
        _add(op, "axis=0", fn, [_normal(3, 4)], axis=0)
        _add(op, "axis=1_of_3d", fn, [_normal(2, 3, 2)], axis=1)
        _add(op, "large_spread", fn, [np.array([[-30.0, 0.0, 2.0, 25.0]])], axis=-1)


def _matmul() -> None:
    mm = lambda x, y: x @ y  # noqa: E731 - a sample callable
    _add("matmul", "(3,4)@(4,2)", mm, [_normal(3, 4), _normal(4, 2)])
    _add("matmul", "(4,)@(4,)", mm, [_normal(4), _normal(4)])
    _add("matmul", "(3,4)@(4,)", mm, [_normal(3, 4), _normal(4)])
    _add("matmul", "(4,)@(4,3)", mm, [_normal(4), _normal(4, 3)])
    _add("matmul", "(2,3,4)@(4,)", mm, [_normal(2, 3, 4), _normal(4)])
    _add("matmul", "(4,)@(2,4,3)", mm, [_normal(4), _normal(2, 4, 3)])
    _add("matmul", "batch(2,1,3,4)@(3,4,2)", mm, [_normal(2, 1, 3, 4), _normal(3, 4, 2)])
    _add("matmul", "(3,4)@(2,4,5)", mm, [_normal(3, 4), _normal(2, 4, 5)])
    linear = lambda x, w, b=None: ops.linear(x, w, b)  # noqa: E731 - a sample callable
    _add("linear", "(5,4)W(3,4)+b", linear, [_normal(5, 4), _normal(3, 4), _normal(3)])
    _add("linear", "1-d_input", linear, [_normal(4), _normal(3, 4), _normal(3)])
    _add("linear", "batch(2,5,4)", linear, [_normal(2, 5, 4), _normal(3, 4), _normal(3)])
    _add("linear", "no_bias", linear, [_normal(5, 4), _normal(3, 4)])
    sce = lambda x, target: ops.softmax_cross_entropy(x, target=target)  # noqa: E731
    _add("softmax_cross_entropy", "(4,3)", sce, [_normal(4, 3)], target=np.array([0, 2, 1, 2]))
    _add("softmax_cross_entropy", "large_logits", sce, [_normal(2, 5) * 30.0],
         target=np.array([4, 0]))


def _shapes() -> None:
    sum_to = lambda x, shape: ops.sum_to(x, shape=shape)  # noqa: E731 - a sample callable
    _add("sum_to", "(2,3,4)->(3,1)", sum_to, [_normal(2, 3, 4)], shape=(3, 1))
    _add("sum_to", "(2,3)->()", sum_to, [_normal(2, 3)], shape=())
    _add("sum_to", "(3,4)->(1,4)", sum_to, [_normal(3, 4)], shape=(1, 4))
    broadcast = lambda x, shape: ops.broadcast_to(x, shape=shape)  # noqa: E731
    _add("broadcast_to", "(3,1)->(2,3,4)", broadcast, [_normal(3, 1)], shape=(2, 3, 4))
    _add("broadcast_to", "()->(2,)", broadcast, [_normal()], shape=(2,))
    _add("broadcast_to", "(4,)->(3,4)", broadcast, [_normal(4)], shape=(3, 4))
    expand = lambda x, shape: x.expand(*shape)  # noqa: E731 - a sample callable
    _add("expand", "(3,1)->(2,3,4)", expand, [_normal(3, 1)], shape=(2, 3, 4))
    _add("expand", "(3,1)->(-1,4)", expand, [_normal(3, 1)], shape=(-1, 4))
    _add("expand", "0-d->(2,2)", expand, [_normal()], shape=(2, 2))
    reshape = lambda x, shape: x.reshape(*shape)  # noqa: E731 - a sample callable
    _add("reshape", "(2,3,4)->(6,-1)", reshape, [_normal(2, 3, 4)], shape=(6, -1))
    _add("reshape", "(2,3)->(-1,)", reshape, [_normal(2, 3)], shape=(-1,))
    _add("reshape", "0-d->(1,1)", reshape, [_normal()], shape=(1, 1))
    _add("reshape", "(1,)->()", reshape, [_normal(1)], shape=())
    transpose = lambda x, axes: x.transpose(*axes)  # noqa: E731 - a sample callable
    _add("transpose", "reverse_3d", transpose, [_normal(2, 3, 4)], axes=())
    _add("transpose", "(1,0,2)", transpose, [_normal(2, 3, 4)], axes=(1, 0, 2))
    _add("transpose", "(2,0,1)", transpose, [_normal(2, 3, 4)], axes=(2, 0, 1))
    _add("transpose", "0-d", transpose, [_normal()], axes=())
    swap = lambda x, axis1, axis2: x.swapaxes(axis1, axis2)  # noqa: E731
    _add("swapaxes", "0,2", swap, [_normal(2, 3, 4)], axis1=0, axis2=2)
    _add("swapaxes", "-1,0", swap, [_normal(2, 3)], axis1=-1, axis2=0)
    squeeze = lambda x, axis: x.squeeze(axis)  # noqa: E731 - a sample callable
    _add("squeeze", "all", squeeze, [_normal(1, 3, 1)], axis=None)
    _add("squeeze", "axis=0", squeeze, [_normal(1, 3, 1)], axis=0)
    _add("squeeze", "axis=-1", squeeze, [_normal(1, 3, 1)], axis=-1)
    _add("squeeze", "axis=(0,2)", squeeze, [_normal(1, 3, 1)], axis=(0, 2))
    unsqueeze = lambda x, axis: x.unsqueeze(axis)  # noqa: E731 - a sample callable
    _add("unsqueeze", "axis=0", unsqueeze, [_normal(2, 3)], axis=0)
    _add("unsqueeze", "axis=-1", unsqueeze, [_normal(2, 3)], axis=-1)
    _add("unsqueeze", "axis=1", unsqueeze, [_normal(2, 3)], axis=1)
    _add("unsqueeze", "0-d", unsqueeze, [_normal()], axis=0)
    cast = lambda x, dtype: ops.cast(x, dtype=dtype)  # noqa: E731 - a sample callable
    _add("cast", "float64->float64", cast, [_normal(2, 3)], dtype=np.dtype(np.float64))
    _add("cast", "astype", lambda x, dtype: x.astype(dtype), [_normal(3)], dtype="float64")


def _indexing() -> None:
    getitem = lambda x, index: x[index]  # noqa: E731 - a sample callable
    _add("getitem", "int", getitem, [_normal(3, 4)], index=1)
    _add("getitem", "negative_int", getitem, [_normal(3, 4)], index=-1)
    _add("getitem", "slices", getitem, [_normal(3, 4)],
         index=(slice(1, None), slice(None, None, 2)))
    _add("getitem", "ellipsis", getitem, [_normal(2, 3, 4)], index=(Ellipsis, 0))
    _add("getitem", "newaxis", getitem, [_normal(3)], index=(None, slice(None)))
    _add("getitem", "0-d_empty_tuple", getitem, [_normal()], index=())
    _add("getitem", "repeated_int_array", getitem, [_normal(3, 2)], index=np.array([0, 2, 0, 0]))
    _add("getitem", "list_index", getitem, [_normal(4)], index=[3, 1, 3])
    _add("getitem", "int_array_pairs", getitem, [_normal(3, 4)],
         index=(np.array([0, 2, 0]), np.array([1, 3, 1])))
    _add("getitem", "slice_and_array", getitem, [_normal(3, 4)],
         index=(slice(None), np.array([1, 1, 0])))
    _add("getitem", "bool_mask", getitem, [_normal(3, 4)], index=_mask(3, 4))
    _add("getitem", "bool_rows", getitem, [_normal(3, 2)], index=np.array([True, False, True]))
    scatter = lambda g, shape, index, dtype: ops.scatter_add(  # noqa: E731
        g, shape=shape, index=index, dtype=dtype)
    f64 = np.dtype(np.float64)
    _add("scatter_add", "repeated_int_array", scatter, [_normal(4, 2)],
         shape=(3, 2), index=np.array([0, 2, 0, 0]), dtype=f64)
    _add("scatter_add", "slices", scatter, [_normal(2, 2)],
         shape=(3, 4), index=(slice(1, None), slice(None, None, 2)), dtype=f64)
    _add("scatter_add", "bool_mask", scatter, [_normal(5)],
         shape=(2, 4), index=np.array([[True, False, True, True], [False, True, True, False]]),
         dtype=f64)


def _joins() -> None:
    cat = lambda *xs, axis: _fn.concatenate(xs, axis=axis)  # noqa: E731 - a sample callable
    _add("concatenate", "two_axis=0", cat, [_normal(2, 3), _normal(1, 3)], axis=0)
    _add("concatenate", "three_axis=-1", cat, [_normal(2, 1), _normal(2, 3), _normal(2, 2)],
         axis=-1)
    _add("concatenate", "1-d", cat, [_normal(3), _normal(2)], axis=0)
    stack = lambda *xs, axis: _fn.stack(xs, axis=axis)  # noqa: E731 - a sample callable
    _add("stack", "axis=0", stack, [_normal(2, 3), _normal(2, 3)], axis=0)
    _add("stack", "axis=-1", stack, [_normal(2, 3), _normal(2, 3), _normal(2, 3)], axis=-1)
    _add("stack", "0-d", stack, [_normal(), _normal()], axis=0)


for _build in (_arithmetic, _unary, _selections, _reductions, _matmul, _shapes, _indexing,
               _joins):
    _build()


# ---------------------------------------------------------------- gradients


def tensors(arrays: Iterable[np.ndarray], requires_grad: bool = False) -> list[Tensor]:
    """Fresh Tensors holding copies of ``arrays`` (float64 stays float64)."""
    return [Tensor(a, requires_grad=requires_grad) for a in arrays]


def evaluate(sample: Sample, arrays: Sequence[np.ndarray]) -> np.ndarray:
    """The op's output for ``arrays``, with nothing recorded."""
    with no_grad():
        return np.asarray(sample(*tensors(arrays)).data)


def weights_for(sample: Sample, seed: int = 0) -> np.ndarray:
    """Random weights w of the output's shape, for the loss L = Σ w ⊙ f(x)."""
    shape = evaluate(sample, sample.inputs).shape
    return np.random.default_rng(seed).standard_normal(shape)


def reverse_gradient(sample: Sample, arrays: Sequence[np.ndarray],
                     weights: np.ndarray) -> list[np.ndarray]:
    r"""∂L/∂xᵢ for L = Σ w ⊙ f(x), by ``backward()`` (zeros where L does not depend on xᵢ)."""
    xs = tensors(arrays, requires_grad=True)
    loss = (sample(*xs) * Tensor(weights)).sum()
    loss.backward()
    return [np.zeros_like(a) if x.grad is None else np.array(x.grad.data, dtype=np.float64)
            for a, x in zip(arrays, xs)]


def central_difference(func: Callable[[list[np.ndarray]], Any], arrays: Sequence[np.ndarray],
                       eps: float = 1e-6) -> list[np.ndarray]:
    r"""∂func/∂xᵢ ≈ (func(x + h eᵢ) − func(x − h eᵢ)) / 2h for every element of every
    array; ``func`` may return an array, and the result then has shape
    ``x.shape + func(x).shape``."""
    grads = []
    for k, a in enumerate(arrays):
        columns = []
        for index in np.ndindex(a.shape):
            plus = [np.array(b, dtype=np.float64) for b in arrays]
            minus = [np.array(b, dtype=np.float64) for b in arrays]
            plus[k][index] += eps
            minus[k][index] -= eps
            columns.append((np.asarray(func(plus)) - np.asarray(func(minus))) / (2 * eps))
        inner = np.shape(columns[0]) if columns else ()
        grads.append(np.array(columns, dtype=np.float64).reshape(a.shape + inner))
    return grads


def numeric_gradient(sample: Sample, arrays: Sequence[np.ndarray], weights: np.ndarray,
                     eps: float = 1e-6) -> list[np.ndarray]:
    """∂L/∂xᵢ for L = Σ w ⊙ f(x) by central differences."""
    return central_difference(lambda xs: float(np.sum(weights * evaluate(sample, xs))),
                              arrays, eps)


def compare(analytic: Sequence[np.ndarray], numeric: Sequence[np.ndarray],
            atol: float = 1e-5, rtol: float = 1e-3) -> tuple[float, float, bool]:
    r"""``(max |a − n|, max |a − n|/|n| over |n| > atol, all |a − n| ≤ atol + rtol·|n|)``."""
    abs_err, rel_err, passed = 0.0, 0.0, True
    for a, n in zip(analytic, numeric):
        a, n = np.asarray(a, dtype=np.float64), np.asarray(n, dtype=np.float64)
        if a.shape != n.shape or not np.all(np.isfinite(a)):
            return float("inf"), float("inf"), False
        diff = np.abs(a - n)
        if diff.size:
            abs_err = max(abs_err, float(diff.max()))
            large = np.abs(n) > atol
            if large.any():
                rel_err = max(rel_err, float((diff[large] / np.abs(n[large])).max()))
        passed = passed and bool(np.all(diff <= atol + rtol * np.abs(n)))
    return abs_err, rel_err, passed


def check_op_table(names: Iterable[str] | None = None, eps: float = 1e-6,
                   atol: float = 1e-5, rtol: float = 1e-3) -> list[Row]:
    r"""Check every sample's reverse-mode gradient against float64 central differences.

    Args:
        names: the ops to check (default: all of ``OP_TABLE`` and ``COMPOSITES``).
        eps: the finite-difference step h.
        atol, rtol: an element passes when |analytic − numeric| ≤ atol + rtol·|numeric|.

    Returns:
        One :class:`Row` per op, with the largest errors over its samples.

    Raises:
        ValueError: a name is not in the op table.

    >>> rows = check_op_table(["sin", "matmul"])
    >>> [(row.op, row.passed) for row in rows]
    [('sin', True), ('matmul', True)]
    """
    known = [*ops.OP_TABLE, *ops.COMPOSITES]
    selected = known if names is None else list(names)
    for name in selected:
        if name not in SAMPLES:
            raise ValueError(
                f"check_op_table: no samples for op {name!r} (known: {', '.join(known)})"
            )
    rows = []
    for name in selected:
        abs_err, rel_err, passed = 0.0, 0.0, True
        for sample in SAMPLES[name]:
            w = weights_for(sample)
            a = reverse_gradient(sample, sample.inputs, w)
            n = numeric_gradient(sample, sample.inputs, w, eps)
            sample_abs, sample_rel, ok = compare(a, n, atol, rtol)
            abs_err, rel_err = max(abs_err, sample_abs), max(rel_err, sample_rel)
            passed = passed and ok
        rows.append(Row(name, len(SAMPLES[name]), abs_err, rel_err, passed))
    return rows
