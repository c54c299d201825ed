r"""One step of a recurrent network as a layer: ``RNNCell``, ``GRUCell``, ``LSTMCell``, with
PyTorch's arguments, parameter names (``weight_ih``, ``weight_hh``, ``bias_ih``,
``bias_hh``), gate order and initialisation. The equations are in
:mod:`chainrule.nn.functional.recurrent`; the loop over time is :mod:`chainrule.nn.recurrent`.
This module also holds the checks that the cells and the sequence layers share.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from chainrule._config import get_default_dtype
from chainrule.errors import shape_str
from chainrule.nn import init
from chainrule.nn.functional.recurrent import GATES, Weights, step
from chainrule.nn.module import Module
from chainrule.nn.parameter import Parameter
from chainrule.tensor import Tensor, as_tensor

__all__ = ["GRUCell", "LSTMCell", "RNNCell"]


# ---------------------------------------------------------------- shared checks


def check_size(layer: str, name: str, value: Any, least: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < least:
        kind = "positive" if least == 1 else "non-negative"
        raise ValueError(f"{layer}: {name} must be a {kind} int, got {value!r}")
    return int(value)


def float_dtype(layer: str, dtype: Any) -> np.dtype[Any]:
    dtype = get_default_dtype() if dtype is None else np.dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(f"{layer}: dtype must be floating, got {dtype}")
    return dtype


def check_features(who: str, x: Tensor, input_size: int, expected: tuple[int, ...]) -> None:
    """The input's last axis must be ``input_size``; ``expected`` is the shape it should have."""
    if x.shape[-1] != input_size:
        raise ValueError(f"{who}: input of shape {shape_str(x.shape)} has {x.shape[-1]} "
                         f"features, expected {input_size} (input_size), i.e. shape "
                         f"{shape_str(expected)}")


def check_state(who: str, name: str, state: Any, expected: tuple[int, ...], meaning: str
                ) -> Tensor:
    """A given initial state must have the shape ``expected`` (spelled out by ``meaning``)."""
    state = as_tensor(state, who)
    if state.shape != expected:
        raise ValueError(f"{who}: {name} of shape {shape_str(state.shape)} does not fit, "
                         f"expected {shape_str(expected)} = {meaning}")
    return state


def zeros_state(x: Tensor, w: Any, shape: tuple[int, ...]) -> np.ndarray:
    """The default initial state: zeros of the dtype the first step computes in."""
    dtype = np.result_type(x.dtype, w.dtype) if x.dtype.kind == "f" else w.dtype
    return np.zeros(shape, dtype)


def uniform_init(module: Module, hidden_size: int,
                 generator: np.random.Generator | None) -> None:
    r"""PyTorch's recurrent initialisation: every parameter from
    :math:`\mathcal U(-1/\sqrt{H}, 1/\sqrt{H})`, H = ``hidden_size``, in registration order."""
    bound = 1.0 / math.sqrt(hidden_size)
    for p in module.parameters():
        init.uniform_(p, -bound, bound, generator)


# ---------------------------------------------------------------- cells


