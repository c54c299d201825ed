r"""The one seeded source of every benchmark input: data, initial weights, shuffling.

Every framework's worker builds its problem from :func:`problem`, so all five frameworks
start from the same arrays and must print the same answers (θ, losses, gradient sums,
accuracy). Initial weights follow PyTorch's ``nn.Linear`` default,
:math:`W, b \sim \mathcal U(-1/\sqrt{n_{in}}, 1/\sqrt{n_{in}})`, stored in PyTorch's layout
``(out_features, in_features)``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

SEED = 20240601
WORKLOADS = ("W1", "W2", "W3", "W4", "W5", "W6",
             "W7", "W8", "W9")

# Sizes per profile. "full" is BENCHMARKS.md's method; "quick" keeps the same shapes where
# they are cheap and shrinks the long ones; "tiny" is for tests/test_bench.py.
PROFILES: dict[str, dict[str, Any]] = {
    "full": {
        "w1_epochs": 1000, "w1_inner": 5, "w2_warmup": 10, "w2_steps": 100, "w2_batches": 10,
        "w2_sizes": (784, 256, 256, 10), "w2_batch": 128,
        "w3_ops": 200, "w3_inner": 200, "w4_n": 2048, "w4_inner": 3,
        "w5_epochs": 30, "w6_n": 100_000, "w6_long_n": 1_000_000,
        "w7_steps": 500, "w7_data": "mnist1d", "w8_batch": 64, "w8_size": 32, "w8_inner": 10,
        "w9_steps": 40, "w9_inner": 5, "w9_data": "mnist1d",
    },
    "quick": {
        "w1_epochs": 1000, "w1_inner": 3, "w2_warmup": 5, "w2_steps": 30, "w2_batches": 10,
        "w2_sizes": (784, 256, 256, 10), "w2_batch": 128,
        "w3_ops": 200, "w3_inner": 40, "w4_n": 1024, "w4_inner": 2,
        "w5_epochs": 5, "w6_n": 10_000, "w6_long_n": 100_000,
        "w7_steps": 100, "w7_data": "mnist1d", "w8_batch": 64, "w8_size": 32, "w8_inner": 3,
        "w9_steps": 40, "w9_inner": 3, "w9_data": "mnist1d",
    },
    "tiny": {
        "w1_epochs": 1000, "w1_inner": 1, "w2_warmup": 1, "w2_steps": 3, "w2_batches": 2,
        "w2_sizes": (784, 32, 32, 10), "w2_batch": 16,
        "w3_ops": 20, "w3_inner": 2, "w4_n": 32, "w4_inner": 1,
        "w5_epochs": 1, "w6_n": 1000, "w6_long_n": 3000,
        "w7_steps": 3, "w7_data": "synthetic", "w8_batch": 2, "w8_size": 8, "w8_inner": 1,
        "w9_steps": 3, "w9_inner": 1, "w9_data": "synthetic",
    },
}

# The textbook's linear regression (W1).
W1_X = (1.0, 2.0, 3.0, 4.0)
W1_LR = 0.01
W1_THETA = (0.136307286732365, 1.95363890028915)  # after 1000 epochs from θ = (0, 0)

W2_LR = 1e-3
W2_BETAS = (0.9, 0.999)
W2_EPS = 1e-8

W5_LR = 0.05
W5_MOMENTUM = 0.9
W5_BATCH = 32
W5_SIZES = (64, 128, 10)

# W6 runs in float64: at N = 10⁶, dy/dx = 1.0001^N ≈ 2.7e43 overflows float32.
W6_A = 1.0001
W6_B = 0.0001
W6_X = 0.5


@dataclass(frozen=True)
class Layer:
    r"""One layer's initial weights, PyTorch's layout: ``W (out, in)`` for a linear layer,
    ``W (out, in, *kernel)`` for a convolution; ``b (out,)``."""

    W: np.ndarray
    b: np.ndarray


@dataclass(frozen=True)
class Problem:
    r"""The sizes of one profile; the inputs come from the functions below (read-only
    arrays, so that no worker can alter them)."""

    profile: str
    sizes: dict[str, Any]

    def __getitem__(self, key: str) -> Any:
        return self.sizes[key]


def _frozen(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)
    return a


def init_layers(sizes: tuple[int, ...], seed: int) -> list[Layer]:
    r"""PyTorch-style :math:`\mathcal U(\pm 1/\sqrt{n_{in}})` float32 weights for an MLP."""
    rng = np.random.default_rng(seed)
    layers = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        bound = 1.0 / np.sqrt(n_in)
        W = rng.uniform(-bound, bound, size=(n_out, n_in)).astype(np.float32)
        b = rng.uniform(-bound, bound, size=(n_out,)).astype(np.float32)
        layers.append(Layer(_frozen(W), _frozen(b)))
    return layers


def w2_layers(p: Problem) -> list[Layer]:
    r"""W2's initial weights, 784-256-256-10."""
    return init_layers(p["w2_sizes"], SEED + 20)


