r"""The graph :func:`chainrule.viz.draw_graph` returns: a ``graphviz.Digraph`` that says how
to get Graphviz when it cannot render.

The ``graphviz`` Python package only writes DOT text; drawing it runs Graphviz's ``dot``
program, a system package that pip does not install. Without it the package raises
``ExecutableNotFound`` from deep inside a subprocess call (in Jupyter, a long traceback
under every displayed graph). Here every way of rendering — ``pipe``, ``render``, ``view``,
``unflatten`` and Jupyter's display, which pipes to SVG — raises instead one line that says
how to install it: :class:`GraphvizNotInstalledError`, still an ``ExecutableNotFound`` (and
so a ``RuntimeError``) for code that catches those.

Importing this module imports ``graphviz``; :func:`~chainrule.viz.draw_graph` imports it
when it draws.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import graphviz

#: How to install Graphviz's programs, for every message that needs them.
INSTALL_GRAPHVIZ = ("apt-get install graphviz, brew install graphviz "
                    "or conda install -c conda-forge graphviz")

_MESSAGE = ("draw_graph: cannot render the graph: Graphviz's dot program is not installed "
            "(a system package, not a Python one; install it with " + INSTALL_GRAPHVIZ +
            "; the DOT text is in .source)")


class GraphvizNotInstalledError(graphviz.ExecutableNotFound):
    """Rendering a graph needs Graphviz's ``dot`` program, and it is not on ``PATH``."""

    def __init__(self, message: str = _MESSAGE) -> None:
        RuntimeError.__init__(self, message)

    def _render_traceback_(self) -> list[str]:
        # IPython and Jupyter show this list instead of the traceback: the one line that
        # matters, not the stack of subprocess calls beneath it.
        return [f"{type(self).__name__}: {self}"]


@contextmanager
def _graphviz_required() -> Iterator[None]:
    try:
        yield
    except GraphvizNotInstalledError:
        raise
    except graphviz.ExecutableNotFound:
        raise GraphvizNotInstalledError() from None


class Digraph(graphviz.Digraph):
    """A ``graphviz.Digraph`` whose rendering raises :class:`GraphvizNotInstalledError`
    (one line: how to install Graphviz) when Graphviz's programs are missing."""

    def pipe(self, *args: Any, **kwargs: Any) -> Any:
        with _graphviz_required():
            return super().pipe(*args, **kwargs)

    def render(self, *args: Any, **kwargs: Any) -> Any:
        with _graphviz_required():
            return super().render(*args, **kwargs)

    def view(self, *args: Any, **kwargs: Any) -> Any:
        with _graphviz_required():
            return super().view(*args, **kwargs)

    def unflatten(self, *args: Any, **kwargs: Any) -> Any:
        with _graphviz_required():
            return super().unflatten(*args, **kwargs)
