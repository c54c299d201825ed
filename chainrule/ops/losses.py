r"""Fused loss primitives: one node where the composite would record a dozen.

``softmax_cross_entropy`` is :func:`chainrule.nn.functional.cross_entropy`'s common case
((N, C) logits, integer targets, no weight, no smoothing, mean over the rows):

.. math:: L = \frac1N\sum_i \Big(\log\sum_c e^{x_{i,c}} - x_{i,y_i}\Big), \qquad
          \frac{\partial L}{\partial x_{i,c}}
          = \frac gN\big(\mathrm{softmax}(x_i)_c - [c = y_i]\big)

(predicted minus one-hot). The rule is written with primitives (softmax as
e^(x−m)/Σe^(x−m)), so second derivatives work as for the composite.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from chainrule.autodiff import Primitive, raw
from chainrule.errors import shape_str
from chainrule.ops._axes import shape_of
from chainrule.ops._batching import batch_size, materialize
from chainrule.ops._samples import Draw
from chainrule.ops._table import Exposure, primitive, sample
from chainrule.ops.elementwise import div, exp, mul, sub
from chainrule.ops.reductions import sum as reduce_sum
from chainrule.ops.shape import reshape


def _row_shift(x: np.ndarray) -> tuple[np.ndarray, bool]:
    """Each row's max (kept as a column), 0 for rows whose max is not finite (as
    ``log_softmax``): subtracting it keeps every exponent ≤ 0. Also whether every max was
    finite: then nothing below can overflow or meet ∞ − ∞, and e^(x−m) can be saved for the
    rule."""
    shift = np.maximum.reduce(x, axis=1, keepdims=True)  # x.max less its Python wrapper
    # one reduction decides: a sum of finite maxima is finite (unless it overflows, which
    # only sends a finite case down the slower, equally correct path)
    if math.isfinite(np.add.reduce(shift, axis=None)):
        return shift, True
    return np.where(np.isfinite(shift), shift, 0), False


def _row_losses(x: np.ndarray, shift: np.ndarray, target: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each row's log Σ_c e^(x_ic − m_i) − (x_iy − m_i), with e^(x−m) and its row sums."""
    shifted = x - shift
    e = np.exp(shifted)
    # np.add.reduce is what np.sum runs, less its Python wrapper
    total = np.add.reduce(e, axis=(1,), keepdims=True)
    return np.log(total[:, 0]) - shifted[np.arange(shifted.shape[0]), target], e, total


def _mean_rows(rows: np.ndarray, x: np.ndarray) -> Any:
    return np.add.reduce(rows, axis=None) / x.dtype.type(x.shape[0])


def _softmax_cross_entropy(x: Any, target: np.ndarray, reduction: str = "mean"
                           ) -> tuple[Any, Any]:
    """The mean over rows of log Σ_c e^(x_ic) − x_iy, shifted by the row max like
    ``log_softmax`` (no overflow for any finite logits); each row's loss with
    ``reduction="none"``. Also returns, for the rule, e^(x−m) and its row sums: the softmax
    is their quotient (``None`` when a row holds ±inf, and the rule recomputes)."""
    if reduction == "mean":
        # Finite logits first, with no check before: a row whose max is not finite makes
        # its shifted row (∞ − ∞, −∞ − (−∞)) and so the loss nan; a finite loss proves
        # every max finite and is the finite path's answer. Else the checked path below.
        rows, e, total = _row_losses(x, np.maximum.reduce(x, axis=1, keepdims=True), target)
        loss = _mean_rows(rows, x)
        if math.isfinite(loss):
            return loss, (e, total)
    shift, finite = _row_shift(x)
    rows, e, total = _row_losses(x, shift, target)
    saved = (e, total) if finite else None
    return (rows if reduction == "none" else _mean_rows(rows, x)), saved


def _check_softmax_cross_entropy(x: Any, target: np.ndarray, reduction: str = "mean") -> None:
    xs = np.shape(x)
    if len(xs) != 2 or np.shape(target) != xs[:1]:
        raise ValueError(
            f"softmax_cross_entropy: expects (N, C) logits and (N,) targets, got "
            f"{shape_str(xs)} and {shape_str(np.shape(target))}"
        )
    if target.dtype.kind not in "iu" or (target.size and (
            np.minimum.reduce(target) < 0 or np.maximum.reduce(target) >= xs[1])):
        raise IndexError(
            f"softmax_cross_entropy: targets must be class indices in [0, {xs[1]})"
        )


