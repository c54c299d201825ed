r"""The calculus of one variable, computed by the same engine that trains networks.

* :func:`derivative` — f', f'', … by nesting reverse mode (``cr.grad(cr.grad(f))``);
* :func:`taylor` — the Taylor coefficients :math:`c_k = f^{(k)}(x_0)/k!`;
* :func:`integrate` — a definite integral by Gauss–Legendre quadrature, itself
  differentiable: with respect to the limits (the fundamental theorem of calculus falls
  out of the chain rule) and to any tensor the integrand closes over.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from chainrule._config import STATE
from chainrule._convert import to_array
from chainrule.autodiff import Traced
from chainrule.errors import shape_str
from chainrule.function_forms import stack
from chainrule.tensor import Tensor, wrap
from chainrule.transforms import grad

ScalarFunction = Callable[[Any], Any]
#: What :func:`derivative` returns: a function of a point giving a Tensor.
TensorFunction = Callable[[Any], Tensor]


def _check_order(order: Any, op: str) -> int:
    if isinstance(order, bool) or not isinstance(order, (int, np.integer)) or order < 0:
        raise ValueError(f"{op}: order must be a non-negative integer, got {order!r}")
    return int(order)


def _summed(f: ScalarFunction) -> TensorFunction:
    """``x ↦ Σ f(x)``: for an elementwise ``f`` its gradient is f' at every point of ``x``."""

    def total(x: Any) -> Tensor:
        out = f(x)
        if not isinstance(out, Tensor):
            raise TypeError(
                f"derivative: the function must return a Tensor, got {type(out).__name__}"
            )
        return out.sum()

    return total


def derivative(f: ScalarFunction, order: int = 1) -> TensorFunction:
    r"""The ``order``-th derivative :math:`f^{(n)} = \frac{d^n f}{dx^n}` of a scalar function.

    Each order is one more reverse pass over the previous one,
    :math:`f^{(n)} = \frac{d}{dx} f^{(n-1)}`, recorded so that it can be differentiated
    again (``cr.grad`` nested ``order`` times).

    Args:
        f: a function of one Tensor returning a Tensor. It is meant for a scalar function
            of a scalar; if ``f`` acts elementwise, the returned function may also be
            called on a tensor of points and gives :math:`f^{(n)}` at each of them.
        order: how many times to differentiate (``0`` returns ``f`` itself).

    Returns:
        A function ``x -> f⁽ⁿ⁾(x)`` returning a Tensor; differentiable again.

    Raises:
        ValueError: ``order`` is not a non-negative integer.

    >>> import chainrule as cr
    >>> d3 = cr.calculus.derivative(lambda x: x ** 3, order=2)   # (x³)'' = 6x
    >>> float(d3(2.0))
    12.0
    """
    order = _check_order(order, "derivative")
    if order == 0:
        # f⁽⁰⁾ = f, but accept the same inputs (numbers, arrays) as the higher orders do.
        return lambda x: f(x if isinstance(x, Traced) else Tensor(x))
    result: ScalarFunction = f
    for _ in range(order):
        result = grad(_summed(result))
    return result


def taylor(f: ScalarFunction, x0: Any, order: int) -> Tensor:
    r"""Taylor coefficients :math:`c_0, \dots, c_n` of ``f`` about ``x0``, ascending.

    .. math:: f(x) \approx \sum_{k=0}^{n} c_k (x - x_0)^k, \qquad c_k = \frac{f^{(k)}(x_0)}{k!}

    Args:
        f: a scalar function of a scalar Tensor.
        x0: the expansion point (number or one-element Tensor); its dtype sets the
            coefficients' dtype (a Python float gives the default float32).
        order: the degree ``n`` of the polynomial.

    Returns:
        A 1-D Tensor of ``order + 1`` coefficients, ``[c_0, c_1, …, c_n]``; it stays
        differentiable with respect to tensors that ``f`` closes over.

    >>> import chainrule as cr, numpy as np
    >>> c = cr.calculus.taylor(lambda x: x.exp(), np.float64(0.0), 3)   # 1/k!
    >>> np.round(c.numpy(), 6).tolist()
    [1.0, 1.0, 0.5, 0.166667]
    """
    order = _check_order(order, "taylor")
    x0 = _as_point(x0, "taylor")
    coefficients: list[Tensor] = []
    current: ScalarFunction = f
    for k in range(order + 1):
        value = current(x0)
        if not isinstance(value, Tensor) or value.size != 1:
            got = type(value).__name__ if not isinstance(value, Tensor) else shape_str(value.shape)
            raise ValueError(f"taylor: f must return a one-element Tensor, got {got}")
        coefficients.append(value.reshape(()) / math.factorial(k))
        current = grad(_summed(current))
    return stack(coefficients)


