r"""Backpropagation through time, measured: :math:`\lVert\partial L/\partial h_t\rVert` at every
time step of a recurrent network.

Unrolled over T steps, a recurrent layer is a chain :math:`h_t = f(h_{t-1}, x_t)`, and the
chain rule carries the gradient back one step at a time,

.. math:: \frac{\partial L}{\partial h_{t-1}} = \frac{\partial L}{\partial h_t}\,
          \frac{\partial h_t}{\partial h_{t-1}} \;(+\text{ the loss's direct terms}),

the same kind of Jacobian once per step. For a tanh RNN it is
:math:`\mathrm{diag}(1-h_t^2)\,W_{hh}`: when its norm is below 1 the gradient that reaches
early steps shrinks geometrically (*vanishes*), above 1 it grows. An LSTM's cell state is
updated additively, :math:`c_t = f_t\odot c_{t-1} + i_t\odot g_t`, so along it the Jacobian
is :math:`\mathrm{diag}(f_t)`: with its forget gates open the gradient crosses many steps.
:func:`gradient_through_time` draws these norms; :func:`step_gradient_norms` computes them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

import chainrule.nn.functional as F
from chainrule.autodiff import backward
from chainrule.nn import Module
from chainrule.nn.recurrent import recording_steps
from chainrule.tensor import Tensor, as_tensor
from chainrule.viz.plots import new_figure, save_figure

#: ``loss_fn(output, targets)``, as :func:`step_gradient_norms` calls it.
LossFunction = Callable[[Tensor, Tensor], Tensor]


def _default_loss(y: Tensor) -> LossFunction:
    """Cross-entropy for integer class targets, mean squared error otherwise."""
    return F.cross_entropy if y.dtype.kind in "iu" else F.mse_loss


def step_gradient_norms(model: Module, x: Any, y: Any, loss_fn: LossFunction | None = None
                        ) -> dict[str, np.ndarray]:
    r""":math:`\lVert\partial L/\partial h_t\rVert` (over the batch and the hidden units) for
    every step t of every recurrent layer and direction inside ``model``.

    ``L = loss_fn(model(x), y)``; a model that returns a tuple (an ``nn.RNN`` itself) is
    scored on its first element. Each hidden state is a node of the unrolled graph, and one
    backward pass returns the gradient at each of them.

    Args:
        model: a Module holding at least one ``nn.RNN``, ``nn.GRU`` or ``nn.LSTM``.
        x, y: a batch and its targets.
        loss_fn: ``loss_fn(output, y)``; default: cross-entropy for integer targets, else
            the mean squared error.

    Returns:
        ``{name: norms}``, norms of shape ``(T,)`` in time order; the name is the layer's
        (``"rnn"``, ``"encoder.lstm"``), with ``" layer k"`` when it has several layers and
        ``" forward"``/``" backward"`` when it is bidirectional. A step the loss does not
        depend on has norm 0.

    Raises:
        ValueError: ``model`` holds no recurrent layer.
    """
    return _norms("step_gradient_norms", model, x, y, loss_fn)


def _norms(op: str, model: Module, x: Any, y: Any, loss_fn: LossFunction | None
           ) -> dict[str, np.ndarray]:
    """:func:`step_gradient_norms`, its errors naming ``op``."""
    x, y = as_tensor(x, op), as_tensor(y, op)
    loss_fn = loss_fn or _default_loss(y)
    with recording_steps(model, op) as tapes:
        out = model(x)
        loss = loss_fn(out[0] if isinstance(out, tuple) else out, y)
    modules = dict(model.named_modules())
    labels, states = [], []
    for name, records in tapes.items():
        layer = modules[name]
        for record in records:
            label = name or type(layer).__name__
            if getattr(layer, "num_layers", 1) > 1:
                label += f" layer {record.layer}"
            if getattr(layer, "bidirectional", False):
                label += " backward" if record.reverse else " forward"
            labels.append((label, len(record.states)))
            states.extend(record.states)
    grads = backward(loss, np.ones_like(loss.data), False, False, targets=states)
    norms: dict[str, np.ndarray] = {}
    start = 0
    for label, steps in labels:
        norms[label] = np.array([0.0 if g is None else float(np.linalg.norm(g))
                                 for g in grads[start:start + steps]])
        start += steps
    return norms


def gradient_through_time(model: Module | Mapping[str, Module], x: Any, y: Any,
                          loss_fn: LossFunction | None = None,
                          path: str | Path | None = None) -> Any:
    r"""Plot :math:`\lVert\partial L/\partial h_t\rVert` against the time step t, on a log
    axis: one curve per recurrent layer and direction (:func:`step_gradient_norms`).

    A straight falling line on the log axis is geometric decay, the vanishing gradient: a
    factor :math:`\lVert\partial h_t/\partial h_{t-1}\rVert < 1` applied once per step.
    Pass several models as ``{"tanh RNN": rnn_model, "LSTM": lstm_model}`` to compare them
    on the same batch.

    Args:
        model: a Module holding an ``nn.RNN``/``nn.GRU``/``nn.LSTM``, or a mapping
            ``{label: model}``.
        x, y: a batch and its targets (the same for every model).
        loss_fn: as :func:`step_gradient_norms`.
        path: where to save the figure (``.png``/``.svg``), or ``None``.

    Returns:
        The Figure.

    Raises:
        ValueError: a model holds no recurrent layer.
    """
    models = dict(model) if isinstance(model, Mapping) else {"": model}
    fig, axes = new_figure(size=(8, 4.8))
    ax = axes[0, 0]
    for title, m in models.items():
        curves = _norms("gradient_through_time", m, x, y, loss_fn)
        for name, norms in curves.items():
            steps = np.arange(1, len(norms) + 1)
            shown = np.where(norms > 0, norms, np.nan)  # log axis: a zero is not drawn
            # a model with one curve is named by its label alone
            label = (f"{title}: {name}" if len(curves) > 1 else title) if title else name
            ax.plot(steps, shown, marker="o", markersize=3, label=label)
    ax.set_yscale("log")
    ax.set_xlabel("time step t (the backward pass runs from right to left)")
    ax.set_ylabel(r"$\|\partial L/\partial h_t\|$ (log scale)")
    ax.set_title(r"Backpropagation through time: the gradient reaching each hidden state")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(loc="best")
    save_figure(fig, path)
    return fig
