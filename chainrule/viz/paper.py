r"""A reproduced table beside the original: ``plot_paper_table`` draws, per model, a bar for
the figure measured here (the mean over seeds, with the range over the seeds as an error
bar) beside a bar for the figure the paper reports. ``make paper`` draws the MNIST-1D
paper's table with it (``tools/paper_mnist1d.py``).
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from chainrule.viz.plots import new_figure, save_figure

#: A row: (the model's name, this run's accuracy — one per seed, or one number —, the
#: paper's accuracy or None when the paper gives none). Accuracies are fractions in [0, 1].
PaperRow = tuple[str, "float | Sequence[float]", "float | None"]

_OURS, _THEIRS = "#d62728", "#7f7f7f"  # chainrule's red (as docs/benchmarks.png), grey


def _row(row: Any) -> tuple[str, np.ndarray, float | None]:
    try:
        name, scores, paper = row
    except (TypeError, ValueError):
        raise TypeError(f"plot_paper_table: each row is (name, scores, paper), got "
                        f"{row!r}") from None
    values = np.atleast_1d(np.asarray(scores, dtype=np.float64)).ravel()
    figures = values if paper is None else np.append(values, float(paper))
    if values.size == 0 or not np.all((figures >= 0) & (figures <= 1)):
        raise ValueError(f"plot_paper_table: row {name!r}: accuracies are fractions in "
                         f"[0, 1] (one or more per row), got scores {scores!r} and paper "
                         f"{paper!r}")
    return str(name), values, None if paper is None else float(paper)


def plot_paper_table(rows: Sequence[PaperRow], path: str | Path | None = None,
                     title: str | None = None, labels: tuple[str, str] = ("chainrule", "paper"),
                     ylabel: str = "test accuracy") -> Any:
    r"""Grouped bars, one group per row: the accuracy measured here beside the paper's.

    The first bar of a group is the mean over the row's scores (one per seed), its error bar
    the range from the lowest to the highest; the second is the paper's figure. Each bar is
    labelled with its value in percent, so the chart reads as the table it replaces. Any
    number of rows: adding a model to a reproduced table adds a row.

    Args:
        rows: ``(name, scores, paper)`` per model: ``scores`` a fraction in [0, 1] or a
            sequence of them (one per seed), ``paper`` the paper's fraction, or ``None``
            when it gives none (the group then has one bar).
        path: where to save the figure (``.png``/``.svg``), or ``None``.
        title: the figure's title (default: names the two bars).
        labels: the legend's names of the two bars.
        ylabel: what the fractions are.

    Returns:
        The Figure.

    Raises:
        TypeError: a row is not a ``(name, scores, paper)`` triple.
        ValueError: no rows, or a figure outside [0, 1].

    >>> import chainrule as cr
    >>> fig = cr.viz.plot_paper_table([("MLP", [0.66, 0.68, 0.67], 0.68), ("CNN", 0.94, 0.94)])
    >>> [t.get_text() for t in fig.axes[0].get_xticklabels()]
    ['MLP', 'CNN']
    """
    parsed = [_row(row) for row in rows]
    if not parsed:
        raise ValueError("plot_paper_table: no rows to draw (give (name, scores, paper) per "
                         "model)")
    width_in = max(5.0, 1.6 * len(parsed) + 2.5)
    fig, axes = new_figure(size=(width_in, 4.6))
    ax = axes[0, 0]
    width = 0.38
    xs = np.arange(len(parsed))
    means = np.array([values.mean() for _, values, _ in parsed])
    low = means - np.array([values.min() for _, values, _ in parsed])
    high = np.array([values.max() for _, values, _ in parsed]) - means
    seeds = {values.size for _, values, _ in parsed}
    spread = max(seeds) > 1
    ours = ax.bar(xs - width / 2, 100 * means, width, color=_OURS,
                  label=labels[0] + (" (mean; bar: min–max over seeds)" if spread else ""),
                  yerr=100 * np.vstack([low, high]) if spread else None, capsize=4,
                  error_kw={"elinewidth": 1.2, "ecolor": "black"})
    papers = [(x, paper) for x, (_, _, paper) in zip(xs, parsed) if paper is not None]
    theirs = ax.bar([x + width / 2 for x, _ in papers], [100 * p for _, p in papers], width,
                    color=_THEIRS, label=labels[1]) if papers else None
    tops = means + (high if spread else 0)
    _label(ax, ours, 100 * means, 100 * tops, exact=False)
    if theirs is not None:
        paper_values = np.array([p for _, p in papers])
        _label(ax, theirs, 100 * paper_values, 100 * paper_values, exact=True)
    ax.set_xticks(xs, [name for name, _, _ in parsed])
    ax.set_xlim(-0.6, len(parsed) - 0.4)
    ax.set_ylim(0, 112)  # room above 100 % for the labels and the legend's row
    ax.set_yticks(range(0, 101, 20))
    ax.set_ylabel(f"{ylabel} (%)")
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)
    ax.legend(loc="upper left", fontsize=8, ncol=2, frameon=False)
    if title is None:
        n = max(seeds)
        title = f"{labels[0]} ({n} seed{'s' if n > 1 else ''}) beside the {labels[1]}"
    ax.set_title(textwrap.fill(title, int(10 * width_in)))  # ≈ the characters that fit
    save_figure(fig, path)
    return fig


def _label(ax: Any, bars: Any, values: np.ndarray, tops: np.ndarray, exact: bool) -> None:
    """Each bar's value in percent, just above the bar (above its error bar if it has
    one): measured means to a tenth of a point, a paper's figures as printed (whole points
    stay whole)."""
    for bar, value, top in zip(bars, values, tops):
        digits = 0 if exact and math.isclose(value, round(value), abs_tol=1e-9) else 1
        ax.annotate(f"{value:.{digits}f} %", (bar.get_x() + bar.get_width() / 2, top),
                    xytext=(0, 3), textcoords="offset points", ha="center", va="bottom",
                    fontsize=8)
