"""Small ready-made subjects for the pictures (used by ``chainrule plot`` and the docs)."""

from __future__ import annotations

import numpy as np

import chainrule.nn.functional as F
from chainrule._config import generator_for, manual_seed
from chainrule.creation import tensor
from chainrule.data import load_dataset
from chainrule.nn import MLP, init
from chainrule.tensor import Tensor


def deep_mlp(activation: str, depth: int = 10, width: int = 32, seed: int = 0) -> MLP:
    """A ``depth``-layer MLP from the 64 digit pixels to 10 classes.

    Layers start from PyTorch's default initialisation, except that a ReLU net gets He
    initialisation (weights 𝒩(0, 2/fan_in), biases 0): it keeps the variance of the signal
    constant through ReLUs, so the ReLU net is the healthy baseline. (At the default init
    even a 10-layer ReLU net loses about 100× between its ends.)
    """
    manual_seed(seed)
    model = MLP([64] + [width] * (depth - 1) + [10], activation=activation)
    if activation == "relu":
        for param in model.parameters():
            if param.ndim == 2:
                init.kaiming_normal_(param, nonlinearity="relu")
            else:
                init.zeros_(param)
    return model


def digits_batch(n: int = 256, seed: int = 0) -> tuple[Tensor, Tensor]:
    """``n`` standardised training images of the digits data set and their labels."""
    (x, y), _ = load_dataset("digits", seed=seed)
    index = generator_for(seed).permutation(len(x))[:n]
    return x[index], y[index]


def example_loss(seed: int = 0) -> tuple[Tensor, dict[str, Tensor]]:
    """The cross-entropy loss of a 4 → 3 → 2 ReLU MLP on 5 samples (a small graph to draw)
    and ``{name: tensor}`` for its input and parameters."""
    manual_seed(seed)
    model = MLP([4, 3, 2], activation="relu")
    rng = generator_for(seed)
    x = tensor(rng.standard_normal((5, 4)).astype(np.float32))
    y = tensor(rng.integers(0, 2, size=5))
    names: dict[str, Tensor] = {"x": x, **dict(model.named_parameters())}
    return F.cross_entropy(model(x), y), names
