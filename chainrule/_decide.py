"""A library decision on tensor values, asked as one question.

Some library functions choose their path by looking at values (``cross_entropy`` takes its
fused path when every target is a class). Under ``cr.compile``'s capture each NumPy call
on a followed value becomes a step, and each Python truth of one a guard; asked through
:func:`decide`, the whole question is one guard instead: a replay calls ``question`` on the
new values and captures again when the answer changes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chainrule._config import STATE


def decide(question: Callable[..., Any], *values: Any) -> Any:
    """``question(*values)``: a Python answer (a truth, a number) about ``values``.

    ``question`` must be a pure function of its arguments (arrays and Python values); a
    capture under way records it as one guard on the arrays it follows.
    """
    capture = STATE.capture
    if capture is None:
        return question(*values)
    return capture.decide(question, values)
