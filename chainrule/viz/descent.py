r"""Gradient descent, seen: a 2-D cost's contours with the paths optimisers take over it.

The update the textbook starts from (SEED.md §3.1) is
:math:`\theta_{t+1} = \theta_t - \alpha\,\nabla_\theta J(\theta_t)`; :func:`descent_path`
runs it (or momentum, or Adam) with chainrule's own optimisers and records each θ_t;
:func:`plot_descent` draws the path on the contours of J.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from chainrule.creation import tensor
from chainrule.optim.registry import OPTIMIZERS
from chainrule.tensor import Tensor
from chainrule.viz.plots import new_figure, save_figure

Cost = Callable[[Any, Any], Any]

# Characters per title line: what fits above the axes of a 7.5-inch figure at 12 pt.
TITLE_WIDTH = 60
# Height of one legend row at 9 pt, and the legend's frame and padding, in inches.
LEGEND_ROW = 0.22
LEGEND_FRAME = 0.2

# The textbook's training data (SEED.md §4): y = 2x exactly, so the minimum is (0, 2).
LINREG_X = (1.0, 2.0, 3.0, 4.0)
LINREG_Y = (2.0, 4.0, 6.0, 8.0)


def linreg_cost(theta0: Any, theta1: Any) -> Any:
    r"""The textbook's cost :math:`J(\theta_0,\theta_1) = \frac{1}{2m}\sum_i (\theta_0 +
    \theta_1 x_i - y_i)^2` on x = 1, 2, 3, 4 and y = 2, 4, 6, 8 (m = 4); minimum at (0, 2).

    Written with arithmetic only, so ``theta0``/``theta1`` may be numbers, NumPy grids or
    Tensors (then ∂J/∂θ₀ = (1/m)Σ(h − y) and ∂J/∂θ₁ = (1/m)Σ(h − y)x by autodiff).
    """
    m = len(LINREG_X)
    total = 0.0
    for x, y in zip(LINREG_X, LINREG_Y):
        residual = theta0 + theta1 * x - y
        total = total + residual * residual
    return total / (2 * m)


def rosenbrock(a: Any, b: Any) -> Any:
    r"""Rosenbrock's banana :math:`(1-a)^2 + 100(b-a^2)^2`, minimum 0 at (1, 1): a curved
    narrow valley where plain gradient descent crawls and momentum helps."""
    return (1 - a) ** 2 + 100 * (b - a * a) ** 2


# The names descent_path offers, in the order its error message lists them.
_NAMES = ("gd", "sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam")


def _make_optimizer(name: str, params: list[Tensor], lr: float, **kwargs: Any) -> Any:
    key = name.lower()
    if key not in _NAMES:
        raise ValueError(f"descent_path: unknown optimizer {name!r} "
                         f"(choose from {', '.join(_NAMES)}, or pass a factory)")
    return OPTIMIZERS[key](params, lr=lr, **kwargs)


def descent_path(f: Cost, start: Any, optimizer: str | Callable[[list[Tensor]], Any] = "gd",
                 lr: float = 0.01, steps: int = 100, **kwargs: Any) -> np.ndarray:
    r"""Run an optimiser on a 2-D cost and return the points it visits.

    Each step: J = f(θ₀, θ₁); backward gives ∇J by autodiff; the optimiser updates θ
    (``"gd"``: θ ← θ − α∇J; ``"momentum"``: SGD with momentum 0.9; ``"adam"``; also
    ``"nesterov"``, ``"adagrad"``, ``"rmsprop"``).

    Args:
        f: the cost, ``f(theta0, theta1)``, written with Tensor operations.
        start: the initial point (θ₀, θ₁).
        optimizer: a name above, or a factory ``params -> Optimizer``.
        lr: the learning rate α (ignored for a factory).
        steps: how many updates.
        **kwargs: passed on to the optimiser (e.g. ``momentum=0.5``, ``betas=(0.9, 0.99)``).

    Returns:
        A float64 array of shape ``(steps + 1, 2)``: the start, then θ after each step.

    Raises:
        ValueError: unknown optimizer, bad ``start``, or the path diverged (a cost that is
            not finite: lower ``lr``).
    """
    start_array = np.asarray(start, dtype=np.float64)
    if start_array.shape != (2,):
        raise ValueError(f"descent_path: start must be two numbers (θ₀, θ₁), "
                         f"got shape {start_array.shape}")
    theta = tensor(start_array, requires_grad=True)
    opt = optimizer([theta]) if callable(optimizer) else _make_optimizer(
        optimizer, [theta], lr, **kwargs)
    path = [start_array.copy()]
    # A diverging path overflows; that is reported below as one clear error instead of
    # NumPy's overflow warnings from deep inside the cost.
    with np.errstate(over="ignore", invalid="ignore"):
        for step in range(int(steps)):
            opt.zero_grad()
            cost = f(theta[0], theta[1])
            cost.backward()
            opt.step()
            if not (np.all(np.isfinite(theta.data)) and np.isfinite(cost.data).all()):
                raise ValueError(f"descent_path: the path diverged at step {step + 1} "
                                 f"(θ = {theta.data.tolist()}); lower the learning rate")
            path.append(theta.data.astype(np.float64).copy())
    return np.stack(path)


def _as_paths(path: Any) -> dict[str, np.ndarray]:
    items = path.items() if isinstance(path, Mapping) else [("path", path)]
    paths = {}
    for label, points in items:
        array = np.asarray(points, dtype=np.float64)
        if array.ndim != 2 or array.shape[1] != 2 or len(array) == 0:
            raise ValueError(f"plot_descent: a path must be a (k, 2) array of points, "
                             f"got shape {array.shape} for {label!r}")
        paths[str(label)] = array
    return paths


def _window(paths: dict[str, np.ndarray], xlim: Any, ylim: Any
            ) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    points = np.concatenate(list(paths.values()))
    points = points[np.all(np.isfinite(points), axis=1)]
    lo, hi = points.min(axis=0), points.max(axis=0)
    pad = np.maximum((hi - lo) * 0.25, 0.5)
    auto_x = (lo[0] - pad[0], hi[0] + pad[0])
    auto_y = (lo[1] - pad[1], hi[1] + pad[1])
    return (tuple(xlim) if xlim is not None else auto_x,
            tuple(ylim) if ylim is not None else auto_y)


def _levels(z: np.ndarray, n: int) -> np.ndarray:
    finite = z[np.isfinite(z)]
    lo, hi = float(finite.min()), float(finite.max())
    if lo > 0 and hi / lo > 100:
        # Costs span decades near a minimum: log-spaced levels show the valley floor.
        return np.geomspace(lo, hi, n)
    return np.linspace(lo, hi, n)


def _wrap(title: str) -> str:
    """``title`` in as few lines of at most ``TITLE_WIDTH`` characters as it needs, of even
    length. (A long title is centred on the axes, left of the colour bar, and would
    otherwise run off the figure.)"""
    lines = max(1, math.ceil(len(title) / TITLE_WIDTH))
    width = math.ceil(len(title) / lines)
    while len(textwrap.wrap(title, width)) > lines:
        width += 1
    return "\n".join(textwrap.wrap(title, width))


def _legend_below(fig: Any, ax: Any, columns: int) -> None:
    """The axes' legend in a strip at the foot of the figure, kept free for it: inside the
    axes any corner covers contours or a path."""
    rows = math.ceil(len(ax.get_legend_handles_labels()[1]) / columns)
    strip = (rows * LEGEND_ROW + LEGEND_FRAME) / fig.get_figheight()
    # The constrained layout fits the axes, labels and colour bar above the strip.
    fig.get_layout_engine().set(rect=(0.0, strip, 1.0, 1.0 - strip))
    legend = ax.legend(fontsize=9, loc="lower center", bbox_to_anchor=(0.5, 0.0),
                       bbox_transform=fig.transFigure, ncols=columns, borderaxespad=0.3)
    legend.set_in_layout(False)


def plot_descent(f: Cost, path: Any, xlim: Any = None, ylim: Any = None,
                 labels: tuple[str, str] = ("θ₀", "θ₁"), title: str | None = None,
                 levels: int = 30, resolution: int = 200, minimum: Any = None,
                 save: str | Path | None = None) -> Any:
    r"""Contours of a 2-D cost J(θ₀, θ₁) with one or several optimiser paths drawn on them.

    Args:
        f: the cost, called once as ``f(theta0_grid, theta1_grid)`` on NumPy grids.
        path: a ``(k, 2)`` array-like of visited points, or a dict ``label -> (k, 2)`` to
            compare several optimisers (see :func:`descent_path`).
        xlim, ylim: the window (default: around the paths).
        labels: the axis names.
        title: the figure title.
        levels: how many contour levels.
        resolution: grid points per axis.
        minimum: a point (θ₀, θ₁) to mark as the known minimum, or ``None``.
        save: where to save the figure (``.png``/``.svg``), or ``None``. (Not ``path``:
            that name is the optimiser path here.)

    Returns:
        The Matplotlib Figure.
    """
    paths = _as_paths(path)
    (x0, x1), (y0, y1) = _window(paths, xlim, ylim)
    grid0, grid1 = np.meshgrid(np.linspace(x0, x1, resolution), np.linspace(y0, y1, resolution))
    z = np.asarray(f(grid0, grid1), dtype=np.float64)
    if z.shape != grid0.shape:
        raise ValueError(f"plot_descent: f(theta0_grid, theta1_grid) must return the grid's "
                         f"shape {grid0.shape}, got {z.shape}")
    fig, axes = new_figure(1, 1, size=(7.5, 6))
    ax = axes[0, 0]
    contours = ax.contour(grid0, grid1, z, levels=_levels(z, levels), cmap="viridis",
                          linewidths=0.8)
    fig.colorbar(contours, ax=ax, label="cost J", format="%.3g")
    if minimum is not None:
        ax.plot(*np.asarray(minimum, dtype=np.float64), "P", color="black", markersize=11,
                label="minimum", zorder=5)
    styles = ("-", "--", "-.", ":")
    for i, (label, points) in enumerate(paths.items()):
        # Paths often share a stretch of valley: dashes let the one beneath show through.
        line = ax.plot(points[:, 0], points[:, 1], styles[i % len(styles)], linewidth=2,
                       marker="." if len(points) <= 60 else None, zorder=3 + i,
                       label=f"{label} ({len(points) - 1} steps, end "
                             f"({points[-1, 0]:.3g}, {points[-1, 1]:.3g}))")[0]
        ax.plot(*points[0], "o", color=line.get_color(), markersize=7)
        ax.plot(*points[-1], "*", color=line.get_color(), markersize=13,
                markeredgecolor="black")
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_xlabel(labels[0])
    ax.set_ylabel(labels[1])
    ax.set_title(_wrap(title or "gradient descent on the cost's contours (○ start, ★ end)"))
    _legend_below(fig, ax, columns=2 if len(paths) > 1 else 1)
    save_figure(fig, save)
    return fig
