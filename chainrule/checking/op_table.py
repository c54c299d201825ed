r"""The op table's self-check (``chainrule gradcheck`` runs it).

Every op record carries samples (:class:`~chainrule.ops.Sample`): calls of the op through
chainrule on float64 inputs inside its domain and away from its kinks, covering
broadcasting, keepdims, negative axes, 0-d tensors and indexing with repeated indices.
:data:`SAMPLES` gathers them by op name.

:func:`check_op_table` compares, for every sample, the reverse-mode gradient of a
random-weighted sum of the output,

.. math:: L(x) = \sum_k w_k\, f(x)_k, \qquad \frac{\partial L}{\partial x_i}
          \approx \frac{L(x + h e_i) - L(x - h e_i)}{2h},

with the central finite difference on the right (error O(h²) + rounding/h).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from chainrule._config import no_grad
from chainrule.checking.differences import central_difference
from chainrule.ops import RECORDS, Sample
from chainrule.tensor import Tensor

#: Every op's samples, by op name, in op-table order.
SAMPLES: dict[str, list[Sample]] = {name: list(r.samples) for name, r in RECORDS.items()}


@dataclass(frozen=True)
class Row:
    """The result of checking one op over all its samples."""

    op: str
    samples: int
    max_abs_err: float
    max_rel_err: float
    passed: bool


# ---------------------------------------------------------------- gradients


def tensors(arrays: Iterable[np.ndarray], requires_grad: bool = False) -> list[Tensor]:
    """Fresh Tensors holding copies of ``arrays`` (float64 stays float64)."""
    return [Tensor(a, requires_grad=requires_grad) for a in arrays]


def evaluate(sample: Sample, arrays: Sequence[np.ndarray]) -> np.ndarray:
    """The op's output for ``arrays``, with nothing recorded."""
    with no_grad():
        return np.asarray(sample(*tensors(arrays)).data)


def weights_for(sample: Sample, seed: int = 0) -> np.ndarray:
    """Random weights w of the output's shape, for the loss L = Σ w ⊙ f(x)."""
    shape = evaluate(sample, sample.inputs).shape
    return np.random.default_rng(seed).standard_normal(shape)


def reverse_gradient(sample: Sample, arrays: Sequence[np.ndarray],
                     weights: np.ndarray) -> list[np.ndarray]:
    r"""∂L/∂xᵢ for L = Σ w ⊙ f(x), by ``backward()`` (zeros where L does not depend on xᵢ)."""
    xs = tensors(arrays, requires_grad=True)
    loss = (sample(*xs) * Tensor(weights)).sum()
    loss.backward()
    return [np.zeros_like(a) if x.grad is None else np.array(x.grad.data, dtype=np.float64)
            for a, x in zip(arrays, xs)]


def numeric_gradient(sample: Sample, arrays: Sequence[np.ndarray], weights: np.ndarray,
                     eps: float = 1e-6) -> list[np.ndarray]:
    """∂L/∂xᵢ for L = Σ w ⊙ f(x) by central differences."""
    return central_difference(lambda xs: float(np.sum(weights * evaluate(sample, xs))),
                              arrays, eps)


def compare(analytic: Sequence[np.ndarray], numeric: Sequence[np.ndarray],
            atol: float = 1e-5, rtol: float = 1e-3) -> tuple[float, float, bool]:
    r"""``(max |a − n|, max |a − n|/|n| over |n| > atol, all |a − n| ≤ atol + rtol·|n|)``."""
    abs_err, rel_err, passed = 0.0, 0.0, True
    for a, n in zip(analytic, numeric):
        a, n = np.asarray(a, dtype=np.float64), np.asarray(n, dtype=np.float64)
        if a.shape != n.shape or not np.all(np.isfinite(a)):
            return float("inf"), float("inf"), False
        diff = np.abs(a - n)
        if diff.size:
            abs_err = max(abs_err, float(diff.max()))
            large = np.abs(n) > atol
            if large.any():
                rel_err = max(rel_err, float((diff[large] / np.abs(n[large])).max()))
        passed = passed and bool(np.all(diff <= atol + rtol * np.abs(n)))
    return abs_err, rel_err, passed


def check_op_table(names: Iterable[str] | None = None, eps: float = 1e-6,
                   atol: float = 1e-5, rtol: float = 1e-3) -> list[Row]:
    r"""Check every sample's reverse-mode gradient against float64 central differences.

    Args:
        names: the ops to check (default: every op record).
        eps: the finite-difference step h.
        atol, rtol: an element passes when |analytic − numeric| ≤ atol + rtol·|numeric|.

    Returns:
        One :class:`Row` per op, with the largest errors over its samples.

    Raises:
        ValueError: a name is not in the op table.

    >>> rows = check_op_table(["sin", "matmul"])
    >>> [(row.op, row.passed) for row in rows]
    [('sin', True), ('matmul', True)]
    """
    known = list(RECORDS)
    selected = known if names is None else list(names)
    for name in selected:
        if name not in SAMPLES:
            raise ValueError(
                f"check_op_table: no samples for op {name!r} (known: {', '.join(known)})"
            )
    rows = []
    for name in selected:
        abs_err, rel_err, passed = 0.0, 0.0, True
        for sample in SAMPLES[name]:
            w = weights_for(sample)
            a = reverse_gradient(sample, sample.inputs, w)
            n = numeric_gradient(sample, sample.inputs, w, eps)
            sample_abs, sample_rel, ok = compare(a, n, atol, rtol)
            abs_err, rel_err = max(abs_err, sample_abs), max(rel_err, sample_rel)
            passed = passed and ok
        rows.append(Row(name, len(SAMPLES[name]), abs_err, rel_err, passed))
    return rows
