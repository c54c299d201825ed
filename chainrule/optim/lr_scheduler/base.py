r"""The base of the learning-rate schedulers: each parameter group's ``lr`` set once per
``step()``, PyTorch's bookkeeping (``initial_lr``, ``base_lrs``, ``last_epoch``) and state
dicts that survive a round trip through ``.npz``."""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule._config import STATE
from chainrule.optim.optimizer import Optimizer

__all__ = ["LRScheduler"]


class LRScheduler:
    r"""Base class of the schedulers: sets ``group["lr"]`` for every parameter group.

    Args:
        optimizer: the optimiser whose learning rates to schedule.
        last_epoch: index of the last epoch seen; ``-1`` starts fresh (and records each
            group's ``"initial_lr"``), a larger value resumes.

    Attributes:
        base_lrs: each group's ``"initial_lr"``.
        last_epoch: the epoch the current learning rates belong to (0 after construction).
    """

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1) -> None:
        name = type(self).__name__
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{name}: {type(optimizer).__name__} is not an Optimizer")
        if isinstance(last_epoch, bool) or not isinstance(last_epoch, (int, np.integer)):
            raise TypeError(f"{name}: last_epoch must be an int, got {last_epoch!r}")
        self.optimizer = optimizer
        for i, group in enumerate(optimizer.param_groups):
            if last_epoch == -1:
                group.setdefault("initial_lr", group["lr"])
            elif "initial_lr" not in group:
                raise KeyError(
                    f"{name}: param 'initial_lr' is not specified in param_groups[{i}] when "
                    f"resuming scheduler with last_epoch >= 0 (load the optimizer's state "
                    f"first, or start with last_epoch=-1)"
                )
        self.base_lrs: list[float] = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch: int = int(last_epoch)
        self._step_count = 0
        # The first step only records the starting rates (PyTorch's "initial step").
        self._is_initial = True
        self.step()
        self._is_initial = False

    def get_lr(self) -> list[float]:
        """The learning rates for ``last_epoch``, one per group (abstract)."""
        raise NotImplementedError(f"{type(self).__name__} does not define get_lr")

    def _closed_form_lr(self) -> list[float]:
        """The rates at ``last_epoch`` computed directly from ``base_lrs``."""
        return self.get_lr()

    def step(self, epoch: int | None = None) -> None:
        """Advance one epoch (or jump to ``epoch``, using the closed form) and set each
        group's ``lr``."""
        if STATE.capture is not None:  # cr.compile: the new rates would be set once only
            raise STATE.capture.refuse(f"it calls {type(self).__name__}.step()", step=True)
        self._step_count += 1
        if epoch is None:
            self.last_epoch += 1
            values = self.get_lr()
        else:
            self.last_epoch = int(epoch)
            values = self._closed_form_lr()
        for group, lr in zip(self.optimizer.param_groups, values):
            group["lr"] = lr
        self._last_lr: list[float] = [group["lr"] for group in self.optimizer.param_groups]

    def get_last_lr(self) -> list[float]:
        """The learning rates the last :meth:`step` set, one per parameter group."""
        return list(self._last_lr)

    def state_dict(self) -> dict[str, Any]:
        """Everything but the optimiser: numbers, bools and lists of numbers (``.npz``-able)."""
        return {key: (list(value) if isinstance(value, list) else value)
                for key, value in vars(self).items() if key != "optimizer"}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a :meth:`state_dict` (also after a round trip through ``.npz``).

        Raises:
            ValueError: unknown keys, or a number of rates that does not match the groups.
        """
        name = type(self).__name__
        expected = set(vars(self)) - {"optimizer"}
        unexpected = sorted(set(state_dict) - expected)
        if unexpected:
            raise ValueError(f"{name}.load_state_dict: unexpected keys {unexpected}")
        restored = {key: _python_value(value) for key, value in state_dict.items()}
        for key in ("base_lrs", "_last_lr"):
            if key in restored and len(restored[key]) != len(self.optimizer.param_groups):
                raise ValueError(
                    f"{name}.load_state_dict: {key} has {len(restored[key])} entries, the "
                    f"optimizer has {len(self.optimizer.param_groups)} parameter groups"
                )
        self.__dict__.update(restored)

    def _current_lrs(self) -> list[float]:
        return [group["lr"] for group in self.optimizer.param_groups]


def _python_value(value: Any) -> Any:
    """Arrays (as ``.npz`` returns them) back to Python numbers and lists."""
    if isinstance(value, (np.ndarray, np.generic)):
        return value.tolist()
    return value
