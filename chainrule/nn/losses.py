r"""Loss functions (also available as ``F.mse_loss`` …) and their ``nn.*Loss`` modules.

A loss turns predictions and targets into one number to minimise. Each function states
its formula and its derivative with respect to the prediction, which is where
backpropagation starts: :math:`\partial L/\partial \hat y`. Values and gradients agree
with PyTorch's for the same name and arguments.

``reduction`` picks what is returned: ``"mean"`` (the default) averages the per-element
losses, ``"sum"`` adds them, ``"none"`` returns them unreduced.
"""

from __future__ import annotations

import warnings
from typing import Any, NamedTuple

import numpy as np

from chainrule import ops as _ops
from chainrule.autodiff import Traced, apply, composite, raw
from chainrule.creation import as_tensor
from chainrule.errors import shape_str
from chainrule.nn.module import Module
from chainrule.tensor import Tensor, wrap

_REDUCTIONS = ("mean", "sum", "none")

# ---------------------------------------------------------------- checks and helpers


def _check_reduction(op: str, reduction: Any) -> None:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{op}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return _ops.mean(loss, axis=None)
    if reduction == "sum":
        return _ops.sum(loss, axis=None)
    return loss


def _float_input(op: str, input: Any) -> Tensor:
    input = as_tensor(input, op)
    if input.dtype.kind != "f":
        raise TypeError(f"{op}: input must be floating point, got dtype {input.dtype}")
    return input


def _class_scores(op: str, input: Any, reduction: str, ignore_index: Any) -> Tensor:
    """The checks nll_loss and cross_entropy share: reduction, ignore_index, and a floating
    input with a class axis."""
    _check_reduction(op, reduction)
    _check_ignore_index(op, ignore_index)
    input = _float_input(op, input)
    if input.ndim == 0:
        raise ValueError(f"{op}: input must have a class axis, got a 0-d tensor")
    return input


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
    _check_unit_interval(op, "input", input.data,
                         " (pass probabilities, or use binary_cross_entropy_with_logits "
                         "on the logits)")
    _check_unit_interval(op, "target", target.data, "")
    w = _constant(op, "weight", weight, input)
    p = input.data
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


# ---------------------------------------------------------------- multi-class losses


class _Classes(NamedTuple):
    """A class-index problem flattened to rows: ``scores[i, c]`` and ``target[i]``."""

    scores: Tensor  # (M, C)
    target: np.ndarray  # (M,) class indices, ignored rows set to 0
    row_weight: np.ndarray  # (M,) weight[target] (1 without weights), 0 on ignored rows
    valid: np.ndarray  # (M,) False where target == ignore_index
    shape: tuple[int, ...]  # the target's shape, for reduction="none"
    n_classes: int


def _class_target(op: str, target: Any) -> np.ndarray:
    array = np.asarray(raw(target))
    if array.dtype.kind not in "iu":
        raise TypeError(
            f"{op}: target must hold integer class indices, got dtype {array.dtype} "
            "(convert labels with target.astype('int64'); probability or one-hot targets "
            "are not supported: use -(p * F.log_softmax(logits, axis=1)).sum(axis=1).mean())"
        )
    return array


def _classes(op: str, scores: Tensor, target: np.ndarray, weight: Any,
             ignore_index: int) -> _Classes:
    """Check shapes and targets, then move the class axis (1, or 0 for 1-D) last."""
    if scores.ndim == 1:
        expected = ()
    else:
        expected = (scores.shape[0],) + scores.shape[2:]
    if target.shape != expected:
        raise ValueError(
            f"{op}: input of shape {shape_str(scores.shape)} expects a target of class "
            f"indices of shape {shape_str(expected)}, got {shape_str(target.shape)}"
        )
    n_classes = scores.shape[0] if scores.ndim == 1 else scores.shape[1]
    valid = (target != ignore_index).reshape(-1)
    flat_target = target.reshape(-1).astype(np.int64)
    bad = valid & ((flat_target < 0) | (flat_target >= n_classes))
    if bad.any():
        raise IndexError(
            f"{op}: target {flat_target[bad][0]} is out of bounds for {n_classes} classes "
            f"(valid: 0 to {n_classes - 1}, or ignore_index={ignore_index})"
        )
    flat_target = np.where(valid, flat_target, 0)
    row_weight = valid.astype(scores.dtype)
    if weight is not None:
        weight = np.asarray(raw(weight), dtype=scores.dtype)
        if weight.shape != (n_classes,):
            raise ValueError(
                f"{op}: weight must have shape ({n_classes},), one entry per class, "
                f"got {shape_str(weight.shape)}"
            )
        row_weight = row_weight * weight[flat_target]
    if scores.ndim == 1:
        rows = _ops.reshape(scores, shape=(1, n_classes))
    elif scores.ndim == 2:
        rows = scores
    else:  # (N, C, d1, …) → (N, d1, …, C) → (N·d1·…, C)
        axes = (0, *range(2, scores.ndim), 1)
        rows = _ops.reshape(_ops.transpose(scores, axes=axes), shape=(-1, n_classes))
    return _Classes(rows, flat_target, row_weight, valid, target.shape, n_classes)


