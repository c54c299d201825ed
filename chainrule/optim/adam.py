r"""Adam (Kingma & Ba, 2015) and AdamW (Loshchilov & Hutter, 2019): per-coordinate step sizes
from running averages of the gradient and of its square."""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule.optim.optimizer import Optimizer, ParamsLike, _lerp_
from chainrule.tensor import Tensor


def adam_update(theta: np.ndarray, g: np.ndarray, m: np.ndarray, v: np.ndarray,
                v_max: np.ndarray | None, t: int, *, lr: float, beta1: float, beta2: float,
                eps: float, weight_decay: float, amsgrad: bool, maximize: bool,
                decoupled_weight_decay: bool, work: np.ndarray) -> None:
    r"""Step ``t`` (counted from 1) of :class:`Adam`/:class:`AdamW` on arrays, **in place**:
    ``theta``, ``m``, ``v`` (and ``v_max`` with ``amsgrad``) are updated, ``g`` is not;
    ``work`` is a scratch buffer of ``theta``'s shape. The arithmetic follows PyTorch's
    single-tensor path operation by operation, so float64 trajectories agree to rounding;
    in place, it allocates nothing (the pure form made 13 full-size temporaries per step)."""
    if maximize:
        g = -g
    if weight_decay != 0:
        if decoupled_weight_decay:
            theta *= 1 - lr * weight_decay
        else:
            g = g + weight_decay * theta
    _lerp_(m, g, 1 - beta1, work)               # m ← β1·m + (1-β1)·g
    v *= beta2                                  # v ← β2·v + ((1-β2)·g)·g
    np.multiply(g, 1 - beta2, out=work)
    work *= g
    v += work
    c1 = 1 - beta1**t
    c2 = 1 - beta2**t
    step_size = lr / c1
    if amsgrad:
        assert v_max is not None, "adam_update: amsgrad needs the v_max buffer"
        np.maximum(v_max, v, out=v_max)
        np.sqrt(v_max, out=work)
    else:
        np.sqrt(v, out=work)
    work /= c2**0.5                             # denom ← √v / √c2 + ε
    work += eps
    np.divide(m, work, out=work)                # θ ← θ − step_size·(m / denom)
    work *= step_size
    theta -= work


