r"""Plots of the calculus: activations and their derivatives, loss curves and the
finite-difference error curve. (Descent contours live in :mod:`chainrule.viz.descent`.)

Each function returns a Matplotlib ``Figure``; pass ``path=`` to save it (the suffix picks
PNG or SVG). Matplotlib is imported only when a plot is drawn.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from chainrule._optional import optional_import
from chainrule.calculus import derivative
from chainrule.checking import central_difference, forward_difference
from chainrule.tensor import Tensor

# A sigmoid/tanh unit is "saturated" where its derivative is below this fraction of the
# derivative's peak (σ' ≤ 0.05·¼ ⇔ |z| ≳ 4.4; tanh' ≤ 0.05 ⇔ |z| ≳ 2.2). gradient_flow
# uses the same threshold, so the shaded bands here are the units it counts.
SATURATION = 0.05


def save_figure(fig: Any, path: str | Path | None) -> None:
    """Save ``fig`` to ``path`` (format from the suffix: ``.png``, ``.svg``, ``.pdf``)."""
    if path is None:
        return
    path = Path(path)
    if path.suffix.lower() not in (".png", ".svg", ".pdf"):
        raise ValueError(f"save: cannot tell the image format from {str(path)!r} "
                         f"(use a .png, .svg or .pdf suffix)")
    fig.savefig(path, dpi=110)  # the constrained layout already fits labels in the figure


def new_figure(nrows: int = 1, ncols: int = 1, size: tuple[float, float] = (7, 5)) -> Any:
    """A Figure and its axes, made without pyplot's global state (safe in any backend).

    The Figure is Matplotlib's with a ``_repr_png_``, so Jupyter draws it as a picture.
    """
    optional_import("matplotlib.figure", "Matplotlib", "viz", "drawing a figure")
    from chainrule.viz._figure import Figure

    fig = Figure(figsize=size, layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False)
    return fig, axes


# ---------------------------------------------------------------- activations


def _activation_table() -> list[tuple[str, Callable[[Any], Any], Callable[[np.ndarray], Any], str]]:
    """(name, f on Tensors, textbook derivative on arrays, the derivative's formula)."""
    import chainrule.nn.functional as F

    def sig(x: np.ndarray) -> np.ndarray:
        return 0.5 * (1 + np.tanh(x / 2))  # σ(x) without overflow

    def gelu_prime(x: np.ndarray) -> np.ndarray:
        phi = np.exp(-x * x / 2) / math.sqrt(2 * math.pi)
        cdf = 0.5 * (1 + np.vectorize(math.erf)(x / math.sqrt(2)))
        return cdf + x * phi

    return [
        ("sigmoid", F.sigmoid, lambda x: sig(x) * (1 - sig(x)), "σ' = σ(1−σ)"),
        ("tanh", F.tanh, lambda x: 1 - np.tanh(x) ** 2, "tanh' = 1 − tanh²"),
        ("ReLU", F.relu, lambda x: (x > 0).astype(float), "ReLU' = 1 if x > 0 else 0"),
        ("leaky ReLU (0.1)", lambda t: F.leaky_relu(t, 0.1),
         lambda x: np.where(x > 0, 1.0, 0.1), "1 if x > 0 else 0.1"),
        ("GELU", F.gelu, gelu_prime, "GELU' = Φ(x) + x·φ(x)"),
        ("softplus", F.softplus, sig, "softplus' = σ(x)"),
    ]


def _shade_saturation(ax: Any, x: np.ndarray, slope: np.ndarray) -> None:
    saturated = slope <= SATURATION * slope.max()
    ax.fill_between(x, 0, 1, where=saturated, transform=ax.get_xaxis_transform(),
                    color="#f4c2c2", alpha=0.5, linewidth=0,
                    label=f"saturated: f' ≤ {SATURATION:g}·max f'")


def plot_activations(x: Any = None, path: str | Path | None = None) -> Any:
    r"""Each activation f, its derivative f' by automatic differentiation, and the
    textbook's closed form of f' drawn over it.

    The closed forms (SEED.md §3.2 and beyond): σ' = σ(1 − σ), tanh' = 1 − tanh²,
    ReLU' = 1 for x > 0 else 0, leaky ReLU' = 1 or the slope, GELU' = Φ(x) + xφ(x),
    softplus' = σ. Each panel's legend reports the largest gap between autodiff and the
    closed form. For sigmoid and tanh the bands where f' falls below 5 % of its peak are
    shaded (saturation: a gradient passing there is all but lost), and σ' ≤ ¼ is marked:
    every sigmoid layer shrinks a backpropagated gradient by at least 4×.

    Args:
        x: the points to plot (default 401 points on [−5, 5], float64).
        path: where to save the figure (``.png``/``.svg``), or ``None``.

    Returns:
        The Matplotlib Figure (2 × 3 panels).
    """
    xs = np.linspace(-5, 5, 401) if x is None else np.asarray(x, dtype=np.float64)
    fig, axes = new_figure(2, 3, size=(13, 7.5))
    for ax, (name, f, closed, formula) in zip(axes.ravel(), _activation_table()):
        value = f(Tensor(xs)).numpy()
        slope = derivative(f)(xs).numpy()
        exact = closed(xs)
        gap = float(np.max(np.abs(slope - exact)))
        if name in ("sigmoid", "tanh"):
            _shade_saturation(ax, xs, slope)
        ax.plot(xs, value, color="#1f77b4", linewidth=2, label=f"{name}(x)")
        ax.plot(xs, slope, color="#d62728", linewidth=2, label="f'(x) by autodiff")
        ax.plot(xs[::16], exact[::16], "o", color="black", markersize=3.5, fillstyle="none",
                label=f"{formula}\n(max gap {gap:.1e})")
        if name == "sigmoid":
            ax.axhline(0.25, color="#d62728", linestyle=":", linewidth=1)
            ax.annotate("σ' ≤ 1/4", (xs[-1], 0.25), xytext=(-4, 4), textcoords="offset points",
                        ha="right", fontsize=9, color="#d62728")
        ax.set_title(name)
        ax.set_xlabel("x")
        ax.set_ylabel("f(x), f'(x)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="upper left")
    fig.suptitle("Activation functions and their derivatives: autodiff (lines) vs closed form "
                 "(circles)")
    save_figure(fig, path)
    return fig


# ---------------------------------------------------------------- loss curves


def _history_dict(history: Any) -> dict[str, list[float]]:
    data = getattr(history, "history", history)
    if not isinstance(data, Mapping):
        raise TypeError(f"plot_loss: expected a History or a dict of lists, "
                        f"got {type(history).__name__}")
    curves = {k: [float(v) for v in vals] for k, vals in data.items()
              if k != "time" and isinstance(vals, (list, tuple, np.ndarray)) and len(vals)}
    if not curves:
        raise ValueError("plot_loss: the history holds no values to plot (train first)")
    return curves


def _legend_text(key: str) -> str:
    """``"val_accuracy (validation)"``, ``"loss (training)"``: the key, and which data."""
    return f"{key} ({'validation' if key.startswith('val_') else 'training'})"


def _measure(key: str) -> str:
    return key[len("val_"):] if key.startswith("val_") else key


def plot_loss(history: Any, path: str | Path | None = None, log: bool = False) -> Any:
    r"""Loss per epoch (``"loss"``, ``"val_loss"``, any other ``*loss`` key) and, in a second
    panel, every metric (``"accuracy"``, ``"r2"``, …) that :func:`chainrule.fit` recorded.

    Keys follow Keras's convention, as :func:`chainrule.fit` records them: ``"val_"`` +
    a name is measured on the validation data, a plain name on the training batches; each
    legend entry says which (``val_accuracy (validation)``), and the second panel's axis and
    title name the metrics.

    Args:
        history: a :class:`chainrule.train.History` or a ``dict`` of per-epoch lists.
        path: where to save the figure, or ``None``.
        log: draw the loss on a logarithmic axis.

    Returns:
        The Matplotlib Figure.
    """
    MaxNLocator = optional_import(
        "matplotlib.ticker", "Matplotlib", "viz", "plot_loss").MaxNLocator

    curves = _history_dict(history)
    losses = {k: v for k, v in curves.items() if "loss" in k}
    metrics = {k: v for k, v in curves.items() if "loss" not in k}
    panels = [p for p in (losses, metrics) if p]
    fig, axes = new_figure(1, len(panels), size=(6 * len(panels), 4.5))
    for ax, panel in zip(axes.ravel(), panels):
        lines = []
        for key, values in panel.items():
            epochs = np.arange(1, len(values) + 1)
            lines += ax.plot(epochs, values, marker="o" if len(values) <= 30 else None,
                             markersize=3, label=key)
        is_loss = panel is losses
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # no epoch 2.5
        measured = "loss" if is_loss else ", ".join(dict.fromkeys(map(_measure, panel)))
        ax.set_ylabel(measured)
        ax.set_title(f"{measured} per epoch")
        if is_loss and log:
            ax.set_yscale("log")
        ax.grid(alpha=0.3)
        ax.legend(lines, [_legend_text(key) for key in panel])
    save_figure(fig, path)
    return fig


# ---------------------------------------------------------------- gradcheck


def _differences(f: Callable[[Any], Any], x0: float, hs: np.ndarray) -> tuple[np.ndarray, ...]:
    """The forward and the central difference of scalar ``f`` at ``x0``, one per step in ``hs``."""
    def value(xs: list[np.ndarray]) -> float:
        return float(f(Tensor(xs[0])))

    at = [np.float64(x0)]
    forward = np.array([forward_difference(value, at, h)[0] for h in hs])
    central = np.array([central_difference(value, at, h)[0] for h in hs])
    return forward, central


def _function_text(f: Callable[[Any], Any], name: str | None) -> str:
    """How a title names ``f``: ``f(x) = <name>``, else the function's own name."""
    if name:
        return f"f(x) = {name}"
    own = getattr(f, "__name__", "")
    return f"f = {own}" if own.isidentifier() else "f"


def plot_gradcheck(f: Callable[[Any], Any], x: float, hs: Any = None,
                   path: str | Path | None = None, name: str | None = None) -> Any:
    r"""Error of finite differences against the autodiff derivative, over step sizes h.

    Forward :math:`\frac{f(x+h)-f(x)}{h}` has truncation error :math:`\frac h2 f''`, central
    :math:`\frac{f(x+h)-f(x-h)}{2h}` has :math:`\frac{h^2}{6} f'''`; both suffer round-off
    :math:`\approx \epsilon |f| / h` (ε = 2.2e−16 in float64). On log–log axes they meet in
    a U: the best h is near :math:`\sqrt\epsilon \approx 10^{-8}` (forward) and
    :math:`\epsilon^{1/3} \approx 10^{-5}` (central), the reason gradcheck uses central
    differences with h ≈ 1e−6.

    Args:
        f: a scalar function of a scalar Tensor (evaluated in float64).
        x: the point.
        hs: step sizes (default 10⁻¹⁶ … 10⁰, 65 of them).
        path: where to save the figure, or ``None``.
        name: f's formula for the title (``"sin x"`` gives "f(x) = sin x"); by default
            the title names the function by its ``__name__`` (a lambda stays "f").

    Returns:
        The Matplotlib Figure.
    """
    x0 = float(x)
    hs = np.logspace(-16, 0, 65) if hs is None else np.asarray(hs, dtype=np.float64)
    if hs.ndim != 1 or hs.size == 0 or np.any(hs <= 0):
        raise ValueError("plot_gradcheck: hs must be a non-empty 1-D array of positive steps")
    exact = float(derivative(f)(np.float64(x0)))
    forward, central = _differences(f, x0, hs)
    # An error of exactly 0 has no place on a log axis: show it at a floor, below ε.
    errors = np.abs(np.concatenate([forward, central]) - exact)
    floor = float(errors[errors > 0].min()) / 10 if np.any(errors > 0) else 1e-18
    fig, axes = new_figure(1, 1, size=(7.5, 5.5))
    ax = axes[0, 0]
    ax.loglog(hs, np.maximum(np.abs(forward - exact), floor), "o-", markersize=3,
              label="forward difference  (error ~ h + ε/h)")
    ax.loglog(hs, np.maximum(np.abs(central - exact), floor), "s-", markersize=3,
              label="central difference  (error ~ h² + ε/h)")
    eps = np.finfo(np.float64).eps
    ax.loglog(hs, eps * max(abs(float(f(Tensor(np.float64(x0))))), 1.0) / hs, ":",
              color="gray", label="round-off ε·|f|/h")
    for h_best, h_name in ((math.sqrt(eps), "√ε"), (eps ** (1 / 3), "ε^(1/3)")):
        ax.axvline(h_best, color="gray", linestyle="--", linewidth=0.8)
        ax.annotate(f"h = {h_name}", (h_best, 0.98), xycoords=("data", "axes fraction"),
                    rotation=90, va="top", ha="right", fontsize=8, color="gray")
    ax.set_ylim(floor / 2, None)  # the floor itself marks errors that were exactly 0
    ax.set_xlabel("step size h")
    ax.set_ylabel("|finite difference − autodiff derivative|")
    ax.set_title(f"Finite differences vs autodiff for {_function_text(f, name)}\n"
                 f"at x = {x0:g}, where f'(x) = {exact:.6g}")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=9, loc="lower left")
    save_figure(fig, path)
    return fig
