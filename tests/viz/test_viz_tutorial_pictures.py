"""The tutorial's own pictures (docs/img, drawn by its code): no legend over the data, no
path leaving the plot. The tutorial runs up to the pictures checked here, as ``make docs``
runs it, and each figure is caught as it is saved."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("matplotlib")

DOCS = Path(__file__).resolve().parents[2] / "docs"
LAST = "descent_learning_rate.png"


def _make_docs():
    spec = importlib.util.spec_from_file_location("chainrule_make_docs", DOCS / "make_docs.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def saved(tmp_path_factory) -> dict:
    """``{file name: Figure}`` for every picture the tutorial saves up to ``LAST``."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    from matplotlib.figure import Figure

    make_docs = _make_docs()
    blocks = make_docs.code_blocks(DOCS / "tutorial.md")
    last = next(i for i, block in enumerate(blocks) if LAST in block.code)
    page = tmp_path_factory.mktemp("tutorial") / "tutorial.md"
    page.write_text("".join(f"```python\n{b.code}```\n\n" for b in blocks[:last + 1]),
                    encoding="utf-8")
    figures = {}
    original = Figure.savefig

    def catch(fig, fname, *args, **kwargs):
        figures[Path(fname).name] = fig
        return original(fig, fname, *args, **kwargs)

    Figure.savefig = catch
    try:
        make_docs.run_tutorial(page, page.parent / "img")
    finally:
        Figure.savefig = original
    return figures


def _points_inside(ax, box) -> int:
    """How many of the axes' line vertices fall inside ``box`` (display coordinates)."""
    return sum(box.count_contains(ax.transData.transform(np.asarray(line.get_xydata(), float)))
               for line in ax.get_lines())


def test_integral_legends_cover_no_curve(saved):
    fig = saved["integral.png"]
    fig.draw_without_rendering()
    for ax in fig.axes:
        box = ax.get_legend().get_window_extent()
        assert _points_inside(ax, box) == 0, ax.get_title()


def test_every_learning_rate_path_stays_in_the_plot(saved):
    ax = saved[LAST].axes[0]
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    paths = [line for line in ax.get_lines() if line.get_label().startswith("GD, α")]
    assert len(paths) == 3
    for line in paths:
        xy = np.asarray(line.get_xydata())
        assert np.all((x0 <= xy[:, 0]) & (xy[:, 0] <= x1) & (y0 <= xy[:, 1]) & (xy[:, 1] <= y1)), (
            line.get_label())
