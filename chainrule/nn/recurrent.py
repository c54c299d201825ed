r"""Recurrent layers over whole sequences: ``RNN``, ``GRU``, ``LSTM``, with PyTorch's
arguments (``num_layers``, ``bias``, ``batch_first``, ``dropout``, ``bidirectional``),
parameter names (``weight_ih_l0``, ``weight_hh_l0``, ``bias_ih_l0``, ``bias_hh_l0``,
``…_reverse``), layouts, gate order and initialisation. One step's equations are in
:mod:`chainrule.nn.functional.recurrent`; the layer runs them over time, layer after layer.

:func:`recording_steps` lets a caller keep every step's hidden state as a graph node (what
``cr.viz.gradient_through_time`` differentiates the loss with respect to).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from chainrule import ops as _ops
from chainrule._config import default_generator, is_grad_enabled
from chainrule.errors import shape_str
from chainrule.nn.functional._checks import _check_number
from chainrule.nn.functional.recurrent import GATES, StepStates, Weights, layers, split_steps
from chainrule.nn.module import Module
from chainrule.nn.parameter import Parameter
from chainrule.nn.recurrent_cells import (
    check_features,
    check_size,
    check_state,
    float_dtype,
    uniform_init,
    zeros_state,
)
from chainrule.tensor import Tensor, as_tensor

__all__ = ["GRU", "LSTM", "RNN", "recording_steps"]

_STATE_MEANING = {True: "(num_layers·num_directions, batch, hidden_size)",
                  False: "(num_layers·num_directions, hidden_size)"}


class _RNNBase(Module):
    """What RNN, GRU and LSTM share: the parameters of every layer and direction, the
    checks, and the loop over layers (the mode says which step)."""

    mode = ""
    input_size: int
    hidden_size: int
    num_layers: int
    bias: bool
    batch_first: bool
    dropout: float
    bidirectional: bool
    #: while :func:`recording_steps` is active: where forward puts each step's hidden state
    _tape: list[StepStates] | None = None

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, dtype: Any = None,
                 generator: np.random.Generator | None = None) -> None:
        super().__init__()
        name = type(self).__name__
        self.input_size = check_size(name, "input_size", input_size, least=0)
        self.hidden_size = check_size(name, "hidden_size", hidden_size)
        self.num_layers = check_size(name, "num_layers", num_layers)
        _check_number(name, "dropout", dropout)
        if not 0.0 <= dropout <= 1.0:
            raise ValueError(f"{name}: dropout must be a probability in [0, 1], got {dropout}")
        if dropout > 0 and self.num_layers == 1:
            # PyTorch's warning: there is no layer after the only one to drop out before
            warnings.warn(f"{name}: dropout={dropout} acts between layers, after every one but "
                          "the last; with num_layers=1 it does nothing", UserWarning,
                          stacklevel=2)
        self.bias, self.batch_first = bool(bias), bool(batch_first)
        self.dropout, self.bidirectional = float(dropout), bool(bidirectional)
        dtype = float_dtype(name, dtype)
        gates = GATES[self.mode] * self.hidden_size
        for layer in range(self.num_layers):
            n_in = self.input_size if layer == 0 else self.hidden_size * self._directions
            for suffix in self._suffixes(layer):
                setattr(self, f"weight_ih{suffix}", Parameter(np.empty((gates, n_in), dtype)))
                setattr(self, f"weight_hh{suffix}",
                        Parameter(np.empty((gates, self.hidden_size), dtype)))
                if self.bias:
                    setattr(self, f"bias_ih{suffix}", Parameter(np.empty((gates,), dtype)))
                    setattr(self, f"bias_hh{suffix}", Parameter(np.empty((gates,), dtype)))
        self.reset_parameters(generator)

    @property
    def _directions(self) -> int:
        return 2 if self.bidirectional else 1

    def _suffixes(self, layer: int) -> list[str]:
        return [f"_l{layer}", f"_l{layer}_reverse"][:self._directions]

    def reset_parameters(self, generator: np.random.Generator | None = None) -> None:
        r"""Redraw every parameter from :math:`\mathcal U(-1/\sqrt{H}, 1/\sqrt{H})`, layer
        by layer and direction by direction (``weight_ih``, ``weight_hh``, ``bias_ih``,
        ``bias_hh`` each)."""
        uniform_init(self, self.hidden_size, generator)

    def flatten_parameters(self) -> None:
        """Does nothing: PyTorch packs the weights for cuDNN here; there is no such buffer."""

    def _weights(self) -> list[Weights]:
        p = self._parameters
        return [Weights(p[f"weight_ih{s}"], p[f"weight_hh{s}"], p.get(f"bias_ih{s}"),
                        p.get(f"bias_hh{s}"))
                for layer in range(self.num_layers) for s in self._suffixes(layer)]

    def _who(self) -> str:
        return f"{type(self).__name__}({self.input_size}, {self.hidden_size})"

    def _input(self, input: Any) -> tuple[Tensor, int, tuple[int, ...]]:
        """The checked input, its time axis and the shape of the initial state."""
        who = self._who()
        x = as_tensor(input, who)
        if x.ndim not in (2, 3):
            raise ValueError(f"{who}: expected a 2-D (unbatched: sequence, features) or 3-D "
                             f"(batched) input, got shape {shape_str(x.shape)}")
        batched = x.ndim == 3
        time_axis = 1 if batched and self.batch_first else 0
        check_features(who, x, self.input_size, (*x.shape[:-1], self.input_size))
        if x.shape[time_axis] == 0:
            raise ValueError(f"{who}: input of shape {shape_str(x.shape)} has no time steps")
        rows = self.num_layers * self._directions
        shape = (rows, x.shape[1 - time_axis], self.hidden_size) if batched else (
            rows, self.hidden_size)
        return x, time_axis, shape

    def _initial(self, x: Tensor, hx: Any, shape: tuple[int, ...], name: str) -> list[Any]:
        """The initial state of each layer and direction: rows of ``hx``, or zeros."""
        if hx is None:
            zeros = zeros_state(x, self._parameters["weight_hh_l0"], shape[1:])
            return [zeros] * shape[0]
        hx = check_state(self._who(), name, hx, shape, _STATE_MEANING[len(shape) == 3])
        if hx.requires_grad and is_grad_enabled():
            return [hx[k] for k in range(shape[0])]
        return list(hx.data)

    def _run(self, x: Tensor, time_axis: int, states: list[Any]) -> tuple[Tensor, list[Any]]:
        runs, finals = layers(self.mode, split_steps(x, time_axis), states, self._weights(),
                              self.num_layers, self.bidirectional, self.dropout,
                              self.training, default_generator(), self._tape)
        outputs = [_ops.stack(hs, axis=time_axis) for hs in runs]
        if len(outputs) == 1:
            return outputs[0], finals
        return _ops.concatenate(*outputs, axis=outputs[0].ndim - 1), finals

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if not self.bias:
            s += ", bias=False"
        if self.batch_first:
            s += ", batch_first=True"
        if self.dropout:
            s += f", dropout={self.dropout}"
        if self.bidirectional:
            s += ", bidirectional=True"
        return s


class _SingleState(_RNNBase):
    """RNN and GRU: the state is one tensor, ``h``."""

    def forward(self, input: Any, hx: Any = None) -> tuple[Tensor, Tensor]:
        x, time_axis, shape = self._input(input)
        output, finals = self._run(x, time_axis, self._initial(x, hx, shape, "hx"))
        return output, _ops.stack(finals, axis=0)


_ARGS = r"""
    Args:
        input_size: features of the input :math:`x_t`.
        hidden_size: features of the hidden state :math:`h_t` (H).
        num_layers: recurrent layers stacked, each reading the one below's output.
        bias: learn ``bias_ih_l{k}`` and ``bias_hh_l{k}`` (default True).
        batch_first: the input and output are ``(batch, seq, feature)`` rather than
            ``(seq, batch, feature)`` (the states keep ``(layers, batch, H)``).
        dropout: dropout probability on the output of every layer but the last, in
            training mode.
        bidirectional: run each layer a second time, backwards over the sequence
            (``…_reverse`` parameters), and join both outputs (2H features).
        dtype: floating dtype of the parameters (default: ``cr.get_default_dtype()``).
        generator: a ``numpy.random.Generator`` for the initial draw (default: the
            library's generator, ``cr.manual_seed``).
"""

_SHAPE = r"""
    Shape (D = 2 if bidirectional else 1, L = num_layers, G = GATES):
        - input: ``(seq, batch, input_size)``, ``(batch, seq, input_size)`` with
          ``batch_first``, or unbatched ``(seq, input_size)``.
        - output: the last layer's :math:`h_t` at every step, ``(seq, batch, D·H)`` (the
          input's layout).
        - states: ``(D·L, batch, H)`` (``(D·L, H)`` unbatched), zeros when omitted.
        - ``weight_ih_l0``: ``(G·H, input_size)``, ``weight_ih_l{k}``: ``(G·H, D·H)`` above,
          ``weight_hh_l{k}``: ``(G·H, H)``, biases ``(G·H,)``.

    Initialisation (PyTorch's): every parameter from
    :math:`\mathcal U(-1/\sqrt{H}, 1/\sqrt{H})`.
"""


class RNN(_SingleState):
    __doc__ = r"""Elman RNN over a sequence: :math:`h_t = \tanh(W_{ih}x_t + b_{ih} + W_{hh}h_{t-1} +
    b_{hh})` (or ReLU), layer after layer; ``forward(input, hx=None)`` returns
    ``(output, h_n)``.

    Backpropagation through time multiplies the gradient by
    :math:`\partial h_t/\partial h_{t-1} = \mathrm{diag}(1-h_t^2)\,W_{hh}` once per step, so
    it vanishes (or explodes) geometrically over long sequences.
    """ + _ARGS + r"""        nonlinearity: ``"tanh"`` (default) or ``"relu"``.
    """ + _SHAPE.replace("GATES", "1 gate block") + r"""

    >>> import chainrule as cr
    >>> from chainrule import nn
    >>> _ = cr.manual_seed(0)
    >>> rnn = nn.RNN(3, 5, num_layers=2)
    >>> output, h_n = rnn(cr.ones(7, 4, 3))
    >>> output.shape, h_n.shape
    ((7, 4, 5), (2, 4, 5))
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 nonlinearity: str = "tanh", bias: bool = True, batch_first: bool = False,
                 dropout: float = 0.0, bidirectional: bool = False, dtype: Any = None,
                 generator: np.random.Generator | None = None) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        self.nonlinearity = nonlinearity
        self.mode = "RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU"
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, dtype, generator)

    def extra_repr(self) -> str:
        s = super().extra_repr()
        return s if self.nonlinearity == "tanh" else f"{s}, nonlinearity={self.nonlinearity}"


