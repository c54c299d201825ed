r"""HIPS autograd 1.9: functions of NumPy arrays differentiated by ``value_and_grad``.

autograd ships no optimiser in its core, so W2 and W5 use the in-place NumPy Adam and
SGD-momentum of :mod:`bench.frameworks._optim` (PyTorch's update rules) on its gradients.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import autograd
import autograd.numpy as anp
import numpy as np
from autograd import grad, value_and_grad
from autograd.scipy.special import expit

from bench import common as C
from bench.frameworks._optim import Adam, SGDMomentum, grad_norm


def versions() -> dict[str, str]:
    from importlib.metadata import version

    return {"autograd": version("autograd"), "numpy": np.__version__}


def w1(p: C.Problem) -> Callable[[], dict[str, Any]]:
    x = np.array(C.W1_X)
    y = 2.0 * x
    m = x.size
    epochs = p["w1_epochs"]

    def J(theta: tuple) -> Any:
        t0, t1 = theta
        h = t0 + t1 * x
        return anp.sum((h - y) ** 2) / (2 * m)

    dJ = value_and_grad(J)

    def run() -> dict[str, Any]:
        t0 = 0.0
        t1 = 0.0
        for _ in range(epochs):
            loss, (g0, g1) = dJ((t0, t1))
            t0 = t0 - C.W1_LR * g0
            t1 = t1 - C.W1_LR * g1
        return {"theta": [float(t0), float(t1)], "loss": float(loss)}

    return run


def _params(layers: list[C.Layer]) -> list[np.ndarray]:
    params = []
    for layer in layers:
        params += [np.ascontiguousarray(layer.W.T), layer.b.copy()]
    return params


def _logits(params: list, X: Any) -> Any:
    h = X
    n = len(params) // 2
    for k in range(n):
        h = anp.dot(h, params[2 * k]) + params[2 * k + 1]
        if k < n - 1:
            h = anp.maximum(h, 0.0)
    return h


def _cross_entropy(params: list, X: np.ndarray, y: np.ndarray) -> Any:
    z = _logits(params, X)
    z = z - anp.max(z, axis=1, keepdims=True)  # shift: exp never overflows
    lse = anp.log(anp.sum(anp.exp(z), axis=1))
    return anp.mean(lse - z[np.arange(len(y)), y])


_loss_and_grad = value_and_grad(_cross_entropy)


class _W2:
    def __init__(self, p: C.Problem) -> None:
        self.p = p
        self.X, self.y = C.w2_data(p)
        self.params = _params(C.w2_layers(p))
        self.opt = Adam(self.params)
        self.grads: list[np.ndarray] = []

    def step(self, i: int) -> float:
        X, y = C.w2_batch(self.p, self.X, self.y, i)
        loss, self.grads = _loss_and_grad(self.params, X, y)
        self.opt.step(self.grads)
        return float(loss)

    def grad_norm(self) -> float:
        return grad_norm(self.grads)


def w2(p: C.Problem) -> _W2:
    return _W2(p)


def w3(p: C.Problem) -> Callable[[], dict[str, Any]]:
    x, a, b = C.w3_data(p)
    ops = [C.w3_op(i) for i in range(p["w3_ops"])]

    def f(x: Any) -> Any:
        y = x
        for op in ops:
            if op == "mul":
                y = y * a
            elif op == "add":
                y = y + b
            elif op == "tanh":
                y = anp.tanh(y)
            else:
                y = expit(y)                    # autograd's sigmoid primitive
        return anp.sum(y)

    df = value_and_grad(f)

    def run() -> dict[str, Any]:
        out, g = df(x)
        return {"out_sum": float(out), "grad_sum": float(g.sum())}

    return run


def w4(p: C.Problem) -> Callable[[], dict[str, Any]]:
    A, B = C.w4_data(p)
    df = value_and_grad(lambda AB: anp.sum(anp.dot(AB[0], AB[1])))

    def run() -> dict[str, Any]:
        y, (dA, dB) = df((A, B))
        return {"y": float(y), "gradA_sum": float(dA.sum(dtype=np.float64)),
                "gradB_sum": float(dB.sum(dtype=np.float64))}

    return run


def w5(p: C.Problem) -> Callable[[], dict[str, Any]]:
    X_tr, y_tr, X_te, y_te = C.w5_data()
    epochs = C.w5_batches(p, len(X_tr))
    dloss = grad(_cross_entropy)

    def run() -> dict[str, Any]:
        params = _params(C.w5_layers())
        opt = SGDMomentum(params)
        for batches in epochs:
            for idx in batches:
                opt.step(dloss(params, X_tr[idx], y_tr[idx]))
        acc = float((_logits(params, X_te).argmax(axis=1) == y_te).mean())
        return {"accuracy": acc}

    return run


def w6(p: C.Problem, n: int) -> Callable[[], dict[str, Any]]:
    def f(x: Any) -> Any:
        y = x
        for _ in range(n):
            y = y * C.W6_A + C.W6_B
        return y

    df = value_and_grad(f)

    def run() -> dict[str, Any]:
        y, g = df(C.W6_X)
        return {"y": float(y), "grad": float(g)}

    return run


__all__ = ["autograd", "versions", "w1", "w2", "w3", "w4", "w5", "w6"]
