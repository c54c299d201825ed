r"""Finite differences: derivatives from evaluations of ``f`` alone, in float64.

Each difference is a stencil: the derivative along one element :math:`x_i` is a weighted sum
of values of ``f`` at points shifted by whole steps :math:`h e_i`, divided by the width
:math:`s h` the stencil spans. Taylor expansion gives each one's truncation error:

.. math::
    \text{central:}\quad \frac{f(x + h e_i) - f(x - h e_i)}{2h}
        = \frac{\partial f}{\partial x_i} + \frac{h^2}{6}\,\frac{\partial^3 f}{\partial x_i^3}(\xi)

    \text{forward:}\quad \frac{f(x + h e_i) - f(x)}{h}
        = \frac{\partial f}{\partial x_i} + \frac{h}{2}\,\frac{\partial^2 f}{\partial x_i^2}(\xi)

    \text{backward:}\quad \frac{f(x) - f(x - h e_i)}{h}
        = \frac{\partial f}{\partial x_i} - \frac{h}{2}\,\frac{\partial^2 f}{\partial x_i^2}(\xi)

In the central difference the even terms of the two Taylor series cancel, so its error is
O(h²) where a one-sided difference's is O(h). All three also lose about ε·|f|/h to rounding
(ε ≈ 2.2e−16 in float64): the total O(h²) + ε/h is smallest near h ≈ ε^(1/3) ≈ 1e−5, and
with h = 1e−6 both parts stay near 1e−10. The values are exact, up to that rounding, when
the truncation term vanishes: central differences on quadratics, one-sided ones on lines.

Every function here takes ``func``, a function of a list of arrays returning a scalar or an
array of any shape, and returns one array per input of shape ``x.shape + func(x).shape``:
entry ``[i..., k...]`` is ∂func(x)[k...]/∂x[i...]. The inputs are copied to float64 for every
evaluation, so the originals are never touched.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np

_Func = Callable[[list[np.ndarray]], Any]


class _Stencil(NamedTuple):
    """Σⱼ weights[j]·f(x + offsets[j]·h eᵢ) / (span·h)."""

    offsets: tuple[int, ...]
    weights: tuple[int, ...]
    span: int


_CENTRAL = _Stencil(offsets=(1, -1), weights=(1, -1), span=2)
_FORWARD = _Stencil(offsets=(1, 0), weights=(1, -1), span=1)
_BACKWARD = _Stencil(offsets=(0, -1), weights=(1, -1), span=1)


def _evaluate(func: _Func, arrays: Sequence[np.ndarray], k: int | None = None,
              index: tuple[int, ...] = (), step: float = 0.0) -> np.ndarray:
    """func at float64 copies of ``arrays``, with ``step`` added to ``arrays[k][index]``."""
    moved = [np.array(a, dtype=np.float64) for a in arrays]
    if k is not None:
        moved[k][index] += step
    return np.asarray(func(moved), dtype=np.float64)


def partial_difference(func: _Func, arrays: Sequence[np.ndarray], k: int,
                       eps: float = 1e-6) -> np.ndarray:
    r"""∂func/∂arrays[k] alone by central differences with step h = ``eps``; shape
    ``arrays[k].shape + func(arrays).shape``. :func:`central_difference` for one input."""
    return _partial(func, arrays, k, eps, _CENTRAL)


def central_difference(func: _Func, arrays: Sequence[np.ndarray],
                       eps: float = 1e-6) -> list[np.ndarray]:
    r"""∂func/∂xₖ ≈ (func(x + h eᵢ) − func(x − h eᵢ)) / 2h for every element i of every
    array xₖ, with h = ``eps``; error O(h²) + O(ε/h). One array per input, of shape
    ``x.shape + func(x).shape``.

    >>> import numpy as np
    >>> [g] = central_difference(lambda xs: (xs[0] ** 2).sum(), [np.array([1.0, -3.0])])
    >>> np.allclose(g, [2.0, -6.0], rtol=0, atol=1e-9)
    True
    """
    return _every_input(func, arrays, eps, _CENTRAL)


def forward_difference(func: _Func, arrays: Sequence[np.ndarray],
                       eps: float = 1e-6) -> list[np.ndarray]:
    r"""∂func/∂xₖ ≈ (func(x + h eᵢ) − func(x)) / h for every element i of every array xₖ;
    error O(h) + O(ε/h). Shapes as :func:`central_difference`."""
    return _every_input(func, arrays, eps, _FORWARD)


def backward_difference(func: _Func, arrays: Sequence[np.ndarray],
                        eps: float = 1e-6) -> list[np.ndarray]:
    r"""∂func/∂xₖ ≈ (func(x) − func(x − h eᵢ)) / h for every element i of every array xₖ;
    error O(h) + O(ε/h). Shapes as :func:`central_difference`."""
    return _every_input(func, arrays, eps, _BACKWARD)


def _every_input(func: _Func, arrays: Sequence[np.ndarray], eps: float,
                 stencil: _Stencil) -> list[np.ndarray]:
    return [_partial(func, arrays, k, eps, stencil) for k in range(len(arrays))]


def _partial(func: _Func, arrays: Sequence[np.ndarray], k: int, eps: float,
             stencil: _Stencil) -> np.ndarray:
    """∂func/∂arrays[k] by ``stencil``, one element of ``arrays[k]`` at a time. The unshifted
    value f(x), which the one-sided stencils use, is evaluated once for all elements."""
    shape = np.shape(arrays[k])
    base = _evaluate(func, arrays) if 0 in stencil.offsets and np.prod(shape) > 0 else None
    columns = []
    for index in np.ndindex(shape):
        total: Any = 0.0
        for offset, weight in zip(stencil.offsets, stencil.weights):
            value: Any = base if offset == 0 else _evaluate(func, arrays, k, index, offset * eps)
            total = total + weight * value
        columns.append(total / (stencil.span * eps))
    if not columns:
        return np.zeros(shape)
    stacked = np.stack(columns)  # raises if func's output changed shape between steps
    return stacked.reshape(shape + stacked.shape[1:])
