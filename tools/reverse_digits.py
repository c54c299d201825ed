"""A two-layer Transformer encoder learns to reverse sequences of 8 digits: ``make reverse``.

The model is public layers only: a token embedding plus a learned positional embedding,
``nn.TransformerEncoder`` (2 layers, d_model 32, 4 heads), and a linear head that reads
each position's digit. Reversal is a pure *where to look* problem: output position i must
copy input position 7 − i, which attention does by putting its weight on the
anti-diagonal. Trained with Adam on ``cr.data.digit_sequences("reverse")``, it is scored
on held-out sequences (token accuracy), and the script draws one sequence's attention
(docs/img/attention_reverse.png).

    python tools/reverse_digits.py [--steps 600] [--out docs/img/attention_reverse.png]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn, optim

LENGTH = 8
DIGITS = 10


class DigitTransformer(nn.Module):
    r"""Digits in, a digit per position out: ``(N, L)`` int64 → ``(N, L, digits)`` logits.

    :math:`h_0 = E[x_t] + P[t]`, then the encoder, then a linear head at every position.
    """

    def __init__(self, length: int = LENGTH, digits: int = DIGITS, d_model: int = 32,
                 nhead: int = 4, num_layers: int = 2, dim_feedforward: int = 64,
                 dropout: float = 0.0) -> None:
        super().__init__()
        self.embed = nn.Embedding(digits, d_model)
        self.position = nn.Embedding(length, d_model)
        layer = nn.TransformerEncoderLayer(d_model, nhead, dim_feedforward, dropout,
                                           batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, num_layers)
        self.head = nn.Linear(d_model, digits)
        self.register_buffer("positions", cr.arange(length), persistent=False)

    def inputs(self, x: Any) -> cr.Tensor:
        """h₀: each digit's embedding plus its position's."""
        return self.embed(x) + self.position(self.positions[: x.shape[1]])

    def forward(self, x: Any) -> cr.Tensor:
        return self.head(self.encoder(self.inputs(x)))


def attention_maps(model: DigitTransformer, x: Any) -> list[cr.Tensor]:
    """Each encoder layer's attention weights on ``x``, averaged over its heads:
    ``(N, L, L)`` per layer (row = query position, column = key position)."""
    maps = []
    with cr.no_grad():
        h = model.inputs(x)
        for layer in model.encoder.layers:
            _, weights = layer.self_attn(h, h, h)
            maps.append(weights)
            h = layer(h)
    return maps


def token_accuracy(model: nn.Module, X: cr.Tensor, Y: cr.Tensor) -> float:
    """The fraction of output digits that are right."""
    with cr.no_grad():
        predicted = model(X).argmax(axis=-1)
    return float((predicted.numpy() == Y.numpy()).mean())


def train(steps: int = 600, batch_size: int = 64, lr: float = 3e-3, seed: int = 0,
          n_train: int = 10_000, n_test: int = 1_000, log_every: int = 0
          ) -> tuple[DigitTransformer, float, tuple[cr.Tensor, cr.Tensor]]:
    """Train on ``steps`` random batches of the reversal task; returns the model, its
    token accuracy on the held-out sequences and those sequences."""
    (X, Y), (X_test, Y_test) = cr.data.digit_sequences("reverse", n_train, n_test, LENGTH,
                                                       DIGITS, seed=seed)
    cr.manual_seed(seed)
    model = DigitTransformer()
    opt = optim.Adam(model.parameters(), lr=lr)
    rng = np.random.default_rng(seed)
    for step in range(1, steps + 1):
        idx = rng.integers(0, len(X), size=batch_size)
        logits = model(X[idx])
        loss = F.cross_entropy(logits.reshape(-1, DIGITS), Y[idx].reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
        if log_every and step % log_every == 0:
            print(f"step {step:5d}  loss {loss.item():.4f}  held-out token accuracy "
                  f"{token_accuracy(model, X_test, Y_test):.4f}", flush=True)
    return model, token_accuracy(model, X_test, Y_test), (X_test, Y_test)


def draw(model: DigitTransformer, x: cr.Tensor, out: Path) -> None:
    """Both layers' attention on one held-out sequence, side by side: keys labelled with
    the input digits, queries with the digit each position outputs, so every dark cell
    sits where the two labels agree."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    inputs = [str(d) for d in x.tolist()]
    with cr.no_grad():
        outputs = [str(d) for d in model(x.reshape(1, -1)).argmax(axis=-1)[0].tolist()]
    maps = attention_maps(model, x.reshape(1, -1))
    fig, axes = plt.subplots(1, len(maps), figsize=(4.6 * len(maps), 4.2),
                             constrained_layout=True)
    for k, (ax, weights) in enumerate(zip(np.atleast_1d(axes), maps)):
        cr.viz.plot_attention(weights[0], outputs, inputs, ax=ax,
                              title=f"layer {k + 1} (mean of its 4 heads)")
        ax.set_xlabel("key (input digit)")
        ax.set_ylabel("query (the digit it outputs)")
    fig.suptitle(f"Reversing {' '.join(inputs)} → {' '.join(outputs)}: where each output "
                 "position looks")
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("docs/img/attention_reverse.png"))
    args = parser.parse_args(argv)
    start = time.perf_counter()
    model, acc, (X_test, _) = train(args.steps, seed=args.seed, log_every=250)
    print(f"held-out token accuracy {acc:.4f} after {args.steps} steps "
          f"({time.perf_counter() - start:.1f} s)")
    draw(model, X_test[0], args.out)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
