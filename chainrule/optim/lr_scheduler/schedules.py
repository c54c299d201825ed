r"""Schedules that are a function of the epoch: ``StepLR``, ``ExponentialLR``,
``CosineAnnealingLR`` and ``LambdaLR``; each changes every parameter group's ``lr`` once
per epoch.

Call ``scheduler.step()`` after each epoch's ``optimizer.step()`` calls. The sequences equal
PyTorch's: each scheduler computes the next rate from the current one (the *chainable*
form), in the same floating-point order, and ``step(epoch)`` uses the closed form.
"""

from __future__ import annotations

import math
import types
from collections.abc import Callable
from typing import Any

import numpy as np

from chainrule.optim.lr_scheduler.base import LRScheduler
from chainrule.optim.optimizer import Optimizer

__all__ = ["CosineAnnealingLR", "ExponentialLR", "LambdaLR", "StepLR"]


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


class LambdaLR(LRScheduler):
    r"""The initial rate times a function of the epoch: :math:`\eta_t = \eta_0\,\lambda(t)`.

    Args:
        optimizer: the optimiser to schedule.
        lr_lambda: a function of the epoch ``t`` (an int), or a list of them, one per
            parameter group.
        last_epoch: ``-1`` to start fresh.

    ``state_dict()`` cannot hold functions: as in PyTorch it records ``None`` for a plain
    function and the attributes (``__dict__``) of a callable object, which
    ``load_state_dict`` restores into the object given at construction.

    >>> import chainrule as cr
    >>> opt = cr.optim.SGD([cr.tensor([1.0], requires_grad=True)], lr=1.0)
    >>> sched = cr.optim.lr_scheduler.LambdaLR(opt, lambda t: 1 / (t + 1))
    >>> opt.step(); sched.step(); opt.step(); sched.step()
    >>> sched.get_last_lr()
    [0.3333333333333333]
    """

    def __init__(self, optimizer: Optimizer, lr_lambda: Callable[[int], float]
                 | list[Callable[[int], float]], last_epoch: int = -1) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"LambdaLR: {type(optimizer).__name__} is not an Optimizer")
        n = len(optimizer.param_groups)
        if isinstance(lr_lambda, (list, tuple)):
            if len(lr_lambda) != n:
                raise ValueError(f"LambdaLR: expected {n} lr_lambdas (one per parameter "
                                 f"group), got {len(lr_lambda)}")
            lambdas = list(lr_lambda)
        else:
            lambdas = [lr_lambda] * n
        for fn in lambdas:
            if not callable(fn):
                raise TypeError(f"LambdaLR: lr_lambda must be a function of the epoch (or a "
                                f"list of them), got {type(fn).__name__}")
        self.lr_lambdas: list[Callable[[int], float]] = lambdas
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        return [base_lr * fn(self.last_epoch)
                for fn, base_lr in zip(self.lr_lambdas, self.base_lrs)]

    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        state["lr_lambdas"] = [None if isinstance(fn, types.FunctionType) else dict(vars(fn))
                               for fn in self.lr_lambdas]
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        state = dict(state_dict)
        saved = state.pop("lr_lambdas", [None] * len(self.lr_lambdas))
        super().load_state_dict(state)
        for fn, attributes in zip(self.lr_lambdas, saved):
            if attributes is not None:
                vars(fn).update(attributes)
