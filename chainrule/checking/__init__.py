"""Checking derivatives against finite differences: :func:`gradcheck` and the difference
quotients it shares with the op-table check and the finite-difference plot."""

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
