r"""Recurrent steps and the loop over time behind ``nn.RNN``, ``nn.GRU``, ``nn.LSTM`` and their
cells. (Internal: PyTorch has no functional form of these layers either.)

One step maps the input :math:`x_t` and the previous state to the next state, PyTorch's
equations and gate order:

* ``RNN_TANH`` / ``RNN_RELU``: :math:`h_t = \tanh(W_{ih}x_t + b_{ih} + W_{hh}h_{t-1} + b_{hh})`
  (or ReLU);
* ``GRU``: :math:`r, z, n` as in :mod:`chainrule.ops.recurrent`,
  :math:`h_t = (1-z)\odot n + z\odot h_{t-1}`;
* ``LSTM``: :math:`c_t = \sigma(f)\odot c_{t-1} + \sigma(i)\odot\tanh(g)`,
  :math:`h_t = \sigma(o)\odot\tanh(c_t)`.

Each step is two ``linear`` nodes (input and hidden gates, each one fused matmul for all the
gates) and the gate arithmetic (one fused node for GRU, two for LSTM; ``add`` and the
activation for the plain RNN). Backpropagation through time is then the ordinary backward
pass over this unrolled graph: :math:`\partial L/\partial h_{t-1}` collects
:math:`(\partial L/\partial h_t)\,\partial h_t/\partial h_{t-1}` — the same Jacobian, once per
step, which is why a plain RNN's gradient shrinks (or grows) geometrically with distance.

Why not one ``linear`` over the whole sequence for the input gates (PyTorch's CPU loop does
that, then unbinds the result per step)? A chainrule node has one output, so taking step
``t`` out of a ``(T, B, gates)`` tensor is a ``getitem`` whose gradient is a zero-filled
``(T, B, gates)`` array: T of them cost O(T²) memory traffic in the backward pass, more than
the per-step matmuls they would save. The steps of the layer below are handed up as a list
for the same reason; the sequence is stacked once, for the output.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from chainrule import batching
from chainrule import ops as _ops
from chainrule._config import is_grad_enabled
from chainrule.autodiff import Traced
from chainrule.tensor import Tensor

#: mode → number of gate blocks in ``weight_ih``/``weight_hh`` (PyTorch's layout).
GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "GRU": 3, "LSTM": 4}


class Weights(NamedTuple):
    """One layer and direction's parameters (biases may be None)."""

    w_ih: Any
    w_hh: Any
    b_ih: Any
    b_hh: Any


def _linear(x: Any, w: Any, b: Any) -> Any:
    return _ops.linear(x, w) if b is None else _ops.linear(x, w, b)


def step(mode: str, x: Any, state: Any, weights: Weights) -> Any:
    r"""One time step: the next state from the input ``x`` ``(*, input_size)`` and
    ``state`` (``h`` of shape ``(*, hidden_size)``, or ``(h, c)`` for LSTM)."""
    w_ih, w_hh, b_ih, b_hh = weights
    gi = _linear(x, w_ih, b_ih)
    if mode == "LSTM":
        h, c = state
        gh = _linear(h, w_hh, b_hh)
        c = _ops.lstm_c(gi, gh, c)
        return _ops.lstm_h(gi, gh, c), c
    gh = _linear(state, w_hh, b_hh)
    if mode == "GRU":
        return _ops.gru_cell(gi, gh, state)
    pre = _ops.add(gi, gh)
    return _ops.tanh(pre) if mode == "RNN_TANH" else _ops.relu(pre)


def direction(mode: str, xs: Sequence[Any], state: Any, weights: Weights, reverse: bool
              ) -> tuple[list[Any], Any]:
    """Run one direction over the steps ``xs``; returns the hidden state of every step (in
    time order) and the final state."""
    hs: list[Any] = [None] * len(xs)
    order = range(len(xs) - 1, -1, -1) if reverse else range(len(xs))
    lstm = mode == "LSTM"
    for t in order:
        state = step(mode, xs[t], state, weights)
        hs[t] = state[0] if lstm else state
    return hs, state


class StepStates(NamedTuple):
    """The hidden states :math:`h_1 … h_T` of one layer and direction, as graph nodes."""

    layer: int
    reverse: bool
    states: list[Tensor]


def layers(mode: str, xs: list[Any], states: list[Any], weights: list[Weights],
           num_layers: int, bidirectional: bool, dropout: float, training: bool,
           generator: np.random.Generator, tape: list[StepStates] | None = None
           ) -> tuple[list[list[Any]], list[Any]]:
    r"""Every layer and direction over the steps ``xs``.

    Args:
        xs: the input of each time step, ``(*, input_size)`` (arrays or Tensors).
        states: the initial state of each layer and direction, in PyTorch's order
            (layer-major: ``l0``, ``l0_reverse``, ``l1``, …).
        weights: the parameters, in the same order.
        dropout: applied to each layer's output but the last's, in training only.
        tape: if given, each layer and direction appends its per-step hidden states.

    Returns:
        The last layer's hidden state at each step, one list per direction, and the final
        state of each layer and direction.
    """
    directions = 2 if bidirectional else 1
    finals = []
    runs: list[list[Any]] = []
    for layer in range(num_layers):
        if layer:
            # the layer below's output: both directions side by side at each step
            xs = runs[0] if directions == 1 else [
                _ops.concatenate(f, b, axis=f.ndim - 1) for f, b in zip(*runs)]
            if dropout > 0 and training:
                xs = _dropout_steps(xs, dropout, generator)
        runs = []
        for d in range(directions):
            k = layer * directions + d
            hs, final = direction(mode, xs, states[k], weights[k], reverse=d == 1)
            runs.append(hs)
            finals.append(final)
            if tape is not None:
                tape.append(StepStates(layer, d == 1, hs))
    return runs, finals


def _dropout_steps(xs: list[Any], p: float, generator: np.random.Generator) -> list[Any]:
    """Inverted dropout on the whole sequence at once: one mask of shape ``(T, *step)``."""
    first = xs[0]
    dtype = first.dtype
    keep = generator.random((len(xs), *first.shape)) >= p
    scale = np.zeros(keep.shape, dtype) if p >= 1 else keep.astype(dtype) / dtype.type(1 - p)
    return [_ops.mul(x, scale[t]) for t, x in enumerate(xs)]


def split_steps(x: Tensor, time_axis: int) -> list[Any]:
    """The input of each time step: views of the array when no gradient must reach ``x``,
    else one ``getitem`` node per step."""
    if isinstance(x, Traced) and (x.requires_grad and is_grad_enabled()
                                  or batching.is_batched(x)):
        index = (slice(None),) * time_axis
        return [x[index + (t,)] for t in range(x.shape[time_axis])]
    data = x.data if isinstance(x, Traced) else np.asarray(x)
    if time_axis:
        data = np.ascontiguousarray(np.moveaxis(data, time_axis, 0))
    return list(data)
