r"""Callbacks for :func:`~chainrule.train.fit`: the :class:`History` it returns and
:class:`EarlyStopping`.

A callback is any object with some of ``on_train_begin(model)``,
``on_epoch_end(epoch, logs) -> bool`` (``True`` stops training) and
``on_train_end(model)``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from chainrule.tensor import wrap
from chainrule.train.metrics import _array


class History:
    r"""What :func:`fit` records: ``history[key]`` is a list with one value per epoch.

    Keys, as Keras names them: ``"loss"`` (the training loss, averaged over samples), each
    metric's name (``"accuracy"``: on the training batches), and with a validation loader
    ``"val_loss"`` and ``"val_"`` + each metric's name (``"val_accuracy"``); and ``"time"``
    (seconds the epoch took).

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
            ``"accuracy"`` (training batches), ``"val_accuracy"`` (validation data).
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
        self.min_delta: float = float(min_delta)
        self.mode = mode
        self.restore_best: bool = bool(restore_best)
        self._reset()

    def _reset(self) -> None:
        self.best: float = math.inf if self.mode == "min" else -math.inf
        self.best_epoch: int | None = None
        self.stopped_epoch: int | None = None
        self.wait: int = 0
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
                f"(available: {', '.join(logs)}){_missing_hint(self.monitor, logs)}"
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


def _missing_hint(monitor: str, logs: dict[str, float]) -> str:
    """What to pass to ``fit`` so that its logs hold ``monitor``."""
    if monitor.startswith("val_") and "val_loss" not in logs:
        return "; for the val_ keys pass val_loader to fit"
    name = monitor[len("val_"):] if monitor.startswith("val_") else monitor
    return f"; pass metrics=[{name!r}] to fit" if name not in ("loss", "time") else ""


def _snapshot(model: Any) -> dict[str, np.ndarray]:
    return {k: np.array(_array(v), copy=True) for k, v in model.state_dict().items()}
