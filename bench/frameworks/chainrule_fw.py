r"""chainrule, through its public API only (``cr``, ``nn``, ``optim``, ``F``), written the
way PyTorch's version is, line for line."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

import chainrule as cr
import chainrule.nn.functional as F
from bench import common as C
from chainrule import nn, optim


def versions() -> dict[str, str]:
    return {"chainrule": cr.__version__, "numpy": np.__version__}


def _mlp(layers: list[C.Layer]) -> nn.Sequential:
    mods: list[nn.Module] = []
    for k, layer in enumerate(layers):
        lin = nn.Linear(layer.W.shape[1], layer.W.shape[0])
        lin.weight.data[...] = layer.W
        lin.bias.data[...] = layer.b
        mods.append(lin)
        if k < len(layers) - 1:
            mods.append(nn.ReLU())
    return nn.Sequential(*mods)


def _grad_norm(model: nn.Module) -> float:
    total = 0.0
    for q in model.parameters():
        total += float(np.sum(q.grad.data.astype(np.float64) ** 2))
    return float(np.sqrt(total))


def w1(p: C.Problem) -> Callable[[], dict[str, Any]]:
    x = cr.tensor(np.array(C.W1_X))             # a float64 array stays float64
    y = 2 * x
    m = x.size
    epochs = p["w1_epochs"]

    def run() -> dict[str, Any]:
        t0 = cr.tensor(np.zeros(()), requires_grad=True)
        t1 = cr.tensor(np.zeros(()), requires_grad=True)
        for _ in range(epochs):
            h = t0 + t1 * x
            J = ((h - y) ** 2).sum() / (2 * m)
            J.backward()
            with cr.no_grad():
                t0.data -= C.W1_LR * t0.grad.data
                t1.data -= C.W1_LR * t1.grad.data
            t0.grad = None
            t1.grad = None
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

    def step(self, i: int) -> float:
        X, y = self.batches[i % len(self.batches)]
        self.opt.zero_grad()
        loss = F.cross_entropy(self.model(X), y)
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

    def run() -> dict[str, Any]:
        x.grad = None
        y = x
        for op in ops:
            if op == "mul":
                y = y * a
            elif op == "add":
                y = y + b
            elif op == "tanh":
                y = cr.tanh(y)
            else:
                y = cr.sigmoid(y)
        s = y.sum()
        s.backward()
        return {"out_sum": s.item(), "grad_sum": float(x.grad.data.sum())}

    return run


def w4(p: C.Problem) -> Callable[[], dict[str, Any]]:
    A0, B0 = C.w4_data(p)
    A = cr.tensor(A0, requires_grad=True)
    B = cr.tensor(B0, requires_grad=True)

    def run() -> dict[str, Any]:
        A.grad = None
        B.grad = None
        y = (A @ B).sum()
        y.backward()
        return {"y": y.item(), "gradA_sum": float(A.grad.data.sum(dtype=np.float64)),
                "gradB_sum": float(B.grad.data.sum(dtype=np.float64))}

    return run


def w5(p: C.Problem) -> Callable[[], dict[str, Any]]:
    X_tr, y_tr, X_te, y_te = (cr.tensor(a) for a in C.w5_data())
    epochs = C.w5_batches(p, len(X_tr))

    def run() -> dict[str, Any]:
        model = _mlp(C.w5_layers())
        opt = optim.SGD(model.parameters(), lr=C.W5_LR, momentum=C.W5_MOMENTUM)
        for batches in epochs:
            for idx in batches:
                opt.zero_grad()
                loss = F.cross_entropy(model(X_tr[idx]), y_tr[idx])
                loss.backward()
                opt.step()
        with cr.no_grad():
            acc = float((model(X_te).argmax(axis=1) == y_te).data.mean())
        return {"accuracy": acc}

    return run


def w6(p: C.Problem, n: int) -> Callable[[], dict[str, Any]]:
    def run() -> dict[str, Any]:
        x = cr.tensor(np.array(C.W6_X), requires_grad=True)
        y = x
        for _ in range(n):
            y = y * C.W6_A + C.W6_B
        y.backward()
        return {"y": y.item(), "grad": x.grad.item()}

    return run


# ---------------------------------------------------------------- W7, W8: convolutions
def _paper_cnn() -> nn.Sequential:
    layers = C.w7_layers()
    mods: list[nn.Module] = []
    for (n_in, n_out, k), layer in zip(C.W7_CONVS, layers):
        conv = nn.Conv1d(n_in, n_out, k, stride=C.W7_STRIDE, padding=C.W7_PADDING)
        conv.weight.data[...] = layer.W
        conv.bias.data[...] = layer.b
        mods += [conv, nn.ReLU()]
    head = layers[-1]
    linear = nn.Linear(head.W.shape[1], head.W.shape[0])
    linear.weight.data[...] = head.W
    linear.bias.data[...] = head.b
    return nn.Sequential(*mods, nn.Flatten(), linear)


def w7(p: C.Problem) -> Callable[[], dict[str, Any]]:
    X_tr, y_tr, X_te, y_te = C.w7_data(p)
    batches = [tuple(cr.from_numpy(a) for a in C.w7_batch(X_tr, y_tr, k))
               for k in range(len(X_tr) // C.W7_BATCH)]
    X_test = cr.from_numpy(X_te.reshape(len(X_te), 1, C.W7_LENGTH))
    y_test = cr.from_numpy(y_te)
    steps = p["w7_steps"]

    def run() -> dict[str, Any]:
        model = _paper_cnn()
        opt = optim.Adam(model.parameters(), lr=C.W7_LR)
        losses = []
        for i in range(steps):
            X, y = batches[i % len(batches)]
            opt.zero_grad()
            loss = F.cross_entropy(model(X), y)
            loss.backward()
            opt.step()
            losses.append(loss.item())
        with cr.no_grad():
            acc = float((model(X_test).argmax(axis=1) == y_test).data.mean())
        return C.w7_answers(losses, acc)

    return run


class _W8:
    def __init__(self, p: C.Problem) -> None:
        x, layer = C.w8_data(p)
        self.conv = nn.Conv2d(C.W8_IN, C.W8_OUT, C.W8_KERNEL, padding=C.W8_PADDING)
        self.conv.weight.data[...] = layer.W
        self.conv.bias.data[...] = layer.b
        self.x = cr.tensor(x, requires_grad=True)
        self.y = 0.0

    def step(self) -> None:
        self.x.grad = None
        self.conv.zero_grad()
        y = self.conv(self.x).sum()
        y.backward()
        self.y = y.item()

    def answers(self) -> dict[str, Any]:
        grads = (self.x.grad, self.conv.weight.grad, self.conv.bias.grad)
        return C.w8_answers(self.y, *(g.data for g in grads))


def w8(p: C.Problem) -> _W8:
    return _W8(p)


def w10(p: C.Problem) -> Callable[[], dict[str, Any]]:
    x0, weights = C.w10_data()
    mha = nn.MultiheadAttention(x0.shape[2], C.W10_HEADS, batch_first=True)
    mha.load_state_dict(weights.state_dict())
    x = cr.tensor(x0, requires_grad=True)

    def run() -> dict[str, Any]:
        x.grad = None
        mha.zero_grad()
        out, _ = mha(x, x, x)
        out.sum().backward()
        return C.w10_answers(out.data, x.grad.data, mha.in_proj_weight.grad.data)

    return run


def w9(p: C.Problem) -> Callable[[], dict[str, Any]]:
    X, y = C.w9_data(p)
    batches = [tuple(cr.from_numpy(a) for a in C.w9_batch(X, y, k))
               for k in range(p["w9_steps"])]
    gru_weights, head = C.w9_layers()

    def run() -> dict[str, Any]:
        gru = nn.GRU(1, C.W9_HIDDEN, batch_first=True, bidirectional=True)
        for name, value in gru_weights.items():
            getattr(gru, name).data[...] = value
        linear = nn.Linear(C.W9_FEATURES, C.W9_CLASSES)
        linear.weight.data[...] = head.W
        linear.bias.data[...] = head.b
        params = [*gru.parameters(), *linear.parameters()]
        opt = optim.Adam(params, lr=C.W9_LR)
        losses, grad_norm = [], 0.0
        for xb, yb in batches:
            out, _ = gru(xb)
            loss = F.cross_entropy(linear(out.reshape(out.shape[0], -1)), yb)
            opt.zero_grad()
            loss.backward()
            if not losses:
                grad_norm = float(np.sqrt(sum(float(np.sum(q.grad.data.astype(np.float64) ** 2))
                                              for q in params)))
            opt.step()
            losses.append(loss.item())
        return C.w9_answers(losses, grad_norm)

    return run


def w11(p: C.Problem) -> Callable[[], dict[str, Any]]:
    r"""Per-example gradients of the digits MLP: ``cr.vmap(cr.grad(loss))`` over the batch,
    the parameters shared (``in_axes=(None, 0, 0)``)."""
    X, y, layers = C.w11_data()
    params = {"w1": layers[0].W, "b1": layers[0].b, "w2": layers[1].W, "b2": layers[1].b}

    def loss(q: dict[str, Any], x: Any, t: Any) -> Any:
        h = F.linear(x, q["w1"], q["b1"]).relu()
        return F.cross_entropy(F.linear(h, q["w2"], q["b2"]), t)

    per_example = cr.vmap(cr.grad(loss), in_axes=(None, 0, 0))
    Xt, yt = cr.from_numpy(X), cr.from_numpy(y)

    def run() -> dict[str, Any]:
        g = per_example(params, Xt, yt)
        return C.w11_answers([g[k].data for k in ("w1", "b1", "w2", "b2")])

    return run