class _CellBase(Module):
    """What the three cells share: the four parameters, their initialisation and checks."""

    mode = ""
    input_size: int
    hidden_size: int
    weight_ih: Parameter
    weight_hh: Parameter
    bias_ih: Parameter | None
    bias_hh: Parameter | None

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, dtype: Any = None,
                 generator: np.random.Generator | None = None) -> None:
        super().__init__()
        name = type(self).__name__
        self.input_size = check_size(name, "input_size", input_size, least=0)
        self.hidden_size = check_size(name, "hidden_size", hidden_size)
        dtype = float_dtype(name, dtype)
        gates = GATES[self.mode] * self.hidden_size
        self.weight_ih = Parameter(np.empty((gates, self.input_size), dtype))
        self.weight_hh = Parameter(np.empty((gates, self.hidden_size), dtype))
        if bias:
            self.bias_ih = Parameter(np.empty((gates,), dtype))
            self.bias_hh = Parameter(np.empty((gates,), dtype))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters(generator)

    @property
    def bias(self) -> bool:
        return self.bias_ih is not None

    def reset_parameters(self, generator: np.random.Generator | None = None) -> None:
        r"""Redraw every parameter from :math:`\mathcal U(-1/\sqrt{H}, 1/\sqrt{H})`."""
        uniform_init(self, self.hidden_size, generator)

    def _who(self) -> str:
        return f"{type(self).__name__}({self.input_size}, {self.hidden_size})"

    def _input(self, input: Any) -> tuple[Tensor, tuple[int, ...]]:
        """The input, checked, and the shape of the hidden state that goes with it."""
        who = self._who()
        x = as_tensor(input, who)
        if x.ndim not in (1, 2):
            raise ValueError(f"{who}: expected a 1-D (unbatched) or 2-D (batch, features) "
                             f"input, got shape {shape_str(x.shape)}")
        check_features(who, x, self.input_size, (*x.shape[:-1], self.input_size))
        return x, (*x.shape[:-1], self.hidden_size)

    def _state(self, x: Tensor, hx: Any, shape: tuple[int, ...], name: str = "hx") -> Any:
        if hx is None:
            return zeros_state(x, self.weight_hh, shape)
        meaning = "(batch, hidden_size)" if len(shape) == 2 else "(hidden_size,)"
        return check_state(self._who(), name, hx, shape, meaning)

    def _weights(self) -> Weights:
        p = self._parameters
        return Weights(p["weight_ih"], p["weight_hh"], p["bias_ih"], p["bias_hh"])

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if not self.bias:
            s += ", bias=False"
        return s




