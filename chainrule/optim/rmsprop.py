r"""RMSprop (Hinton, Coursera lecture 6e): divide the gradient by a running root mean square
of recent gradients."""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule.optim.optimizer import Optimizer, ParamsLike, _lerp
from chainrule.tensor import Tensor


def rmsprop_update(theta: np.ndarray, g: np.ndarray, v: np.ndarray, g_avg: np.ndarray | None,
                   b: np.ndarray | None, *, lr: float, alpha: float, eps: float,
                   weight_decay: float, momentum: float, centered: bool, maximize: bool,
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
    r"""One step of :class:`RMSprop` on arrays; returns the new ``(theta, v, g_avg, b)``
    (``g_avg`` only when ``centered``, ``b`` only when ``momentum > 0``, else passed
    through). Pure: the inputs are not modified."""
    if maximize:
        g = -g
    if weight_decay != 0:
        g = g + weight_decay * theta
    v = alpha * v + (1 - alpha) * g * g
    if centered:
        assert g_avg is not None, "rmsprop_update: centered needs the g_avg buffer"
        g_avg = _lerp(g_avg, g, 1 - alpha)      # α·g_avg + (1-α)·g
        v_tilde = v - g_avg * g_avg
    else:
        v_tilde = v
    denom = np.sqrt(v_tilde) + eps
    if momentum > 0:
        assert b is not None, "rmsprop_update: momentum needs the b buffer"
        b = momentum * b + g / denom
        theta = theta - lr * b
    else:
        theta = theta - lr * g / denom
    return theta, v, g_avg, b


class RMSprop(Optimizer):
    r"""RMSprop: :math:`\theta \leftarrow \theta - \gamma\, g / (\sqrt{v} + \epsilon)` with
    :math:`v` a running average of :math:`g^2`.

    The update, line for line as :func:`rmsprop_update` computes it (PyTorch's ``RMSprop``):

    .. math::
        \begin{aligned}
        &\textbf{input}: \gamma \text{ (lr)},\ \alpha \text{ (smoothing)},\ \epsilon,\
            \lambda \text{ (weight decay)},\ \mu \text{ (momentum)},\ \textit{centered},\
            \textit{maximize},\ \theta_0,\ J(\theta) \\
        &\textbf{initialize}: v_0 \leftarrow 0,\ g^{avg}_0 \leftarrow 0,\ b_0 \leftarrow 0 \\
        &\textbf{for}\ t = 1, 2, \ldots\ \textbf{do} \\
        &\quad g_t \leftarrow \nabla_\theta J(\theta_{t-1}) \\
        &\quad \textbf{if}\ \textit{maximize}:\ g_t \leftarrow -g_t \\
        &\quad \textbf{if}\ \lambda \neq 0:\ g_t \leftarrow g_t + \lambda\theta_{t-1} \\
        &\quad v_t \leftarrow \alpha v_{t-1} + (1 - \alpha) g_t^2 \\
        &\quad \textbf{if}\ \textit{centered}:\
            g^{avg}_t \leftarrow \alpha g^{avg}_{t-1} + (1 - \alpha) g_t,\
            \tilde v_t \leftarrow v_t - (g^{avg}_t)^2 \\
        &\quad \textbf{else}:\ \tilde v_t \leftarrow v_t \\
        &\quad \mathit{denom} \leftarrow \sqrt{\tilde v_t} + \epsilon \\
        &\quad \textbf{if}\ \mu > 0:\ b_t \leftarrow \mu b_{t-1} + g_t / \mathit{denom},\
            \theta_t \leftarrow \theta_{t-1} - \gamma b_t \\
        &\quad \textbf{else}:\ \theta_t \leftarrow \theta_{t-1} - \gamma\, g_t / \mathit{denom}
        \end{aligned}

    State per parameter (PyTorch's names): ``"step"`` (:math:`t`), ``"square_avg"``
    (:math:`v`), ``"momentum_buffer"`` (:math:`b`, when :math:`\mu > 0`) and ``"grad_avg"``
    (:math:`g^{avg}`, when centered).

    Args:
        params: Tensors, or dicts of parameter groups (see :class:`Optimizer`).
        lr: :math:`\gamma`.
        alpha: :math:`\alpha`, the smoothing constant of the running averages.
        eps: :math:`\epsilon`.
        weight_decay: :math:`\lambda`.
        momentum: :math:`\mu`.
        centered: divide by an estimate of the gradient's variance,
            :math:`v - (g^{avg})^2`, rather than its raw second moment.
        maximize: ascend :math:`J` instead of descending it.

    >>> import chainrule as cr
    >>> theta = cr.tensor([2.0], requires_grad=True)
    >>> opt = cr.optim.RMSprop([theta], lr=0.01, alpha=0.75)
    >>> (theta * theta).sum().backward()       # g = 4, v = 0.25·16 = 4, sqrt(v) = 2
    >>> opt.step()                             # θ = 2 - 0.01·4/2
    >>> theta
    tensor([1.98], requires_grad=True)
    """

    def __init__(self, params: ParamsLike, lr: float = 1e-2, alpha: float = 0.99,
                 eps: float = 1e-8, weight_decay: float = 0, momentum: float = 0,
                 centered: bool = False, *, maximize: bool = False) -> None:
        defaults = {"lr": lr, "momentum": momentum, "alpha": alpha, "eps": eps,
                    "centered": centered, "weight_decay": weight_decay, "maximize": maximize}
        super().__init__(params, defaults)

    def _validate(self, group: dict[str, Any]) -> None:
        self._require_numbers(group, ("lr", "momentum", "alpha", "eps", "weight_decay"))
        self._require(group["lr"] >= 0.0, f"Invalid learning rate: {group['lr']}")
        self._require(group["eps"] >= 0.0, f"Invalid epsilon value: {group['eps']}")
        self._require(group["momentum"] >= 0.0, f"Invalid momentum value: {group['momentum']}")
        self._require(group["weight_decay"] >= 0.0,
                      f"Invalid weight_decay value: {group['weight_decay']}")
        self._require(group["alpha"] >= 0.0, f"Invalid alpha value: {group['alpha']}")

    def _update(self, p: Tensor, g: np.ndarray, state: dict[str, Any],
                group: dict[str, Any]) -> None:
        if not state:
            state["step"] = 0
            state["square_avg"] = np.zeros_like(p.data)
        if group["momentum"] > 0 and "momentum_buffer" not in state:
            state["momentum_buffer"] = np.zeros_like(p.data)
        if group["centered"] and "grad_avg" not in state:
            state["grad_avg"] = np.zeros_like(p.data)
        state["step"] += 1
        theta, v, g_avg, b = rmsprop_update(
            p.data, g, state["square_avg"], state.get("grad_avg"), state.get("momentum_buffer"),
            lr=group["lr"], alpha=group["alpha"], eps=group["eps"],
            weight_decay=group["weight_decay"], momentum=group["momentum"],
            centered=group["centered"], maximize=group["maximize"],
        )
        p.data[...] = theta
        state["square_avg"] = v
        if g_avg is not None:
            state["grad_avg"] = g_avg
        if b is not None:
            state["momentum_buffer"] = b
