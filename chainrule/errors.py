"""The library's own exception and the helpers that format ``op: what is wrong`` messages."""

from __future__ import annotations

from typing import Any


class GradcheckError(RuntimeError):
    """Raised by :func:`chainrule.gradcheck` when an analytic derivative disagrees with
    the central finite difference; the message names the input, the index and both values."""


def shape_str(shape: Any) -> str:
    """Format a shape as a Python tuple, e.g. ``(3, 4)``."""
    return str(tuple(int(s) for s in shape))


def graph_freed(op: str) -> RuntimeError:
    """The error every graph walk raises when it meets a node whose buffers ``backward()``
    has released."""
    return RuntimeError(
        f"{op}: the graph was freed by an earlier backward(); pass retain_graph=True to the "
        "first backward() to use the graph again"
    )
