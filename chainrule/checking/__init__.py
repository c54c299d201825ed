"""Checking derivatives: :func:`gradcheck` for any function, the op table's self-check
(:mod:`.op_table`), the documented conventions at kinks (:mod:`.conventions`), and the
difference quotients all three share with the finite-difference plot (:mod:`.differences`)."""

from chainrule.checking.differences import (
    backward_difference,
    central_difference,
    forward_difference,
    partial_difference,
)
from chainrule.checking.gradcheck import gradcheck

__all__ = [
    "backward_difference",
    "central_difference",
    "forward_difference",
    "gradcheck",
    "partial_difference",
]
