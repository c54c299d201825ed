r"""In-place NumPy optimisers following PyTorch's update rules, for the frameworks that
ship none (hand-written NumPy, HIPS autograd, MyGrad): each updates a list of arrays."""

from __future__ import annotations

import numpy as np

from bench import common as C


class Adam:
    r"""PyTorch's Adam: :math:`m \leftarrow β_1 m + (1-β_1)g`, :math:`v \leftarrow β_2 v +
    (1-β_2)g^2`, :math:`θ \leftarrow θ - \frac{lr}{1-β_1^t}\, m / (\sqrt{v/(1-β_2^t)} + ε)`."""

    def __init__(self, params: list[np.ndarray], lr: float = C.W2_LR) -> None:
        self.params = params
        self.lr = lr
        self.m = [np.zeros_like(q) for q in params]
        self.v = [np.zeros_like(q) for q in params]
        self.t = 0

    def step(self, grads: list[np.ndarray]) -> None:
        self.t += 1
        b1, b2 = C.W2_BETAS
        c1 = 1 - b1 ** self.t
        c2 = 1 - b2 ** self.t
        for theta, g, m, v in zip(self.params, grads, self.m, self.v):
            m *= b1
            m += (1 - b1) * g
            v *= b2
            v += (1 - b2) * (g * g)
            denom = np.sqrt(v)
            denom /= np.sqrt(c2)
            denom += C.W2_EPS
            theta -= (self.lr / c1) * m / denom


class SGDMomentum:
    r"""PyTorch's SGD with momentum μ (dampening 0): :math:`b \leftarrow μ b + g`
    (:math:`b = g` at the first step), :math:`θ \leftarrow θ - lr\cdot b`."""

    def __init__(self, params: list[np.ndarray], lr: float = C.W5_LR,
                 momentum: float = C.W5_MOMENTUM) -> None:
        self.params = params
        self.lr = lr
        self.momentum = momentum
        self.bufs: list[np.ndarray | None] = [None] * len(params)

    def step(self, grads: list[np.ndarray]) -> None:
        for k, (theta, g) in enumerate(zip(self.params, grads)):
            buf = self.bufs[k]
            if buf is None:
                buf = self.bufs[k] = np.array(g, copy=True)
            else:
                buf *= self.momentum
                buf += g
            theta -= self.lr * buf


def grad_norm(grads: list[np.ndarray]) -> float:
    r""":math:`\lVert g \rVert_2` over all parameters, accumulated in float64."""
    return float(np.sqrt(sum(float(np.sum(np.asarray(g, np.float64) ** 2)) for g in grads)))
