r"""Where attention looks: :func:`plot_attention` draws an attention matrix as a heatmap.

Row i of the matrix is query i's softmax over the keys, :math:`A_{ij} = e^{s_{ij}}/
\sum_k e^{s_{ik}}`: the weights with which output i mixes the values. Every row sums to 1
(or is all 0 where every key was masked). The same weights carry the backward pass:
:math:`\partial L/\partial V = A^\top\,\partial L/\partial O`, so a key that gets no
attention gets no gradient through its value either.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from chainrule.tensor import as_tensor
from chainrule.viz.plots import new_figure, save_figure

# Light to dark with the weight, 0 white: one sequential scale for values in [0, 1].
CMAP = "Blues"


def _labels(name: str, labels: Sequence[Any] | None, n: int, axis: str) -> list[str] | None:
    """``labels`` as strings, one per entry of ``axis`` ("queries" or "keys")."""
    if labels is None:
        return None
    if isinstance(labels, str):
        raise TypeError(f"plot_attention: {name} must be a sequence of labels, one per "
                        f"{axis[:-1]}, not a str (use list({labels!r}) for one label per "
                        "letter)")
    out = [str(t) for t in labels]
    if len(out) != n:
        raise ValueError(f"plot_attention: {len(out)} {name} for {n} {axis}")
    return out


def _panel(ax: Any, w: np.ndarray, vmax: float, rows: list[str] | None,
           cols: list[str] | None, title: str | None) -> Any:
    from matplotlib.ticker import MaxNLocator

    image = ax.imshow(w, cmap=CMAP, vmin=0.0, vmax=vmax, interpolation="nearest",
                      aspect="auto")
    n_q, n_k = w.shape
    if cols is not None:
        ax.set_xticks(np.arange(n_k), cols, rotation=90 if max(map(len, cols)) > 2 else 0)
    else:  # positions: integer ticks, as many as fit
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if rows is not None:
        ax.set_yticks(np.arange(n_q), rows)
    else:
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("key")
    ax.set_ylabel("query")
    if title:
        ax.set_title(title)
    return image


def plot_attention(weights: Any, tokens: Sequence[Any] | None = None,
                   key_tokens: Sequence[Any] | None = None, path: str | Path | None = None,
                   *, title: str | None = None, ax: Any = None, colorbar: bool = True) -> Any:
    r"""The attention matrix as a heatmap: one row per query, one column per key, darker
    where the query puts more weight (one colour scale from 0 to the largest weight).

    Args:
        weights: ``(L, S)`` attention weights (e.g. ``nn.MultiheadAttention``'s second
            output for one example), or ``(h, L, S)`` for h heads drawn side by side.
        tokens: labels of the L queries, and of the keys too when ``key_tokens`` is None
            (self-attention, L = S).
        key_tokens: labels of the S keys, when they differ from the queries'.
        path: where to save the figure (``.png``/``.svg``), or ``None``.
        title: the panel's title (2-D weights) or the figure's (heads).
        ax: a Matplotlib Axes to draw a 2-D matrix into (e.g. one panel of your own
            figure); the figure returned is then that Axes' figure.
        colorbar: add a colour bar labelled "attention weight".

    Returns:
        The Figure.

    Raises:
        ValueError: weights that are not 2-D or 3-D, or not finite; a number of labels that
            does not match the weights' axis.
        TypeError: labels given as one string.

    >>> import chainrule as cr
    >>> fig = cr.viz.plot_attention([[0.9, 0.1], [0.2, 0.8]], ["a", "b"])
    >>> [fig.axes[0].get_xlabel(), fig.axes[0].get_ylabel()]
    ['key', 'query']
    """
    w = np.asarray(as_tensor(weights, "plot_attention").numpy(), dtype=np.float64)
    if w.ndim not in (2, 3):
        raise ValueError(f"plot_attention: expected weights of shape (L, S) or (heads, L, S), "
                         f"got shape {tuple(w.shape)} (index one example first, e.g. "
                         "weights[0])")
    if not np.all(np.isfinite(w)):
        raise ValueError("plot_attention: the weights hold nan or inf")
    n_q, n_k = w.shape[-2:]
    if key_tokens is None and tokens is not None and n_q != n_k:
        raise ValueError(f"plot_attention: {n_q} queries but {n_k} keys: pass key_tokens for "
                         "the keys' labels")
    rows = _labels("tokens", tokens, n_q, "queries")
    cols = _labels("key_tokens", key_tokens, n_k, "keys") if key_tokens is not None else \
        (rows if rows is not None and n_q == n_k else None)
    vmax = float(w.max()) if w.size and w.max() > 0 else 1.0
    if w.ndim == 3:
        if ax is not None:
            raise ValueError("plot_attention: ax= draws one matrix; pass 2-D weights (one "
                             "head, or their mean) with ax")
        heads = w.shape[0]
        ncols = min(heads, 4)
        nrows = math.ceil(heads / ncols)
        fig, axes = new_figure(nrows, ncols, size=(3.6 * ncols + 1.2, 3.4 * nrows + 0.6))
        for extra in axes.ravel()[heads:]:
            extra.set_axis_off()
        for h, panel in enumerate(axes.ravel()[:heads]):
            image = _panel(panel, w[h], vmax, rows, cols, f"head {h}")
        if title:
            fig.suptitle(title)
        axes_used = list(axes.ravel()[:heads])
    else:
        if ax is None:
            # a cell of about a third of an inch, within a figure that fits a screen
            size = (min(max(0.35 * n_k + 3.2, 4.0), 8.5), min(max(0.35 * n_q + 2.2, 3.0), 7.5))
            fig, axes = new_figure(1, 1, size=size)
            ax = axes[0, 0]
        else:
            fig = ax.figure
        image = _panel(ax, w, vmax, rows, cols, title)
        axes_used = [ax]
    if colorbar:
        fig.colorbar(image, ax=axes_used, label="attention weight", shrink=0.9)
    save_figure(fig, path)
    return fig