class GRU(_SingleState):
    __doc__ = r"""Gated recurrent unit over a sequence (PyTorch's gate order r, z, n;
    the step is :class:`chainrule.nn.GRUCell`'s), layer after layer; ``forward(input,
    hx=None)`` returns ``(output, h_n)``.

    :math:`h_t = (1-z_t)\odot n_t + z_t\odot h_{t-1}`: where the update gate :math:`z_t` is
    near 1 the state, and its gradient, pass through the step unchanged.
    """ + _ARGS + _SHAPE.replace("GATES", "3 gate blocks r, z, n") + r"""

    >>> import chainrule as cr
    >>> from chainrule import nn
    >>> _ = cr.manual_seed(0)
    >>> gru = nn.GRU(1, 6, batch_first=True, bidirectional=True)
    >>> output, h_n = gru(cr.ones(4, 40, 1))
    >>> output.shape, h_n.shape
    ((4, 40, 12), (2, 4, 6))
    """

    mode = "GRU"


class LSTM(_RNNBase):
    __doc__ = r"""Long short-term memory over a sequence (PyTorch's gate order i, f, g, o;
    the step is :class:`chainrule.nn.LSTMCell`'s), layer after layer; ``forward(input,
    hx=None)`` takes ``hx = (h_0, c_0)`` and returns ``(output, (h_n, c_n))``.

    The cell state is updated additively, :math:`c_t = \sigma(f_t)\odot c_{t-1} +
    \sigma(i_t)\odot\tanh(g_t)`, so :math:`\partial c_t/\partial c_{t-1} =
    \mathrm{diag}(\sigma(f_t))`: with the forget gate open the gradient crosses many steps.
    """ + _ARGS + _SHAPE.replace("GATES", "4 gate blocks i, f, g, o") + r"""
    ``c_0`` and ``c_n`` have the shapes of ``h_0`` and ``h_n``.

    >>> import chainrule as cr
    >>> from chainrule import nn
    >>> _ = cr.manual_seed(0)
    >>> lstm = nn.LSTM(3, 5)
    >>> output, (h_n, c_n) = lstm(cr.ones(7, 4, 3))
    >>> output.shape, h_n.shape, c_n.shape
    ((7, 4, 5), (1, 4, 5), (1, 4, 5))
    """

    mode = "LSTM"

    def forward(self, input: Any, hx: Any = None) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        x, time_axis, shape = self._input(input)
        if hx is None:
            hs = cs = self._initial(x, None, shape, "h_0")
        else:
            if not isinstance(hx, (tuple, list)) or len(hx) != 2:
                raise TypeError(f"{self._who()}: hx must be a pair (h_0, c_0), got "
                                f"{type(hx).__name__}")
            hs = self._initial(x, hx[0], shape, "h_0")
            cs = self._initial(x, hx[1], shape, "c_0")
        output, finals = self._run(x, time_axis, list(zip(hs, cs)))
        h_n = _ops.stack([h for h, _ in finals], axis=0)
        c_n = _ops.stack([c for _, c in finals], axis=0)
        return output, (h_n, c_n)


@contextmanager
def recording_steps(model: Module, op: str = "recording_steps"
                    ) -> Iterator[dict[str, list[StepStates]]]:
    """While active, every ``RNN``/``GRU``/``LSTM`` inside ``model`` keeps the hidden state
    of each step, per layer and direction, as graph nodes: ``{module name: [StepStates]}``,
    filled by each forward pass (``""`` names ``model`` itself).

    Raises:
        ValueError: ``model`` holds no recurrent layer (the message names ``op``).
    """
    found = [(name, m) for name, m in model.named_modules() if isinstance(m, _RNNBase)]
    if not found:
        raise ValueError(f"{op}: {type(model).__name__} holds no nn.RNN, nn.GRU or nn.LSTM")
    tapes: dict[str, list[StepStates]] = {name: [] for name, _ in found}
    try:
        for name, m in found:
            m._tape = tapes[name]
        yield tapes
    finally:
        for _, m in found:
            m._tape = None
