r"""Losses over integer class targets: ``nll_loss`` and ``cross_entropy``.

Scores of shape ``(N, C)``, ``(C,)`` or ``(N, C, d1, …)`` are flattened to rows, one per
target, with the class axis last; ``reduction="mean"`` divides by the total target
weight, as PyTorch does.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from chainrule import batching
from chainrule import ops as _ops
from chainrule._decide import decide
from chainrule.autodiff import apply, composite, raw
from chainrule.errors import shape_str
from chainrule.nn.functional._checks import _check_reduction, _float_input
from chainrule.tensor import Tensor

# ---------------------------------------------------------------- checks and helpers


def _check_ignore_index(op: str, ignore_index: Any) -> None:
    if isinstance(ignore_index, bool) or not isinstance(ignore_index, (int, np.integer)):
        raise TypeError(f"{op}: ignore_index must be an int, got {type(ignore_index).__name__}")


def _class_scores(op: str, input: Any, reduction: str, ignore_index: Any) -> Tensor:
    """The checks nll_loss and cross_entropy share: reduction, ignore_index, and a floating
    input with a class axis."""
    _check_reduction(op, reduction)
    _check_ignore_index(op, ignore_index)
    input = _float_input(op, input)
    if input.ndim == 0:
        raise ValueError(f"{op}: input must have a class axis, got a 0-d tensor")
    return input


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
    expected: tuple[int, ...]
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


# ---------------------------------------------------------------- under vmap


def _mapped(input: Any, target: Any) -> int:
    """The innermost vmap level at which ``input`` or ``target`` is batched (0: none)."""
    if not batching.LEVELS:
        return 0
    return max((v._level for v in (input, target) if isinstance(v, batching.BatchedTensor)),
               default=0)


def _batched_class_loss(loss: Any, level: int, input: Any, target: Any, weight: Any,
                        ignore_index: int, reduction: str, **options: Any) -> Tensor:
    r"""A class loss under ``vmap``: every example's own reduction. The batch becomes more
    rows: the loss with ``reduction="none"`` on the physical (B, …) logits (the class axis
    moved to 1) and targets, then each example's rows reduced — summed, or for ``"mean"``
    divided by that example's total target weight :math:`\sum_i w_{y_i}`, as unbatched."""
    size = dict(batching.LEVELS)[level]
    x = input._value if isinstance(input, batching.BatchedTensor) and input._level == level \
        else batching.broadcast_level(_ops_tensor(input), size)
    if isinstance(target, batching.BatchedTensor) and target._level == level:
        if isinstance(target._value, batching.BatchedTensor):  # nested vmaps
            return _nested_class_loss(loss, level, size, x, target._value, weight,
                                      ignore_index, reduction, **options)
        t = np.asarray(raw(target._value))
    else:
        t = np.asarray(raw(target))
        t = np.broadcast_to(t, (size,) + t.shape)
    ndim = len(x.shape) - 1
    if loss is cross_entropy and ndim in (1, 2) and weight is None and t.size and not \
            options.get("label_smoothing") and _valid_targets(t, x.shape[-1], ignore_index):
        # the common case: every row's loss from one fused node, then each example's mean
        # (one example's logits a vector: the physical (B, C) are the rows already, and
        # the rows' losses are the examples'; no reshape is recorded either way)
        rows = apply(_ops.softmax_cross_entropy,
                     (x if ndim == 1 else _ops.reshape(x, shape=(-1, x.shape[-1])),),
                     {"target": t.reshape(-1).astype(np.int64, copy=False),
                      "reduction": "none"}, checked=True)
        per_example = rows if ndim == 1 else _ops.reshape(rows, shape=t.shape)
        if reduction != "none" and ndim == 2:
            per_example = _ops.sum(per_example, axis=(1,))
            if reduction == "mean":
                per_example = _ops.div(per_example, t.shape[1])
        return batching.batched(per_example, level)
    if ndim > 1:  # (B, N, C, d…) → (B, C, N, d…): the batch is the loss's N, N a d axis
        x = _ops.transpose(x, axes=(0, 2, 1) + tuple(range(3, ndim + 1)))
    rows = loss(x, t, weight=weight, ignore_index=ignore_index, reduction="none", **options)
    if reduction == "none":
        return batching.batched(rows, level)
    axes = tuple(range(1, len(rows.shape)))
    total = _ops.sum(rows, axis=axes) if axes else rows
    if reduction == "mean":
        counted = (t != ignore_index).astype(x.dtype)
        if weight is not None:
            w = np.asarray(raw(weight), dtype=x.dtype)
            counted = counted * w[np.where(t != ignore_index, t, 0)]
        total = _ops.div(total, counted.reshape(size, -1).sum(axis=1))
    return batching.batched(total, level)


