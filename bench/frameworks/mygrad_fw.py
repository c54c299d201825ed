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
from mygrad.nnet.layers import conv_nd
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


# ---------------------------------------------------------------- W7, W8: convolutions
def _conv1d(h: Any, w: Any, b: Any) -> Any:
    r"""PyTorch's ``conv1d(h, w, b, stride=2, padding=1)`` with MyGrad's ``conv_nd``, which
    only takes windows that tile the padded input exactly: the zeros are added by hand, one
    fewer (or an input position dropped) on the right where PyTorch's last window stops
    short of the end (its output length rounds down)."""
    s, p, k, n = C.W7_STRIDE, C.W7_PADDING, w.shape[-1], h.shape[-1]
    right = ((n + 2 * p - k) // s) * s + k - n - p   # zeros the last window reaches
    zeros = np.zeros(h.shape[:2] + (p,), np.float32)
    if right < 0:
        h = h[..., :n + right]
        right = 0
    h = mg.concatenate([zeros, h, zeros[..., :right]], axis=-1)
    return conv_nd(h, w, stride=s) + b[:, None]


class _PaperCNN:
    r"""The MNIST-1D paper's CNN with MyGrad's ``conv_nd`` (no bias of its own: added)."""

    def __init__(self) -> None:
        layers = C.w7_layers()
        self.params = [mg.tensor(a) for layer in layers[:-1] for a in (layer.W, layer.b)]
        self.params += [mg.tensor(np.ascontiguousarray(layers[-1].W.T)),
                        mg.tensor(layers[-1].b)]
        self.arrays = [q.data for q in self.params]   # updated in place by the optimiser

    def __call__(self, X: Any) -> Any:
        h = X
        for k in range(len(C.W7_CONVS)):
            w, b = self.params[2 * k], self.params[2 * k + 1]
            h = relu(_conv1d(h, w, b))
        h = h.reshape(h.shape[0], -1)
        return mg.matmul(h, self.params[-2]) + self.params[-1]


def w7(p: C.Problem) -> Callable[[], dict[str, Any]]:
    X_tr, y_tr, X_te, y_te = C.w7_data(p)
    batches = [C.w7_batch(X_tr, y_tr, k) for k in range(len(X_tr) // C.W7_BATCH)]
    X_test = X_te.reshape(len(X_te), 1, C.W7_LENGTH)
    steps = p["w7_steps"]

    def run() -> dict[str, Any]:
        net = _PaperCNN()
        opt = Adam(net.arrays, lr=C.W7_LR)
        losses = []
        for i in range(steps):
            X, y = batches[i % len(batches)]
            loss = softmax_crossentropy(net(X), y)
            loss.backward()
            opt.step([q.grad for q in net.params])
            losses.append(float(loss.data))
        with mg.no_autodiff:
            logits = net(X_test)
        acc = float((np.asarray(logits).argmax(axis=1) == y_te).mean())
        return C.w7_answers(losses, acc)

    return run


class _W8:
    def __init__(self, p: C.Problem) -> None:
        x, layer = C.w8_data(p)
        self.x = mg.tensor(x)
        self.w = mg.tensor(layer.W)
        self.b = mg.tensor(layer.b)
        self.y = 0.0

    def step(self) -> None:
        out = conv_nd(self.x, self.w, stride=1, padding=C.W8_PADDING)
        y = mg.sum(out + self.b[:, None, None])
        y.backward()
        self.y = float(y.data)

    def answers(self) -> dict[str, Any]:
        return C.w8_answers(self.y, self.x.grad, self.w.grad, self.b.grad)


def w8(p: C.Problem) -> _W8:
    return _W8(p)
