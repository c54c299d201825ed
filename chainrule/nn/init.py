r"""Parameter initialisation, PyTorch's ``torch.nn.init`` in NumPy.

Every function fills a tensor **in place** (its ``.data``, recording nothing) and returns
it. Random draws come from ``generator`` when given, else from the library's default
generator, which ``cr.manual_seed`` seeds, so the same seed gives the same weights.

Why the scale matters: a layer with :math:`n_{in}` inputs sums :math:`n_{in}` terms, so
weights of variance :math:`\mathrm{Var}(w)` give outputs of variance
:math:`n_{in}\mathrm{Var}(w)\mathrm{Var}(x)`; choosing :math:`\mathrm{Var}(w)\propto
1/n_{in}` keeps activations (and, backwards, gradients) from exploding or vanishing.
"""

from __future__ import annotations

import math
from typing import Any, TypeVar

import numpy as np

from chainrule._config import default_generator
from chainrule.autodiff import Traced
from chainrule.errors import shape_str
from chainrule.tensor import Tensor

# Each fill returns the tensor it was given: a Parameter in, the same Parameter out.
_T = TypeVar("_T", bound=Tensor)

__all__ = [
    "calculate_gain", "constant_", "fan_in_and_fan_out", "kaiming_normal_", "kaiming_uniform_",
    "normal_", "ones_", "uniform_", "xavier_normal_", "xavier_uniform_", "zeros_",
]


def _target(op: str, tensor: Any) -> np.ndarray:
    if not isinstance(tensor, Traced):
        raise TypeError(f"{op}: expected a Tensor or Parameter, got {type(tensor).__name__}")
    if tensor.data.dtype.kind != "f":
        raise TypeError(f"{op}: can only fill floating tensors, got dtype {tensor.data.dtype}")
    return tensor.data


def _fill(tensor: _T, values: Any) -> _T:
    np.copyto(tensor.data, values, casting="unsafe")
    return tensor


def _generator(generator: np.random.Generator | None) -> np.random.Generator:
    return default_generator() if generator is None else generator


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    r"""The recommended gain for an activation (PyTorch's table): 1 for linear and
    sigmoid, 5/3 for tanh, :math:`\sqrt2` for relu, :math:`\sqrt{2/(1+a^2)}` for
    leaky_relu with negative slope ``a`` (default 0.01), 3/4 for selu.
    """
    linear = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d",
              "conv_transpose2d", "conv_transpose3d", "sigmoid", "identity")
    if nonlinearity in linear:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else float(param)
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}")


def fan_in_and_fan_out(tensor: Tensor) -> tuple[int, int]:
    """``(fan_in, fan_out)`` of a weight: ``(in, out)`` for a Linear weight ``(out, in)``;
    trailing axes (a convolution's kernel) multiply both."""
    shape = _target("fan_in_and_fan_out", tensor).shape
    if len(shape) < 2:
        raise ValueError(
            f"fan_in_and_fan_out: needs at least 2 dimensions, got shape {shape_str(shape)}"
        )
    receptive = int(np.prod(shape[2:], dtype=np.int64))
    return shape[1] * receptive, shape[0] * receptive


def uniform_(tensor: _T, a: float = 0.0, b: float = 1.0,
             generator: np.random.Generator | None = None) -> _T:
    r"""Fill with draws from :math:`\mathcal U(a, b)`."""
    data = _target("uniform_", tensor)
    return _fill(tensor, _generator(generator).uniform(a, b, size=data.shape))


def normal_(tensor: _T, mean: float = 0.0, std: float = 1.0,
            generator: np.random.Generator | None = None) -> _T:
    r"""Fill with draws from :math:`\mathcal N(\text{mean}, \text{std}^2)`."""
    data = _target("normal_", tensor)
    return _fill(tensor, _generator(generator).normal(mean, std, size=data.shape))


def constant_(tensor: _T, val: float) -> _T:
    """Fill with ``val``."""
    _target("constant_", tensor)
    return _fill(tensor, val)


def zeros_(tensor: _T) -> _T:
    """Fill with 0."""
    return constant_(tensor, 0.0)


def ones_(tensor: _T) -> _T:
    """Fill with 1."""
    return constant_(tensor, 1.0)


def xavier_uniform_(tensor: _T, gain: float = 1.0,
                    generator: np.random.Generator | None = None) -> _T:
    r"""Glorot uniform: :math:`\mathcal U(-a, a)`,
    :math:`a = \text{gain}\sqrt{6/(n_{in}+n_{out})}`."""
    fan_in, fan_out = fan_in_and_fan_out(tensor)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -bound, bound, generator)


def xavier_normal_(tensor: _T, gain: float = 1.0,
                   generator: np.random.Generator | None = None) -> _T:
    r"""Glorot normal: :math:`\mathcal N(0, \sigma^2)`,
    :math:`\sigma = \text{gain}\sqrt{2/(n_{in}+n_{out})}`."""
    fan_in, fan_out = fan_in_and_fan_out(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)), generator)


def _kaiming_std(op: str, tensor: Tensor, a: float, mode: str, nonlinearity: str) -> float:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"{op}: mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = fan_in_and_fan_out(tensor)
    fan = fan_in if mode == "fan_in" else fan_out
    if fan == 0:
        return 0.0
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)


def kaiming_uniform_(tensor: _T, a: float = 0.0, mode: str = "fan_in",
                     nonlinearity: str = "leaky_relu",
                     generator: np.random.Generator | None = None) -> _T:
    r"""He uniform: :math:`\mathcal U(-b, b)`, :math:`b = \text{gain}\sqrt{3/\text{fan}}`.

    ``nn.Linear``'s default, ``kaiming_uniform_(w, a=√5)``, has gain
    :math:`\sqrt{2/(1+5)} = 1/\sqrt3`, so :math:`b = 1/\sqrt{n_{in}}`.
    """
    std = _kaiming_std("kaiming_uniform_", tensor, a, mode, nonlinearity)
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(tensor: _T, a: float = 0.0, mode: str = "fan_in",
                    nonlinearity: str = "leaky_relu",
                    generator: np.random.Generator | None = None) -> _T:
    r"""He normal: :math:`\mathcal N(0, \sigma^2)`,
    :math:`\sigma = \text{gain}/\sqrt{\text{fan}}`."""
    std = _kaiming_std("kaiming_normal_", tensor, a, mode, nonlinearity)
    return normal_(tensor, 0.0, std, generator)
