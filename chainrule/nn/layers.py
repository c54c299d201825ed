r"""Layers: ``Linear``, the activation modules (and ``Softmax``), ``Dropout``, ``Identity``,
``Flatten`` and ``MLP`` (a :class:`~chainrule.nn.Sequential` of Linear layers). Each is a
:class:`~chainrule.nn.Module` whose ``forward`` calls :mod:`chainrule.nn.functional`; the
math (and its derivative) is documented there.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from chainrule._config import get_default_dtype
from chainrule._convert import numpy_axis_names
from chainrule.errors import shape_str
from chainrule.nn import functional as F
from chainrule.nn import init
from chainrule.nn.containers import Sequential
from chainrule.nn.module import Module, Parameter
from chainrule.tensor import Tensor, as_tensor

__all__ = [
    "GELU", "MLP", "Dropout", "Flatten", "Identity", "LeakyReLU", "Linear", "ReLU",
    "Sigmoid", "Softmax", "Softplus", "Tanh",
]


def _check_size(layer: str, name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ValueError(f"{layer}: {name} must be a non-negative int, got {value!r}")
    return int(value)


class Linear(Module):
    r"""Affine layer :math:`y = xW^\top + b`.

    Initialisation (PyTorch's default): every entry of ``weight`` and ``bias`` is drawn
    from :math:`\mathcal U(-1/\sqrt{n_{in}},\ 1/\sqrt{n_{in}})`, :math:`n_{in}` =
    ``in_features``. (PyTorch writes the weight's draw as ``kaiming_uniform_(w, a=√5)``:
    gain :math:`\sqrt{2/(1+a^2)} = 1/\sqrt3` times :math:`\sqrt{3/n_{in}}` is exactly
    :math:`1/\sqrt{n_{in}}`.) The draws come from ``generator`` or, by default, the
    library's generator (``cr.manual_seed``): weight first, then bias.

    Gradients: :math:`\partial L/\partial W = g^\top x`,
    :math:`\partial L/\partial b = \sum_{\text{batch}} g`, :math:`\partial L/\partial x = gW`.

    Args:
        in_features: size of each input sample, :math:`n_{in}`.
        out_features: size of each output sample.
        bias: learn an additive bias (default True).
        dtype: floating dtype of the parameters (default: ``cr.get_default_dtype()``).
        generator: a ``numpy.random.Generator`` for the initial draw.

    Shape:
        - Input: ``(*, in_features)``.
        - Output: ``(*, out_features)``.
        - ``weight``: ``(out_features, in_features)``; ``bias``: ``(out_features,)``.

    >>> import chainrule as cr
    >>> from chainrule import nn
    >>> _ = cr.manual_seed(0)
    >>> layer = nn.Linear(3, 2)
    >>> layer
    Linear(in_features=3, out_features=2, bias=True)
    >>> layer(cr.ones(4, 3)).shape
    (4, 2)
    """

    in_features: int
    out_features: int
    weight: Parameter
    bias: Parameter | None

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 dtype: Any = None, generator: np.random.Generator | None = None) -> None:
        super().__init__()
        self.in_features = _check_size("Linear", "in_features", in_features)
        self.out_features = _check_size("Linear", "out_features", out_features)
        dtype = get_default_dtype() if dtype is None else np.dtype(dtype)
        if dtype.kind != "f":
            raise TypeError(f"Linear: dtype must be floating, got {dtype}")
        self.weight = Parameter(np.empty((self.out_features, self.in_features), dtype=dtype))
        if bias:
            self.bias = Parameter(np.empty((self.out_features,), dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters(generator)

    def reset_parameters(self, generator: np.random.Generator | None = None) -> None:
        r"""Redraw ``weight`` and ``bias`` from
        :math:`\mathcal U(-1/\sqrt{n_{in}}, 1/\sqrt{n_{in}})`."""
        bound = 1.0 / math.sqrt(self.in_features) if self.in_features > 0 else 0.0
        init.uniform_(self.weight, -bound, bound, generator)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound, generator)

    def forward(self, x: Any) -> Tensor:
        x = as_tensor(x, "Linear")
        if x.ndim == 0 or x.shape[-1] != self.in_features:
            features = "no feature axis" if x.ndim == 0 else f"{x.shape[-1]} features"
            raise ValueError(
                f"Linear(in_features={self.in_features}, out_features={self.out_features}): "
                f"input of shape {shape_str(x.shape)} has {features}, "
                f"expected {self.in_features}"
            )
        # runs every forward: self.weight would miss normal lookup and fall back to __getattr__
        params = self._parameters
        return F.linear(x, params["weight"], params["bias"])

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class Identity(Module):
    r"""Returns its input unchanged (arguments are accepted and ignored, as in PyTorch);
    derivative 1.

    Shape:
        - Input: any shape. Output: the same shape.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()

    def forward(self, x: Any) -> Any:
        return x


class Flatten(Module):
    r"""Merge the axes ``start_dim`` … ``end_dim`` (inclusive, negatives from the end) into
    one: ``(N, C, H, W) → (N, C·H·W)`` with the defaults, which keep the batch axis. A
    reshape, so the gradient is reshaped back.

    Args:
        start_dim: first axis to merge (default 1).
        end_dim: last axis to merge (default -1).

    Shape:
        - Input: ``(*, S_start, …, S_end, *)``. Output: ``(*, S_start·…·S_end, *)``.

    >>> import chainrule as cr
    >>> from chainrule import nn
    >>> nn.Flatten()(cr.zeros(8, 3, 4, 4)).shape
    (8, 48)
    """

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        for name, value in (("start_dim", start_dim), ("end_dim", end_dim)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise TypeError(f"Flatten: {name} must be an int, got {value!r}")
        self.start_dim = int(start_dim)
        self.end_dim = int(end_dim)

    def _axis(self, name: str, axis: int, shape: tuple[int, ...]) -> int:
        ndim = max(len(shape), 1)  # a 0-d input flattens like a 1-element vector
        if not -ndim <= axis < ndim:
            raise ValueError(
                f"Flatten({self.extra_repr()}): {name} {axis} is out of range for an input "
                f"of shape {shape_str(shape)} (valid: {-ndim} to {ndim - 1})"
            )
        return axis % ndim

    def forward(self, x: Any) -> Tensor:
        x = as_tensor(x, "Flatten")
        shape = x.shape
        start = self._axis("start_dim", self.start_dim, shape)
        end = self._axis("end_dim", self.end_dim, shape)
        if start > end:
            raise ValueError(
                f"Flatten({self.extra_repr()}): start_dim comes after end_dim for an input "
                f"of shape {shape_str(shape)}"
            )
        merged = math.prod(shape[start:end + 1])
        return x.reshape(*shape[:start], merged, *shape[end + 1:])

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


# ---------------------------------------------------------------- activation modules


class ReLU(Module):
    r""":math:`\max(x, 0)`; derivative 1 for x > 0, else 0 (0 at x = 0).

    Shape:
        - Input: any shape. Output: the same shape.
    """

    def forward(self, x: Any) -> Tensor:
        return F.relu(x)


class Sigmoid(Module):
    r""":math:`\sigma(x) = 1/(1+e^{-x})`; derivative :math:`\sigma(x)(1-\sigma(x))`.

    Shape:
        - Input: any shape. Output: the same shape.
    """

    def forward(self, x: Any) -> Tensor:
        return F.sigmoid(x)


class Tanh(Module):
    r""":math:`\tanh x`; derivative :math:`1-\tanh^2 x`.

    Shape:
        - Input: any shape. Output: the same shape.
    """

    def forward(self, x: Any) -> Tensor:
        return F.tanh(x)


class LeakyReLU(Module):
    r""":math:`x` for x > 0 else :math:`\alpha x`; derivative 1 if x > 0 else α.

    Shape:
        - Input: any shape. Output: the same shape.
    """

    def __init__(self, negative_slope: float = 0.01) -> None:
        super().__init__()
        self.negative_slope = negative_slope

    def forward(self, x: Any) -> Tensor:
        return F.leaky_relu(x, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class GELU(Module):
    r""":math:`x\,\Phi(x)`; derivative :math:`\Phi(x) + x\varphi(x)` (``approximate="tanh"``
    for the tanh form).

    Shape:
        - Input: any shape. Output: the same shape.
    """

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, x: Any) -> Tensor:
        return F.gelu(x, approximate=self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class Softplus(Module):
    r""":math:`\frac1\beta\log(1+e^{\beta x})` (identity where βx > threshold); derivative
    :math:`\sigma(\beta x)`.

    Shape:
        - Input: any shape. Output: the same shape.
    """

    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        super().__init__()
        self.beta = beta
        self.threshold = threshold

    def forward(self, x: Any) -> Tensor:
        return F.softplus(x, self.beta, self.threshold)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


class Softmax(Module):
    r""":math:`\mathrm{softmax}(x)_i = e^{x_i}/\sum_j e^{x_j}` along ``axis`` (NumPy's word
    for PyTorch's ``dim``); Jacobian :math:`s_i(\delta_{ij} - s_j)`. Stable for any
    finite input (shifted by the max).

    Args:
        axis: the axis whose entries sum to 1 (default -1).

    Shape:
        - Input: any shape. Output: the same shape.

    >>> import chainrule as cr
    >>> from chainrule import nn
    >>> nn.Softmax(axis=1)(cr.zeros(2, 4)).tolist()[0]
    [0.25, 0.25, 0.25, 0.25]
    """

    def __init__(self, axis: int = -1) -> None:
        super().__init__()
        if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
            raise TypeError(f"Softmax: axis must be an int, got {type(axis).__name__}")
        self.axis = int(axis)

    # nn.Softmax(dim=1), PyTorch's spelling, gets a TypeError that names axis=
    __init__ = numpy_axis_names(__init__, "Softmax")

    def forward(self, x: Any) -> Tensor:
        return F.softmax(x, axis=self.axis)

    def extra_repr(self) -> str:
        return f"axis={self.axis}"


class Dropout(Module):
    r"""Inverted dropout: in training, zero each element with probability ``p`` and scale
    the rest by :math:`1/(1-p)`; in evaluation (``model.eval()``) the identity.

    The mask comes from ``generator`` or the library's default generator
    (``cr.manual_seed``), drawn afresh at every call.

    Shape:
        - Input: any shape. Output: the same shape.
    """

    def __init__(self, p: float = 0.5, generator: np.random.Generator | None = None) -> None:
        super().__init__()
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout: probability p must be in [0, 1], got {p!r}")
        self.p = p
        self.generator = generator

    def forward(self, x: Any) -> Tensor:
        return F.dropout(x, self.p, self.training, self.generator)

    def extra_repr(self) -> str:
        return f"p={self.p}"


_ACTIVATIONS: dict[str, type[Module]] = {
    "relu": ReLU, "sigmoid": Sigmoid, "tanh": Tanh, "leaky_relu": LeakyReLU, "gelu": GELU,
    "softplus": Softplus,
}


class MLP(Sequential):
    r"""A multilayer perceptron: ``Linear`` layers with ``activation`` between them and none
    after the last (the output stays a logit or a regression value).

    ``MLP([2, 8, 8, 1])`` is ``Sequential(Linear(2, 8), ReLU(), Linear(8, 8), ReLU(),
    Linear(8, 1))``, so its children are named by position: the Linear layers are
    ``"0"``, ``"2"``, ``"4"`` and the state dict reads ``"0.weight"``, ``"0.bias"``,
    ``"2.weight"``, ``"2.bias"``, ``"4.weight"``, ``"4.bias"``. Each Linear layer is
    initialised as :class:`Linear` (PyTorch's default), in order.

    Args:
        sizes: layer widths ``[n_in, hidden…, n_out]`` (at least two).
        activation: ``"relu"``, ``"sigmoid"``, ``"tanh"``, ``"leaky_relu"``, ``"gelu"``
            or ``"softplus"``.
        bias: give every Linear layer a bias.
        dtype: floating dtype of the parameters.
        generator: a ``numpy.random.Generator`` for the initial draws.

    Shape:
        - Input: ``(*, sizes[0])``. Output: ``(*, sizes[-1])``.

    >>> from chainrule import nn
    >>> list(nn.MLP([2, 4, 1], activation="tanh").state_dict())
    ['0.weight', '0.bias', '2.weight', '2.bias']
    """

    def __init__(self, sizes: Sequence[int], activation: str = "relu", bias: bool = True,
                 dtype: Any = None, generator: np.random.Generator | None = None) -> None:
        sizes = list(sizes)
        if len(sizes) < 2:
            raise ValueError(f"MLP: sizes needs at least an input and an output width, "
                             f"got {sizes!r}")
        for n in sizes:
            _check_size("MLP", "every entry of sizes", n)
        if activation not in _ACTIVATIONS:
            names = ", ".join(repr(a) for a in _ACTIVATIONS)
            raise ValueError(f"MLP: unknown activation {activation!r} (choose from {names})")
        layers: list[Module] = []
        for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            layers.append(Linear(n_in, n_out, bias=bias, dtype=dtype, generator=generator))
            if i < len(sizes) - 2:
                layers.append(_ACTIVATIONS[activation]())
        super().__init__(*layers)
        self.sizes: tuple[int, ...] = tuple(int(n) for n in sizes)
        self.activation = activation
