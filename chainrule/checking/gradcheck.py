r"""Checking derivatives: reverse mode against central finite differences, in float64.

Every entry of the Jacobian is computed twice: by reverse mode, one vector-Jacobian product
per output element, and by the central difference of :mod:`chainrule.checking.differences`,
(f(x + h eⱼ) − f(x − h eⱼ)) / 2h, whose error is O(h²) + O(ε/h). Float64 keeps the rounding
part ε ≈ 1e-16 small enough that with h = 1e-6 both parts stay near 1e-10.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from chainrule._config import no_grad
from chainrule._convert import to_array
from chainrule.autodiff import Traced
from chainrule.autodiff import backward as _backward
from chainrule.checking.differences import partial_difference
from chainrule.errors import GradcheckError, shape_str
from chainrule.tensor import Tensor, wrap


def _float64_leaves(inputs: Any) -> list[Tensor]:
    """Float64 copies of the inputs, as leaves that require grad."""
    if isinstance(inputs, (Traced, np.ndarray, np.generic, int, float)):
        inputs = (inputs,)
    if not isinstance(inputs, Sequence):
        raise TypeError(
            f"gradcheck: inputs must be a tuple of Tensors or arrays, got {type(inputs).__name__}"
        )
    if len(inputs) == 0:
        raise ValueError("gradcheck: inputs is empty; give at least one Tensor or array")
    leaves = []
    for i, value in enumerate(inputs):
        data = to_array(value, op=f"gradcheck (input {i})").astype(np.float64)
        leaf = wrap(data)
        leaf.requires_grad = True
        leaves.append(leaf)
    return leaves


def _evaluate(f: Callable[..., Any], args: Sequence[Tensor]) -> Tensor:
    out = f(*args)
    if not isinstance(out, Tensor):
        raise TypeError(f"gradcheck: f must return a Tensor, got {type(out).__name__}")
    return out


def _analytic_jacobians(out: Tensor, leaves: list[Tensor]) -> list[np.ndarray]:
    r"""∂out/∂input by reverse mode: row k is the vector-Jacobian product eₖᵀJ, one backward
    pass per output element. Shapes ``(out.size, input.size)``."""
    jacobians = [np.zeros((out.size, leaf.size)) for leaf in leaves]
    if not out.requires_grad:
        return jacobians  # f does not depend on any input: every derivative is 0
    for k in range(out.size):
        basis = np.zeros(out.size, dtype=out.dtype)
        basis[k] = 1
        grads = _backward(out, basis.reshape(out.shape), True, False, targets=leaves)
        for jac, g in zip(jacobians, grads):
            if g is not None:
                jac[k] = np.asarray(g.data if isinstance(g, Traced) else g).reshape(-1)
    return jacobians


def _numerical_jacobian(f: Callable[..., Any], leaves: list[Tensor], index: int,
                        eps: float, out_size: int) -> np.ndarray:
    r"""∂out/∂inputs[index] by central differences, column j = (f(x + h eⱼ) − f(x − h eⱼ)) / 2h.
    Shape ``(output size, input size)``, like the analytic Jacobian."""
    def values(arrays: list[np.ndarray]) -> np.ndarray:
        return _evaluate(f, [wrap(a) for a in arrays]).data

    x = leaves[index].data
    if x.size == 0:
        return np.zeros((out_size, 0))
    with no_grad():
        columns = partial_difference(values, [leaf.data for leaf in leaves], index, eps)
    return columns.reshape(x.size, columns.size // x.size).T


def gradcheck(f: Callable[..., Any], inputs: Any, eps: float = 1e-6, atol: float = 1e-5,
              rtol: float = 1e-3) -> bool:
    r"""Check reverse-mode derivatives of ``f`` against central finite differences.

    Every entry of the Jacobian ∂f(x)ᵢ/∂xⱼ is compared, for every input and every output
    element: the analytic one from reverse mode (one vector-Jacobian product per output
    element) against :math:`(f(x + h e_j) - f(x - h e_j)) / 2h`, whose error is O(h²).
    They agree when :math:`|a - n| \le \mathrm{atol} + \mathrm{rtol}\,|n|`.

    Args:
        f: a function of Tensors returning a Tensor of any shape.
        inputs: a tuple of Tensors or arrays (a single one is accepted); float64 copies are
            used, so the originals are untouched.
        eps: the step h.
        atol: absolute tolerance.
        rtol: relative tolerance (relative to the numerical value).

    Returns:
        ``True`` when every entry agrees.

    Raises:
        GradcheckError: an entry disagrees; the message names the input, the element of
            the input and of the output, and both values.
        TypeError: ``f`` does not return a Tensor, or ``inputs`` is not a tuple.

    >>> import chainrule as cr
    >>> cr.gradcheck(lambda x: (x.sin() * x).sum(), (cr.tensor([0.5, 1.0, 2.0]),))
    True
    """
    leaves = _float64_leaves(inputs)
    out = _evaluate(f, leaves)
    analytic = _analytic_jacobians(out, leaves)
    for i, leaf in enumerate(leaves):
        numerical = _numerical_jacobian(f, leaves, i, eps, out.size)
        if numerical.shape != analytic[i].shape:
            raise GradcheckError(
                f"gradcheck: f's output changed shape when input {i} was perturbed "
                f"(expected {out.size} elements from shape {shape_str(out.shape)})"
            )
        _compare(analytic[i], numerical, i, leaf.shape, out.shape, atol, rtol)
    return True


def _compare(analytic: np.ndarray, numerical: np.ndarray, index: int,
             in_shape: tuple[int, ...], out_shape: tuple[int, ...], atol: float,
             rtol: float) -> None:
    """Raise :class:`GradcheckError` at the first entry outside the tolerance."""
    close = np.abs(analytic - numerical) <= atol + rtol * np.abs(numerical)
    if close.all():
        return
    k, j = (int(n) for n in np.argwhere(~close)[0])
    element = tuple(int(n) for n in np.unravel_index(j, in_shape))
    output = tuple(int(n) for n in np.unravel_index(k, out_shape))
    a, n = float(analytic[k, j]), float(numerical[k, j])
    raise GradcheckError(
        f"gradcheck: Jacobian mismatch for input {index} at element {element} "
        f"(output element {output}): analytic {a!r} vs numerical {n!r} "
        f"(|difference| {abs(a - n):.3g} > atol + rtol·|numerical| = "
        f"{atol + rtol * abs(n):.3g}); {int((~close).sum())} of {close.size} entries disagree"
    )