def w5_layers() -> list[Layer]:
    r"""W5's initial weights, 64-128-10."""
    return init_layers(W5_SIZES, SEED + 50)


def w2_data(p: Problem) -> tuple[np.ndarray, np.ndarray]:
    r"""Fixed synthetic W2 data: ``X ~ N(0, 1)`` float32 of shape ``(batches·B, 784)``,
    labels uniform in ``0..9``. Step ``i`` uses batch ``i mod batches``."""
    rng = np.random.default_rng(SEED + 2)
    n = p["w2_batches"] * p["w2_batch"]
    X = rng.standard_normal((n, p["w2_sizes"][0])).astype(np.float32)
    y = rng.integers(0, p["w2_sizes"][-1], size=n).astype(np.int64)
    return _frozen(X), _frozen(y)


def w2_batch(p: Problem, X: np.ndarray, y: np.ndarray, step: int) -> tuple[np.ndarray, ...]:
    r"""The batch that step ``step`` trains on (views, no copy)."""
    B = p["w2_batch"]
    k = step % p["w2_batches"]
    return X[k * B:(k + 1) * B], y[k * B:(k + 1) * B]


def w3_data(p: Problem) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""W3's input ``x`` (64, float32) and the constants ``a``, ``b = -a/2`` of the chain
    ``y ← σ(tanh(y·a + b))``. Near ``a = 4`` each cycle's derivative
    :math:`a\,(1-\tanh^2)\,σ(1-σ)` is close to 1, so the gradient neither vanishes nor
    explodes over 50 cycles (float32 stays far from denormals, which would distort timing)."""
    rng = np.random.default_rng(SEED + 3)
    x = rng.uniform(-1.0, 1.0, size=64).astype(np.float32)
    a = rng.uniform(3.9, 4.1, size=64).astype(np.float32)
    b = (-a / 2).astype(np.float32)
    return _frozen(x), _frozen(a), _frozen(b)


def w3_op(i: int) -> str:
    r"""The ``i``-th op of W3's chain: mul, add, tanh, sigmoid in turn."""
    return ("mul", "add", "tanh", "sigmoid")[i % 4]


def w4_data(p: Problem) -> tuple[np.ndarray, np.ndarray]:
    r"""W4's ``A``, ``B``: n×n float32 in U[0, 1), so that the gradient sums are large and
    positive: :math:`\sum \partial y/\partial A = n \sum B` and
    :math:`\sum \partial y/\partial B = n \sum A` for :math:`y = \sum AB`."""
    rng = np.random.default_rng(SEED + 4)
    n = p["w4_n"]
    A = rng.random((n, n), dtype=np.float32)
    B = rng.random((n, n), dtype=np.float32)
    return _frozen(A), _frozen(B)


DIGITS_CACHE_ENV = "CHAINRULE_BENCH_DIGITS"


def save_digits(path: str) -> None:
    r"""Write the prepared digits split to ``path`` (``.npz``), so that workers started with
    ``CHAINRULE_BENCH_DIGITS=path`` skip importing scikit-learn (seconds per worker)."""
    X_tr, y_tr, X_te, y_te = _digits()
    np.savez(path, X_tr=X_tr, y_tr=y_tr, X_te=X_te, y_te=y_te)


@lru_cache(maxsize=1)
def _digits() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    cache = os.environ.get(DIGITS_CACHE_ENV)
    if cache:
        with np.load(cache, allow_pickle=False) as f:
            return tuple(_frozen(f[k]) for k in ("X_tr", "y_tr", "X_te", "y_te"))
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    X_tr, X_te, y_tr, y_te = train_test_split(
        X, y, test_size=0.2, random_state=0, stratify=y)
    mean = X_tr.mean(axis=0)
    std = X_tr.std(axis=0)
    std[std == 0] = 1.0  # constant border pixels: leave them at 0 after centring
    X_tr = ((X_tr - mean) / std).astype(np.float32)
    X_te = ((X_te - mean) / std).astype(np.float32)
    return (_frozen(X_tr), _frozen(y_tr.astype(np.int64)),
            _frozen(X_te), _frozen(y_te.astype(np.int64)))