class Adam(Optimizer):
    r"""Adam: :math:`\theta \leftarrow \theta - \gamma\, \hat m / (\sqrt{\hat v} + \epsilon)`
    with bias-corrected running averages :math:`\hat m` of :math:`g` and :math:`\hat v` of
    :math:`g^2`.

    The update, line for line as :func:`adam_update` computes it (PyTorch's ``Adam``):

    .. math::
        \begin{aligned}
        &\textbf{input}: \gamma \text{ (lr)},\ \beta_1, \beta_2 \text{ (betas)},\
            \epsilon \text{ (eps)},\ \lambda \text{ (weight decay)},\ \textit{amsgrad},\
            \textit{maximize},\ \theta_0,\ J(\theta) \\
        &\textbf{initialize}: m_0 \leftarrow 0,\ v_0 \leftarrow 0,\ v^{max}_0 \leftarrow 0 \\
        &\textbf{for}\ t = 1, 2, \ldots\ \textbf{do} \\
        &\quad g_t \leftarrow \nabla_\theta J(\theta_{t-1}) \\
        &\quad \textbf{if}\ \textit{maximize}:\ g_t \leftarrow -g_t \\
        &\quad \textbf{if}\ \lambda \neq 0: \\
        &\qquad \textbf{if}\ \textit{decoupled}:\
            \theta_{t-1} \leftarrow \theta_{t-1}(1 - \gamma\lambda)
            \quad \textbf{else}:\ g_t \leftarrow g_t + \lambda\theta_{t-1} \\
        &\quad m_t \leftarrow \beta_1 m_{t-1} + (1 - \beta_1) g_t \\
        &\quad v_t \leftarrow \beta_2 v_{t-1} + (1 - \beta_2) g_t^2 \\
        &\quad c_1 \leftarrow 1 - \beta_1^t,\quad c_2 \leftarrow 1 - \beta_2^t \\
        &\quad \mathit{step\_size} \leftarrow \gamma / c_1 \\
        &\quad \textbf{if}\ \textit{amsgrad}:\ v^{max}_t \leftarrow \max(v^{max}_{t-1}, v_t),\
            \mathit{denom} \leftarrow \sqrt{v^{max}_t} / \sqrt{c_2} + \epsilon \\
        &\quad \textbf{else}:\ \mathit{denom} \leftarrow \sqrt{v_t} / \sqrt{c_2} + \epsilon \\
        &\quad \theta_t \leftarrow \theta_{t-1} - \mathit{step\_size} \cdot m_t / \mathit{denom}
        \end{aligned}

    This is the textbook :math:`\theta_t = \theta_{t-1} - \gamma\,\hat m_t/(\sqrt{\hat v_t}
    + \epsilon)` with :math:`\hat m_t = m_t/c_1`, :math:`\hat v_t = v_t/c_2`; the bias
    corrections are folded into ``step_size`` and ``denom`` exactly where PyTorch folds
    them, so the rounding matches too. State per parameter: ``"step"`` (:math:`t`),
    ``"exp_avg"`` (:math:`m`), ``"exp_avg_sq"`` (:math:`v`) and, with amsgrad,
    ``"max_exp_avg_sq"`` (:math:`v^{max}`) — PyTorch's names.

    Args:
        params: Tensors, or dicts of parameter groups (see :class:`Optimizer`).
        lr: :math:`\gamma`.
        betas: :math:`(\beta_1, \beta_2)`, each in :math:`[0, 1)`.
        eps: :math:`\epsilon`, keeps the denominator away from 0.
        weight_decay: :math:`\lambda`, an L2 penalty folded into :math:`g` (``Adam``) or a
            direct shrink of :math:`\theta` (``decoupled_weight_decay=True``, i.e. AdamW).
        amsgrad: divide by the running maximum of :math:`v` (Reddi et al., 2018).
        maximize: ascend :math:`J` instead of descending it.
        decoupled_weight_decay: apply weight decay as AdamW does.

    >>> import chainrule as cr
    >>> theta = cr.tensor([1.0, -1.0], requires_grad=True)
    >>> opt = cr.optim.Adam([theta], lr=0.1)
    >>> (theta * theta).sum().backward()
    >>> opt.step()     # step 1: m̂ = g, v̂ = g², so each coordinate moves by ≈ lr·sign(g)
    >>> theta.numpy().round(6)
    array([ 0.9, -0.9], dtype=float32)
    """

    def __init__(self, params: ParamsLike, lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, amsgrad: bool = False, *, maximize: bool = False,
                 decoupled_weight_decay: bool = False) -> None:
        defaults = {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
                    "amsgrad": amsgrad, "maximize": maximize,
                    "decoupled_weight_decay": decoupled_weight_decay}
        super().__init__(params, defaults)

    def _validate(self, group: dict[str, Any]) -> None:
        self._require_numbers(group, ("lr", "eps", "weight_decay"))
        betas = group["betas"]
        if not (isinstance(betas, (tuple, list)) and len(betas) == 2):
            raise TypeError(f"{self._name}: betas must be a pair (beta1, beta2), got {betas!r}")
        group["betas"] = tuple(betas)
        self._require_numbers(dict(enumerate(betas)), (0, 1))
        self._require(group["lr"] >= 0.0, f"Invalid learning rate: {group['lr']}")
        self._require(group["eps"] >= 0.0, f"Invalid epsilon value: {group['eps']}")
        for i, beta in enumerate(betas):
            self._require(0.0 <= beta < 1.0,
                          f"Invalid beta parameter at index {i}: {beta} (must be in [0, 1))")
        self._require(group["weight_decay"] >= 0.0,
                      f"Invalid weight_decay value: {group['weight_decay']}")

    def _update(self, p: Tensor, g: np.ndarray, state: dict[str, Any],
                group: dict[str, Any]) -> None:
        if not state:
            state["step"] = 0
            state["exp_avg"] = np.zeros_like(p.data)
            state["exp_avg_sq"] = np.zeros_like(p.data)
        if group["amsgrad"] and "max_exp_avg_sq" not in state:
            state["max_exp_avg_sq"] = np.zeros_like(p.data)
        state["step"] += 1
        beta1, beta2 = group["betas"]
        adam_update(
            p.data, g, state["exp_avg"], state["exp_avg_sq"], state.get("max_exp_avg_sq"),
            state["step"], lr=group["lr"], beta1=beta1, beta2=beta2, eps=group["eps"],
            weight_decay=group["weight_decay"], amsgrad=group["amsgrad"],
            maximize=group["maximize"], decoupled_weight_decay=group["decoupled_weight_decay"],
            work=self._scratch(p.data),
        )


class AdamW(Adam):
    r"""AdamW: Adam with *decoupled* weight decay,
    :math:`\theta_{t-1} \leftarrow \theta_{t-1}(1 - \gamma\lambda)` before the Adam step,
    instead of adding :math:`\lambda\theta` to the gradient (where Adam's per-coordinate
    scaling would weaken it).

    The update is :class:`Adam`'s pseudocode with the *decoupled* branch taken; PyTorch's
    defaults, including ``weight_decay=0.01``.

    Args:
        params: Tensors, or dicts of parameter groups (see :class:`Optimizer`).
        lr: :math:`\gamma`.
        betas: :math:`(\beta_1, \beta_2)`, each in :math:`[0, 1)`.
        eps: :math:`\epsilon`.
        weight_decay: :math:`\lambda` (default ``1e-2``).
        amsgrad: divide by the running maximum of :math:`v`.
        maximize: ascend :math:`J` instead of descending it.

    >>> import chainrule as cr
    >>> opt = cr.optim.AdamW([cr.tensor([1.0], requires_grad=True)])
    >>> opt.param_groups[0]["weight_decay"]
    0.01
    """

    def __init__(self, params: ParamsLike, lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False, *,
                 maximize: bool = False) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize,
                         decoupled_weight_decay=True)

    def _validate(self, group: dict[str, Any]) -> None:
        super()._validate(group)
        group["decoupled_weight_decay"] = True  # what makes it AdamW, whatever a group says
