r"""Activations: sigmoid, tanh, relu, leaky_relu, softplus, gelu, softmax, log_softmax.

Each states its formula and its derivative; the derivative is what backpropagation
multiplies the incoming gradient by (the chain rule, one factor per layer). All of them
are stable for any finite input: no overflow warning, ``nan`` or ``inf`` for |x| up to
1e4 (and well beyond).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from chainrule import batching
from chainrule import ops as _ops
from chainrule._convert import numpy_axis_names
from chainrule.autodiff import composite
from chainrule.nn.functional._checks import _check_number
from chainrule.tensor import Tensor, as_tensor


def sigmoid(x: Any) -> Tensor:
    r"""Logistic function :math:`\sigma(x) = 1/(1+e^{-x})`.

    Derivative: :math:`\sigma'(x) = \sigma(x)(1-\sigma(x))`, at most 1/4 (at 0), which is
    why deep stacks of sigmoids make gradients vanish. Evaluated through
    :math:`e^{-|x|}`, so it never overflows.

    >>> import chainrule as cr
    >>> import chainrule.nn.functional as F
    >>> F.sigmoid(cr.tensor([0.0])).tolist()
    [0.5]
    """
    return _ops.sigmoid(as_tensor(x, "sigmoid"))


def tanh(x: Any) -> Tensor:
    r"""Hyperbolic tangent :math:`\tanh x = (e^x-e^{-x})/(e^x+e^{-x}) = 2\sigma(2x)-1`.

    Derivative: :math:`\tanh'(x) = 1-\tanh^2 x`.
    """
    return _ops.tanh(as_tensor(x, "tanh"))


def relu(x: Any) -> Tensor:
    r"""Rectified linear unit :math:`\max(x, 0)`.

    Derivative: 1 for x > 0, 0 for x < 0; at x = 0 we use 0, as PyTorch does (the
    derivative does not exist there; see ``cr.conventions()``).

    >>> import chainrule as cr
    >>> import chainrule.nn.functional as F
    >>> x = cr.tensor([-1.0, 0.0, 3.0], requires_grad=True)
    >>> F.relu(x).sum().backward()
    >>> x.grad.tolist()
    [0.0, 0.0, 1.0]
    """
    return _ops.relu(as_tensor(x, "relu"))


@composite("leaky_relu")
def leaky_relu(x: Any, negative_slope: float = 0.01) -> Tensor:
    r"""Leaky ReLU: :math:`x` for x > 0, else :math:`\alpha x` (α = ``negative_slope``).

    Derivative: :math:`1` if x > 0 else α (so α at x = 0, as PyTorch). Negative inputs
    keep a small gradient, so a unit cannot "die" the way a ReLU can.

    >>> import chainrule as cr
    >>> import chainrule.nn.functional as F
    >>> F.leaky_relu(cr.tensor([-2.0, 3.0]), 0.5).tolist()
    [-1.0, 3.0]
    """
    x = as_tensor(x, "leaky_relu")
    _check_number("leaky_relu", "negative_slope", negative_slope)
    # a constant mask: where() sends g to one branch or the other (under vmap, a batched one)
    positive = x > 0 if batching.is_batched(x) else x.data > 0
    return _ops.where(positive, x, _ops.mul(x, float(negative_slope)))


@composite("softplus")
def softplus(x: Any, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    r"""Softplus :math:`\frac1\beta\log(1+e^{\beta x})`, a smooth ReLU.

    Derivative: :math:`\sigma(\beta x)`. As in PyTorch, where :math:`\beta x` exceeds
    ``threshold`` the function is taken to be the identity (derivative 1); the two differ
    there by less than :math:`e^{-20}`. The log is evaluated as
    :math:`\max(z,0)+\log(1+e^{-|z|})`, which never overflows.

    >>> import chainrule as cr
    >>> import chainrule.nn.functional as F
    >>> round(F.softplus(cr.tensor([0.0], dtype="float64")).item(), 6)
    0.693147
    """
    x = as_tensor(x, "softplus")
    _check_number("softplus", "beta", beta)
    _check_number("softplus", "threshold", threshold)
    beta = float(beta)
    scaled = _ops.mul(x, beta)
    smooth = _ops.softplus(scaled) if beta == 1.0 else _ops.div(_ops.softplus(scaled), beta)
    with np.errstate(over="ignore"):  # β·x may overflow to ±inf only in the comparison
        linear_part = (scaled > threshold if batching.is_batched(x)
                       else np.asarray(x.data * beta > threshold))
    return _ops.where(linear_part, x, smooth)


_SQRT_HALF = math.sqrt(0.5)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


@composite("gelu")
def gelu(x: Any, approximate: str = "none") -> Tensor:
    r"""GELU :math:`x\,\Phi(x) = \frac x2\left(1+\mathrm{erf}(x/\sqrt2)\right)`.

    Derivative: :math:`\Phi(x) + x\,\varphi(x)` with :math:`\varphi(x) = e^{-x^2/2}/\sqrt{2\pi}`.
    ``approximate="tanh"`` uses
    :math:`\frac x2\left(1+\tanh\left(\sqrt{2/\pi}\,(x+0.044715x^3)\right)\right)`.

    >>> import chainrule as cr
    >>> import chainrule.nn.functional as F
    >>> F.gelu(cr.tensor([0.0, 1.0], dtype="float64")).numpy().round(4).tolist()
    [0.0, 0.8413]
    """
    x = as_tensor(x, "gelu")
    if approximate == "none":
        cdf_times_2 = _ops.add(_ops.erf(_ops.mul(x, _SQRT_HALF)), 1.0)
    elif approximate == "tanh":
        # tanh(·) is exactly ±1 once |x| > 100; clipping keeps x³ from overflowing
        c = _ops.clip(x, lo=-100.0, hi=100.0)
        inner = _ops.add(c, _ops.mul(_ops.mul(_ops.mul(c, c), c), 0.044715))
        cdf_times_2 = _ops.add(_ops.tanh(_ops.mul(inner, _SQRT_2_OVER_PI)), 1.0)
    else:
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return _ops.mul(_ops.mul(x, 0.5), cdf_times_2)


@numpy_axis_names
def softmax(x: Any, axis: int = -1) -> Tensor:
    r""":math:`\mathrm{softmax}(x)_i = e^{x_i}/\sum_j e^{x_j}` along ``axis``.

    Jacobian: :math:`\partial s_i/\partial x_j = s_i(\delta_{ij}-s_j)`. Shifted by the
    max, so it is stable for any finite input.

    >>> import chainrule as cr
    >>> import chainrule.nn.functional as F
    >>> F.softmax(cr.tensor([0.0, 0.0])).tolist()
    [0.5, 0.5]
    """
    return _ops.softmax(as_tensor(x, "softmax"), axis=axis)


@numpy_axis_names
def log_softmax(x: Any, axis: int = -1) -> Tensor:
    r""":math:`\log\mathrm{softmax}(x)_i = x_i - \log\sum_j e^{x_j}` along ``axis``.

    Derivative: :math:`\partial/\partial x_j = \delta_{ij} - \mathrm{softmax}(x)_j`.
    Use it (not ``log(softmax(x))``, which gives ``-inf`` once a probability underflows)
    before ``nll_loss``.
    """
    return _ops.log_softmax(as_tensor(x, "log_softmax"), axis=axis)