def _as_point(value: Any, op: str, dtype: Any = None) -> Tensor:
    """A scalar Tensor from ``value`` (a Tensor is kept as is, so gradients reach it)."""
    if isinstance(value, Tensor):
        if value.size != 1:
            raise ValueError(f"{op}: expected a scalar, got a tensor of shape "
                             f"{shape_str(value.shape)}")
        return value
    array = to_array(value, dtype=dtype, op=op)
    if array.size != 1:
        raise ValueError(f"{op}: expected a scalar, got an array of shape {shape_str(array.shape)}")
    if array.dtype.kind != "f":
        array = array.astype(STATE.default_dtype)
    return wrap(array.reshape(()))

def _limit_dtype(a: Any, b: Any) -> np.dtype:
    """The nodes' dtype: the common float dtype of the limits that carry one (Tensors, NumPy
    values); Python numbers are weak, as in NumPy, and alone give the default dtype."""
    dtypes = [np.asarray(v.data if isinstance(v, Traced) else v).dtype for v in (a, b)
              if isinstance(v, (Traced, np.ndarray, np.generic))]
    dtypes = [d for d in dtypes if d.kind == "f"]
    return np.result_type(*dtypes) if dtypes else STATE.default_dtype


def integrate(f: ScalarFunction, a: Any, b: Any, n: int = 32) -> Tensor:
    r"""The definite integral :math:`\int_a^b f(x)\,dx` by ``n``-point Gauss–Legendre quadrature.

    With Legendre nodes :math:`t_i \in (-1, 1)` and weights :math:`w_i`,

    .. math:: \int_a^b f(x)\,dx \approx \frac{b-a}{2}\sum_{i=1}^{n} w_i\, f(x_i), \qquad
              x_i = \frac{b-a}{2} t_i + \frac{a+b}{2},

    exact for polynomials of degree ≤ 2n − 1. The nodes and the factor (b − a)/2 are built
    from ``a`` and ``b`` with tensor operations, so the result is differentiable with
    respect to the limits — the chain rule then gives the fundamental theorem of calculus,
    :math:`\partial/\partial b = f(b)` and :math:`\partial/\partial a = -f(a)` (to the
    quadrature's accuracy) — and with respect to any tensor ``f`` closes over.

    Args:
        f: called **once** with a 1-D Tensor of the ``n`` nodes; returns a Tensor of shape
            ``(n,)`` (or a scalar, for a constant integrand).
        a, b: the limits, numbers or one-element Tensors (which may require grad). The
            nodes take the limits' float dtype (Python floats: the default dtype).
        n: the number of quadrature nodes (≥ 1).

    Returns:
        A 0-d Tensor.

    Raises:
        ValueError: ``n`` < 1, or ``f`` returns the wrong shape.

    >>> import chainrule as cr, numpy as np
    >>> area = cr.calculus.integrate(lambda x: x.sin(), 0.0, np.float64(np.pi))
    >>> round(float(area), 12)
    2.0
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"integrate: n must be a positive integer, got {n!r}")
    dtype = _limit_dtype(a, b)
    t, w = np.polynomial.legendre.leggauss(int(n))
    lo = _as_point(a, "integrate", dtype)
    hi = _as_point(b, "integrate", dtype)
    half = (hi - lo) * 0.5
    mid = (lo + hi) * 0.5
    nodes = half.reshape(()).astype(dtype) * t.astype(dtype) + mid.reshape(()).astype(dtype)
    values = f(nodes)
    if not isinstance(values, Tensor):
        values = wrap(to_array(values, op="integrate"))
    if values.shape == ():
        values = values * np.ones(int(n), dtype=dtype)
    if values.shape != (int(n),):
        raise ValueError(
            f"integrate: f must return one value per node, shape ({int(n)},), "
            f"got {shape_str(values.shape)}; write f with elementwise operations"
        )
    return half.reshape(()).astype(dtype) * (values * w.astype(dtype)).sum()
