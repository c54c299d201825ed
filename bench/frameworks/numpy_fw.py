r"""Hand-written NumPy with hand-coded gradients: the practical floor.

Each backward pass is the chain rule written out by hand, e.g. for a linear layer
:math:`h = xW^\top + b`: :math:`\partial L/\partial W = g^\top x`,
:math:`\partial L/\partial b = \sum_i g_i`, :math:`\partial L/\partial x = gW`.
Optimiser updates are in place (:mod:`bench.frameworks._optim`), as a careful NumPy
programmer would write them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from bench import common as C
from bench.frameworks._optim import Adam, SGDMomentum, grad_norm


def versions() -> dict[str, str]:
    return {"numpy": np.__version__}


# ---------------------------------------------------------------- W1
def w1(p: C.Problem) -> Callable[[], dict[str, Any]]:
    x = np.array(C.W1_X)
    y = 2.0 * x
    m = x.size
    epochs = p["w1_epochs"]

    def run() -> dict[str, Any]:
        t0 = 0.0
        t1 = 0.0
        for _ in range(epochs):
            e = t0 + t1 * x - y               # h - y
            J = e @ e / (2 * m)               # J = 1/(2m) Σ (h - y)²
            g0 = e.sum() / m                  # ∂J/∂θ₀ = 1/m Σ (h - y)
            g1 = e @ x / m                    # ∂J/∂θ₁ = 1/m Σ (h - y)·x
            t0 = t0 - C.W1_LR * g0
            t1 = t1 - C.W1_LR * g1
        return {"theta": [float(t0), float(t1)], "loss": float(J)}

    return run


# ---------------------------------------------------------------- shared MLP
class _MLP:
    r"""ReLU MLP with softmax cross-entropy, forward and hand-written backward.

    Weights are kept transposed, ``Wt (in, out)``, so the forward is ``x @ Wt + b``.
    Cross-entropy from logits :math:`z`: :math:`L = \frac1B\sum_i (\log\sum_k e^{z_{ik}} -
    z_{i y_i})`, :math:`\partial L/\partial z = (\mathrm{softmax}(z) - \mathrm{onehot}(y))/B`.
    """

    def __init__(self, layers: list[C.Layer]) -> None:
        self.params: list[np.ndarray] = []
        for layer in layers:
            self.params += [np.ascontiguousarray(layer.W.T), layer.b.copy()]
        self.grads = [np.zeros_like(q) for q in self.params]

    def forward(self, X: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
        acts = [X]
        h = X
        n = len(self.params) // 2
        for k in range(n):
            h = h @ self.params[2 * k]
            h += self.params[2 * k + 1]
            if k < n - 1:
                np.maximum(h, 0, out=h)
                acts.append(h)
        return h, acts

    def loss_and_grad(self, X: np.ndarray, y: np.ndarray) -> float:
        z, acts = self.forward(X)
        B = X.shape[0]
        z -= z.max(axis=1, keepdims=True)     # shift: exp never overflows
        e = np.exp(z)
        s = e.sum(axis=1, keepdims=True)
        rows = np.arange(B)
        loss = float(np.log(s).sum() - z[rows, y].sum()) / B
        g = e
        g /= s
        g[rows, y] -= 1.0
        g /= B                                 # ∂L/∂z
        for k in range(len(self.params) // 2 - 1, -1, -1):
            a = acts[k]
            np.matmul(a.T, g, out=self.grads[2 * k])      # ∂L/∂Wt = aᵀ g
            g.sum(axis=0, out=self.grads[2 * k + 1])     # ∂L/∂b = Σ g
            if k > 0:
                g = g @ self.params[2 * k].T               # ∂L/∂a = g Wtᵀ
                g *= a > 0                                 # relu'(h) = [h > 0]
        return loss

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.forward(X)[0].argmax(axis=1)


# ---------------------------------------------------------------- W2
class _W2:
    def __init__(self, p: C.Problem) -> None:
        self.p = p
        self.X, self.y = C.w2_data(p)
        self.net = _MLP(C.w2_layers(p))
        self.opt = Adam(self.net.params)

    def step(self, i: int) -> float:
        X, y = C.w2_batch(self.p, self.X, self.y, i)
        loss = self.net.loss_and_grad(X, y)
        self.opt.step(self.net.grads)
        return loss

    def grad_norm(self) -> float:
        return grad_norm(self.net.grads)


def w2(p: C.Problem) -> _W2:
    return _W2(p)


# ---------------------------------------------------------------- W3
def w3(p: C.Problem) -> Callable[[], dict[str, Any]]:
    x, a, b = C.w3_data(p)
    ops = [C.w3_op(i) for i in range(p["w3_ops"])]

    def run() -> dict[str, Any]:
        saved = []
        y = x
        for op in ops:
            if op == "mul":
                y = y * a
            elif op == "add":
                y = y + b
            elif op == "tanh":
                y = np.tanh(y)
            else:
                y = 1.0 / (1.0 + np.exp(-y))
            saved.append(y)
        out = float(y.sum())
        g = np.ones_like(x)                    # ∂(Σy)/∂y = 1
        for op, y in zip(reversed(ops), reversed(saved)):
            if op == "mul":
                g = g * a                      # ∂(y·a)/∂y = a
            elif op == "tanh":
                g = g * (1 - y * y)            # tanh' = 1 - tanh²
            elif op == "sigmoid":
                g = g * (y * (1 - y))          # σ' = σ(1 - σ)
        return {"out_sum": out, "grad_sum": float(g.sum())}

    return run


# ---------------------------------------------------------------- W4
def w4(p: C.Problem) -> Callable[[], dict[str, Any]]:
    A, B = C.w4_data(p)

    def run() -> dict[str, Any]:
        Cm = A @ B
        y = Cm.sum()
        G = np.ones_like(Cm)                   # ∂y/∂C = 1
        dA = G @ B.T                           # ∂y/∂A = G Bᵀ
        dB = A.T @ G                           # ∂y/∂B = Aᵀ G
        return {"y": float(y), "gradA_sum": float(dA.sum(dtype=np.float64)),
                "gradB_sum": float(dB.sum(dtype=np.float64))}

    return run


# ---------------------------------------------------------------- W5
def w5(p: C.Problem) -> Callable[[], dict[str, Any]]:
    X_tr, y_tr, X_te, y_te = C.w5_data()
    epochs = C.w5_batches(p, len(X_tr))

    def run() -> dict[str, Any]:
        net = _MLP(C.w5_layers())
        opt = SGDMomentum(net.params)
        for batches in epochs:
            for idx in batches:
                net.loss_and_grad(X_tr[idx], y_tr[idx])
                opt.step(net.grads)
        acc = float((net.predict(X_te) == y_te).mean())
        return {"accuracy": acc}

    return run


# ---------------------------------------------------------------- W6
def w6(p: C.Problem, n: int) -> Callable[[], dict[str, Any]]:
    a = C.W6_A
    b = C.W6_B

    def run() -> dict[str, Any]:
        y = C.W6_X                             # Python floats are float64
        for _ in range(n):
            y = y * a + b
        g = 1.0
        for _ in range(n):
            g = g * a                          # ∂(y·a + b)/∂y = a, n times
        return {"y": float(y), "grad": float(g)}

    return run


# ---------------------------------------------------------------- W10
def _softmax_rows(s: np.ndarray) -> np.ndarray:
    e = np.exp(s - s.max(axis=-1, keepdims=True))
    e /= e.sum(axis=-1, keepdims=True)
    return e


def w10(p: C.Problem) -> Callable[[], dict[str, Any]]:
    x, wts = C.w10_data()
    N, L, E = x.shape
    H = C.W10_HEADS
    d = E // H
    scale = np.float32(1 / np.sqrt(d))
    W, b, Wo, bo = wts.in_proj_weight, wts.in_proj_bias, wts.out_proj_weight, wts.out_proj_bias

    def heads(t: np.ndarray) -> np.ndarray:  # (N, L, E) → (N, H, L, d)
        return t.reshape(N, L, H, d).transpose(0, 2, 1, 3)

    def run() -> dict[str, Any]:
        qkv = x @ W.T + b                                   # (N, L, 3E)
        q, k, v = (heads(qkv[..., i * E:(i + 1) * E]) for i in range(3))
        q = q * scale
        a = _softmax_rows(q @ k.transpose(0, 1, 3, 2))      # (N, H, L, L)
        _ = a.mean(axis=1)                                  # the averaged weights returned
        o = (a @ v).transpose(0, 2, 1, 3).reshape(N, L, E)
        out = o @ Wo.T + bo
        # backward of L = Σ out: g_out = 1
        g_out = np.ones_like(out)
        g_o = heads(g_out @ Wo)                             # ∂L/∂o, per head
        g_a = g_o @ v.transpose(0, 1, 3, 2)
        g_v = a.transpose(0, 1, 3, 2) @ g_o
        g_s = a * (g_a - (g_a * a).sum(axis=-1, keepdims=True))   # softmax's Jacobian
        g_q = (g_s @ k) * scale
        g_k = g_s.transpose(0, 1, 3, 2) @ q                 # q already scaled
        g_qkv = np.concatenate([g.transpose(0, 2, 1, 3).reshape(N, L, E)
                                for g in (g_q, g_k, g_v)], axis=-1)
        g_W = g_qkv.reshape(-1, 3 * E).T @ x.reshape(-1, E)  # ∂L/∂W = g_qkvᵀ x
        g_x = g_qkv @ W                                     # ∂L/∂x = g_qkv W
        return C.w10_answers(out, g_x, g_W)

    return run


def w11(p: C.Problem) -> Callable[[], dict[str, Any]]:
    r"""Per-example gradients by hand: with :math:`\delta_i = \mathrm{softmax}(z_i) -
    \mathrm{onehot}(y_i)` each example's ∂ℓᵢ/∂W₂ = δᵢhᵢᵀ, ∂ℓᵢ/∂b₂ = δᵢ, and with
    :math:`\eta_i = (W_2^\top\delta_i)\odot[h_i > 0]`, ∂ℓᵢ/∂W₁ = ηᵢxᵢᵀ, ∂ℓᵢ/∂b₁ = ηᵢ."""
    X, y, layers = C.w11_data()
    (W1, b1), (W2, b2) = ((layer.W, layer.b) for layer in layers)
    onehot = np.eye(W2.shape[0], dtype=X.dtype)[y]

    def run() -> dict[str, Any]:
        h = X @ W1.T + b1
        np.maximum(h, 0, out=h)
        z = h @ W2.T + b2
        z -= z.max(axis=1, keepdims=True)
        np.exp(z, out=z)
        z /= z.sum(axis=1, keepdims=True)
        delta = z - onehot
        eta = delta @ W2
        eta *= h > 0
        g_w2 = delta[:, :, None] * h[:, None, :]
        g_w1 = eta[:, :, None] * X[:, None, :]
        return C.w11_answers([g_w1, eta, g_w2, delta])

    return run
