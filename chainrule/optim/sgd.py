r"""Stochastic gradient descent, with optional momentum, Nesterov momentum and weight decay."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from chainrule._quiet import quiet
from chainrule._source import define
from chainrule.optim.optimizer import Optimizer, ParamsLike
from chainrule.tensor import Tensor


def sgd_update(theta: np.ndarray, g: np.ndarray, b: np.ndarray | None, *, lr: float,
               momentum: float, dampening: float, nesterov: bool, weight_decay: float,
               maximize: bool, work: np.ndarray) -> np.ndarray | None:
    r"""One step of :class:`SGD` on arrays, **in place**: ``theta`` and the momentum buffer
    ``b`` are updated, ``g`` is not; ``work`` is a scratch buffer of ``theta``'s shape.
    Returns the buffer (a new one on the first step, ``None`` when ``momentum == 0``).
    The arithmetic is PyTorch's, operation by operation; in place it allocates nothing
    after the first step (the pure form made 5 full-size temporaries per step).
    """
    if maximize:
        g = -g
    if weight_decay != 0:
        g = g + weight_decay * theta
    if momentum != 0:
        if b is None:
            b = g.copy()  # the first step starts the buffer at g, undamped (PyTorch)
        else:
            b *= momentum                       # b ← μ·b + (1-τ)·g
            if dampening == 0:
                b += g                          # (1-0)·g is g exactly: no multiply
            else:
                np.multiply(g, 1 - dampening, out=work)
                b += work
        if nesterov:
            g = g + momentum * b
        else:
            g = b
    np.multiply(g, lr, out=work)                # θ ← θ − γ·g
    theta -= work
    return b


class SGD(Optimizer):
    r"""Stochastic gradient descent: :math:`\theta \leftarrow \theta - \gamma\,\nabla_\theta J`
    at momentum 0, the textbook's update.

    The update, line for line as :func:`sgd_update` computes it (PyTorch's ``SGD``):

    .. math::
        \begin{aligned}
        &\textbf{input}: \gamma \text{ (lr)},\ \theta_0,\ J(\theta),\ \lambda
            \text{ (weight decay)},\ \mu \text{ (momentum)},\ \tau \text{ (dampening)},\
            \textit{nesterov},\ \textit{maximize} \\
        &\textbf{for}\ t = 1, 2, \ldots\ \textbf{do} \\
        &\quad g_t \leftarrow \nabla_\theta J(\theta_{t-1}) \\
        &\quad \textbf{if}\ \textit{maximize}:\ g_t \leftarrow -g_t \\
        &\quad \textbf{if}\ \lambda \neq 0:\ g_t \leftarrow g_t + \lambda \theta_{t-1} \\
        &\quad \textbf{if}\ \mu \neq 0: \\
        &\qquad \textbf{if}\ t > 1:\ b_t \leftarrow \mu b_{t-1} + (1 - \tau) g_t
            \quad \textbf{else}:\ b_t \leftarrow g_t \\
        &\qquad \textbf{if}\ \textit{nesterov}:\ g_t \leftarrow g_t + \mu b_t
            \quad \textbf{else}:\ g_t \leftarrow b_t \\
        &\quad \theta_t \leftarrow \theta_{t-1} - \gamma g_t
        \end{aligned}

    ``b`` is kept in ``state[p]["momentum_buffer"]`` (only when :math:`\mu \neq 0`).

    Args:
        params: Tensors, or dicts of parameter groups (see :class:`Optimizer`).
        lr: learning rate :math:`\gamma` (PyTorch's default ``1e-3``).
        momentum: :math:`\mu \ge 0`.
        dampening: :math:`\tau`, the fraction of each new gradient left out of the buffer.
        nesterov: look ahead along the momentum (needs ``momentum > 0`` and
            ``dampening == 0``).
        weight_decay: :math:`\lambda \ge 0`, L2 penalty folded into the gradient.
        maximize: ascend :math:`J` instead of descending it.

    >>> import chainrule as cr
    >>> theta = cr.tensor([1.0], requires_grad=True)
    >>> opt = cr.optim.SGD([theta], lr=0.5, momentum=0.9)
    >>> for _ in range(2):
    ...     opt.zero_grad()
    ...     (theta * theta).sum().backward()     # J = θ², dJ/dθ = 2θ
    ...     opt.step()
    >>> theta       # step 1: b = g = 2, θ = 1 - 0.5·2 = 0; step 2: b = 0.9·2 + 0, θ = -0.5·1.8
    tensor([-0.9], requires_grad=True)
    """

    def __init__(self, params: ParamsLike, lr: float = 1e-3, momentum: float = 0,
                 dampening: float = 0, nesterov: bool = False, weight_decay: float = 0, *,
                 maximize: bool = False) -> None:
        defaults = {"lr": lr, "momentum": momentum, "dampening": dampening,
                    "weight_decay": weight_decay, "nesterov": nesterov, "maximize": maximize}
        super().__init__(params, defaults)

    def _validate(self, group: dict[str, Any]) -> None:
        self._require_numbers(group, ("lr", "momentum", "dampening", "weight_decay"))
        self._require(group["lr"] >= 0.0, f"Invalid learning rate: {group['lr']}")
        self._require(group["momentum"] >= 0.0, f"Invalid momentum value: {group['momentum']}")
        self._require(group["weight_decay"] >= 0.0,
                      f"Invalid weight_decay value: {group['weight_decay']}")
        self._require(
            not group["nesterov"] or (group["momentum"] > 0 and group["dampening"] == 0),
            "Nesterov momentum requires a momentum and zero dampening",
        )

    @quiet  # as Optimizer._update_all
    def _update_all(self) -> None:
        """:meth:`Optimizer._update_all`, with the common case — no weight decay, no
        dampening, no Nesterov, not maximising, the gradient already of the parameter's
        shape and dtype, the momentum buffer started — written out inline: the same
        operations on the same arrays as :func:`sgd_update` (so the same bits), without
        its call and the gradient's checks per parameter (an eager training loop's
        step; a compiled one replays :meth:`_replay_update`)."""
        state_of = self.state
        for group in self.param_groups:
            lr, momentum = group["lr"], group["momentum"]
            plain = not (group["weight_decay"] or group["dampening"] or group["nesterov"]
                         or group["maximize"])
            for p in group["params"]:
                grad = p.grad
                if grad is None:
                    continue
                state = state_of[p]
                theta = p._data
                g = grad._data if type(grad) is Tensor else None
                b = state.get("momentum_buffer") if momentum else None
                if (not plain or g is None or g.shape != theta.shape
                        or g.dtype != theta.dtype or (momentum and b is None)):
                    self._update(p, self._grad_array(p), state, group)
                    continue
                if b is not None:
                    b *= momentum                       # b ← μ·b + g
                    b += g
                    g = b
                work = self._scratch(theta)
                np.multiply(g, lr, out=work)            # θ ← θ − γ·g
                theta -= work

    def _replay_update(self) -> Callable[[], None]:
        r"""The update written out for the parameters and state this optimiser has now
        (for a compiled training step to replay, see :meth:`Optimizer._replay_update`):
        per parameter in the common case (no weight decay, dampening, Nesterov or
        maximize; the momentum buffer started), :func:`sgd_update`'s operations on the
        same arrays, hence the same bits,

        .. math:: b \leftarrow \mu b;\quad b \leftarrow b + g;\quad
                  w \leftarrow \gamma b;\quad \theta \leftarrow \theta - w

        (:math:`w \leftarrow \gamma g` at :math:`\mu = 0`), with ``lr`` and
        ``momentum`` read from the group on every call. What it relies on is checked on
        every call: the groups and the state are the same objects, the group's options
        still those of the common case, each buffer the one it was; a gradient of
        another shape or dtype, a parameter without a buffer, or anything else goes
        through the generic :meth:`_update` (one parameter) or :meth:`_update_all`.
        """
        names: dict[str, Any] = {"opt": self, "PG": self.param_groups, "ST": self.state,
                                 "generic": self._update_all, "one": self._update_one,
                                 "multiply": np.multiply, "add": np.add,
                                 "subtract": np.subtract, "Tensor": Tensor}
        guard = ["opt.param_groups is PG", "opt.state is ST"]
        body: list[str] = []
        for i, group in enumerate(self.param_groups):
            if (group["weight_decay"] or group["dampening"] or group["nesterov"]
                    or group["maximize"]):
                return self._update_all
            G, momentum = f"G{i}", bool(group["momentum"])
            names[G] = group
            guard += [f"PG[{i}] is {G}", f"not ({G}['weight_decay'] or {G}['dampening'] or "
                      f"{G}['nesterov'] or {G}['maximize'])",
                      f"{G}['momentum']" if momentum else f"not {G}['momentum']"]
            body.append(f"lr = {G}['lr']")
            if momentum:
                body.append(f"mu = {G}['momentum']")
            for j, p in enumerate(group["params"]):
                P, W = f"P{i}_{j}", f"W{i}_{j}"
                names[P], names[W] = p, self._scratch(p._data)
                buffer = self.state[p].get("momentum_buffer") if momentum else None
                body += [f"g = {P}.grad", "if g is not None:"]
                if momentum and buffer is None:  # not started yet: the generic rule
                    body.append(f"    one({P}, {G})")
                    continue
                check = (f"not isinstance(g, Tensor) or g._data.shape != {W}.shape or "
                         f"t.shape != {W}.shape or g._data.dtype != t.dtype")
                if momentum:
                    B = f"B{i}_{j}"
                    names[B], names[f"S{i}_{j}"] = buffer, self.state[p]
                    check += f" or S{i}_{j}.get('momentum_buffer') is not {B}"
                body += [f"    t = {P}._data", f"    if {check}:", f"        one({P}, {G})",
                         "    else:", "        g = g._data"]
                if p._data.shape == () and p._data.dtype == np.float64:
                    # a scalar float64 parameter (the textbook's θ₀, θ₁): the same IEEE
                    # double operations in Python floats, without four ufunc calls
                    if momentum:
                        body += [f"        b = {B}.item() * mu + g.item()",
                                 f"        {B}[()] = b", "        t[()] = t.item() - b * lr"]
                    else:
                        body.append("        t[()] = t.item() - g.item() * lr")
                    continue
                if momentum:
                    body += [f"        multiply({B}, mu, out={B})",   # b ← μ·b + g
                             f"        add({B}, g, out={B})", f"        g = {B}"]
                body += [f"        multiply(g, lr, out={W})",         # θ ← θ − γ·g
                         f"        subtract(t, {W}, out=t)"]
        text = ("def update():\n    if not (" + " and ".join(guard) + "):\n"
                "        return generic()\n" + "".join(f"    {line}\n" for line in body))
        update: Callable[[], None] = define(text, "<SGD update>", "update", names)
        return update

    def _update_one(self, p: Tensor, group: dict[str, Any]) -> None:
        self._update(p, self._grad_array(p), self.state[p], group)

    def _update(self, p: Tensor, g: np.ndarray, state: dict[str, Any],
                group: dict[str, Any]) -> None:
        b = sgd_update(
            p.data, g, state.get("momentum_buffer"), lr=group["lr"],
            momentum=group["momentum"], dampening=group["dampening"],
            nesterov=group["nesterov"], weight_decay=group["weight_decay"],
            maximize=group["maximize"], work=self._scratch(p.data),
        )
        if b is not None:
            state["momentum_buffer"] = b
