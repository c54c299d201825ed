r"""Normalisation: ``batch_norm`` and ``layer_norm``, built from primitives.

Both centre and scale by statistics of the input itself,

.. math:: \hat x = \frac{x - \mu}{\sqrt{\sigma^2 + \epsilon}}, \qquad
          y = \gamma \hat x + \beta,

with the *biased* variance :math:`\sigma^2 = \frac1m\sum (x - \mu)^2` (m values per
statistic). Because μ and σ² depend on every value they summarise, the gradient couples
them: :math:`\partial L/\partial x_i = \frac{\gamma}{\sqrt{\sigma^2+\epsilon}}\big(g_i -
\overline{g} - \hat x_i\,\overline{g\hat x}\big)` (means over the same m values). The
composition's chain rule produces exactly this, and differentiates again for second
derivatives. Batch norm averages over the batch (and positions) per channel, layer norm
over the last axes of each example.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from chainrule import ops as _ops
from chainrule._config import no_grad
from chainrule.autodiff import composite, raw
from chainrule.errors import shape_str
from chainrule.nn.functional._checks import _check_number
from chainrule.tensor import Tensor, as_tensor


def _normalize(x: Tensor, axes: tuple[int, ...], eps: float) -> tuple[Tensor, Tensor, Tensor]:
    """(x̂, μ, σ²) over ``axes`` (kept), σ² biased; centring first keeps the variance
    accurate when |μ| is much larger than the spread."""
    mean = _ops.mean(x, axis=axes, keepdims=True)
    centred = _ops.sub(x, mean)
    var = _ops.mean(_ops.mul(centred, centred), axis=axes, keepdims=True)
    return _ops.div(centred, _ops.sqrt(_ops.add(var, eps))), mean, var


def _affine(x_hat: Tensor, weight: Tensor | None, bias: Tensor | None, shape: tuple[int, ...]
            ) -> Tensor:
    """γ·x̂ + β with γ and β reshaped to broadcast (``shape``)."""
    out = x_hat
    if weight is not None:
        out = _ops.mul(out, _ops.reshape(weight, shape=shape))
    if bias is not None:
        out = _ops.add(out, _ops.reshape(bias, shape=shape))
    return out


def _channel_vector(who: str, name: str, value: Any, channels: int, x: Tensor
                    ) -> Tensor | None:
    if value is None:
        return None
    t = as_tensor(value, who)
    if t.shape != (channels,):
        raise ValueError(f"{who}: {name} of shape {shape_str(t.shape)} does not match the "
                         f"{channels} channels of the input of shape {shape_str(x.shape)} "
                         f"(expected ({channels},))")
    return t


def _update_running(running: Tensor, batch: np.ndarray, momentum: float) -> None:
    """running ← (1 − momentum)·running + momentum·batch, in place, without a graph."""
    with no_grad():
        running.copy_((1 - momentum) * running.data + momentum * batch.astype(running.dtype))


@composite("batch_norm")
def batch_norm(input: Any, running_mean: Tensor | None, running_var: Tensor | None,
               weight: Any = None, bias: Any = None, training: bool = False,
               momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    r"""Batch normalisation, PyTorch's: each channel c of ``(N, C, *)`` normalised by its
    statistics over the batch and every position,
    :math:`y = \gamma_c (x - \mu_c)/\sqrt{\sigma^2_c + \epsilon} + \beta_c`.

    With ``training``, μ and σ² are the batch's (biased σ², as the normalisation uses),
    and the running statistics are updated in place:
    :math:`\hat\mu \leftarrow (1-m)\hat\mu + m\mu`,
    :math:`\hat\sigma^2 \leftarrow (1-m)\hat\sigma^2 + m\,\sigma^2\frac{n}{n-1}` (the
    *unbiased* variance; n values per channel). Otherwise the running statistics are
    used, and y is an affine function of x.

    The training gradient couples the batch: see the module docstring.

    Args:
        input: ``(N, C)``, ``(N, C, L)`` or ``(N, C, H, W)`` (any ``(N, C, *)``).
        running_mean, running_var: ``(C,)`` tensors, or None (then ``training`` must be
            True and nothing is tracked).
        weight, bias: γ and β, ``(C,)`` each, or None.
        training: use (and track) the batch's statistics.
        momentum: m, the weight of the new batch in the running statistics.
        eps: ε, added to the variance.

    Raises:
        ValueError: a shape mismatch, one value per channel when training, or no running
            statistics in evaluation.
    """
    return _batch_norm("batch_norm", as_tensor(input, "batch_norm"), running_mean, running_var,
                       weight, bias, training, momentum, eps)


def _batch_norm(who: str, x: Tensor, running_mean: Tensor | None, running_var: Tensor | None,
                weight: Any, bias: Any, training: bool, momentum: float, eps: float) -> Tensor:
    """:func:`batch_norm`, its errors naming ``who`` (the function or a layer)."""
    _check_number(who, "momentum", momentum)
    _check_number(who, "eps", eps)
    if x.ndim < 2:
        raise ValueError(f"{who}: expected an input of shape (N, C, *), got shape "
                         f"{shape_str(x.shape)}")
    channels = x.shape[1]
    running_mean_t = _channel_vector(who, "running_mean", running_mean, channels, x)
    running_var_t = _channel_vector(who, "running_var", running_var, channels, x)
    gamma = _channel_vector(who, "weight", weight, channels, x)
    beta = _channel_vector(who, "bias", bias, channels, x)
    shape = (channels,) + (1,) * (x.ndim - 2)
    axes = (0,) + tuple(range(2, x.ndim))
    if not training:
        if running_mean_t is None or running_var_t is None:
            raise ValueError(f"{who}: running_mean and running_var are needed when "
                             "training=False (or pass training=True to use the batch's "
                             "statistics)")
        mean = _ops.reshape(running_mean_t, shape=shape)
        var = _ops.reshape(running_var_t, shape=shape)
        x_hat = _ops.div(_ops.sub(x, mean), _ops.sqrt(_ops.add(var, eps)))
        return _affine(x_hat, gamma, beta, shape)
    n = x.size // channels if channels else 0
    if n <= 1:
        raise ValueError(f"{who}: expected more than 1 value per channel when training, got "
                         f"an input of shape {shape_str(x.shape)} (train on batches of 2 or "
                         "more, or evaluate with the running statistics: model.eval())")
    x_hat, mean, var = _normalize(x, axes, eps)
    if running_mean_t is not None:
        _update_running(running_mean_t, np.reshape(raw(mean), (channels,)), momentum)
    if running_var_t is not None:
        unbiased = np.reshape(raw(var), (channels,)) * (n / (n - 1))
        _update_running(running_var_t, unbiased, momentum)
    return _affine(x_hat, gamma, beta, shape)


def _shape_tuple(who: str, normalized_shape: Any) -> tuple[int, ...]:
    items = (normalized_shape,) if isinstance(normalized_shape, (int, np.integer)) \
        else normalized_shape
    try:
        shape = tuple(items)
    except TypeError:
        shape = None
    if shape is None or any(isinstance(n, bool) or not isinstance(n, (int, np.integer))
                            for n in shape):
        raise TypeError(f"{who}: normalized_shape must be an int or a tuple of ints, got "
                        f"{normalized_shape!r}")
    return tuple(int(n) for n in shape)


@composite("layer_norm")
def layer_norm(input: Any, normalized_shape: int | Sequence[int], weight: Any = None,
               bias: Any = None, eps: float = 1e-5) -> Tensor:
    r"""Layer normalisation: each example normalised over its last axes (those of
    ``normalized_shape``), :math:`y = \gamma (x - \mu)/\sqrt{\sigma^2 + \epsilon} + \beta`,
    μ and biased σ² over those axes; the same in training and evaluation.

    Args:
        input: ``(*, *normalized_shape)``.
        normalized_shape: the trailing shape to normalise over (an int for one axis).
        weight, bias: γ and β of shape ``normalized_shape``, or None.
        eps: ε, added to the variance.

    >>> import chainrule as cr
    >>> import chainrule.nn.functional as F
    >>> F.layer_norm(cr.tensor([[1.0, 3.0]]), (2,), eps=0.0).tolist()
    [[-1.0, 1.0]]
    """
    return _layer_norm("layer_norm", as_tensor(input, "layer_norm"), normalized_shape, weight,
                       bias, eps)


def _layer_norm(who: str, x: Tensor, normalized_shape: Any, weight: Any, bias: Any,
                eps: float) -> Tensor:
    """:func:`layer_norm`, its errors naming ``who`` (the function or a layer)."""
    _check_number(who, "eps", eps)
    shape = _shape_tuple(who, normalized_shape)
    k = len(shape)
    if k == 0 or x.ndim < k or x.shape[x.ndim - k:] != shape:
        expected = "(*, " + ", ".join(str(n) for n in shape) + ")"
        raise ValueError(f"{who}: normalized_shape {shape_str(shape)} does not match the last "
                         f"axes of the input of shape {shape_str(x.shape)} (expected "
                         f"{expected})")
    for name, value in (("weight", weight), ("bias", bias)):
        if value is not None and as_tensor(value, who).shape != shape:
            raise ValueError(f"{who}: {name} of shape {shape_str(as_tensor(value, who).shape)} "
                             f"does not match normalized_shape {shape_str(shape)}")
    x_hat, _, _ = _normalize(x, tuple(range(x.ndim - k, x.ndim)), eps)
    gamma = None if weight is None else as_tensor(weight, who)
    beta = None if bias is None else as_tensor(bias, who)
    return _affine(x_hat, gamma, beta, shape)
