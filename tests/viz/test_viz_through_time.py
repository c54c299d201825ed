"""cr.viz.gradient_through_time and step_gradient_norms: ‖∂L/∂h_t‖ per time step, checked
against PyTorch's retained gradients of an unrolled cell; a tanh RNN's gradient vanishes
over 40 steps where an LSTM with open forget gates keeps it."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from viz_helpers import assert_image

import chainrule as cr
from chainrule import nn

pytest.importorskip("matplotlib")


class LastStep(nn.Module):
    """A recurrent layer read at its last step by a linear head: the loss reaches the early
    steps only through the recurrence."""

    def __init__(self, kind: str, hidden: int = 32, forget_bias: float | None = None,
                 **kwargs) -> None:
        super().__init__()
        self.rnn = getattr(nn, kind)(1, hidden, batch_first=True, **kwargs)
        self.head = nn.Linear(hidden * (2 if kwargs.get("bidirectional") else 1), 10)
        if forget_bias is not None:  # the LSTM's second gate block, in bias_ih_l0
            with cr.no_grad():
                self.rnn.bias_ih_l0[hidden:2 * hidden] = forget_bias

    def forward(self, x):
        out, _ = self.rnn(x.reshape(x.shape[0], -1, 1))
        return self.head(out[:, -1])


def _batch(n: int = 16, steps: int = 40, seed: int = 0):
    rng = np.random.default_rng(seed)
    return (cr.tensor(rng.standard_normal((n, steps)).astype(np.float32)),
            cr.tensor(rng.integers(0, 10, n)))


def test_norms_are_torchs_retained_gradients_of_the_unrolled_cell():
    cr.set_default_dtype("float64")
    cr.manual_seed(0)
    model = LastStep("RNN", hidden=5)
    x, y = _batch(n=4, steps=12)
    x = cr.tensor(x.numpy().astype(np.float64))
    (norms,) = cr.viz.step_gradient_norms(model, x, y).values()

    cell = torch.nn.RNNCell(1, 5).double()
    cell.load_state_dict({k[:-3]: torch.tensor(v.numpy())
                          for k, v in model.rnn.state_dict().items()})
    head = torch.nn.Linear(5, 10).double()
    head.load_state_dict({k: torch.tensor(v.numpy()) for k, v in model.head.state_dict().items()})
    h = torch.zeros(4, 5, dtype=torch.float64)
    states = []
    for t in range(12):
        h = cell(torch.tensor(x.numpy()[:, t:t + 1]), h)
        h.retain_grad()
        states.append(h)
    torch.nn.functional.cross_entropy(head(h), torch.tensor(y.numpy())).backward()
    expected = [float(s.grad.norm()) for s in states]
    np.testing.assert_allclose(norms, expected, rtol=1e-10)


def test_a_tanh_rnn_loses_the_gradient_an_lstm_with_open_forget_gates_keeps():
    cr.manual_seed(0)
    x, y = _batch()
    (rnn,) = cr.viz.step_gradient_norms(LastStep("RNN"), x, y).values()
    (lstm,) = cr.viz.step_gradient_norms(LastStep("LSTM", forget_bias=3.0), x, y).values()
    assert rnn.shape == lstm.shape == (40,)
    # geometric decay: each step back multiplies by about the same factor < 1
    assert rnn[0] < 1e-6 * rnn[-1]
    assert np.all(np.diff(np.log(rnn)) > 0)
    assert lstm[0] > 1e-2 * lstm[-1]


def test_every_layer_and_direction_gets_a_curve():
    cr.manual_seed(0)
    model = LastStep("GRU", hidden=4, num_layers=2, bidirectional=True)
    norms = cr.viz.step_gradient_norms(model, *_batch(n=3, steps=6))
    assert list(norms) == ["rnn layer 0 forward", "rnn layer 0 backward",
                           "rnn layer 1 forward", "rnn layer 1 backward"]
    # the head reads step 6 only: the backward direction of the top layer computes it
    # first, so its later-computed states (t < 6) never reach the loss
    assert np.all(norms["rnn layer 1 backward"][:-1] == 0)
    assert np.all(norms["rnn layer 1 forward"] > 0)
    assert all(np.all(np.isfinite(v)) and v.shape == (6,) for v in norms.values())
    assert all(v[-1] > 0 for v in norms.values())


def test_the_plot_has_a_log_axis_a_curve_per_model_and_saves(tmp_path):
    cr.manual_seed(0)
    x, y = _batch()
    models = {"tanh RNN": LastStep("RNN"), "LSTM": LastStep("LSTM", forget_bias=3.0)}
    fig = cr.viz.gradient_through_time(models, x, y, path=tmp_path / "bptt.png")
    ax = fig.axes[0]
    assert ax.get_yscale() == "log"
    assert [line.get_label() for line in ax.get_lines()] == ["tanh RNN", "LSTM"]
    assert ax.get_xlabel().startswith("time step t") and "h_t" in ax.get_ylabel()
    assert ax.get_title()
    assert_image(tmp_path / "bptt.png")
    fig = cr.viz.gradient_through_time(LastStep("GRU", bidirectional=True), x, y)
    assert [line.get_label() for line in fig.axes[0].get_lines()] == [
        "rnn forward", "rnn backward"]


def test_a_model_without_a_recurrent_layer_is_refused_and_recording_stops():
    with pytest.raises(ValueError, match="^gradient_through_time: Sequential holds no "
                       "nn.RNN, nn.GRU or nn.LSTM$"):
        cr.viz.gradient_through_time(nn.Sequential(nn.Linear(40, 10)), *_batch())
    model = LastStep("RNN", hidden=3)
    with pytest.raises(ValueError):
        cr.viz.step_gradient_norms(model, cr.ones(2, 40), cr.tensor([0, 1, 2]))
    assert model.rnn._tape is None
