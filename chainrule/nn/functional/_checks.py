"""Argument checks shared by the functional forms (and by the loss modules' constructors):
each raises the builtin exception that fits, with a message naming the op."""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule.tensor import Tensor, as_tensor

_REDUCTIONS = ("mean", "sum", "none")


def _check_number(op: str, name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{op}: {name} must be a number, got {type(value).__name__}")


def _check_reduction(op: str, reduction: Any) -> None:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{op}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def _float_input(op: str, input: Any) -> Tensor:
    input = as_tensor(input, op)
    if input.dtype.kind != "f":
        raise TypeError(f"{op}: input must be floating point, got dtype {input.dtype}")
    return input
