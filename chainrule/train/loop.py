r"""The training loop, :func:`fit`, and the epoch it repeats.

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
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from chainrule._config import no_grad
from chainrule.autodiff import Traced
from chainrule.compiler import compile as compile_step
from chainrule.tensor import wrap
from chainrule.train.callbacks import History
from chainrule.train.metrics import Metric, _array, _resolve_metrics
from chainrule.train.parallel import _Synchronizer
from chainrule.train.progress import _is_terminal, _Progress


# ---------------------------------------------------------------- one epoch
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


def _diverged(loss: float, epoch: int, epochs: int, step: int, lr: float | None
              ) -> FloatingPointError:
    """The error for a training loss that stopped being a number (a plain
    ``FloatingPointError``, as API.md names it); ``epoch`` and ``step`` count from 1."""
    than = f" than {lr:g}" if lr is not None else ""
    return FloatingPointError(
        f"fit: the loss is {loss} at step {step} of epoch {epoch}/{epochs} (training "
        f"diverged; the parameters are kept from before that step): try a smaller "
        f"learning rate{than}, or look for nan/inf in the data"
    )


def _learning_rate(optimizer: Any) -> float | None:
    """The optimizer's learning rate, when it has PyTorch's ``param_groups`` and one rate."""
    try:
        rates = {float(group["lr"]) for group in optimizer.param_groups}
    except (AttributeError, KeyError, TypeError, ValueError):
        return None
    return rates.pop() if len(rates) == 1 else None


def _forward(model: Any, loss_fn: Callable[..., Any], compiled: Any, inputs: list[Any],
             target: Any) -> tuple[Any, Any]:
    """``(loss, pred)`` of one batch: eagerly, or replayed by ``fit(compile=True)``'s step."""
    if compiled is not None:
        return compiled(*inputs, target)
    pred = model(*inputs)
    return loss_fn(pred, target), pred


def _train_epoch(model: Any, loss_fn: Callable[..., Any], optimizer: Any, loader: Iterable[Any],
                 keep: bool, epoch: int, epochs: int, compiled: Any = None) -> _Epoch:
    _call(model, "train")
    record = _Epoch(keep)
    for step, batch in enumerate(loader, start=1):
        inputs, target = _split_batch(batch)
        optimizer.zero_grad()
        loss, pred = _forward(model, loss_fn, compiled, inputs, target)
        value = _loss_value(loss)
        if not math.isfinite(value):  # stop before the step spreads nan into every weight
            raise _diverged(value, epoch + 1, epochs, step, _learning_rate(optimizer))
        loss.backward()  # dJ/dθ for every parameter, by the chain rule
        optimizer.step()
        record.add(value, pred, target)
    return record


_NO_BATCH = object()


def _train_epoch_synced(model: Any, loss_fn: Callable[..., Any], optimizer: Any,
                        loader: Iterable[Any], keep: bool, epoch: int, epochs: int,
                        sync: _Synchronizer, compiled: Any = None) -> _Epoch:
    """:func:`_train_epoch` on one rank of several: the gradients are averaged over the
    ranks before each step, a rank out of batches joins with none until all are, and the
    record holds every rank's batches (see :mod:`chainrule.train.parallel`)."""
    _call(model, "train")
    record = _Epoch(keep)
    batches = iter(loader)
    step = 0
    while True:
        batch = next(batches, _NO_BATCH)
        step += 1
        optimizer.zero_grad()
        sync.zero_grad()  # the gradients as views of the arena again, at zero
        count, value = 0, 0.0
        if batch is not _NO_BATCH:
            inputs, target = _split_batch(batch)
            loss, pred = _forward(model, loss_fn, compiled, inputs, target)
            value = _loss_value(loss)
            loss.backward()  # a nan is caught below, after every rank has seen it
            count = _count(target)
        total, union_loss = sync.average(count, value)
        if total == 0:
            break
        if not math.isfinite(union_loss):
            raise _diverged(union_loss, epoch + 1, epochs, step, _learning_rate(optimizer))
        optimizer.step()
        if batch is not _NO_BATCH:
            record.add(value, pred, target)
    sync.end_epoch()
    return sync.merge(record)


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
               val_loader: Any, metrics: dict[str, Metric], epoch: int, epochs: int,
               sync: _Synchronizer | None = None, compiled: Any = None) -> dict[str, float]:
    """One epoch's logs in Keras's order and names: ``loss``, each metric on the training
    batches, ``val_loss``, ``val_`` + each metric on the validation data, ``time``.
    With ``sync`` (distributed), the figures are the union of all ranks' batches."""
    start = time.perf_counter()
    if sync is None:
        train = _train_epoch(model, loss_fn, optimizer, train_loader, bool(metrics), epoch,
                             epochs, compiled)
    else:
        train = _train_epoch_synced(model, loss_fn, optimizer, train_loader, bool(metrics),
                                    epoch, epochs, sync, compiled)
    logs = {"loss": train.mean_loss("train_loader")}
    if metrics:
        logs.update(train.metrics(metrics))
    if val_loader is not None:
        val = _evaluate(model, loss_fn, val_loader, bool(metrics))
        if sync is not None:
            val = sync.merge(val)
        logs["val_loss"] = val.mean_loss("val_loader")
        if metrics:
            logs.update({f"val_{name}": value for name, value in val.metrics(metrics).items()})
    logs["time"] = time.perf_counter() - start
    return logs


