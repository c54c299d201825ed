"""nn.RNN, nn.GRU, nn.LSTM and their cells against PyTorch (float64, weights copied by name):
outputs, final states, every parameter's and the input's gradient, over layers, layouts,
directions, bias and initial states; second order; dropout; names, initialisation, errors."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule import nn

RTOL, ATOL = 1e-10, 1e-12
MODES = ("RNN", "GRU", "LSTM")
LAYERS = ("RNN", "RNN_relu", "GRU", "LSTM")


def _pair(kind: str, *args, **kwargs):
    """A chainrule layer and its PyTorch twin with the chainrule layer's weights."""
    cr.set_default_dtype("float64")
    name, _, act = kind.partition("_")
    if act:
        kwargs["nonlinearity"] = act
    ours = getattr(nn, name)(*args, **kwargs)
    theirs = getattr(torch.nn, name)(*args, **kwargs).double()
    theirs.load_state_dict({k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()})
    return ours, theirs


def _flat(out) -> list:
    """The tensors of ``(output, h_n)`` / ``(output, (h_n, c_n))`` / a cell's result."""
    if isinstance(out, (tuple, list)):
        return [t for part in out for t in _flat(part)]
    return [out]


def _loss(outs: list, weights: list):
    total = 0
    for out, w in zip(outs, weights):
        total = total + (out * (torch.tensor(w) if isinstance(out, torch.Tensor)
                                else cr.tensor(w))).sum()
    return total


def _compare(ours, theirs, inputs: list) -> None:
    """Values of every output, and the gradients of a random weighting of them with
    respect to every parameter and every input that requires grad."""
    xs = [cr.tensor(a, requires_grad=True) if a is not None else None for a in inputs]
    ts = [torch.tensor(a, requires_grad=True) if a is not None else None for a in inputs]
    out, t_out = ours(*_structure(xs)), theirs(*_structure(ts))
    outs, t_outs = _flat(out), _flat(t_out)
    assert [o.shape for o in outs] == [tuple(t.shape) for t in t_outs]
    for o, t in zip(outs, t_outs):
        np.testing.assert_allclose(o.numpy(), t.detach().numpy(), rtol=RTOL, atol=ATOL)
    rng = np.random.default_rng(1)
    weights = [rng.standard_normal(o.shape) for o in outs]
    _loss(outs, weights).backward()
    _loss(t_outs, weights).backward()
    reference = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), reference[name].grad.numpy(), rtol=RTOL,
                                   atol=ATOL, err_msg=name)
    for i, (x, t) in enumerate(zip(xs, ts)):
        if x is not None:
            np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=RTOL, atol=ATOL,
                                       err_msg=f"input {i}")


def _structure(xs: list) -> list:
    """(input,), (input, hx) or, for LSTM, (input, (h_0, c_0))."""
    if len(xs) == 3:
        return [xs[0], (xs[1], xs[2])]
    return [x for x in xs if x is not None] if xs[-1] is None else xs


# ---------------------------------------------------------------- sequence layers

CONFIGS = [dict(num_layers=n, batch_first=bf, bidirectional=bi, bias=bias)
           for n, bf, bi, bias in itertools.product((1, 2), (False, True), (False, True),
                                                    (True, False))
           if bias or (n == 2 and bi)]


@pytest.mark.parametrize("kind", LAYERS)
@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: "-".join(
    f"{k}={int(v)}" for k, v in c.items()))
def test_sequence_layer_matches_torch(kind, config):
    ours, theirs = _pair(kind, 3, 4, **config)
    rng = np.random.default_rng(0)
    shape = (5, 6, 3) if config["batch_first"] else (6, 5, 3)
    _compare(ours, theirs, [rng.standard_normal(shape), None])


@pytest.mark.parametrize("kind", LAYERS)
@pytest.mark.parametrize("batch_first", (False, True))
def test_initial_states_receive_their_gradients(kind, batch_first):
    ours, theirs = _pair(kind, 3, 4, num_layers=2, bidirectional=True,
                         batch_first=batch_first)
    rng = np.random.default_rng(2)
    x = rng.standard_normal((5, 6, 3))
    states = [rng.standard_normal((4, 5 if batch_first else 6, 4))
              for _ in range(2 if kind == "LSTM" else 1)]
    _compare(ours, theirs, [x, *states])


