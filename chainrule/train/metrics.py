r"""Metrics for :func:`~chainrule.train.fit`: :func:`accuracy`, :func:`r2`, and turning the
``metrics=`` argument into named functions.

A metric is ``metric(pred, target) -> float``, computed once per epoch on all of the
epoch's predictions at once (not averaged over batches), as scikit-learn would score them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from chainrule._quiet import quiet
from chainrule.autodiff import Traced
from chainrule.tensor import Tensor

Metric = Callable[[Tensor, Tensor], float]
# Keys fit writes into every epoch's logs; a metric may not take one of them, nor may its
# validation key "val_" + name.
_RESERVED = ("loss", "val_loss", "time")


def _array(value: Any) -> np.ndarray:
    return np.asarray(value.data if isinstance(value, Traced) else value)


def accuracy(pred: Any, target: Any) -> float:
    r"""Fraction of correct predictions, :math:`\frac{1}{N}\sum_i [\hat y_i = y_i]`.

    * ``pred`` of shape ``(N, C)`` with ``C > 1``: logits (or probabilities), the
      predicted class is :math:`\arg\max_c` ``pred[i, c]``; ``target`` holds class indices
      ``(N,)`` (or one-hot rows ``(N, C)``, compared by their argmax).
    * ``pred`` of shape ``(N,)`` or ``(N, 1)``: binary **logits**, the predicted class is
      ``pred > 0`` (that is :math:`\sigma(z) > 0.5`), as for ``BCEWithLogitsLoss``; targets
      are 0/1. For a model that outputs probabilities, pass your own metric that
      thresholds at 0.5.
    """
    p, y = _array(pred), _array(target)
    if p.ndim >= 2 and p.shape[-1] > 1:
        predicted = p.argmax(axis=-1)
        if y.shape == p.shape:
            y = y.argmax(axis=-1)
    elif p.size == y.size:
        predicted, y = p.reshape(-1) > 0, y.reshape(-1) > 0.5
    else:
        predicted = p
    if predicted.shape != y.shape:
        raise ValueError(
            f"accuracy: predictions of shape {p.shape} do not match targets of shape "
            f"{_array(target).shape}"
        )
    return float(np.mean(predicted == y)) if y.size else float("nan")


def r2(pred: Any, target: Any) -> float:
    r"""Coefficient of determination, :math:`R^2 = 1 - \frac{\sum_i (y_i - \hat y_i)^2}
    {\sum_i (y_i - \bar y)^2}`; for several output columns, their average (scikit-learn's
    ``uniform_average``).

    A constant target has :math:`R^2 = 1` for a perfect fit and 0 otherwise (the fraction
    is undefined there).
    """
    p, y = _array(pred).astype(np.float64), _array(target).astype(np.float64)
    if p.size != y.size:
        raise ValueError(f"r2: predictions of shape {p.shape} and targets of shape {y.shape} "
                         "have different sizes")
    y = y.reshape(len(y), -1) if y.ndim else y.reshape(1, 1)
    return _r2_average(p.reshape(y.shape), y)


@quiet  # predictions that overflowed (a diverged model) score -inf or nan, silently
def _r2_average(p: np.ndarray, y: np.ndarray) -> float:
    ss_res = ((y - p) ** 2).sum(axis=0)
    ss_tot = ((y - y.mean(axis=0)) ** 2).sum(axis=0)
    safe = np.where(ss_tot > 0, ss_tot, 1.0)
    scores = np.where(ss_tot > 0, 1.0 - ss_res / safe, np.where(ss_res == 0, 1.0, 0.0))
    return float(scores.mean())


_BUILTIN_METRICS: dict[str, Metric] = {"accuracy": accuracy, "r2": r2}


def _resolve_metrics(metrics: Any) -> dict[str, Metric]:
    if isinstance(metrics, str) or callable(metrics):
        metrics = (metrics,)
    resolved: dict[str, Metric] = {}
    for metric in metrics:
        if isinstance(metric, str):
            if metric not in _BUILTIN_METRICS:
                raise ValueError(
                    f"fit: unknown metric {metric!r}; use one of {sorted(_BUILTIN_METRICS)} "
                    "or a callable metric(pred, target) -> float"
                )
            name, fn = metric, _BUILTIN_METRICS[metric]
        elif callable(metric):
            name = getattr(metric, "__name__", type(metric).__name__)
            fn = metric
        else:
            raise TypeError(f"fit: a metric must be a str or a callable, got {metric!r}")
        taken = (*resolved, *(f"val_{n}" for n in resolved), *_RESERVED)
        if name in taken or f"val_{name}" in taken:
            raise ValueError(f"fit: metric name {name!r} is used twice or is reserved")
        resolved[name] = fn
    return resolved