def _softmax_cross_entropy_vjp(g: Any, out: Any, x: Any, target: np.ndarray,
                               reduction: str = "mean", saved: Any = None) -> Any:
    """∂L/∂x = (softmax(x) − onehot(y))·g/N; row i's share gᵢ·(softmax(xᵢ) − onehot(yᵢ))
    with ``reduction="none"``."""
    n, c = shape_of(x)
    if type(x) is np.ndarray:
        # A first-order pass: the same operations on arrays, in one buffer updated in
        # place; subtracting a boolean one-hot subtracts exactly 1 or 0, as the float
        # one-hot below does. The forward's e^(x−m) and row sums (``saved``) spare the
        # softmax's recomputation. Same bits as the primitive form, which the recorded
        # (create_graph) pass uses.
        p = _softmax_array(x) if saved is None else np.divide(*saved)
        p[np.arange(n), target] -= 1  # one entry per row: the one-hot, never built
        if reduction == "none":
            p *= np.asarray(g)[:, None]
        else:
            p *= np.divide(g, n)  # div(g, n)'s forward for a Python divisor
        return p
    onehot = np.zeros((n, c), dtype=raw(x).dtype)
    onehot[np.arange(n), target] = 1
    if reduction == "none":
        return mul(sub(_softmax_rows(x), onehot), reshape(g, shape=(n, 1)))
    return mul(sub(_softmax_rows(x), onehot), div(g, n))


def _softmax_rows(x: Any) -> Any:
    """softmax over axis 1 as e^(x−m)/Σ e^(x−m), m the row max: a constant, so value and
    derivatives are those of softmax; four primitives instead of the composite's nine."""
    with np.errstate(over="ignore", invalid="ignore"):  # only rows holding ±inf
        e = exp(sub(x, _row_shift(raw(x))[0]))
        return div(e, reduce_sum(e, axis=(1,), keepdims=True))


def _softmax_array(x: np.ndarray) -> np.ndarray:
    """:func:`_softmax_rows` on an array, the same operations in place, and no
    ``np.errstate`` unless a row holds ±inf."""
    shift, finite = _row_shift(x)
    if not finite:
        return np.asarray(_softmax_rows(x))
    e = np.exp(x - shift)
    e /= np.add.reduce(e, axis=(1,), keepdims=True)
    return e


_draw = Draw("losses")


def _softmax_cross_entropy_batch(prim: Any, values: list[Any], bdims: list[Any],
                                 params: dict[str, Any]) -> tuple[Any, Any]:
    """The loss of each example of the batch, (B, N, C) logits and the (N,) targets shared by
    the examples: the B·N rows' own losses (``reduction="none"``, one fused node), then
    each example's mean over its N rows (or, already per row, the rows themselves)."""
    size = batch_size(values, bdims)
    x = materialize(values[0], bdims[0], size)
    _, n, c = shape_of(x)
    target = np.broadcast_to(np.asarray(params["target"]), (size, n)).reshape(-1)
    rows = softmax_cross_entropy(reshape(x, shape=(size * n, c)), target=target,
                                 reduction="none")
    per_row = reshape(rows, shape=(size, n))
    if params.get("reduction", "mean") == "none":
        return per_row, 0
    return div(reduce_sum(per_row, axis=(1,)), n), 0


def _sce_sample(x: Any, target: np.ndarray, reduction: str = "mean") -> Any:
    return softmax_cross_entropy(x, target=target, reduction=reduction)


# fused: one node instead of about a dozen (log_softmax's five, pick, negate, scale, sum,
# divide)
softmax_cross_entropy: Primitive = primitive(
    "softmax_cross_entropy",
    _softmax_cross_entropy,
    [_softmax_cross_entropy_vjp],
    formula="∂L/∂xᵢ꜀ = (softmax(xᵢ)꜀ − [c = yᵢ])·g/N (gᵢ per row with reduction none)",
    check=_check_softmax_cross_entropy,
    batch=_softmax_cross_entropy_batch,
    saves=True,
    samples=[
        sample("(4,3)", _sce_sample, [_draw.normal(4, 3)], target=np.array([0, 2, 1, 2])),
        sample("large_logits", _sce_sample, [_draw.normal(2, 5) * 30.0], target=np.array([4, 0])),
        sample("reduction=none", _sce_sample, [_draw.normal(3, 4)],
               target=np.array([3, 0, 1]), reduction="none"),
    ],
    expose=Exposure(internal="F.cross_entropy's common case"),
)