# ---------------------------------------------------------------- fit
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
        progress: bool = True, distributed: bool = False, compile: bool = False) -> History:
    r"""Train ``model`` for ``epochs`` passes over ``train_loader``; return a :class:`History`.

    For every batch ``(inputs..., target)``: ``optimizer.zero_grad()``, ``pred =
    model(*inputs)``, ``loss = loss_fn(pred, target)``, ``loss.backward()``,
    ``optimizer.step()`` — gradient descent
    :math:`\theta \leftarrow \theta - \alpha \nabla_\theta J(\theta)`.

    Per epoch it records, under Keras's names, ``"loss"``, the sample-weighted mean of the
    batch losses :math:`\sum_b n_b J_b / \sum_b n_b`, and each metric under its name
    (``"accuracy"``), computed on the training batches' predictions gathered during the
    epoch (in train mode, with the weights changing along the epoch, as Keras reports
    them); with ``val_loader``, ``"val_loss"`` computed the same way in ``model.eval()``
    mode under ``no_grad``, and each metric on the validation data as ``"val_"`` + its name
    (``"val_accuracy"``); and ``"time"`` (the epoch's seconds).

    A training loss that is ``nan`` or ``inf`` stops ``fit`` at once, before that step's
    update, with a ``FloatingPointError`` naming the epoch and the step: the usual cause is
    a learning rate too large for the problem.

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
            ``metric(pred, target) -> float``, recorded under their ``__name__`` (and
            ``"val_"`` + it for the validation data).
        callbacks: objects with an optional ``on_epoch_end(epoch, logs) -> bool``;
            returning ``True`` stops training after that epoch. Optional
            ``on_train_begin(model)`` and ``on_train_end(model)`` are called too.
        progress: show a progress bar (tqdm, with the epoch's loss and metrics) — a widget
            in Jupyter, text on a terminal; elsewhere (output redirected to a file or a
            pipe) ``fit`` prints nothing.
        distributed: train on every rank of an MPI job (``mpirun -np N``; the extra
            ``chainrule[mpi]``) as one process would on the union of the ranks' batches:
            rank 0's parameters are copied to all, each step's gradients are averaged by
            sample count in one ``Allreduce`` (:func:`chainrule.distributed.average_gradients`),
            and the logs are the union's. Give each rank its part of the data with
            ``DataLoader(cr.distributed.shard(dataset), ...)``. Only rank 0 shows progress.
            The model's forward must treat samples independently and draw no random
            numbers (no BatchNorm in train mode, no Dropout) for the result to equal one
            process's; ``loss_fn`` must average over the batch (see docs/distributed.md).
        compile: run each training step — the model's forward, the loss and their
            backward pass — through :func:`chainrule.compile` (captured on the first batch
            of each shape, replayed afterwards): the same parameters, bit for bit, faster.

    Returns:
        A :class:`History`; ``history.history["loss"]`` has one value per epoch run.

    Raises:
        TypeError: a model, loss or optimizer that does not follow the protocol.
        ValueError: bad ``epochs``/metrics, a non-scalar loss, an empty loader, or a batch
            that is not ``(inputs..., target)``.
        FloatingPointError: the training loss became ``nan`` or ``inf`` (training diverged).

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
    compiled = _compiled_step(model, loss_fn) if compile else None
    resolved = _resolve_metrics(metrics)
    callbacks = list(callbacks) if isinstance(callbacks, (list, tuple)) else [callbacks]
    history = History()
    was_training = getattr(model, "training", None)
    sync = _Synchronizer(model, optimizer) if distributed else None
    shows = progress and epochs and _is_terminal() and (sync is None or sync.is_main)
    bar = _Progress(int(epochs)) if shows else None
    for callback in callbacks:
        _call(callback, "on_train_begin", model)
    try:
        for epoch in range(int(epochs)):
            logs = _run_epoch(model, loss_fn, optimizer, train_loader, val_loader, resolved,
                              epoch, int(epochs), sync, compiled)
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


def _compiled_step(model: Any, loss_fn: Callable[..., Any]) -> Any:
    """``step(*inputs, target) -> (loss, pred)`` compiled, for ``fit(compile=True)``."""
    def step(*batch: Any) -> tuple[Any, Any]:
        pred = model(*batch[:-1])
        return loss_fn(pred, batch[-1]), pred

    step.__name__ = f"the training step of {type(model).__name__}"
    return compile_step(step)