def w5_data() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    r"""scikit-learn digits, stratified 80/20 split, standardised with the training
    statistics: ``(X_train, y_train, X_test, y_test)``, float32 features."""
    return _digits()


def w5_batches(p: Problem, n_train: int) -> list[list[np.ndarray]]:
    r"""Per epoch, the index arrays of its batches of 32 (last one partial): one seeded
    permutation per epoch, the same for every framework."""
    rng = np.random.default_rng(SEED + 5)
    epochs = []
    for _ in range(p["w5_epochs"]):
        perm = rng.permutation(n_train)
        epochs.append([perm[i:i + W5_BATCH] for i in range(0, n_train, W5_BATCH)])
    return epochs


def w6_grad(n: int) -> float:
    r"""The exact answer of W6: :math:`y_N = 1.0001\,y_{N-1} + 0.0001` gives
    :math:`dy_N/dx = 1.0001^N`."""
    return float(W6_A ** n)


# ---------------------------------------------------------------- W7 and W8: convolutions
# W7: the MNIST-1D paper's CNN (Greydanus & Kobak), its optimiser and batches.
W7_LR = 1e-2
W7_BATCH = 100
W7_LENGTH = 40
W7_CLASSES = 10
W7_CONVS = ((1, 25, 5), (25, 25, 3), (25, 25, 3))  # (in, out, kernel), stride 2, padding 1
W7_STRIDE = 2
W7_PADDING = 1
W7_FEATURES = 125                                  # 25 channels × 5 positions
# The losses of the first steps agree to float32 round-off; later ones drift apart
# (round-off compounds through Adam), so the cross-check compares the loss after this many
# steps tightly and the final loss and accuracy loosely.
W7_EARLY = 20

# W8: one Conv2d(16, 32, 3, padding=1) forward and backward.
W8_IN, W8_OUT, W8_KERNEL, W8_PADDING = 16, 32, 3, 1


def init_conv(n_in: int, n_out: int, kernel: tuple[int, ...], seed: int) -> Layer:
    r"""PyTorch-style :math:`\mathcal U(\pm 1/\sqrt{n_{in}})` float32 convolution weights,
    :math:`n_{in}` = ``n_in`` × the kernel's size; ``W (n_out, n_in, *kernel)``."""
    rng = np.random.default_rng(seed)
    bound = 1.0 / np.sqrt(n_in * int(np.prod(kernel)))
    W = rng.uniform(-bound, bound, size=(n_out, n_in, *kernel)).astype(np.float32)
    b = rng.uniform(-bound, bound, size=(n_out,)).astype(np.float32)
    return Layer(_frozen(W), _frozen(b))


def w7_layers() -> list[Layer]:
    r"""W7's initial weights: the three ``Conv1d`` layers, then ``Linear(125, 10)``."""
    convs = [init_conv(n_in, n_out, (k,), SEED + 70 + i)
             for i, (n_in, n_out, k) in enumerate(W7_CONVS)]
    return convs + init_layers((W7_FEATURES, W7_CLASSES), SEED + 75)


MNIST1D_CACHE_ENV = "CHAINRULE_BENCH_MNIST1D"


def save_mnist1d(path: str) -> None:
    r"""Write MNIST-1D to ``path`` (``.npz``), so that workers started with
    ``CHAINRULE_BENCH_MNIST1D=path`` skip generating it (seconds per worker)."""
    X_tr, y_tr, X_te, y_te = _mnist1d("mnist1d")
    np.savez(path, X_tr=X_tr, y_tr=y_tr, X_te=X_te, y_te=y_te)