def _reduce_rows(per_row: Tensor, classes: _Classes, reduction: str) -> Tensor:
    """PyTorch's reductions for class losses: "mean" divides by the total target weight."""
    if reduction == "none":
        return _ops.reshape(per_row, shape=classes.shape)
    total = _ops.sum(per_row, axis=None)
    if reduction == "sum":
        return total
    # all rows ignored: 0/0 = nan, as in PyTorch
    return _ops.div(total, float(classes.row_weight.sum()))


def _nll_rows(classes: _Classes) -> Tensor:
    """−w[yᵢ]·scores[i, yᵢ] for each row (0 on ignored rows)."""
    picked = _ops.getitem(classes.scores,
                          index=(np.arange(classes.target.shape[0]), classes.target))
    return _ops.neg(_ops.mul(picked, classes.row_weight))


def _check_ignore_index(op: str, ignore_index: Any) -> None:
    if isinstance(ignore_index, bool) or not isinstance(ignore_index, (int, np.integer)):
        raise TypeError(f"{op}: ignore_index must be an int, got {type(ignore_index).__name__}")


@composite("nll_loss")
def nll_loss(input: Any, target: Any, weight: Any = None, ignore_index: int = -100,
             reduction: str = "mean") -> Tensor:
    r"""Negative log-likelihood of log-probabilities: :math:`\ell_i = -w_{y_i}\,x_{i,y_i}`.

    ``"mean"`` divides by :math:`\sum_i w_{y_i}` (the number of counted targets without
    ``weight``), as PyTorch does. Derivative: :math:`\partial\ell_i/\partial x_{i,c} =
    -w_{y_i}` for :math:`c = y_i`, else 0. Targets equal to ``ignore_index`` contribute
    nothing.

    Args:
        input: log-probabilities, shape ``(N, C)``, ``(C,)`` or ``(N, C, d1, …)``.
        target: integer class indices, shape ``(N,)``, ``()`` or ``(N, d1, …)``.
        weight: optional per-class weight, shape ``(C,)``.
        ignore_index: a target value to skip.
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.

    Raises:
        TypeError: ``target`` is not integer.
        ValueError: shapes do not fit.
        IndexError: a target is outside ``[0, C)``.
    """
    op = "nll_loss"
    input = _class_scores(op, input, reduction, ignore_index)
    classes = _classes(op, input, _class_target(op, target), weight, int(ignore_index))
    return _reduce_rows(_nll_rows(classes), classes, reduction)


def _fused_case(input: Tensor, target: np.ndarray, weight: Any, ignore_index: int,
                reduction: str, label_smoothing: float) -> bool:
    """Whether ``cross_entropy`` is the plain mean over (N, C) rows that
    ``ops.softmax_cross_entropy`` computes: no weight, no smoothing, every target a valid
    class (none equal to ``ignore_index``, none out of range: those take the general path,
    which ignores or reports them)."""
    if not (input.ndim == 2 and weight is None and label_smoothing == 0.0
            and reduction == "mean" and target.shape == input.shape[:1] and target.size):
        return False
    lo, hi = target.min(), target.max()
    if lo < 0 or hi >= input.shape[1]:
        return False
    return not (lo <= ignore_index <= hi and (target == ignore_index).any())


@composite("cross_entropy")
def cross_entropy(input: Any, target: Any, weight: Any = None, ignore_index: int = -100,
                  reduction: str = "mean", label_smoothing: float = 0.0) -> Tensor:
    r"""Cross-entropy of logits and integer class targets:
    :math:`\ell_i = -w_{y_i}\log\mathrm{softmax}(x_i)_{y_i}
    = w_{y_i}\,(\log\sum_c e^{x_{i,c}} - x_{i,y_i})`.

    It is ``nll_loss(log_softmax(x, axis=1), y)``. Derivative (no weight, no
    smoothing): :math:`\partial\ell_i/\partial x_{i,c} = \mathrm{softmax}(x_i)_c -
    [c = y_i]`: predicted minus one-hot. Stable for any finite logits.

    With ``label_smoothing`` ε the target becomes :math:`(1-\varepsilon)` on the true
    class plus ε/C spread over all C classes:
    :math:`\ell_i = (1-\varepsilon)\,\ell^{\mathrm{nll}}_i -
    \frac{\varepsilon}{C}\sum_c w_c\log\mathrm{softmax}(x_i)_c`, reduced as PyTorch does.

    Args:
        input: logits, shape ``(N, C)``, ``(C,)`` or ``(N, C, d1, …)``.
        target: integer class indices, shape ``(N,)``, ``()`` or ``(N, d1, …)``.
        weight: optional per-class weight, shape ``(C,)``.
        ignore_index: a target value to skip.
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.
        label_smoothing: ε in [0, 1].

    Raises:
        TypeError: ``target`` is not integer (e.g. float or one-hot targets).
        ValueError: shapes do not fit.
        IndexError: a target is outside ``[0, C)``.

    >>> import chainrule as cr
    >>> import chainrule.nn.functional as F
    >>> logits = cr.tensor([[0.0, 0.0], [1e4, -1e4]])
    >>> round(F.cross_entropy(logits, cr.tensor([0, 0])).item(), 6)  # (log 2 + 0) / 2
    0.346574
    """
    op = "cross_entropy"
    input = _class_scores(op, input, reduction, ignore_index)
    if isinstance(label_smoothing, bool) or not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{op}: label_smoothing must be in [0, 1], got {label_smoothing!r}")
    target = _class_target(op, target)
    if _fused_case(input, target, weight, int(ignore_index), reduction, label_smoothing):
        # fused: one node for the whole loss, gradient softmax − onehot (ops/losses.py);
        # _fused_case has checked shapes and the targets' range: the primitive's check is
        # skipped (W5: one cross_entropy call 215k -> 185k instructions, callgrind)
        return apply(_ops.softmax_cross_entropy, (input,), {"target": target}, checked=True)
    log_p = _ops.log_softmax(input, axis=0 if input.ndim == 1 else 1)
    classes = _classes(op, log_p, target, weight, int(ignore_index))
    nll = _reduce_rows(_nll_rows(classes), classes, reduction)
    if label_smoothing == 0.0:
        return nll
    eps = float(label_smoothing)
    scores = classes.scores
    if weight is not None:
        scores = _ops.mul(scores, np.asarray(raw(weight), dtype=log_p.dtype))
    smooth = _ops.neg(_ops.sum(scores, axis=(1,)))
    smooth = _ops.mul(smooth, classes.valid.astype(log_p.dtype))
    smooth = _reduce_rows(smooth, classes, reduction)
    return _ops.add(_ops.mul(nll, 1.0 - eps), _ops.mul(smooth, eps / classes.n_classes))


