r"""Losses of a prediction against a target of the same shape: ``mse_loss``, ``l1_loss``,
``huber_loss``, ``binary_cross_entropy`` and ``binary_cross_entropy_with_logits``.

A loss turns predictions and targets into one number to minimise. Each function states
its formula and its derivative with respect to the prediction, which is where
backpropagation starts: :math:`\partial L/\partial \hat y`. Values and gradients agree
with PyTorch's for the same name and arguments.

``reduction`` picks what is returned: ``"mean"`` (the default) averages the per-element
losses, ``"sum"`` adds them, ``"none"`` returns them unreduced.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from chainrule import batching
from chainrule import ops as _ops
from chainrule.autodiff import composite, raw
from chainrule.errors import shape_str
from chainrule.nn.functional._checks import _check_reduction, _float_input
from chainrule.tensor import Tensor, as_tensor, wrap

# ---------------------------------------------------------------- helpers


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return _ops.mean(loss, axis=None)
    if reduction == "sum":
        return _ops.sum(loss, axis=None)
    return loss


def _pair(op: str, input: Any, target: Any, reduction: str) -> tuple[Tensor, Tensor]:
    """Prediction and target of the same shape; a non-float target takes the input's dtype."""
    _check_reduction(op, reduction)
    input = _float_input(op, input)
    target = as_tensor(target, op)
    if target.shape != input.shape:
        # PyTorch only warns and broadcasts, which silently turns (N, 1) − (N,) into (N, N).
        raise ValueError(
            f"{op}: input of shape {shape_str(input.shape)} and target of shape "
            f"{shape_str(target.shape)} differ; they must have the same shape "
            f"(reshape one of them, e.g. target.reshape{shape_str(input.shape)})"
        )
    if target.dtype.kind != "f":
        target = wrap(target.data.astype(input.dtype))
    return input, target


def _constant(op: str, name: str, value: Any, input: Tensor) -> np.ndarray | None:
    """An optional per-element constant (``weight``, ``pos_weight``) broadcastable to input."""
    if value is None:
        return None
    array = np.asarray(raw(value), dtype=input.dtype)
    try:
        ok = np.broadcast_shapes(array.shape, input.shape) == input.shape
    except ValueError:
        ok = False
    if not ok:
        raise ValueError(
            f"{op}: {name} of shape {shape_str(array.shape)} cannot be broadcast to the input's "
            f"shape {shape_str(input.shape)}"
        )
    return array


def _check_unit_interval(op: str, name: str, data: np.ndarray, hint: str) -> None:
    if data.size and not ((data >= 0) & (data <= 1)).all():
        with warnings.catch_warnings():  # an all-nan input: nanmin warns and gives nan
            warnings.simplefilter("ignore", RuntimeWarning)
            lo, hi = np.nanmin(data), np.nanmax(data)
        raise ValueError(
            f"{op}: all elements of {name} should be between 0 and 1, got values from "
            f"{lo} to {hi}{hint}"
        )


# ---------------------------------------------------------------- regression losses


@composite("mse_loss")
def mse_loss(input: Any, target: Any, reduction: str = "mean") -> Tensor:
    r"""Mean squared error :math:`L = \frac1n\sum_i (\hat y_i - y_i)^2`.

    Derivative: :math:`\partial L/\partial \hat y_i = \frac2n(\hat y_i - y_i)`.
    The textbook's cost :math:`J(\theta) = \frac{1}{2m}\sum_i (h_\theta(x^{(i)})-y^{(i)})^2`
    is ``F.mse_loss(pred, y) / 2``; the ½ cancels the 2 of the derivative, giving
    :math:`\partial J/\partial h_i = \frac1m(h_i - y_i)`.

    Args:
        input: predictions, any shape.
        target: same shape as ``input``.
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.

    >>> import chainrule as cr
    >>> import chainrule.nn.functional as F
    >>> pred, y = cr.tensor([2.0, 4.0]), cr.tensor([2.0, 8.0])
    >>> F.mse_loss(pred, y).item(), (F.mse_loss(pred, y) / 2).item()
    (8.0, 4.0)
    """
    input, target = _pair("mse_loss", input, target, reduction)
    diff = _ops.sub(input, target)
    return _reduce(_ops.mul(diff, diff), reduction)


@composite("l1_loss")
def l1_loss(input: Any, target: Any, reduction: str = "mean") -> Tensor:
    r"""Mean absolute error :math:`L = \frac1n\sum_i |\hat y_i - y_i|`.

    Derivative: :math:`\frac1n\,\mathrm{sign}(\hat y_i - y_i)` (0 where they are equal).
    """
    input, target = _pair("l1_loss", input, target, reduction)
    return _reduce(_ops.abs(_ops.sub(input, target)), reduction)


@composite("huber_loss")
def huber_loss(input: Any, target: Any, reduction: str = "mean", delta: float = 1.0) -> Tensor:
    r"""Huber loss: quadratic near 0, linear beyond ``delta`` (δ).

    :math:`\ell(d) = \frac12 d^2` for :math:`|d| < \delta`, else
    :math:`\delta(|d| - \frac12\delta)`, with :math:`d = \hat y - y`.
    Derivative: :math:`d` inside, :math:`\delta\,\mathrm{sign}(d)` outside (continuous
    at :math:`|d| = \delta`). Computed as :math:`\frac12 q^2 + \delta e` with
    :math:`q = \min(|d|, \delta)` and :math:`e = \max(|d| - \delta, 0)`, which is the same
    number, never squares a large d, and whose backward multiplies the incoming gradient
    only by q and δ (the form :math:`q(|d| - q/2)` multiplied it by |d|, which overflows to
    ``inf`` and then ``0·inf = nan`` for |d| near the dtype's max).
    """
    input, target = _pair("huber_loss", input, target, reduction)
    if isinstance(delta, bool) or not isinstance(delta, (int, float, np.floating)) or delta <= 0:
        raise ValueError(f"huber_loss: delta must be a positive number, got {delta!r}")
    size = _ops.abs(_ops.sub(input, target))
    q = _ops.clip(size, lo=None, hi=float(delta))
    excess = _ops.relu(_ops.sub(size, float(delta)))
    loss = _ops.add(_ops.mul(_ops.mul(q, q), 0.5), _ops.mul(excess, float(delta)))
    return _reduce(loss, reduction)


