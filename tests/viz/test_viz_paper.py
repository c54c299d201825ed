"""viz.plot_paper_table: a reproduced table's figures (mean and min–max over seeds) beside the
paper's, one bar group per row, as `make paper` draws the MNIST-1D table."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest
from viz_helpers import assert_image

from chainrule import viz

pytest.importorskip("matplotlib")

ROWS = [("logistic regression", [0.31, 0.33, 0.32], 0.32), ("MLP", [0.64, 0.70], 0.68),
        ("CNN", [0.93, 0.95, 0.94], 0.94)]


def _bars(ax):
    return sorted(ax.patches, key=lambda p: p.get_x())


def test_each_row_is_a_group_of_our_mean_beside_the_papers_figure(tmp_path):
    fig = viz.plot_paper_table(ROWS, path=tmp_path / "paper.png")
    assert_image(tmp_path / "paper.png")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == [name for name, _, _ in ROWS]
    heights = [round(p.get_height(), 6) for p in _bars(ax)]
    # per group: the mean over the seeds (in percent), then the paper's figure
    assert heights == [32.0, 32.0, 67.0, 68.0, 94.0, 94.0]
    texts = [t.get_text() for t in ax.texts]
    assert "67.0 %" in texts and "68 %" in texts  # measured to 0.1, the paper as printed
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend[0].startswith("chainrule") and "min–max" in legend[0] and legend[1] == "paper"
    assert ax.get_ylabel() == "test accuracy (%)" and "3 seeds" in ax.get_title()


def test_error_bars_span_the_lowest_to_the_highest_seed():
    ax = viz.plot_paper_table(ROWS).axes[0]
    (segments,) = [c.get_segments() for c in ax.collections]
    spans = sorted((round(s[:, 1].min(), 6), round(s[:, 1].max(), 6)) for s in segments)
    assert spans == [(31.0, 33.0), (64.0, 70.0), (93.0, 95.0)]


def test_a_new_row_is_one_more_group_and_a_row_without_a_paper_figure_has_one_bar():
    rows = ROWS + [("GRU", [0.90, 0.92], 0.91), ("ours only", 0.5, None)]
    ax = viz.plot_paper_table(rows).axes[0]
    assert len(ax.get_xticklabels()) == 5 and len(ax.patches) == 9
    one_number = viz.plot_paper_table([("CNN", 0.9, 0.94)]).axes[0]
    assert not one_number.collections  # one score: no range to draw
    assert "min–max" not in one_number.get_legend().get_texts()[0].get_text()


def test_bad_rows_say_what_a_row_is():
    with pytest.raises(ValueError, match="no rows"):
        viz.plot_paper_table([])
    with pytest.raises(ValueError, match="'MLP'.*fractions in \\[0, 1\\]"):
        viz.plot_paper_table([("MLP", [68.0], 0.68)])
    with pytest.raises(TypeError, match=r"\(name, scores, paper\)"):
        viz.plot_paper_table([("MLP", 0.68)])


def test_make_paper_draws_the_chart_to_its_out_path(tmp_path, capsys):
    tool = Path(__file__).resolve().parents[2] / "tools" / "paper_mnist1d.py"
    spec = importlib.util.spec_from_file_location("paper_mnist1d", tool)
    module = importlib.util.module_from_spec(spec)
    sys.modules["paper_mnist1d"] = module
    spec.loader.exec_module(module)
    out = tmp_path / "charts" / "mnist1d.png"
    module._draw([(name, list(np.asarray(s, float).ravel()), p) for name, s, p in ROWS], out)
    assert_image(out)
    assert str(out) in capsys.readouterr().out


def test_a_long_title_wraps_to_the_figure_instead_of_being_clipped():
    title = "MNIST-1D test accuracy: chainrule beside the paper (Greydanus & Kobak), " * 2
    ax = viz.plot_paper_table(ROWS[:1], title=title).axes[0]
    lines = ax.get_title().splitlines()
    assert len(lines) > 1 and all(len(line) <= 50 for line in lines)  # a 5-inch figure