@pytest.mark.parametrize("kind", LAYERS)
def test_unbatched_input_is_a_sequence_of_vectors(kind):
    ours, theirs = _pair(kind, 3, 4, num_layers=2, bidirectional=True, batch_first=True)
    rng = np.random.default_rng(3)
    states = [rng.standard_normal((4, 4)) for _ in range(2 if kind == "LSTM" else 1)]
    _compare(ours, theirs, [rng.standard_normal((7, 3)), *states])
    output, _ = ours(cr.tensor(rng.standard_normal((7, 3))))
    assert output.shape == (7, 8)


def test_input_that_needs_no_gradient_still_trains_the_weights():
    ours, theirs = _pair("GRU", 2, 3, batch_first=True)
    x = np.random.default_rng(4).standard_normal((4, 5, 2))
    out, t_out = ours(cr.tensor(x))[0], theirs(torch.tensor(x))[0]
    (out * out).sum().backward()
    (t_out * t_out).sum().backward()
    np.testing.assert_allclose(ours.weight_ih_l0.grad.numpy(),
                               theirs.weight_ih_l0.grad.numpy(), rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("kind", MODES)
def test_parameter_names_and_shapes_are_torchs(kind):
    ours, theirs = _pair(kind, 3, 5, num_layers=2, bidirectional=True, bias=True)
    assert [(k, v.shape) for k, v in ours.state_dict().items()] == [
        (k, tuple(v.shape)) for k, v in theirs.state_dict().items()]
    ours, theirs = _pair(kind, 3, 5, num_layers=2, bias=False)
    assert list(ours.state_dict()) == list(theirs.state_dict())


@pytest.mark.parametrize("kind", MODES)
def test_initialisation_is_uniform_within_one_over_root_hidden(kind):
    cr.manual_seed(0)
    layer = getattr(nn, kind)(3, 16, num_layers=2)
    values = np.concatenate([p.numpy().ravel() for p in layer.parameters()])
    bound = 1 / math.sqrt(16)
    assert values.dtype == np.float32
    assert np.abs(values).max() <= bound
    assert np.abs(values).max() > 0.95 * bound and abs(values.mean()) < 0.05 * bound


def test_repr_shows_the_arguments_like_torch():
    for kind, kwargs in [("GRU", dict(batch_first=True, bidirectional=True)),
                         ("LSTM", dict(num_layers=2, dropout=0.5, bias=False)),
                         ("RNN", dict(batch_first=True)), ("GRUCell", dict(bias=False)),
                         ("RNNCell", dict(nonlinearity="relu"))]:
        assert repr(getattr(nn, kind)(1, 6, **kwargs)) == repr(
            getattr(torch.nn, kind)(1, 6, **kwargs))
    # PyTorch's RNN leaves its nonlinearity out of the repr (its RNNCell shows it)
    assert repr(nn.RNN(1, 6, nonlinearity="relu")) == "RNN(1, 6, nonlinearity=relu)"


def test_dropout_acts_between_layers_in_training_only():
    cr.set_default_dtype("float64")
    cr.manual_seed(0)
    with_dropout = nn.GRU(3, 4, num_layers=2, dropout=0.5)
    plain = nn.GRU(3, 4, num_layers=2)
    plain.load_state_dict(with_dropout.state_dict())
    x = cr.tensor(np.random.default_rng(5).standard_normal((6, 2, 3)))
    with_dropout.eval()
    np.testing.assert_array_equal(with_dropout(x)[0].numpy(), plain(x)[0].numpy())
    with_dropout.train()
    assert not np.allclose(with_dropout(x)[0].numpy(), plain(x)[0].numpy())


def test_dropout_with_one_layer_warns_as_torch_does():
    with pytest.warns(UserWarning, match="num_layers=1"):
        nn.LSTM(3, 4, dropout=0.2)


def test_second_derivatives_of_a_tiny_gru_pass_gradcheck():
    # gradcheck of a gradient: the backward pass through every step is itself differentiated
    cr.set_default_dtype("float64")
    cr.manual_seed(0)
    gru = nn.GRU(2, 2, bidirectional=True)
    rng = np.random.default_rng(6)
    x, h0 = rng.standard_normal((3, 1, 2)), rng.standard_normal((2, 1, 2))

    def loss(x, h0):
        out, h_n = gru(x, h0)
        return (out * out).sum() + h_n.sin().sum()

    def gradient(x, h0):
        gx, gh = cr.grad(loss, argnums=(0, 1))(x, h0)
        return cr.concatenate([gx.reshape(-1), gh.reshape(-1)])

    assert cr.gradcheck(gradient, (x, h0))


def test_lstm_hessian_vector_product_matches_torch():
    ours, theirs = _pair("LSTM", 2, 3)
    rng = np.random.default_rng(8)
    x, v = rng.standard_normal((4, 2, 2)), rng.standard_normal((4, 2, 2))

    def loss(x):
        return (ours(x)[0] ** 2).sum()

    hv = cr.grad(lambda x: (cr.grad(loss)(x) * cr.tensor(v)).sum())(cr.tensor(x))
    xt = torch.tensor(x, requires_grad=True)
    (gt,) = torch.autograd.grad((theirs(xt)[0] ** 2).sum(), xt, create_graph=True)
    (hvt,) = torch.autograd.grad((gt * torch.tensor(v)).sum(), xt)
    np.testing.assert_allclose(hv.numpy(), hvt.numpy(), rtol=1e-9, atol=1e-11)


def test_float32_layers_compute_in_float32():
    cr.manual_seed(0)
    gru = nn.GRU(1, 6, batch_first=True, bidirectional=True)
    out, h_n = gru(cr.ones(4, 40, 1))
    assert out.dtype == np.float32 and h_n.dtype == np.float32
    (out.sum() + h_n.sum()).backward()
    assert all(p.grad.dtype == np.float32 for p in gru.parameters())


def test_no_grad_records_nothing():
    cr.manual_seed(0)
    lstm = nn.LSTM(2, 3)
    with cr.no_grad():
        out, (h_n, c_n) = lstm(cr.ones(5, 1, 2))
    assert not out.requires_grad and not h_n.requires_grad and not c_n.requires_grad


# ---------------------------------------------------------------- cells

CELLS = ("RNNCell", "RNNCell_relu", "GRUCell", "LSTMCell")


@pytest.mark.parametrize("kind", CELLS)
@pytest.mark.parametrize("bias", (True, False))
@pytest.mark.parametrize("batched", (True, False))
@pytest.mark.parametrize("state", (True, False))
def test_cell_matches_torch(kind, bias, batched, state):
    ours, theirs = _pair(kind, 3, 4, bias=bias)
    rng = np.random.default_rng(10)
    lead = (5,) if batched else ()
    inputs = [rng.standard_normal((*lead, 3))]
    if state:
        inputs += [rng.standard_normal((*lead, 4)) for _ in range(2 if "LSTM" in kind else 1)]
    else:
        inputs.append(None)
    _compare(ours, theirs, inputs)


@pytest.mark.parametrize("kind", ("RNNCell", "GRUCell", "LSTMCell"))
def test_cell_parameter_names_are_torchs(kind):
    ours, theirs = _pair(kind, 3, 4)
    assert list(ours.state_dict()) == list(theirs.state_dict())


def test_a_cell_unrolled_equals_the_layer():
    cr.set_default_dtype("float64")
    cr.manual_seed(0)
    layer, cell = nn.LSTM(3, 4), nn.LSTMCell(3, 4)
    cell.load_state_dict({k[:-3]: v for k, v in layer.state_dict().items()})
    x = cr.tensor(np.random.default_rng(11).standard_normal((6, 2, 3)))
    output, (h_n, c_n) = layer(x)
    h = c = cr.zeros(2, 4, dtype="float64")
    for t in range(6):
        h, c = cell(x[t], (h, c))
        np.testing.assert_allclose(h.numpy(), output[t].numpy(), rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(c.numpy(), c_n[0].numpy(), rtol=1e-14, atol=1e-15)


# ---------------------------------------------------------------- errors


@pytest.mark.parametrize("kind", MODES)
def test_wrong_feature_size_names_the_layer_and_both_shapes(kind):
    layer = getattr(nn, kind)(3, 4, batch_first=True)
    with pytest.raises(ValueError) as info:
        layer(cr.ones(2, 5, 7))
    message = str(info.value)
    assert "\n" not in message
    assert message == (f"{kind}(3, 4): input of shape (2, 5, 7) has 7 features, expected 3 "
                       "(input_size), i.e. shape (2, 5, 3)")


def test_hidden_state_of_the_wrong_shape_names_the_layer_and_both_shapes():
    gru = nn.GRU(3, 4, num_layers=2)
    with pytest.raises(ValueError, match=r"^GRU\(3, 4\): hx of shape \(1, 5, 4\) does not fit, "
                       r"expected \(2, 5, 4\) = \(num_layers·num_directions, batch, "
                       r"hidden_size\)$"):
        gru(cr.ones(6, 5, 3), cr.zeros(1, 5, 4))
    lstm = nn.LSTM(3, 4, bidirectional=True)
    with pytest.raises(ValueError, match=r"LSTM\(3, 4\): c_0 of shape \(2, 3, 4\) does not "
                       r"fit, expected \(2, 5, 4\)"):
        lstm(cr.ones(6, 5, 3), (cr.zeros(2, 5, 4), cr.zeros(2, 3, 4)))
    with pytest.raises(ValueError, match=r"hx of shape \(1, 1, 4\) does not fit, expected "
                       r"\(1, 4\) = \(num_layers·num_directions, hidden_size\)"):
        nn.RNN(3, 4)(cr.ones(6, 3), cr.zeros(1, 1, 4))
    with pytest.raises(TypeError, match=r"LSTM\(3, 4\): hx must be a pair \(h_0, c_0\)"):
        nn.LSTM(3, 4)(cr.ones(6, 5, 3), cr.zeros(1, 5, 4))


def test_cell_errors_name_the_cell_and_both_shapes():
    with pytest.raises(ValueError, match=r"^GRUCell\(3, 4\): input of shape \(5, 2\) has 2 "
                       r"features, expected 3 \(input_size\), i.e. shape \(5, 3\)$"):
        nn.GRUCell(3, 4)(cr.ones(5, 2))
    with pytest.raises(ValueError, match=r"^RNNCell\(3, 4\): hx of shape \(4, 4\) does not "
                       r"fit, expected \(5, 4\) = \(batch, hidden_size\)$"):
        nn.RNNCell(3, 4)(cr.ones(5, 3), cr.zeros(4, 4))
    with pytest.raises(ValueError, match=r"LSTMCell\(3, 4\): c of shape \(5, 3\)"):
        nn.LSTMCell(3, 4)(cr.ones(5, 3), (cr.zeros(5, 4), cr.zeros(5, 3)))


def test_other_bad_arguments_are_refused_with_one_line():
    with pytest.raises(ValueError, match=r"expected a 2-D \(unbatched: sequence, features\) or "
                       r"3-D \(batched\) input, got shape \(3,\)"):
        nn.GRU(3, 4)(cr.ones(3))
    with pytest.raises(ValueError, match=r"input of shape \(0, 2, 3\) has no time steps"):
        nn.GRU(3, 4)(cr.ones(0, 2, 3))
    with pytest.raises(ValueError, match="RNN: nonlinearity must be 'tanh' or 'relu'"):
        nn.RNN(3, 4, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="GRU: hidden_size must be a positive int, got 0"):
        nn.GRU(3, 0)
    with pytest.raises(ValueError, match=r"LSTM: dropout must be a probability in \[0, 1\]"):
        nn.LSTM(3, 4, num_layers=2, dropout=1.5)
    with pytest.raises(ValueError, match=r"GRUCell\(3, 4\): expected a 1-D"):
        nn.GRUCell(3, 4)(cr.ones(2, 2, 3))
