"""The library's own exception and the helpers that format ``op: what is wrong`` messages."""

from __future__ import annotations

from typing import Any


class GradcheckError(RuntimeError):
    """Raised by :func:`chainrule.gradcheck` when an analytic derivative disagrees with
    the central finite difference; the message names the input, the index and both values."""


def shape_str(shape: Any) -> str:
    """Format a shape as a Python tuple, e.g. ``(3, 4)``."""
    return str(tuple(int(s) for s in shape))
