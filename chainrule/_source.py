"""Generated Python, compiled once per text.

``cr.compile`` writes each captured tape out as the source of a function, and an
optimiser writes its update out for a compiled training step. Compiling that source is
most of what a capture costs (Python's ``compile`` parses and optimises the text), and the
same program captured again — a new run, a new model of the same shapes — writes the same
text. The code objects are cached by text: each capture still gets a function of its own,
executed in its own namespace (its own constants and buffers).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from types import CodeType
from typing import Any


@functools.lru_cache(maxsize=256)
def _code(text: str, filename: str) -> CodeType:
    return compile(text, filename, "exec")


def define(text: str, filename: str, name: str, namespace: dict[str, Any]) -> Callable[..., Any]:
    """Execute ``text`` (the source of a ``def name(...)``) in ``namespace`` and return the
    function, with its source as ``.source`` for readers and tests."""
    exec(_code(text, filename), namespace)  # noqa: S102 - our own generated code
    function: Callable[..., Any] = namespace[name]
    function.source = text  # type: ignore[attr-defined]
    return function
