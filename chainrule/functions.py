"""The function forms ``cr.add``, ``cr.exp``, ``cr.concatenate``… of the Tensor methods.

They accept Tensors, arrays, lists and numbers and always return a Tensor.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from chainrule import ops as _ops
from chainrule.autodiff import Traced
from chainrule.creation import as_tensor
from chainrule.ops._helpers import normalize_one_axis
from chainrule.tensor import Tensor, operand


def _binary(prim: Any, op: str, x: Any, y: Any) -> Tensor:
    x, y = operand(op, x), operand(op, y)
    if not isinstance(x, Traced) and not isinstance(y, Traced):
        x = as_tensor(x, op)
    return prim(x, y)


def add(x: Any, y: Any) -> Tensor:
    """x + y, with broadcasting."""
    return _binary(_ops.add, "add", x, y)


def sub(x: Any, y: Any) -> Tensor:
    """x − y, with broadcasting."""
    return _binary(_ops.sub, "sub", x, y)


def mul(x: Any, y: Any) -> Tensor:
    """x · y elementwise, with broadcasting."""
    return _binary(_ops.mul, "mul", x, y)


def div(x: Any, y: Any) -> Tensor:
    """x / y elementwise, with broadcasting."""
    return _binary(_ops.div, "div", x, y)


def pow(x: Any, y: Any) -> Tensor:  # noqa: A001 - the API name
    """xʸ elementwise, with broadcasting."""
    return _binary(_ops.pow, "pow", x, y)


def matmul(x: Any, y: Any) -> Tensor:
    """Matrix product with NumPy's ``matmul`` rules."""
    return _binary(_ops.matmul, "matmul", x, y)


def maximum(x: Any, y: Any) -> Tensor:
    """Elementwise maximum; at a tie each side receives half the gradient."""
    return _binary(_ops.maximum, "maximum", x, y)


def minimum(x: Any, y: Any) -> Tensor:
    """Elementwise minimum; at a tie each side receives half the gradient."""
    return _binary(_ops.minimum, "minimum", x, y)


def neg(x: Any) -> Tensor:
    """−x."""
    return -as_tensor(x, "neg")


def where(cond: Any, x: Any, y: Any) -> Tensor:
    """``x`` where ``cond`` holds, else ``y`` (broadcast together); no gradient to ``cond``."""
    mask = np.asarray(cond.data if isinstance(cond, Traced) else cond).astype(bool, copy=False)
    x, y = operand("where", x), operand("where", y)
    if not isinstance(x, Traced) and not isinstance(y, Traced):
        x = as_tensor(x, "where")
    return _ops.where(mask, x, y)


def concatenate(tensors: Sequence[Any], axis: int = 0) -> Tensor:
    """Join tensors along an existing axis."""
    items = [as_tensor(t, "concatenate") for t in tensors]
    if not items:
        raise ValueError("concatenate: expected at least one tensor")
    ndim = items[0].ndim
    if ndim == 0:
        raise ValueError("concatenate: 0-d tensors cannot be concatenated (use cr.stack)")
    for t in items[1:]:
        if t.ndim != ndim:
            raise ValueError(
                f"concatenate: all tensors need the same ndim, got shapes "
                f"{items[0].shape} and {t.shape}"
            )
    return _ops.concatenate(*items, axis=normalize_one_axis(axis, ndim, "concatenate"))


def stack(tensors: Sequence[Any], axis: int = 0) -> Tensor:
    """Join tensors of one shape along a new axis."""
    items = [as_tensor(t, "stack") for t in tensors]
    if not items:
        raise ValueError("stack: expected at least one tensor")
    return _ops.stack(items, axis=axis)


def _method(name: str, doc: str) -> Any:
    method = getattr(Tensor, name)  # looked up once, not per call (cr.tanh −0.5 µs, W3)

    def function(x: Any, *args: Any, **kwargs: Any) -> Tensor:
        return method(x if type(x) is Tensor else as_tensor(x, name), *args, **kwargs)

    function.__name__ = function.__qualname__ = name
    function.__doc__ = doc
    return function


abs = _method("abs", "|x| elementwise; abs'(0) = 0.")  # noqa: A001
exp = _method("exp", "eˣ elementwise.")
log = _method("log", "Natural logarithm elementwise.")
sqrt = _method("sqrt", "√x elementwise.")
sin = _method("sin", "sin x elementwise.")
cos = _method("cos", "cos x elementwise.")
tanh = _method("tanh", "tanh x elementwise.")
sigmoid = _method("sigmoid", "σ(x) = 1/(1+e⁻ˣ), stable for any finite x.")
relu = _method("relu", "max(x, 0); relu'(0) = 0.")
clip = _method("clip", "clip(x, lo, hi); the gradient passes where lo ≤ x ≤ hi.")
sum = _method("sum", "Sum over ``axis`` (all axes when None).")  # noqa: A001
mean = _method("mean", "Mean over ``axis``.")
var = _method("var", "Variance over ``axis`` (ddof=0 by default, as NumPy).")
std = _method("std", "Standard deviation over ``axis`` (ddof=0 by default).")
max = _method("max", "Maximum over ``axis``; ties split the gradient evenly.")  # noqa: A001
min = _method("min", "Minimum over ``axis``; ties split the gradient evenly.")  # noqa: A001
logsumexp = _method("logsumexp", "log Σ exp(x) over ``axis``, shifted by the max.")
softmax = _method("softmax", "exp(x)/Σexp(x) along ``axis``.")
log_softmax = _method("log_softmax", "x − logsumexp(x) along ``axis``.")
reshape = _method("reshape", "The same elements in a new shape.")
transpose = _method("transpose", "Permute axes like NumPy (reverse when none are given).")
swapaxes = _method("swapaxes", "Exchange two axes.")
squeeze = _method("squeeze", "Remove axes of length one.")
unsqueeze = _method("unsqueeze", "Insert an axis of length one.")
expand = _method("expand", "Broadcast to a shape without copying.")