@lru_cache(maxsize=2)
def _mnist1d(kind: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    if kind == "synthetic":  # the tiny profile: same shapes, no mnist1d package needed
        rng = np.random.default_rng(SEED + 7)
        X = rng.standard_normal((400, W7_LENGTH)).astype(np.float32)
        y = rng.integers(0, W7_CLASSES, size=400).astype(np.int64)
        return _frozen(X[:300]), _frozen(y[:300]), _frozen(X[300:]), _frozen(y[300:])
    cache = os.environ.get(MNIST1D_CACHE_ENV)
    if cache:
        with np.load(cache, allow_pickle=False) as f:
            return tuple(_frozen(f[k]) for k in ("X_tr", "y_tr", "X_te", "y_te"))
    import random

    from mnist1d.data import get_dataset_args, make_dataset

    # make_dataset seeds NumPy's and Python's global generators: put them back afterwards
    state, py_state = np.random.get_state(), random.getstate()
    try:
        data = make_dataset(get_dataset_args())
    finally:
        np.random.set_state(state)
        random.setstate(py_state)
    return (_frozen(np.asarray(data["x"], np.float32)), _frozen(np.asarray(data["y"], np.int64)),
            _frozen(np.asarray(data["x_test"], np.float32)),
            _frozen(np.asarray(data["y_test"], np.int64)))


def w7_data(p: Problem) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    r"""MNIST-1D as the paper generates it (the ``mnist1d`` package's defaults: 4,000
    training and 1,000 test sequences of length 40), float32 ``(N, 40)`` features and int64
    labels: ``(X_train, y_train, X_test, y_test)``. The tiny profile uses seeded noise of
    the same shape instead."""
    return _mnist1d(p["w7_data"])


def w7_batch(X: np.ndarray, y: np.ndarray, step: int) -> tuple[np.ndarray, np.ndarray]:
    r"""The batch of step ``step``, in the data's order as in the paper:
    rows ``[k·100, (k+1)·100)`` with ``k = step mod (N/100)``; ``X`` shaped ``(100, 1, 40)``
    (one channel; views, no copy)."""
    k = step % (len(X) // W7_BATCH)
    rows = slice(k * W7_BATCH, (k + 1) * W7_BATCH)
    return X[rows].reshape(W7_BATCH, 1, W7_LENGTH), y[rows]


def w7_answers(losses: list[float], accuracy: float) -> dict[str, Any]:
    r"""What every framework reports for W7: the first loss, the loss after
    :data:`W7_EARLY` steps, the final loss — the mean over the last 40 steps, one pass
    over the training data, as a single batch's loss swings by ±20 % from step to step —
    and the test accuracy."""
    last = losses[-40:]
    return {"first_loss": float(losses[0]),
            "early_loss": float(losses[min(W7_EARLY, len(losses)) - 1]),
            "final_loss": float(sum(last) / len(last)), "accuracy": float(accuracy)}


def w8_data(p: Problem) -> tuple[np.ndarray, Layer]:
    r"""W8's input ``x ~ N(0, 1)`` float32 of shape ``(N, 16, S, S)`` and the initial
    weights of ``Conv2d(16, 32, 3, padding=1)``."""
    rng = np.random.default_rng(SEED + 8)
    n, size = p["w8_batch"], p["w8_size"]
    x = rng.standard_normal((n, W8_IN, size, size)).astype(np.float32)
    return _frozen(x), init_conv(W8_IN, W8_OUT, (W8_KERNEL, W8_KERNEL), SEED + 80)


def w8_answers(y: float, grad_x: np.ndarray, grad_w: np.ndarray, grad_b: np.ndarray
               ) -> dict[str, Any]:
    r"""What every framework reports for W8: :math:`y = \sum \mathrm{conv}(x)` and the sums
    of the three gradients (accumulated in float64)."""
    return {"y": float(y)} | {f"grad{k}_sum": float(np.sum(g, dtype=np.float64))
                              for k, g in (("x", grad_x), ("w", grad_w), ("b", grad_b))}


def problem(profile: str) -> Problem:
    r"""The sizes of ``profile`` (``"full"``, ``"quick"`` or ``"tiny"``)."""
    if profile not in PROFILES:
        raise ValueError(f"bench: unknown profile {profile!r} (choose from {sorted(PROFILES)})")
    return Problem(profile, dict(PROFILES[profile]))


# ---------------------------------------------------------------- W10: multi-head attention
# Added with the attention layers, in lines of their own (W7–W9 come with other layers).
W10_SHAPE = (32, 64, 64)  # (batch, sequence, embedding), batch_first self-attention
W10_HEADS = 4
WORKLOADS += ("W10",)
for _profile, _inner in (("full", 20), ("quick", 10), ("tiny", 1)):
    PROFILES[_profile]["w10_inner"] = _inner


@dataclass(frozen=True)
class Attention:
    r"""``MultiheadAttention(64, 4)``'s initial parameters, PyTorch's names and layouts and
    its default initialisation: ``in_proj_weight`` ``(3E, E)`` Xavier-uniform
    :math:`\mathcal U(\pm\sqrt{6/(E + 3E)})`, ``out_proj.weight`` ``(E, E)``
    :math:`\mathcal U(\pm 1/\sqrt E)`, both biases zero."""

    in_proj_weight: np.ndarray
    in_proj_bias: np.ndarray
    out_proj_weight: np.ndarray
    out_proj_bias: np.ndarray

    def state_dict(self) -> dict[str, np.ndarray]:
        return {"in_proj_weight": self.in_proj_weight, "in_proj_bias": self.in_proj_bias,
                "out_proj.weight": self.out_proj_weight, "out_proj.bias": self.out_proj_bias}


def w10_data() -> tuple[np.ndarray, Attention]:
    r"""W10's input ``x ~ N(0, 1)`` of shape (32, 64, 64), float32, and the layer's
    parameters (float32)."""
    rng = np.random.default_rng(SEED + 10)
    E = W10_SHAPE[2]
    x = rng.standard_normal(W10_SHAPE).astype(np.float32)
    bound = np.sqrt(6.0 / (E + 3 * E))
    weights = Attention(
        _frozen(rng.uniform(-bound, bound, size=(3 * E, E)).astype(np.float32)),
        _frozen(np.zeros(3 * E, dtype=np.float32)),
        _frozen(rng.uniform(-1 / np.sqrt(E), 1 / np.sqrt(E), size=(E, E)).astype(np.float32)),
        _frozen(np.zeros(E, dtype=np.float32)),
    )
    return _frozen(x), weights


def w10_answers(out: np.ndarray, grad_x: np.ndarray, grad_in_proj: np.ndarray
                ) -> dict[str, float]:
    r"""What every framework must agree on: ‖out‖, ‖∂L/∂x‖ and ‖∂L/∂in_proj_weight‖ for
    L = Σ out (norms, in float64: a plain sum of mixed signs could cancel to nearly 0)."""
    return {name: float(np.linalg.norm(np.asarray(a, dtype=np.float64)))
            for name, a in (("out_norm", out), ("grad_x_norm", grad_x),
                            ("grad_in_proj_norm", grad_in_proj))}


# ---------------------------------------------------------------- W9: the MNIST-1D GRU
# The MNIST-1D paper's GRU (Greydanus & Kobak, notebooks/models.py's GRUBase): GRU(1, 6,
# batch_first, bidirectional) over the 40 values of a sequence, every step's output flattened
# to 480 features, Linear(480, 10); Adam lr 1e-2, batches of 100 in the data's order.
W9_LR = 1e-2
W9_BATCH = 100
W9_LENGTH = 40
W9_HIDDEN = 6
W9_CLASSES = 10
W9_FEATURES = W9_LENGTH * 2 * W9_HIDDEN
#: PyTorch's parameter names of the bidirectional GRU, in its registration order.
W9_GRU_NAMES = tuple(f"{kind}_{part}_l0{suffix}" for suffix in ("", "_reverse")
                     for kind, part in (("weight", "ih"), ("weight", "hh"), ("bias", "ih"),
                                        ("bias", "hh")))
W9_MNIST1D_ENV = "CHAINRULE_BENCH_W9_MNIST1D"


def w9_layers() -> tuple[dict[str, np.ndarray], Layer]:
    r"""W9's initial weights: the GRU's (PyTorch's names and layouts, every entry from
    :math:`\mathcal U(\pm 1/\sqrt{H})`, H = 6) and the head's, ``Linear(480, 10)``."""
    rng = np.random.default_rng(SEED + 90)
    bound = 1.0 / np.sqrt(W9_HIDDEN)
    gates = 3 * W9_HIDDEN
    shapes = {"weight_ih": (gates, 1), "weight_hh": (gates, W9_HIDDEN), "bias_ih": (gates,),
              "bias_hh": (gates,)}
    gru = {}
    for name in W9_GRU_NAMES:
        shape = shapes[name.split("_l0")[0]]
        gru[name] = _frozen(rng.uniform(-bound, bound, size=shape).astype(np.float32))
    (head,) = init_layers((W9_FEATURES, W9_CLASSES), SEED + 91)
    return gru, head


def save_w9_mnist1d(path: str) -> None:
    r"""Write W9's training sequences to ``path`` (``.npz``), so that workers started with
    ``CHAINRULE_BENCH_W9_MNIST1D=path`` skip generating them (seconds per worker)."""
    X, y = _w9_sequences("mnist1d")
    np.savez(path, X=X, y=y)


@lru_cache(maxsize=2)
def _w9_sequences(kind: str) -> tuple[np.ndarray, np.ndarray]:
    if kind == "synthetic":  # the tiny profile: same shapes, no mnist1d package needed
        rng = np.random.default_rng(SEED + 9)
        X = rng.standard_normal((400, W9_LENGTH)).astype(np.float32)
        return _frozen(X), _frozen(rng.integers(0, W9_CLASSES, size=400).astype(np.int64))
    cache = os.environ.get(W9_MNIST1D_ENV)
    if cache:
        with np.load(cache, allow_pickle=False) as f:
            return _frozen(f["X"]), _frozen(f["y"])
    import random

    from mnist1d.data import get_dataset_args, make_dataset

    # make_dataset seeds NumPy's and Python's global generators: put them back afterwards
    state, py_state = np.random.get_state(), random.getstate()
    try:
        data = make_dataset(get_dataset_args())
    finally:
        np.random.set_state(state)
        random.setstate(py_state)
    return (_frozen(np.asarray(data["x"], np.float32)),
            _frozen(np.asarray(data["y"], np.int64)))


def w9_data(p: Problem) -> tuple[np.ndarray, np.ndarray]:
    r"""W9's training sequences: MNIST-1D as the paper generates it (the ``mnist1d``
    package's defaults, 4,000 sequences of length 40), float32 ``(N, 40)`` and int64 labels;
    the tiny profile uses seeded noise of the same shape instead."""
    return _w9_sequences(p["w9_data"])


def w9_batch(X: np.ndarray, y: np.ndarray, step: int) -> tuple[np.ndarray, np.ndarray]:
    r"""The batch of step ``step``, in the data's order as in the paper: rows
    ``[k·100, (k+1)·100)``, ``k = step mod (N/100)``; ``X`` shaped ``(100, 40, 1)``
    (batch first, one feature per time step; views, no copy)."""
    k = step % (len(X) // W9_BATCH)
    rows = slice(k * W9_BATCH, (k + 1) * W9_BATCH)
    return X[rows].reshape(W9_BATCH, W9_LENGTH, 1), y[rows]


def w9_answers(losses: list[float], grad_norm: float) -> dict[str, Any]:
    r"""What every framework reports for W9: the first step's loss and gradient norm (all
    parameters), and the last step's loss."""
    return {"first_loss": float(losses[0]), "first_grad_norm": float(grad_norm),
            "final_loss": float(losses[-1])}


# ---------------------------------------------------------------- W11: per-example gradients
# Added with cr.vmap, in lines of their own.
W11_BATCH = 128
W11_SIZES = (64, 128, 10)
WORKLOADS += ("W11",)
for _profile, _inner in (("full", 20), ("quick", 10), ("tiny", 1)):
    PROFILES[_profile]["w11_inner"] = _inner


def w11_data() -> tuple[np.ndarray, np.ndarray, list[Layer]]:
    r"""W11's batch: the first 128 standardised digits of W5's training split (float32),
    their labels, and the MLP 64-128-10's initial weights (PyTorch's default init)."""
    X, y, _, _ = _digits()
    return X[:W11_BATCH], y[:W11_BATCH], init_layers(W11_SIZES, SEED + 11)


def w11_answers(grads: list[np.ndarray]) -> dict[str, float]:
    r"""‖∂ℓᵢ/∂θ‖ over all examples i for each parameter θ (W₁, b₁, W₂, b₂), and
    the first example's ‖∂ℓ₀/∂W₁‖: the per-example gradients, not their sum."""
    out = {f"grad_{k}_norm": _norm(g) for k, g in zip(("w1", "b1", "w2", "b2"), grads)}
    out["first_w1_norm"] = _norm(grads[0][0])
    return out


def _norm(a: np.ndarray) -> float:
    """‖a‖ by one BLAS dot in a's dtype: a float64 copy of W11's 4 MB of gradients would
    cost as much as computing them (the figure is a check, to 1e-4)."""
    flat = np.ascontiguousarray(a).reshape(-1)
    return float(np.sqrt(np.dot(flat, flat)))
