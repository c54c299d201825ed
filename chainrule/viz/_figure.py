r"""The Figure every :mod:`chainrule.viz` plot returns: Matplotlib's, able to show itself.

The plots are made without pyplot (no global state, no window, any backend), so Jupyter's
inline backend never hears of them and a fresh kernel would print the figure's ``repr``
(``<Figure size 1300x750 with 6 Axes>``) instead of drawing it. IPython shows any object
with a ``_repr_png_`` method as that picture, so this subclass adds one: the figure
rendered as PNG, as ``savefig`` would write it. (Where Jupyter's own figure formatter is
registered, it takes precedence: still one picture.)

Importing this module imports Matplotlib; :func:`chainrule.viz.plots.new_figure` imports it
when the first plot is drawn.
"""

from __future__ import annotations

import io

from matplotlib.figure import Figure as _MatplotlibFigure

# Screen resolution for notebooks: a 13 × 7.5 inch figure shows at 1300 × 750 pixels.
NOTEBOOK_DPI = 100


class Figure(_MatplotlibFigure):
    """A ``matplotlib.figure.Figure`` that Jupyter and IPython display as a PNG."""

    def _repr_png_(self) -> bytes:
        buffer = io.BytesIO()
        self.savefig(buffer, format="png", dpi=NOTEBOOK_DPI)
        return buffer.getvalue()
