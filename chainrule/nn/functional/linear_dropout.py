r"""The layers as functions: ``linear`` (the affine map of ``nn.Linear``) and ``dropout``."""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule import batching
from chainrule import ops as _ops
from chainrule._config import default_generator
from chainrule.autodiff import composite
from chainrule.errors import shape_str
from chainrule.nn.functional._checks import _check_number
from chainrule.tensor import Tensor, as_tensor


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
        # one fused node (ops.linalg.linear), whose check raises the messages below
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

    Under ``cr.vmap`` every example draws its own mask (PyTorch's ``randomness=
    "different"``), as dropout over the batch would.
    """
    x = as_tensor(x, "dropout")
    _check_number("dropout", "p", p)
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: probability p must be in [0, 1], got {p}")
    if not training or p == 0.0:
        return x
    generator = default_generator() if generator is None else generator
    mapped = batching.is_batched(x)  # under vmap: every example draws its own mask
    keep = generator.random(batching.peel(x).shape if mapped else x.shape) >= p
    dtype = x.dtype if x.dtype.kind == "f" else np.dtype(np.float64)
    # p = 1 drops everything: the scale would be 1/0, but every element is zero anyway
    scale = np.zeros(keep.shape, dtype) if p == 1.0 else keep.astype(dtype) / dtype.type(1 - p)
    return _ops.mul(x, batching.shaped_like(x, scale) if mapped else scale)
