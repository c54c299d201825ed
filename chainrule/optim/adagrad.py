r"""Adagrad (Duchi, Hazan & Singer, 2011): each coordinate's step shrinks with the square
root of its accumulated squared gradients."""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule.optim.optimizer import Optimizer, ParamsLike
from chainrule.tensor import Tensor


def adagrad_update(theta: np.ndarray, g: np.ndarray, state_sum: np.ndarray, t: int, *,
                   lr: float, lr_decay: float, weight_decay: float, eps: float,
                   maximize: bool) -> tuple[np.ndarray, np.ndarray]:
    r"""Step ``t`` (counted from 1) of :class:`Adagrad` on arrays; returns the new
    ``(theta, state_sum)``. Pure: the inputs are not modified."""
    if maximize:
        g = -g
    if weight_decay != 0:
        g = g + weight_decay * theta
    lr_t = lr / (1 + (t - 1) * lr_decay)
    state_sum = state_sum + g * g
    std = np.sqrt(state_sum) + eps
    theta = theta - lr_t * g / std
    return theta, state_sum


class Adagrad(Optimizer):
    r"""Adagrad: :math:`\theta \leftarrow \theta - \gamma\, g / (\sqrt{\sum_{s \le t} g_s^2}
    + \epsilon)`, coordinate by coordinate.

    The update, line for line as :func:`adagrad_update` computes it (PyTorch's ``Adagrad``):

    .. math::
        \begin{aligned}
        &\textbf{input}: \gamma \text{ (lr)},\ \eta \text{ (lr decay)},\ \lambda
            \text{ (weight decay)},\ \tau \text{ (initial accumulator value)},\
            \epsilon,\ \textit{maximize},\ \theta_0,\ J(\theta) \\
        &\textbf{initialize}: \mathit{state\_sum}_0 \leftarrow \tau \\
        &\textbf{for}\ t = 1, 2, \ldots\ \textbf{do} \\
        &\quad g_t \leftarrow \nabla_\theta J(\theta_{t-1}) \\
        &\quad \textbf{if}\ \textit{maximize}:\ g_t \leftarrow -g_t \\
        &\quad \textbf{if}\ \lambda \neq 0:\ g_t \leftarrow g_t + \lambda\theta_{t-1} \\
        &\quad \gamma_t \leftarrow \gamma / (1 + (t - 1)\eta) \\
        &\quad \mathit{state\_sum}_t \leftarrow \mathit{state\_sum}_{t-1} + g_t^2 \\
        &\quad \mathit{std}_t \leftarrow \sqrt{\mathit{state\_sum}_t} + \epsilon \\
        &\quad \theta_t \leftarrow \theta_{t-1} - \gamma_t\, g_t / \mathit{std}_t
        \end{aligned}

    State per parameter, created when the parameter joins (as PyTorch does): ``"step"``
    (:math:`t`, 0 before the first step) and ``"sum"`` (:math:`\mathit{state\_sum}`).
    A parameter group's own ``initial_accumulator_value`` is honoured (PyTorch 2.13 starts
    every group's sums at the constructor's value).

    Args:
        params: Tensors, or dicts of parameter groups (see :class:`Optimizer`).
        lr: :math:`\gamma`.
        lr_decay: :math:`\eta`.
        weight_decay: :math:`\lambda`.
        initial_accumulator_value: :math:`\tau`, the starting value of every sum.
        eps: :math:`\epsilon`.
        maximize: ascend :math:`J` instead of descending it.

    >>> import chainrule as cr
    >>> theta = cr.tensor([3.0, -4.0], requires_grad=True)
    >>> opt = cr.optim.Adagrad([theta], lr=1.0)
    >>> (theta * theta).sum().backward()
    >>> opt.step()                  # g / sqrt(g²) = sign(g): every coordinate moves by lr
    >>> theta
    tensor([ 2., -3.], requires_grad=True)
    """

    def __init__(self, params: ParamsLike, lr: float = 1e-2, lr_decay: float = 0,
                 weight_decay: float = 0, initial_accumulator_value: float = 0,
                 eps: float = 1e-10, *, maximize: bool = False) -> None:
        defaults = {"lr": lr, "lr_decay": lr_decay, "eps": eps, "weight_decay": weight_decay,
                    "initial_accumulator_value": initial_accumulator_value,
                    "maximize": maximize}
        super().__init__(params, defaults)

    def _validate(self, group: dict[str, Any]) -> None:
        self._require_numbers(
            group, ("lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps")
        )
        self._require(group["lr"] >= 0.0, f"Invalid learning rate: {group['lr']}")
        self._require(group["lr_decay"] >= 0.0, f"Invalid lr_decay value: {group['lr_decay']}")
        self._require(group["weight_decay"] >= 0.0,
                      f"Invalid weight_decay value: {group['weight_decay']}")
        self._require(group["initial_accumulator_value"] >= 0.0,
                      f"Invalid initial_accumulator_value value: "
                      f"{group['initial_accumulator_value']}")
        self._require(group["eps"] >= 0.0, f"Invalid epsilon value: {group['eps']}")

    def _init_state(self, p: Tensor, group: dict[str, Any]) -> None:
        self.state[p]["step"] = 0
        self.state[p]["sum"] = np.full_like(p.data, group["initial_accumulator_value"])

    def _update(self, p: Tensor, g: np.ndarray, state: dict[str, Any],
                group: dict[str, Any]) -> None:
        if not state:  # e.g. a load_state_dict that carried no state for this parameter
            self._init_state(p, group)
        state["step"] += 1
        theta, state_sum = adagrad_update(
            p.data, g, state["sum"], state["step"], lr=group["lr"],
            lr_decay=group["lr_decay"], weight_decay=group["weight_decay"], eps=group["eps"],
            maximize=group["maximize"],
        )
        p.data[...] = theta
        state["sum"] = state_sum
