r"""Stateless building blocks of networks: activations, ``linear``, ``dropout``, the losses
and the textbook's regularisation penalties. ``import chainrule.nn.functional as F``.

Each activation states its formula and its derivative; the derivative is what
backpropagation multiplies the incoming gradient by (the chain rule, one factor per
layer). All of them are stable for any finite input: no overflow warning, ``nan`` or
``inf`` for |x| up to 1e4 (and well beyond).

>>> import chainrule as cr
>>> import chainrule.nn.functional as F
>>> F.relu(cr.tensor([-1.0, 0.0, 2.0])).tolist()
[0.0, 0.0, 2.0]
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from chainrule import ops as _ops
from chainrule._config import default_generator
from chainrule.autodiff import Traced, composite
from chainrule.creation import as_tensor
from chainrule.errors import shape_str
from chainrule.nn.losses import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    huber_loss,
    l1_loss,
    mse_loss,
    nll_loss,
)
from chainrule.tensor import Tensor

__all__ = [
    "binary_cross_entropy", "binary_cross_entropy_with_logits", "cross_entropy", "dropout",
    "gelu", "huber_loss", "l1_loss", "l1_penalty", "l2_penalty", "leaky_relu", "linear",
    "log_softmax", "mse_loss", "nll_loss", "relu", "sigmoid", "softmax", "softplus", "tanh",
]

# ---------------------------------------------------------------- activations


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
    positive = x.data > 0  # a constant mask: where() sends g to one branch or the other
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
        linear_part = np.asarray(x.data * beta > threshold)
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


def log_softmax(x: Any, axis: int = -1) -> Tensor:
    r""":math:`\log\mathrm{softmax}(x)_i = x_i - \log\sum_j e^{x_j}` along ``axis``.

    Derivative: :math:`\partial/\partial x_j = \delta_{ij} - \mathrm{softmax}(x)_j`.
    Use it (not ``log(softmax(x))``, which gives ``-inf`` once a probability underflows)
    before ``nll_loss``.
    """
    return _ops.log_softmax(as_tensor(x, "log_softmax"), axis=axis)


def _check_number(op: str, name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{op}: {name} must be a number, got {type(value).__name__}")


# ---------------------------------------------------------------- layers as functions


@composite("linear")
def linear(x: Any, weight: Any, bias: Any = None) -> Tensor:
    r"""Affine map :math:`y = x W^\top + b`.

    Gradients: :math:`\partial L/\partial W = g^\top x`, :math:`\partial L/\partial b =
    \sum_{\text{batch}} g`, :math:`\partial L/\partial x = g W`.

    Args:
        x: input, shape ``(*, in_features)``.
        weight: shape ``(out_features, in_features)``.
        bias: shape ``(out_features,)`` or None.

    Returns:
        Shape ``(*, out_features)``.

    Raises:
        ValueError: the last axis of ``x`` is not ``in_features``.
    """
    x = as_tensor(x, "linear")
    weight = as_tensor(weight, "linear")
    if bias is not None:
        bias = as_tensor(bias, "linear")
    if bias is None or bias.shape == weight.shape[:1]:
        # fused: one node (see ops.linalg.linear); its check raises the messages below, so
        # the shapes are checked once, not twice (a Linear call −4k instructions, callgrind)
        return _ops.linear(x, weight, bias)
    if weight.ndim != 2:
        raise ValueError(
            f"linear: weight must be 2-D (out, in), got shape {shape_str(weight.shape)}"
        )
    if x.ndim == 0 or x.shape[-1] != weight.shape[1]:
        features = "no feature axis" if x.ndim == 0 else f"{x.shape[-1]} features"
        raise ValueError(
            f"linear: input of shape {shape_str(x.shape)} has {features}, but weight of shape "
            f"{shape_str(weight.shape)} expects {weight.shape[1]}"
        )
    # any other bias that broadcasts (a scalar, (1,)): the general composition
    return _ops.add(_ops.matmul(x, _ops.transpose(weight, axes=None)), bias)


@composite("dropout")
def dropout(x: Any, p: float = 0.5, training: bool = True,
            generator: np.random.Generator | None = None) -> Tensor:
    r"""Inverted dropout: zero each element with probability ``p`` and scale the survivors
    by :math:`1/(1-p)`, so the expected value is unchanged and evaluation needs no scaling.

    :math:`y = x\,m/(1-p)`, :math:`m_i \sim \mathrm{Bernoulli}(1-p)`; derivative
    :math:`\partial y/\partial x = m/(1-p)`. The identity when ``training`` is False.

    Args:
        x: input, any shape.
        p: drop probability in [0, 1].
        training: apply dropout (True) or return ``x`` unchanged.
        generator: a ``numpy.random.Generator``; the default generator
            (``cr.manual_seed``) when None.
    """
    x = as_tensor(x, "dropout")
    _check_number("dropout", "p", p)
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: probability p must be in [0, 1], got {p}")
    if not training or p == 0.0:
        return x
    generator = default_generator() if generator is None else generator
    keep = generator.random(x.shape) >= p
    dtype = x.dtype if x.dtype.kind == "f" else np.dtype(np.float64)
    # p = 1 drops everything: the scale would be 1/0, but every element is zero anyway
    scale = np.zeros(x.shape, dtype) if p == 1.0 else keep.astype(dtype) / dtype.type(1 - p)
    return _ops.mul(x, scale)


# ---------------------------------------------------------------- regularisation


def _penalty(op: str, params: Any, lam: float, m: int, term: Any) -> Tensor:
    _check_number(op, "lam", lam)
    if lam < 0:
        raise ValueError(f"{op}: lam (λ) must be non-negative, got {lam}")
    if isinstance(m, bool) or not isinstance(m, (int, np.integer)) or m <= 0:
        raise ValueError(f"{op}: m, the number of training examples, must be a positive int, "
                         f"got {m!r}")
    tensors = [params] if isinstance(params, Traced) else list(_iterable(op, params))
    if not tensors:
        raise ValueError(f"{op}: params is empty (a used-up model.parameters() generator? "
                         "pass list(model.parameters()))")
    total = None
    for t in tensors:
        part = _ops.sum(term(as_tensor(t, op)), axis=None)
        total = part if total is None else _ops.add(total, part)
    return _ops.mul(total, float(lam) / (2.0 * int(m)))


def _iterable(op: str, params: Any) -> Iterable[Any]:
    try:
        return iter(params)
    except TypeError:
        raise TypeError(
            f"{op}: params must be an iterable of tensors, got {type(params).__name__}"
        ) from None


@composite("l1_penalty")
def l1_penalty(params: Any, lam: float, m: int) -> Tensor:
    r"""The textbook's L1 term :math:`\frac{\lambda}{2m}\sum_j |\theta_j|`.

    Added to the cost, :math:`J(\theta) = \frac1{2m}\sum_i (h_\theta(x^{(i)}) - y^{(i)})^2
    + \frac{\lambda}{2m}\sum_j|\theta_j|`, it *penalises* complexity: every non-zero
    weight costs :math:`\frac{\lambda}{2m}|\theta_j|`, so training trades fit against
    small (and, for L1, sparse) weights, which curbs over-fitting. (The source article
    says regularisation works by increasing complexity; that is backwards.) The article
    writes :math:`\lambda/(2m)` for L1 where many texts write :math:`\lambda/m`; we
    implement the article's formula exactly.

    Derivative: :math:`\frac{\lambda}{2m}\,\mathrm{sign}(\theta_j)` (0 at θ = 0, the
    ``abs'(0) = 0`` convention).

    Args:
        params: an iterable of tensors (e.g. ``model.parameters()``) or one tensor.
        lam: the regularisation strength λ ≥ 0.
        m: the number of training examples.

    >>> import chainrule as cr
    >>> import chainrule.nn.functional as F
    >>> F.l1_penalty([cr.tensor([1.0, -2.0]), cr.tensor([3.0])], lam=0.5, m=2).item()
    0.75
    """
    return _penalty("l1_penalty", params, lam, m, _ops.abs)


@composite("l2_penalty")
def l2_penalty(params: Any, lam: float, m: int) -> Tensor:
    r"""The textbook's L2 term :math:`\frac{\lambda}{2m}\sum_j \theta_j^2`.

    The full cost is :math:`J(\theta) = \frac1{2m}\sum_i (h_\theta(x^{(i)}) - y^{(i)})^2
    + \frac{\lambda}{2m}\sum_j\theta_j^2`; its first term is ``F.mse_loss(pred, y) / 2``.
    Large weights are penalised, which prevents over-fitting by limiting complexity.

    Derivative: :math:`\frac{\lambda}{m}\theta_j`, so a gradient step shrinks every
    weight by the factor :math:`1-\alpha\lambda/m` ("weight decay"). An optimiser's
    ``weight_decay=wd`` (PyTorch's coupled decay in SGD/Adam) adds :math:`wd\cdot\theta`
    to the gradient, the gradient of :math:`\frac{wd}{2}\lVert\theta\rVert^2` with no
    :math:`1/m`: it matches this penalty when :math:`wd = \lambda/m`.

    Args:
        params: an iterable of tensors (e.g. ``model.parameters()``) or one tensor.
        lam: the regularisation strength λ ≥ 0.
        m: the number of training examples.

    >>> import chainrule as cr
    >>> import chainrule.nn.functional as F
    >>> theta = cr.tensor([1.0, -2.0], requires_grad=True)
    >>> y = cr.tensor([1.0, 2.0]); pred = theta * 1.0
    >>> J = F.mse_loss(pred, y) / 2 + F.l2_penalty([theta], lam=1.0, m=2)
    >>> J.item()  # 1/(2m)·Σ(h−y)² = 16/4 = 4, plus λ/(2m)·Σθ² = 5/4
    5.25
    """
    return _penalty("l2_penalty", params, lam, m, lambda t: _ops.mul(t, t))
