r"""Learning-rate schedules: change each parameter group's ``lr`` once per epoch.

Call ``scheduler.step()`` after each epoch's ``optimizer.step()`` calls. The sequences equal
PyTorch's: each scheduler computes the next rate from the current one (the *chainable*
form), in the same floating-point order, and ``step(epoch)`` uses the closed form.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from chainrule.optim.optimizer import Optimizer

__all__ = ["LRScheduler", "StepLR", "ExponentialLR", "CosineAnnealingLR"]


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


class StepLR(LRScheduler):
    r"""Multiply the learning rate by :math:`\gamma` every ``step_size`` epochs:
    :math:`\eta_t = \eta_0\, \gamma^{\lfloor t / \text{step\_size} \rfloor}`.

    Computed as PyTorch does: at each epoch :math:`t > 0` that is a multiple of
    ``step_size``, :math:`\eta \leftarrow \gamma\eta`; otherwise :math:`\eta` is unchanged.

    Args:
        optimizer: the optimiser to schedule.
        step_size: period of the decay, in epochs (a positive int).
        gamma: multiplicative factor.
        last_epoch: ``-1`` to start fresh.

    >>> import chainrule as cr
    >>> opt = cr.optim.SGD([cr.tensor([1.0], requires_grad=True)], lr=1.0)
    >>> sched = cr.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    >>> lrs = []
    >>> for epoch in range(5):
    ...     lrs.append(sched.get_last_lr()[0])
    ...     opt.step(); sched.step()
    >>> lrs
    [1.0, 1.0, 0.5, 0.5, 0.25]
    """

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1,
                 last_epoch: int = -1) -> None:
        if isinstance(step_size, bool) or not isinstance(step_size, (int, np.integer)) \
                or step_size <= 0:
            raise ValueError(f"StepLR: step_size must be a positive int, got {step_size!r}")
        self.step_size: int = int(step_size)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return self._current_lrs()
        return [lr * self.gamma for lr in self._current_lrs()]

    def _closed_form_lr(self) -> list[float]:
        return [base_lr * self.gamma ** (self.last_epoch // self.step_size)
                for base_lr in self.base_lrs]


class ExponentialLR(LRScheduler):
    r"""Multiply the learning rate by :math:`\gamma` every epoch:
    :math:`\eta_t = \eta_0 \gamma^t`, computed as :math:`\eta \leftarrow \gamma\eta`.

    Args:
        optimizer: the optimiser to schedule.
        gamma: multiplicative factor.
        last_epoch: ``-1`` to start fresh.

    >>> import chainrule as cr
    >>> opt = cr.optim.SGD([cr.tensor([1.0], requires_grad=True)], lr=1.0)
    >>> sched = cr.optim.lr_scheduler.ExponentialLR(opt, gamma=0.5)
    >>> opt.step(); sched.step(); opt.step(); sched.step()
    >>> sched.get_last_lr()
    [0.25]
    """

    def __init__(self, optimizer: Optimizer, gamma: float, last_epoch: int = -1) -> None:
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self._is_initial:
            return self._current_lrs()
        return [lr * self.gamma for lr in self._current_lrs()]

    def _closed_form_lr(self) -> list[float]:
        return [base_lr * self.gamma**self.last_epoch for base_lr in self.base_lrs]


class CosineAnnealingLR(LRScheduler):
    r"""Cosine annealing from the initial rate :math:`\eta_{max}` down to ``eta_min``
    over ``T_max`` epochs (SGDR, Loshchilov & Hutter 2017, without restarts):

    .. math::
        \eta_t = \eta_{min} + \tfrac12 (\eta_{max} - \eta_{min})
            \left(1 + \cos\frac{t\pi}{T_{max}}\right).

    ``step()`` computes it recursively from the current rate, as PyTorch does:

    .. math::
        \eta_t = \eta_{min} + (\eta_{t-1} - \eta_{min})
            \frac{1 + \cos(t\pi/T_{max})}{1 + \cos((t-1)\pi/T_{max})},

    except at :math:`t = T_{max} + 1 \pmod{2T_{max}}`, where the denominator vanishes and
    :math:`\eta_t = \eta_{t-1} + \tfrac12(\eta_{max} - \eta_{min})(1 - \cos(\pi/T_{max}))`
    (so past ``T_max`` the rate rises again along the cosine). Schedules computed this
    way also follow rates changed by hand between epochs.

    Args:
        optimizer: the optimiser to schedule.
        T_max: half-period in epochs (a positive int).
        eta_min: the minimum rate.
        last_epoch: ``-1`` to start fresh.

    >>> import chainrule as cr
    >>> opt = cr.optim.SGD([cr.tensor([1.0], requires_grad=True)], lr=1.0)
    >>> sched = cr.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=2)
    >>> opt.step(); sched.step()
    >>> round(sched.get_last_lr()[0], 12)       # ½(1 + cos(π/2))
    0.5
    """

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0,
                 last_epoch: int = -1) -> None:
        if isinstance(T_max, bool) or not isinstance(T_max, (int, np.integer)) or T_max <= 0:
            raise ValueError(f"CosineAnnealingLR: T_max must be a positive int, got {T_max!r}")
        self.T_max: int = int(T_max)
        self.eta_min = eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        t, T_max, eta_min = self.last_epoch, self.T_max, self.eta_min
        if self._is_initial:
            return self._current_lrs()
        if self._step_count == 1 and t > 0:  # resuming: nothing to recurse from
            return [eta_min + (base_lr - eta_min) * (1 + math.cos(t * math.pi / T_max)) / 2
                    for base_lr in self.base_lrs]
        if (t - 1 - T_max) % (2 * T_max) == 0:
            return [lr + (base_lr - eta_min) * (1 - math.cos(math.pi / T_max)) / 2
                    for base_lr, lr in zip(self.base_lrs, self._current_lrs())]
        return [(1 + math.cos(math.pi * t / T_max)) / (1 + math.cos(math.pi * (t - 1) / T_max))
                * (lr - eta_min) + eta_min
                for lr in self._current_lrs()]

    def _closed_form_lr(self) -> list[float]:
        return [self.eta_min + (base_lr - self.eta_min)
                * (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2
                for base_lr in self.base_lrs]
