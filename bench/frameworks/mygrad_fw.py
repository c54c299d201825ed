r"""MyGrad 2.5: NumPy-like ``mg.Tensor`` with ``.backward()``.

MyGrad ships no optimiser, so W2 and W5 use the in-place NumPy Adam and SGD-momentum of
:mod:`bench.frameworks._optim` (PyTorch's update rules) on ``Tensor.data``/``.grad``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import mygrad as mg
import numpy as np
from mygrad.nnet.activations import relu, sigmoid
from mygrad.nnet.losses import softmax_crossentropy

from bench import common as C
from bench.frameworks._optim import Adam, SGDMomentum, grad_norm


def versions() -> dict[str, str]:
    return {"mygrad": mg.__version__, "numpy": np.__version__}


def w1(p: C.Problem) -> Callable[[], dict[str, Any]]:
    x = np.array(C.W1_X)
    y = 2.0 * x
    m = x.size
    epochs = p["w1_epochs"]

    def run() -> dict[str, Any]:
        t0 = mg.tensor(0.0)
        t1 = mg.tensor(0.0)
        for _ in range(epochs):
            h = t0 + t1 * x
            J = mg.sum((h - y) ** 2) / (2 * m)
            J.backward()                        # frees the graph: t0.data is writable again
            t0.data -= C.W1_LR * t0.grad
            t1.data -= C.W1_LR * t1.grad
        return {"theta": [float(t0.data), float(t1.data)], "loss": float(J.data)}

    return run


class _MLP:
    def __init__(self, layers: list[C.Layer]) -> None:
        self.params = []
        for layer in layers:
            self.params += [mg.tensor(np.ascontiguousarray(layer.W.T)), mg.tensor(layer.b)]
        self.arrays = [q.data for q in self.params]   # updated in place by the optimiser

    def __call__(self, X: Any) -> Any:
        h = X
        n = len(self.params) // 2
        for k in range(n):
            h = mg.matmul(h, self.params[2 * k]) + self.params[2 * k + 1]
            if k < n - 1:
                h = relu(h)
        return h

    def loss_and_grads(self, X: np.ndarray, y: np.ndarray) -> tuple[float, list[np.ndarray]]:
        loss = softmax_crossentropy(self(X), y)
        loss.backward()
        return float(loss.data), [q.grad for q in self.params]


class _W2:
    def __init__(self, p: C.Problem) -> None:
        self.p = p
        self.X, self.y = C.w2_data(p)
        self.net = _MLP(C.w2_layers(p))
        self.opt = Adam(self.net.arrays)
        self.grads: list[np.ndarray] = []

    def step(self, i: int) -> float:
        X, y = C.w2_batch(self.p, self.X, self.y, i)
        loss, self.grads = self.net.loss_and_grads(X, y)
        self.opt.step(self.grads)
        return loss

    def grad_norm(self) -> float:
        return grad_norm(self.grads)


def w2(p: C.Problem) -> _W2:
    return _W2(p)


def w3(p: C.Problem) -> Callable[[], dict[str, Any]]:
    x0, a0, b0 = C.w3_data(p)
    x = mg.tensor(x0)
    a = mg.tensor(a0, constant=True)
    b = mg.tensor(b0, constant=True)
    ops = [C.w3_op(i) for i in range(p["w3_ops"])]

    def run() -> dict[str, Any]:
        y = x
        for op in ops:
            if op == "mul":
                y = y * a
            elif op == "add":
                y = y + b
            elif op == "tanh":
                y = mg.tanh(y)
            else:
                y = sigmoid(y)
        s = mg.sum(y)
        s.backward()
        return {"out_sum": float(s.data), "grad_sum": float(x.grad.sum())}

    return run


def w4(p: C.Problem) -> Callable[[], dict[str, Any]]:
    A0, B0 = C.w4_data(p)
    A = mg.tensor(A0)
    B = mg.tensor(B0)

    def run() -> dict[str, Any]:
        y = mg.sum(mg.matmul(A, B))
        y.backward()
        return {"y": float(y.data), "gradA_sum": float(A.grad.sum(dtype=np.float64)),
                "gradB_sum": float(B.grad.sum(dtype=np.float64))}

    return run


def w5(p: C.Problem) -> Callable[[], dict[str, Any]]:
    X_tr, y_tr, X_te, y_te = C.w5_data()
    epochs = C.w5_batches(p, len(X_tr))

    def run() -> dict[str, Any]:
        net = _MLP(C.w5_layers())
        opt = SGDMomentum(net.arrays)
        for batches in epochs:
            for idx in batches:
                opt.step(net.loss_and_grads(X_tr[idx], y_tr[idx])[1])
        with mg.no_autodiff:
            logits = net(X_te)
        acc = float((np.asarray(logits).argmax(axis=1) == y_te).mean())
        return {"accuracy": acc}

    return run


def w6(p: C.Problem, n: int) -> Callable[[], dict[str, Any]]:
    def run() -> dict[str, Any]:
        x = mg.tensor(C.W6_X)
        y = x
        for _ in range(n):
            y = y * C.W6_A + C.W6_B
        y.backward()
        return {"y": float(y.data), "grad": float(x.grad)}

    return run
