r"""chainrule with ``cr.compile``: the same programs as :mod:`.chainrule_fw`, with each
step's forward (and so its backward) captured once and replayed; for W1 and W5 the whole
training step (forward, backward and the optimiser's update) is one compiled function.
The workloads that ``cr.compile`` has a target for (W1, W2, W3, W5); the others are
chainrule's eager figures and report "not applicable" here."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

import chainrule as cr
import chainrule.nn.functional as F
from bench import common as C
from bench.frameworks.chainrule_fw import _grad_norm, _mlp
from chainrule import optim


def versions() -> dict[str, str]:
    return {"chainrule": cr.__version__, "numpy": np.__version__}


def w1(p: C.Problem) -> Callable[[], dict[str, Any]]:
    x = cr.tensor(np.array(C.W1_X))             # a float64 array stays float64
    y = 2 * x
    m = x.size
    epochs = p["w1_epochs"]

    def run() -> dict[str, Any]:
        t0 = cr.tensor(np.zeros(()), requires_grad=True)
        t1 = cr.tensor(np.zeros(()), requires_grad=True)
        opt = optim.SGD([t0, t1], lr=C.W1_LR)  # θ ← θ − α·g: the textbook update, exactly

        def epoch(x: cr.Tensor, y: cr.Tensor) -> cr.Tensor:
            opt.zero_grad()
            J = ((t0 + t1 * x - y) ** 2).sum() / (2 * m)
            J.backward()
            opt.step()
            return J

        step = cr.compile(epoch)  # the whole epoch: forward, backward, update
        for _ in range(epochs):
            J = step(x, y)
        return {"theta": [t0.item(), t1.item()], "loss": J.item()}

    return run


class _W2:
    def __init__(self, p: C.Problem) -> None:
        X, y = C.w2_data(p)
        self.batches = [tuple(cr.from_numpy(a) for a in C.w2_batch(p, X, y, k))
                        for k in range(p["w2_batches"])]
        self.model = _mlp(C.w2_layers(p))
        self.opt = optim.Adam(self.model.parameters(), lr=C.W2_LR, betas=C.W2_BETAS,
                              eps=C.W2_EPS)
        self.loss = cr.compile(lambda X, y: F.cross_entropy(self.model(X), y))

    def step(self, i: int) -> float:
        X, y = self.batches[i % len(self.batches)]
        self.opt.zero_grad()
        loss = self.loss(X, y)
        loss.backward()
        self.opt.step()
        return loss.item()

    def grad_norm(self) -> float:
        return _grad_norm(self.model)


def w2(p: C.Problem) -> _W2:
    return _W2(p)


def w3(p: C.Problem) -> Callable[[], dict[str, Any]]:
    x0, a0, b0 = C.w3_data(p)
    x = cr.tensor(x0, requires_grad=True)
    a = cr.tensor(a0)
    b = cr.tensor(b0)
    ops = [C.w3_op(i) for i in range(p["w3_ops"])]

    def chain(y: cr.Tensor) -> cr.Tensor:
        for op in ops:
            if op == "mul":
                y = y * a
            elif op == "add":
                y = y + b
            elif op == "tanh":
                y = cr.tanh(y)
            else:
                y = cr.sigmoid(y)
        return y.sum()

    compiled = cr.compile(chain)

    def run() -> dict[str, Any]:
        x.grad = None
        s = compiled(x)
        s.backward()
        return {"out_sum": s.item(), "grad_sum": float(x.grad.data.sum())}

    return run


def w5(p: C.Problem) -> Callable[[], dict[str, Any]]:
    X_tr, y_tr, X_te, y_te = (cr.tensor(a) for a in C.w5_data())
    epochs = C.w5_batches(p, len(X_tr))

    def run() -> dict[str, Any]:
        model = _mlp(C.w5_layers())
        opt = optim.SGD(model.parameters(), lr=C.W5_LR, momentum=C.W5_MOMENTUM)
        def train_step(X: cr.Tensor, y: cr.Tensor) -> cr.Tensor:
            opt.zero_grad()
            loss = F.cross_entropy(model(X), y)
            loss.backward()
            opt.step()
            return loss

        step = cr.compile(train_step)  # the whole step: forward, backward, update
        for batches in epochs:
            for idx in batches:
                step(X_tr[idx], y_tr[idx])
        with cr.no_grad():
            acc = float((model(X_te).argmax(axis=1) == y_te).data.mean())
        return {"accuracy": acc}

    return run