class RNNCell(_CellBase):
    r"""One Elman RNN step, :math:`h' = \tanh(W_{ih}x + b_{ih} + W_{hh}h + b_{hh})` (or ReLU).

    Derivative: :math:`\partial h'/\partial h = \mathrm{diag}(1-h'^2)\,W_{hh}` (tanh).

    Args:
        input_size: features of the input :math:`x`.
        hidden_size: features of the hidden state :math:`h` (H).
        bias: learn ``bias_ih`` and ``bias_hh`` (default True).
        dtype: floating dtype of the parameters (default: ``cr.get_default_dtype()``).
        generator: a ``numpy.random.Generator`` for the initial draw (default: the
            library's generator, ``cr.manual_seed``).
        nonlinearity: ``"tanh"`` (default) or ``"relu"``.

    Shape:
        - Input: ``(batch, input_size)`` or ``(input_size,)``; hx: ``(batch, H)`` or
          ``(H,)``, zeros when omitted. Output: like hx.
        - ``weight_ih``: ``(G·H, input_size)``, ``weight_hh``: ``(G·H, H)``, biases
          ``(G·H,)``; G = 1.

    Initialisation (PyTorch's): every parameter from
    :math:`\mathcal U(-1/\sqrt{H}, 1/\sqrt{H})`.

    >>> import chainrule as cr
    >>> from chainrule import nn
    >>> _ = cr.manual_seed(0)
    >>> cell = nn.RNNCell(3, 5)
    >>> cell(cr.ones(2, 3)).shape
    (2, 5)
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh", dtype: Any = None,
                 generator: np.random.Generator | None = None) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNNCell: nonlinearity must be 'tanh' or 'relu', "
                             f"got {nonlinearity!r}")
        self.nonlinearity = nonlinearity
        self.mode = "RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU"
        super().__init__(input_size, hidden_size, bias, dtype, generator)

    def forward(self, input: Any, hx: Any = None) -> Tensor:
        x, shape = self._input(input)
        return step(self.mode, x, self._state(x, hx, shape), self._weights())

    def extra_repr(self) -> str:
        s = super().extra_repr()
        return s if self.nonlinearity == "tanh" else f"{s}, nonlinearity={self.nonlinearity}"


class GRUCell(_CellBase):
    r"""One GRU step (PyTorch's gate order r, z, n):

    .. math:: r = \sigma(W_{ir}x + b_{ir} + W_{hr}h + b_{hr}),\quad
              z = \sigma(W_{iz}x + b_{iz} + W_{hz}h + b_{hz}),

    .. math:: n = \tanh(W_{in}x + b_{in} + r\odot(W_{hn}h + b_{hn})),\quad
              h' = (1-z)\odot n + z\odot h.

    Derivative along the state: :math:`\partial h'/\partial h` holds the term
    :math:`\mathrm{diag}(z)` — where the update gate is near 1 the gradient passes unchanged.

    Args:
        input_size: features of the input :math:`x`.
        hidden_size: features of the hidden state :math:`h` (H).
        bias: learn ``bias_ih`` and ``bias_hh`` (default True).
        dtype: floating dtype of the parameters (default: ``cr.get_default_dtype()``).
        generator: a ``numpy.random.Generator`` for the initial draw (default: the
            library's generator, ``cr.manual_seed``).

    Shape:
        - Input: ``(batch, input_size)`` or ``(input_size,)``; hx: ``(batch, H)`` or
          ``(H,)``, zeros when omitted. Output: like hx.
        - ``weight_ih``: ``(G·H, input_size)``, ``weight_hh``: ``(G·H, H)``, biases
          ``(G·H,)``; G = 3 (r, z, n).

    Initialisation (PyTorch's): every parameter from
    :math:`\mathcal U(-1/\sqrt{H}, 1/\sqrt{H})`.

    >>> import chainrule as cr
    >>> from chainrule import nn
    >>> _ = cr.manual_seed(0)
    >>> nn.GRUCell(3, 5)(cr.ones(2, 3)).shape
    (2, 5)
    """

    mode = "GRU"

    def forward(self, input: Any, hx: Any = None) -> Tensor:
        x, shape = self._input(input)
        return step(self.mode, x, self._state(x, hx, shape), self._weights())


class LSTMCell(_CellBase):
    r"""One LSTM step (PyTorch's gate order i, f, g, o), with
    :math:`[i, f, g, o] = W_{ih}x + b_{ih} + W_{hh}h + b_{hh}`:

    .. math:: c' = \sigma(f)\odot c + \sigma(i)\odot\tanh(g),\qquad
              h' = \sigma(o)\odot\tanh(c').

    Derivative along the cell state: :math:`\partial c'/\partial c = \mathrm{diag}(\sigma(f))`
    — additive, no weight matrix and no squashing: the path that carries gradients far.

    Args:
        input_size: features of the input :math:`x`.
        hidden_size: features of the hidden state :math:`h` (H).
        bias: learn ``bias_ih`` and ``bias_hh`` (default True).
        dtype: floating dtype of the parameters (default: ``cr.get_default_dtype()``).
        generator: a ``numpy.random.Generator`` for the initial draw (default: the
            library's generator, ``cr.manual_seed``).

    Shape:
        - Input: ``(batch, input_size)`` or ``(input_size,)``; hx: ``(batch, H)`` or
          ``(H,)``, zeros when omitted. Output: like hx.
        - ``weight_ih``: ``(G·H, input_size)``, ``weight_hh``: ``(G·H, H)``, biases
          ``(G·H,)``; G = 4 (i, f, g, o).

    Initialisation (PyTorch's): every parameter from
    :math:`\mathcal U(-1/\sqrt{H}, 1/\sqrt{H})`.

    ``forward(input, hx=None)`` takes ``hx = (h, c)`` (each like h) and returns ``(h', c')``.

    >>> import chainrule as cr
    >>> from chainrule import nn
    >>> _ = cr.manual_seed(0)
    >>> h, c = nn.LSTMCell(3, 5)(cr.ones(2, 3))
    >>> h.shape, c.shape
    ((2, 5), (2, 5))
    """

    mode = "LSTM"

    def forward(self, input: Any, hx: Any = None) -> tuple[Tensor, Tensor]:
        x, shape = self._input(input)
        if hx is None:
            state = (self._state(x, None, shape), self._state(x, None, shape))
        else:
            if not isinstance(hx, (tuple, list)) or len(hx) != 2:
                raise TypeError(f"{self._who()}: hx must be a pair (h, c), got "
                                f"{type(hx).__name__}")
            state = (self._state(x, hx[0], shape, "h"), self._state(x, hx[1], shape, "c"))
        h, c = step(self.mode, x, state, self._weights())
        return h, c