# ---------------------------------------------------------------- loss modules


class _Loss(Module):
    """Base of the loss modules: stores ``reduction`` and checks it at construction."""

    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        _check_reduction(type(self).__name__, reduction)
        self.reduction = reduction


def _constant_attr(value: Any) -> Any:
    """A class weight kept as a plain (unregistered) tensor, like PyTorch's buffer."""
    return None if value is None else (value if isinstance(value, Traced) else as_tensor(value))


class MSELoss(_Loss):
    r"""Module form of :func:`mse_loss`: :math:`\frac1n\sum_i(\hat y_i-y_i)^2`."""

    def forward(self, input: Any, target: Any) -> Tensor:
        return mse_loss(input, target, reduction=self.reduction)


class L1Loss(_Loss):
    r"""Module form of :func:`l1_loss`: :math:`\frac1n\sum_i|\hat y_i-y_i|`."""

    def forward(self, input: Any, target: Any) -> Tensor:
        return l1_loss(input, target, reduction=self.reduction)


class HuberLoss(_Loss):
    r"""Module form of :func:`huber_loss` with threshold ``delta``."""

    def __init__(self, reduction: str = "mean", delta: float = 1.0) -> None:
        super().__init__(reduction)
        self.delta = delta

    def forward(self, input: Any, target: Any) -> Tensor:
        return huber_loss(input, target, reduction=self.reduction, delta=self.delta)


class BCELoss(_Loss):
    r"""Module form of :func:`binary_cross_entropy` (probabilities in)."""

    def __init__(self, weight: Any = None, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.weight = _constant_attr(weight)

    def forward(self, input: Any, target: Any) -> Tensor:
        return binary_cross_entropy(input, target, weight=self.weight, reduction=self.reduction)


class BCEWithLogitsLoss(_Loss):
    r"""Module form of :func:`binary_cross_entropy_with_logits` (logits in, stable)."""

    def __init__(self, weight: Any = None, reduction: str = "mean",
                 pos_weight: Any = None) -> None:
        super().__init__(reduction)
        self.weight = _constant_attr(weight)
        self.pos_weight = _constant_attr(pos_weight)

    def forward(self, input: Any, target: Any) -> Tensor:
        return binary_cross_entropy_with_logits(
            input, target, weight=self.weight, reduction=self.reduction,
            pos_weight=self.pos_weight,
        )


class CrossEntropyLoss(_Loss):
    r"""Module form of :func:`cross_entropy` (logits and integer class targets)."""

    def __init__(self, weight: Any = None, ignore_index: int = -100, reduction: str = "mean",
                 label_smoothing: float = 0.0) -> None:
        super().__init__(reduction)
        self.weight = _constant_attr(weight)
        self.ignore_index = ignore_index
        self.label_smoothing = label_smoothing

    def forward(self, input: Any, target: Any) -> Tensor:
        return cross_entropy(input, target, weight=self.weight, ignore_index=self.ignore_index,
                             reduction=self.reduction, label_smoothing=self.label_smoothing)


class NLLLoss(_Loss):
    r"""Module form of :func:`nll_loss` (log-probabilities and integer class targets)."""

    def __init__(self, weight: Any = None, ignore_index: int = -100,
                 reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.weight = _constant_attr(weight)
        self.ignore_index = ignore_index

    def forward(self, input: Any, target: Any) -> Tensor:
        return nll_loss(input, target, weight=self.weight, ignore_index=self.ignore_index,
                        reduction=self.reduction)