# ---------------------------------------------------------------- binary classification


@composite("binary_cross_entropy")
def binary_cross_entropy(input: Any, target: Any, weight: Any = None,
                         reduction: str = "mean") -> Tensor:
    r"""Binary cross-entropy of probabilities:
    :math:`\ell_i = -w_i\left[y_i\log p_i + (1-y_i)\log(1-p_i)\right]`.

    The textbook's :math:`J(\theta) = -\frac1m\sum_i[y^{(i)}\log h_\theta(x^{(i)}) +
    (1-y^{(i)})\log(1-h_\theta(x^{(i)}))]` is this with ``reduction="mean"``.
    Derivative: :math:`\partial\ell_i/\partial p_i = w_i\,(p_i-y_i)/(p_i(1-p_i))`.

    As in PyTorch each log is clamped below at −100 (so p = 0 or 1 gives a finite loss)
    and :math:`\log(1-p)` is computed as ``log1p(-p)``. The gradient is the exact
    derivative of that clamped loss; it equals PyTorch's wherever
    :math:`p(1-p) > 10^{-12}`. (At the extremes PyTorch's backward instead divides by
    :math:`\max(p(1-p), 10^{-12})`.) Prefer :func:`binary_cross_entropy_with_logits`,
    which is stable by construction.

    Args:
        input: probabilities in [0, 1], any shape.
        target: same shape, values in [0, 1].
        weight: optional per-element weight, broadcastable to ``input``.
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.

    Raises:
        ValueError: shapes differ, or a value lies outside [0, 1].
    """
    op = "binary_cross_entropy"
    input, target = _pair(op, input, target, reduction)
    mapped = batching.is_batched(input)
    _check_unit_interval(op, "input", batching.values_for_checks(input) if mapped
                         else input.data,
                         " (pass probabilities, or use binary_cross_entropy_with_logits "
                         "on the logits)")
    _check_unit_interval(op, "target", batching.values_for_checks(target)
                         if batching.is_batched(target) else target.data, "")
    w = _constant(op, "weight", weight, input)
    p = input if mapped else input.data  # masks below: batched tensors under vmap
    # where() keeps log away from 0: the dead branch gets a safe argument, so its zero
    # gradient is never multiplied by 1/0.
    log_p = _ops.maximum(_ops.log(_ops.where(p > 0, input, 1.0)), -100.0)
    log_p = _ops.where(p > 0, log_p, -100.0)
    log_1mp = _ops.maximum(_ops.log1p(_ops.neg(_ops.where(p < 1, input, 0.0))), -100.0)
    log_1mp = _ops.where(p < 1, log_1mp, -100.0)
    # PyTorch's order of operations: (y − 1)·log(1−p) − y·log p
    loss = _ops.sub(_ops.mul(_ops.sub(target, 1.0), log_1mp), _ops.mul(target, log_p))
    if w is not None:
        loss = _ops.mul(loss, w)
    return _reduce(loss, reduction)


@composite("binary_cross_entropy_with_logits")
def binary_cross_entropy_with_logits(input: Any, target: Any, weight: Any = None,
                                     reduction: str = "mean", pos_weight: Any = None) -> Tensor:
    r"""Binary cross-entropy from logits: :math:`\ell_i = -w_i[\,p_w y_i\log\sigma(x_i) +
    (1-y_i)\log(1-\sigma(x_i))]`.

    Computed stably as :math:`(1-y)x + l\cdot\mathrm{softplus}(-x)` with
    :math:`l = 1 + (p_w - 1)y`, where :math:`\mathrm{softplus}(-x) = \max(-x,0) +
    \log(1+e^{-|x|}) = -\log\sigma(x)`; without ``pos_weight`` that is
    :math:`\max(x,0) - xy + \log(1+e^{-|x|})`. No exp can overflow, for any finite x.

    Derivative: :math:`\partial\ell/\partial x = w[(1-y) - l\,\sigma(-x)]`, which is
    :math:`w(\sigma(x) - y)` without ``pos_weight``.

    Args:
        input: logits, any shape.
        target: same shape, values usually in [0, 1].
        weight: optional per-element weight, broadcastable to ``input``.
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.
        pos_weight: optional weight of the positive term, broadcast along the last axis
            (one per class), as in PyTorch.

    >>> import chainrule as cr
    >>> import chainrule.nn.functional as F
    >>> F.binary_cross_entropy_with_logits(cr.tensor([1e4, -1e4]), cr.tensor([1.0, 0.0])).item()
    0.0
    """
    op = "binary_cross_entropy_with_logits"
    input, target = _pair(op, input, target, reduction)
    w = _constant(op, "weight", weight, input)
    pw = _constant(op, "pos_weight", pos_weight, input)
    neg_log_sigmoid = _ops.softplus(_ops.neg(input))
    if pw is not None:
        log_weight = _ops.add(_ops.mul(target, pw - 1), 1.0)
        neg_log_sigmoid = _ops.mul(log_weight, neg_log_sigmoid)
    loss = _ops.add(_ops.mul(_ops.sub(1.0, target), input), neg_log_sigmoid)
    if w is not None:
        loss = _ops.mul(loss, w)
    return _reduce(loss, reduction)
