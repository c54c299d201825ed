r"""PyTorch 2.13 CPU, default threads, written the way its tutorials write it:
``nn.Sequential`` of ``nn.Linear``, ``F.cross_entropy``, ``torch.optim``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from bench import common as C


def versions() -> dict[str, str]:
    return {"torch": torch.__version__, "numpy": np.__version__}


def _mlp(layers: list[C.Layer]) -> nn.Sequential:
    mods: list[nn.Module] = []
    for k, layer in enumerate(layers):
        lin = nn.Linear(layer.W.shape[1], layer.W.shape[0])
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(layer.W))
            lin.bias.copy_(torch.from_numpy(layer.b))
        mods.append(lin)
        if k < len(layers) - 1:
            mods.append(nn.ReLU())
    return nn.Sequential(*mods)


def _grad_norm(model: nn.Module) -> float:
    return float(np.sqrt(sum(float((q.grad.double() ** 2).sum()) for q in model.parameters())))


def w1(p: C.Problem) -> Callable[[], dict[str, Any]]:
    x = torch.tensor(C.W1_X, dtype=torch.float64)
    y = 2 * x
    m = x.numel()
    epochs = p["w1_epochs"]

    def run() -> dict[str, Any]:
        t0 = torch.zeros((), dtype=torch.float64, requires_grad=True)
        t1 = torch.zeros((), dtype=torch.float64, requires_grad=True)
        for _ in range(epochs):
            h = t0 + t1 * x
            J = ((h - y) ** 2).sum() / (2 * m)
            J.backward()
            with torch.no_grad():
                t0 -= C.W1_LR * t0.grad
                t1 -= C.W1_LR * t1.grad
            t0.grad = None
            t1.grad = None
        return {"theta": [t0.item(), t1.item()], "loss": J.item()}

    return run


class _W2:
    def __init__(self, p: C.Problem) -> None:
        self.p = p
        X, y = C.w2_data(p)
        self.batches = [tuple(torch.from_numpy(a) for a in C.w2_batch(p, X, y, k))
                        for k in range(p["w2_batches"])]
        self.model = _mlp(C.w2_layers(p))
        self.opt = torch.optim.Adam(self.model.parameters(), lr=C.W2_LR, betas=C.W2_BETAS,
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
    x = torch.tensor(x0, requires_grad=True)
    a = torch.from_numpy(a0.copy())
    b = torch.from_numpy(b0.copy())
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
                y = torch.tanh(y)
            else:
                y = torch.sigmoid(y)
        s = y.sum()
        s.backward()
        return {"out_sum": s.item(), "grad_sum": x.grad.sum().item()}

    return run


def w4(p: C.Problem) -> Callable[[], dict[str, Any]]:
    A0, B0 = C.w4_data(p)
    A = torch.tensor(A0, requires_grad=True)
    B = torch.tensor(B0, requires_grad=True)

    def run() -> dict[str, Any]:
        A.grad = None
        B.grad = None
        y = (A @ B).sum()
        y.backward()
        return {"y": y.item(), "gradA_sum": A.grad.double().sum().item(),
                "gradB_sum": B.grad.double().sum().item()}

    return run


def w5(p: C.Problem) -> Callable[[], dict[str, Any]]:
    X_tr, y_tr, X_te, y_te = (torch.from_numpy(a.copy()) for a in C.w5_data())
    epochs = [[torch.from_numpy(idx) for idx in batches]
              for batches in C.w5_batches(p, len(X_tr))]

    def run() -> dict[str, Any]:
        model = _mlp(C.w5_layers())
        opt = torch.optim.SGD(model.parameters(), lr=C.W5_LR, momentum=C.W5_MOMENTUM)
        for batches in epochs:
            for idx in batches:
                opt.zero_grad()
                loss = F.cross_entropy(model(X_tr[idx]), y_tr[idx])
                loss.backward()
                opt.step()
        with torch.no_grad():
            acc = (model(X_te).argmax(dim=1) == y_te).double().mean().item()
        return {"accuracy": acc}

    return run


def w6(p: C.Problem, n: int) -> Callable[[], dict[str, Any]]:
    def run() -> dict[str, Any]:
        x = torch.tensor(C.W6_X, dtype=torch.float64, requires_grad=True)
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
        with torch.no_grad():
            conv.weight.copy_(torch.from_numpy(layer.W.copy()))
            conv.bias.copy_(torch.from_numpy(layer.b.copy()))
        mods += [conv, nn.ReLU()]
    head = C.Layer(layers[-1].W.copy(), layers[-1].b.copy())  # writable, for from_numpy
    return nn.Sequential(*mods, nn.Flatten(), *_mlp([head]))


def w7(p: C.Problem) -> Callable[[], dict[str, Any]]:
    X_tr, y_tr, X_te, y_te = C.w7_data(p)
    batches = [tuple(torch.from_numpy(a.copy()) for a in C.w7_batch(X_tr, y_tr, k))
               for k in range(len(X_tr) // C.W7_BATCH)]
    X_test = torch.from_numpy(X_te.reshape(len(X_te), 1, C.W7_LENGTH).copy())
    y_test = torch.from_numpy(y_te.copy())
    steps = p["w7_steps"]

    def run() -> dict[str, Any]:
        model = _paper_cnn()
        opt = torch.optim.Adam(model.parameters(), lr=C.W7_LR)
        losses = []
        for i in range(steps):
            X, y = batches[i % len(batches)]
            opt.zero_grad()
            loss = F.cross_entropy(model(X), y)
            loss.backward()
            opt.step()
            losses.append(loss.item())
        with torch.no_grad():
            acc = (model(X_test).argmax(dim=1) == y_test).double().mean().item()
        return C.w7_answers(losses, acc)

    return run


class _W8:
    def __init__(self, p: C.Problem) -> None:
        x, layer = C.w8_data(p)
        self.conv = nn.Conv2d(C.W8_IN, C.W8_OUT, C.W8_KERNEL, padding=C.W8_PADDING)
        with torch.no_grad():
            self.conv.weight.copy_(torch.from_numpy(layer.W.copy()))
            self.conv.bias.copy_(torch.from_numpy(layer.b.copy()))
        self.x = torch.tensor(x, requires_grad=True)
        self.y = 0.0

    def step(self) -> None:
        self.x.grad = None
        self.conv.zero_grad()
        y = self.conv(self.x).sum()
        y.backward()
        self.y = y.item()

    def answers(self) -> dict[str, Any]:
        grads = (self.x.grad, self.conv.weight.grad, self.conv.bias.grad)
        return C.w8_answers(self.y, *(g.numpy() for g in grads))


def w8(p: C.Problem) -> _W8:
    return _W8(p)


def w10(p: C.Problem) -> Callable[[], dict[str, Any]]:
    x0, weights = C.w10_data()
    mha = nn.MultiheadAttention(x0.shape[2], C.W10_HEADS, batch_first=True)
    mha.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in weights.state_dict().items()})
    x = torch.tensor(x0, requires_grad=True)

    def run() -> dict[str, Any]:
        x.grad = None
        mha.zero_grad()
        out, _ = mha(x, x, x)
        out.sum().backward()
        return C.w10_answers(out.detach().numpy(), x.grad.numpy(),
                             mha.in_proj_weight.grad.numpy())

    return run


def w9(p: C.Problem) -> Callable[[], dict[str, Any]]:
    X, y = C.w9_data(p)
    batches = [tuple(torch.from_numpy(a.copy()) for a in C.w9_batch(X, y, k))
               for k in range(p["w9_steps"])]
    gru_weights, head = C.w9_layers()

    def run() -> dict[str, Any]:
        gru = nn.GRU(1, C.W9_HIDDEN, batch_first=True, bidirectional=True)
        linear = nn.Linear(C.W9_FEATURES, C.W9_CLASSES)
        with torch.no_grad():
            for name, value in gru_weights.items():
                getattr(gru, name).copy_(torch.from_numpy(value.copy()))
            linear.weight.copy_(torch.from_numpy(head.W.copy()))
            linear.bias.copy_(torch.from_numpy(head.b.copy()))
        params = [*gru.parameters(), *linear.parameters()]
        opt = torch.optim.Adam(params, lr=C.W9_LR)
        losses, grad_norm = [], 0.0
        for xb, yb in batches:
            out, _ = gru(xb)
            loss = F.cross_entropy(linear(out.reshape(out.shape[0], -1)), yb)
            opt.zero_grad()
            loss.backward()
            if not losses:
                grad_norm = float(np.sqrt(sum(float((q.grad.double() ** 2).sum())
                                              for q in params)))
            opt.step()
            losses.append(loss.item())
        return C.w9_answers(losses, grad_norm)

    return run


def w11(p: C.Problem) -> Callable[[], dict[str, Any]]:
    r"""Per-example gradients of the digits MLP: ``torch.func.vmap(torch.func.grad(loss))``,
    the parameters shared (``in_dims=(None, 0, 0)``), as its per-sample-gradients tutorial."""
    X, y, layers = C.w11_data()
    params = {"w1": torch.from_numpy(layers[0].W), "b1": torch.from_numpy(layers[0].b),
              "w2": torch.from_numpy(layers[1].W), "b2": torch.from_numpy(layers[1].b)}

    def loss(q: dict[str, Any], x: Any, t: Any) -> Any:
        h = F.relu(F.linear(x, q["w1"], q["b1"]))
        return F.cross_entropy(F.linear(h, q["w2"], q["b2"]), t)

    per_example = torch.func.vmap(torch.func.grad(loss), in_dims=(None, 0, 0))
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)

    def run() -> dict[str, Any]:
        g = per_example(params, Xt, yt)
        return C.w11_answers([g[k].numpy() for k in ("w1", "b1", "w2", "b2")])

    return run
