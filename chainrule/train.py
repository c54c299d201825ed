r"""The training loop: :func:`fit`, its :class:`History` and :class:`EarlyStopping`.

Each step is the textbook's four stages of gradient descent: compute the predictions,
the loss :math:`J(\theta)`, its gradient :math:`\nabla_\theta J` by backpropagation, and
the update :math:`\theta \leftarrow \theta - \alpha \nabla_\theta J` (or whatever rule the
optimizer implements).

``fit`` works with any model and optimizer that follow PyTorch's protocol: a callable
model (``train()``/``eval()`` are called when present) and an optimizer with
``zero_grad()`` and ``step()``.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from chainrule._config import no_grad
from chainrule.autodiff import Traced
from chainrule.tensor import Tensor, wrap

Metric = Callable[[Tensor, Tensor], float]
_RESERVED = ("loss", "val_loss", "time")


# ---------------------------------------------------------------- metrics
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
    p = p.reshape(y.shape)
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
        if name in resolved or name in _RESERVED:
            raise ValueError(f"fit: metric name {name!r} is used twice or is reserved")
        resolved[name] = fn
    return resolved


# ---------------------------------------------------------------- history and callbacks
class History:
    r"""What :func:`fit` records: ``history[key]`` is a list with one value per epoch.

    Keys: ``"loss"`` (the training loss, averaged over samples), ``"val_loss"`` (with a
    validation loader), one per metric, and ``"time"`` (seconds the epoch took).

    Attributes:
        history: ``dict[str, list[float]]``.
        epoch: the epoch indices recorded, ``[0, 1, …]``.
    """

    def __init__(self) -> None:
        self.history: dict[str, list[float]] = {}
        self.epoch: list[int] = []

    def _record(self, epoch: int, logs: dict[str, float]) -> None:
        self.epoch.append(epoch)
        for key, value in logs.items():
            self.history.setdefault(key, []).append(value)

    def __getitem__(self, key: str) -> list[float]:
        return self.history[key]

    def __len__(self) -> int:
        return len(self.epoch)

    def __repr__(self) -> str:
        return f"History(epochs={len(self.epoch)}, keys={list(self.history)})"


class EarlyStopping:
    r"""Stop training when ``monitor`` has not improved for ``patience`` epochs.

    An epoch improves on the best value so far when, for ``mode="min"``,
    :math:`v < v_{best} - \delta_{min}` (for ``mode="max"``, :math:`v > v_{best} +
    \delta_{min}`). A ``nan`` never improves.

    Args:
        monitor: a key of the epoch's logs, e.g. ``"val_loss"``, ``"loss"``,
            ``"accuracy"``.
        patience: epochs without improvement to tolerate before stopping.
        min_delta: the smallest change that counts as an improvement.
        mode: ``"min"`` (losses) or ``"max"`` (accuracy, r2).
        restore_best: when training ends, load the weights of the best epoch back into
            the model (needs ``model.state_dict()``/``load_state_dict()``).

    Attributes:
        best, best_epoch, stopped_epoch (``None`` until it stops), wait.

    Raises:
        ValueError: a bad argument, or (during ``fit``) ``monitor`` missing from the logs.
    """

    def __init__(self, monitor: str = "val_loss", patience: int = 5, min_delta: float = 0.0,
                 mode: str = "min", restore_best: bool = False) -> None:
        if mode not in ("min", "max"):
            raise ValueError(f"EarlyStopping: mode must be 'min' or 'max', got {mode!r}")
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 0:
            raise ValueError(f"EarlyStopping: patience must be an int >= 0, got {patience!r}")
        if not min_delta >= 0:
            raise ValueError(f"EarlyStopping: min_delta must be >= 0, got {min_delta!r}")
        self.monitor = monitor
        self.patience = patience
        self.min_delta = float(min_delta)
        self.mode = mode
        self.restore_best = bool(restore_best)
        self._reset()

    def _reset(self) -> None:
        self.best = math.inf if self.mode == "min" else -math.inf
        self.best_epoch: int | None = None
        self.stopped_epoch: int | None = None
        self.wait = 0
        self._model: Any = None
        self._best_state: dict[str, np.ndarray] | None = None

    def on_train_begin(self, model: Any) -> None:
        """Forget any earlier run, so one instance can serve several ``fit`` calls."""
        self._reset()
        self._model = model

    def _improved(self, value: float) -> bool:
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> bool:
        if self.monitor not in logs:
            raise ValueError(
                f"EarlyStopping: monitor {self.monitor!r} is not in the logs "
                f"(available: {', '.join(logs)}); for 'val_loss' pass val_loader to fit"
            )
        value = float(logs[self.monitor])
        if self._improved(value):
            self.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best and self._model is not None:
                self._best_state = _snapshot(self._model)
            return False
        self.wait += 1
        if self.wait >= self.patience:
            self.stopped_epoch = epoch
            return True
        return False

    def on_train_end(self, model: Any) -> None:
        if self.restore_best and self._best_state is not None:
            model.load_state_dict(
                {k: wrap(v) for k, v in self._best_state.items()}
            )


def _snapshot(model: Any) -> dict[str, np.ndarray]:
    return {k: np.array(_array(v), copy=True) for k, v in model.state_dict().items()}


# ---------------------------------------------------------------- the loop
def _split_batch(batch: Any) -> tuple[list[Any], Any]:
    if not isinstance(batch, (tuple, list)) or len(batch) < 2:
        raise ValueError(
            "fit: each batch must be a tuple (inputs..., target), as a DataLoader over a "
            f"TensorDataset(X, y) yields; got {type(batch).__name__}"
        )
    return list(batch[:-1]), batch[-1]


def _count(target: Any) -> int:
    shape = np.shape(_array(target))
    return int(shape[0]) if shape else 1


def _loss_value(loss: Any) -> float:
    if not isinstance(loss, Traced) or _array(loss).size != 1:
        shape = np.shape(_array(loss)) if isinstance(loss, Traced) else type(loss).__name__
        raise ValueError(
            f"fit: loss_fn must return a scalar tensor, got {shape} "
            "(use reduction='mean' or 'sum')"
        )
    return float(_array(loss).reshape(()))


class _Epoch:
    """Accumulates the sample-weighted loss and, for metrics, predictions and targets."""

    def __init__(self, keep: bool) -> None:
        self.total, self.count, self.keep = 0.0, 0, keep
        self.preds: list[np.ndarray] = []
        self.targets: list[np.ndarray] = []

    def add(self, loss: float, pred: Any, target: Any) -> None:
        n = _count(target)
        self.total += loss * n
        self.count += n
        if self.keep:
            self.preds.append(_array(pred))
            self.targets.append(_array(target))

    def mean_loss(self, which: str) -> float:
        if self.count == 0:
            raise ValueError(f"fit: {which} produced no batches")
        return self.total / self.count

    def metrics(self, metrics: dict[str, Metric]) -> dict[str, float]:
        pred = wrap(np.concatenate(self.preds))
        target = wrap(np.concatenate(self.targets))
        return {name: float(fn(pred, target)) for name, fn in metrics.items()}


def _call(obj: Any, method: str, *args: Any) -> Any:
    hook = getattr(obj, method, None)
    return hook(*args) if callable(hook) else None


def _train_epoch(model: Any, loss_fn: Callable[..., Any], optimizer: Any, loader: Iterable[Any],
                 keep: bool) -> _Epoch:
    _call(model, "train")
    record = _Epoch(keep)
    for batch in loader:
        inputs, target = _split_batch(batch)
        optimizer.zero_grad()
        pred = model(*inputs)
        loss = loss_fn(pred, target)
        value = _loss_value(loss)
        loss.backward()  # dJ/dθ for every parameter, by the chain rule
        optimizer.step()
        record.add(value, pred, target)
    return record


def _evaluate(model: Any, loss_fn: Callable[..., Any], loader: Iterable[Any],
              keep: bool) -> _Epoch:
    _call(model, "eval")
    record = _Epoch(keep)
    with no_grad():
        for batch in loader:
            inputs, target = _split_batch(batch)
            pred = model(*inputs)
            record.add(_loss_value(loss_fn(pred, target)), pred, target)
    return record


def _run_epoch(model: Any, loss_fn: Callable[..., Any], optimizer: Any, train_loader: Any,
               val_loader: Any, metrics: dict[str, Metric]) -> dict[str, float]:
    start = time.perf_counter()
    train = _train_epoch(model, loss_fn, optimizer, train_loader, bool(metrics) and
                         val_loader is None)
    logs = {"loss": train.mean_loss("train_loader")}
    source = train
    if val_loader is not None:
        source = _evaluate(model, loss_fn, val_loader, bool(metrics))
        logs["val_loss"] = source.mean_loss("val_loader")
    if metrics:
        logs.update(source.metrics(metrics))
    logs["time"] = time.perf_counter() - start
    return logs


# ---------------------------------------------------------------- progress
def _is_terminal() -> bool:
    isatty = getattr(sys.stdout, "isatty", None)
    try:
        return bool(isatty()) if callable(isatty) else False
    except (OSError, ValueError):  # a closed or detached stream
        return False


def _format(logs: dict[str, float]) -> dict[str, str]:
    return {k: f"{v:.4g}" for k, v in logs.items() if k != "time"}


class _Progress:
    """A tqdm bar over epochs on a terminal; a plain line per epoch if tqdm is missing."""

    def __init__(self, epochs: int) -> None:
        self.epochs = epochs
        self.stream = sys.stdout
        try:
            from tqdm import tqdm
        except ImportError:
            self.bar = None
        else:
            self.bar = tqdm(total=epochs, unit="epoch", file=self.stream, dynamic_ncols=True)

    def update(self, epoch: int, logs: dict[str, float]) -> None:
        if self.bar is not None:
            self.bar.set_postfix(_format(logs), refresh=False)
            self.bar.update(1)
            return
        fields = "  ".join(f"{k} {v}" for k, v in _format(logs).items())
        print(f"epoch {epoch + 1}/{self.epochs}  {fields}", file=self.stream, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _check_fit_args(model: Any, loss_fn: Any, optimizer: Any, epochs: Any) -> None:
    if not callable(model):
        raise TypeError(f"fit: model must be callable, got {type(model).__name__}")
    if not callable(loss_fn):
        raise TypeError(f"fit: loss_fn must be callable, got {type(loss_fn).__name__}")
    for method in ("zero_grad", "step"):
        if not callable(getattr(optimizer, method, None)):
            raise TypeError(
                f"fit: optimizer must have a {method}() method, got {type(optimizer).__name__}"
            )
    if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 0:
        raise ValueError(f"fit: epochs must be an int >= 0, got {epochs!r}")


def fit(model: Any, loss_fn: Callable[..., Any], optimizer: Any, train_loader: Iterable[Any],
        epochs: int, val_loader: Iterable[Any] | None = None,
        metrics: Sequence[str | Metric] = (), callbacks: Sequence[Any] = (),
        progress: bool = True) -> History:
    r"""Train ``model`` for ``epochs`` passes over ``train_loader``; return a :class:`History`.

    For every batch ``(inputs..., target)``: ``optimizer.zero_grad()``, ``pred =
    model(*inputs)``, ``loss = loss_fn(pred, target)``, ``loss.backward()``,
    ``optimizer.step()`` — gradient descent
    :math:`\theta \leftarrow \theta - \alpha \nabla_\theta J(\theta)`.

    Per epoch it records ``"loss"``, the sample-weighted mean of the batch losses
    :math:`\sum_b n_b J_b / \sum_b n_b`; with ``val_loader``, ``"val_loss"`` computed the
    same way in ``model.eval()`` mode under ``no_grad``; each metric; and ``"time"`` (the
    epoch's seconds). Metrics are computed on the validation data when ``val_loader`` is
    given, else on the training batches' predictions gathered during the epoch (in train
    mode, with the weights changing along the epoch, as Keras reports them).

    Args:
        model: callable; its ``train()``/``eval()`` are called when it has them.
        loss_fn: ``loss_fn(pred, target)`` → a scalar Tensor.
        optimizer: has ``zero_grad()`` and ``step()``.
        train_loader: an iterable of batches ``(inputs..., target)``, re-iterated each
            epoch (e.g. a :class:`chainrule.data.DataLoader`).
        epochs: number of passes.
        val_loader: optional batches to evaluate on after each epoch.
        metrics: names (``"accuracy"`` — argmax for ``(N, C)`` outputs, ``logit > 0`` for
            ``(N,)``/``(N, 1)`` binary outputs — or ``"r2"``) or callables
            ``metric(pred, target) -> float``, recorded under their ``__name__``.
        callbacks: objects with an optional ``on_epoch_end(epoch, logs) -> bool``;
            returning ``True`` stops training after that epoch. Optional
            ``on_train_begin(model)`` and ``on_train_end(model)`` are called too.
        progress: show a progress bar (tqdm, with the epoch's loss and metrics) — only
            when standard output is a terminal; otherwise ``fit`` prints nothing.

    Returns:
        A :class:`History`; ``history.history["loss"]`` has one value per epoch run.

    Raises:
        TypeError: a model, loss or optimizer that does not follow the protocol.
        ValueError: bad ``epochs``/metrics, a non-scalar loss, an empty loader, or a batch
            that is not ``(inputs..., target)``.

    >>> import chainrule as cr
    >>> from chainrule import nn, optim
    >>> import chainrule.nn.functional as F
    >>> (X, y), _ = cr.data.load_dataset("seed_linear")  # the textbook's y = 2x
    >>> loader = cr.data.DataLoader(cr.data.TensorDataset(X, y), batch_size=4)
    >>> _ = cr.manual_seed(0)
    >>> model = nn.Linear(1, 1)
    >>> sgd = optim.SGD(model.parameters(), lr=0.05)
    >>> history = cr.fit(model, F.mse_loss, sgd, loader, epochs=300)
    >>> round(model.weight.item(), 2), history.history["loss"][-1] < 1e-5
    (2.0, True)
    """
    _check_fit_args(model, loss_fn, optimizer, epochs)
    resolved = _resolve_metrics(metrics)
    callbacks = list(callbacks) if isinstance(callbacks, (list, tuple)) else [callbacks]
    history = History()
    was_training = getattr(model, "training", None)
    bar = _Progress(int(epochs)) if progress and epochs and _is_terminal() else None
    for callback in callbacks:
        _call(callback, "on_train_begin", model)
    try:
        for epoch in range(int(epochs)):
            logs = _run_epoch(model, loss_fn, optimizer, train_loader, val_loader, resolved)
            history._record(epoch, logs)
            if bar is not None:
                bar.update(epoch, logs)
            # Every callback sees the epoch, even when an earlier one asks to stop.
            answers = [_call(cb, "on_epoch_end", epoch, dict(logs)) for cb in callbacks]
            if any(answer is True or answer is np.True_ for answer in answers):
                break
    finally:
        if bar is not None:
            bar.close()
    for callback in callbacks:
        _call(callback, "on_train_end", model)
    if was_training is not None:
        _call(model, "train" if was_training else "eval")
    return history