def _nested_class_loss(loss: Any, level: int, size: int, x: Any, t: Any, weight: Any,
                       ignore_index: int, reduction: str, **options: Any) -> Tensor:
    """:func:`_batched_class_loss` when the targets are batched at an enclosing level too:
    the per-row losses by the loss itself (which handles that level), each example's
    reduction with tensor operations on the targets (their values cannot be read)."""
    ndim = len(x.shape) - 1
    if ndim > 1:
        x = _ops.transpose(x, axes=(0, 2, 1) + tuple(range(3, ndim + 1)))
    rows = loss(x, t, weight=weight, ignore_index=ignore_index, reduction="none", **options)
    if reduction == "none":
        return batching.batched(rows, level)
    axes = tuple(range(1, len(rows.shape)))
    total = _ops.sum(rows, axis=axes) if axes else rows
    if reduction == "mean":
        valid = t != ignore_index
        counted = valid.astype(x.dtype)
        if weight is not None:
            w = Tensor(np.asarray(raw(weight), dtype=x.dtype))
            counted = _ops.mul(w[_ops.where(valid, t, 0).astype(np.int64)], counted)
        total = _ops.div(total, _ops.sum(counted.reshape(size, -1), axis=(1,)))
    return batching.batched(total, level)


def _valid_targets(t: np.ndarray, classes: int, ignore_index: int) -> bool:
    """Integer targets, every one a class in [0, C) and none equal to ``ignore_index``."""
    if t.dtype.kind not in "iu":
        return False
    lo, hi = t.min(), t.max()
    return bool(lo >= 0 and hi < classes and not (lo <= ignore_index <= hi
                                                  and (t == ignore_index).any()))


def _ops_tensor(value: Any) -> Tensor:
    return value if isinstance(value, Tensor) else Tensor(value)


# ---------------------------------------------------------------- the losses


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
    level = _mapped(input, target)
    if level:
        _check_reduction(op, reduction)
        return _batched_class_loss(nll_loss, level, input, target, weight, ignore_index,
                                   reduction)
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
    return bool(decide(_all_classes, target, input.shape[1], ignore_index))


def _all_classes(target: np.ndarray, n_classes: int, ignore_index: int) -> bool:
    """Every target a class in [0, C), none equal to ``ignore_index`` (one question: a
    compiled function checks it as one guard)."""
    if not 0 <= ignore_index < n_classes and target.dtype.kind == "i":
        # the common case in one reduction: viewed as unsigned, a negative target is huge
        unsigned = target.view(f"u{target.dtype.itemsize}")
        return bool(np.maximum.reduce(unsigned, axis=None) < n_classes)
    lo, hi = target.min(), target.max()
    if lo < 0 or hi >= n_classes:
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
    level = _mapped(input, target)
    if level:
        _check_reduction(op, reduction)
        return _batched_class_loss(cross_entropy, level, input, target, weight, ignore_index,
                                   reduction, label_smoothing=label_smoothing)
    input = _class_scores(op, input, reduction, ignore_index)
    if isinstance(label_smoothing, bool) or not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{op}: label_smoothing must be in [0, 1], got {label_smoothing!r}")
    target = _class_target(op, target)
    if _fused_case(input, target, weight, int(ignore_index), reduction, label_smoothing):
        # one fused node (ops/losses.py); _fused_case has checked its input already
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
