"""Linear (init, forward/backward vs torch, errors), Sequential, MLP, Dropout and the
activation modules."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn

# ---------------------------------------------------------------- Linear


def test_linear_parameter_shapes_and_dtype() -> None:
    layer = nn.Linear(3, 5)
    assert layer.weight.shape == (5, 3) and layer.bias.shape == (5,)
    assert layer.weight.dtype == np.float32 and isinstance(layer.weight, nn.Parameter)
    assert layer.weight.requires_grad and layer.bias.requires_grad
    assert nn.Linear(3, 5, dtype="float64").weight.dtype == np.float64


def test_linear_init_is_uniform_within_one_over_sqrt_fan_in() -> None:
    cr.manual_seed(0)
    layer = nn.Linear(400, 300, dtype="float64")
    bound = 1 / math.sqrt(400)
    w = layer.weight.numpy()
    assert np.abs(w).max() <= bound and np.abs(layer.bias.numpy()).max() <= bound
    # U(−b, b): mean 0, variance b²/3, and it fills the interval
    assert abs(w.mean()) < 0.01 * bound
    assert w.var() == pytest.approx(bound**2 / 3, rel=0.02)
    assert w.min() < -0.99 * bound and w.max() > 0.99 * bound
    bias = nn.Linear(400, 3000, dtype="float64").bias.numpy()
    assert bias.var() == pytest.approx(bound**2 / 3, rel=0.1)


def test_linear_init_bound_equals_torch_kaiming_uniform_a_sqrt5() -> None:
    # PyTorch's Linear draws the weight with kaiming_uniform_(a=√5): the same bound
    fan_in = 37
    t_gain = torch.nn.init.calculate_gain("leaky_relu", math.sqrt(5))
    torch_bound = t_gain * math.sqrt(3.0 / fan_in)
    assert torch_bound == pytest.approx(1 / math.sqrt(fan_in), rel=1e-15)
    w = nn.Parameter(np.zeros((10000, fan_in)))
    nn.init.kaiming_uniform_(w, a=math.sqrt(5), generator=np.random.default_rng(0))
    assert np.abs(w.numpy()).max() <= torch_bound
    assert np.abs(w.numpy()).max() > 0.999 * torch_bound


def test_linear_init_is_deterministic_under_manual_seed() -> None:
    cr.manual_seed(42)
    a = nn.Linear(4, 3)
    cr.manual_seed(42)
    b = nn.Linear(4, 3)
    np.testing.assert_array_equal(a.weight.numpy(), b.weight.numpy())
    np.testing.assert_array_equal(a.bias.numpy(), b.bias.numpy())
    c = nn.Linear(4, 3)
    assert not np.array_equal(a.weight.numpy(), c.weight.numpy())


def test_linear_explicit_generator_is_used_and_default_untouched() -> None:
    cr.manual_seed(1)
    expected_next = np.random.default_rng(1).random()
    a = nn.Linear(4, 3, generator=np.random.default_rng(5))
    b = nn.Linear(4, 3, generator=np.random.default_rng(5))
    np.testing.assert_array_equal(a.weight.numpy(), b.weight.numpy())
    assert cr._config.default_generator().random() == expected_next


def test_linear_forward_and_backward_equal_torch_with_copied_weights() -> None:
    layer = nn.Linear(3, 2, dtype="float64")
    t_layer = torch.nn.Linear(3, 2, dtype=torch.float64)
    with torch.no_grad():
        t_layer.weight.copy_(torch.tensor(layer.weight.numpy()))
        t_layer.bias.copy_(torch.tensor(layer.bias.numpy()))
    x = np.random.default_rng(0).normal(size=(4, 3))
    xc = cr.tensor(x, requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    out, t_out = layer(xc), t_layer(xt)
    np.testing.assert_allclose(out.numpy(), t_out.detach().numpy(), rtol=1e-12)
    (out**2).sum().backward()
    (t_out**2).sum().backward()
    for mine, theirs in ((layer.weight, t_layer.weight), (layer.bias, t_layer.bias), (xc, xt)):
        np.testing.assert_allclose(mine.grad.numpy(), theirs.grad.numpy(), rtol=1e-12)


def test_linear_without_bias() -> None:
    layer = nn.Linear(3, 2, bias=False)
    assert layer.bias is None
    assert [n for n, _ in layer.named_parameters()] == ["weight"]
    assert repr(layer) == "Linear(in_features=3, out_features=2, bias=False)"
    np.testing.assert_allclose(layer(cr.ones(3)).numpy(), layer.weight.numpy().sum(axis=1),
                               rtol=1e-6)


def test_linear_shape_error_names_the_layer_and_the_algebra() -> None:
    layer = nn.Linear(3, 5)
    with pytest.raises(ValueError) as info:
        layer(cr.ones(4, 2))
    assert str(info.value) == (
        "Linear(in_features=3, out_features=5): input of shape (4, 2) has 2 features, "
        "expected 3"
    )


def test_linear_rejects_bad_sizes() -> None:
    with pytest.raises(ValueError, match="Linear: in_features must be a non-negative int"):
        nn.Linear(-1, 2)


# ---------------------------------------------------------------- Sequential and MLP


def test_sequential_indexing_len_iteration_and_names() -> None:
    relu = nn.ReLU()
    net = nn.Sequential(nn.Linear(2, 3), relu, nn.Linear(3, 1))
    assert len(net) == 3 and net[1] is relu and net[-1] is list(net)[2]
    assert [n for n, _ in net.named_parameters()] == ["0.weight", "0.bias", "2.weight", "2.bias"]
    head = net[:2]
    assert isinstance(head, nn.Sequential) and len(head) == 2 and head[0] is net[0]
    with pytest.raises(IndexError, match="Sequential: index 3 is out of range"):
        net[3]


def test_sequential_forward_composes_in_order() -> None:
    net = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1))
    x = cr.tensor([[0.5, -1.0]])
    expected = net[2](F.tanh(net[0](x)))
    np.testing.assert_array_equal(net(x).numpy(), expected.numpy())


def test_sequential_rejects_functions() -> None:
    with pytest.raises(TypeError, match="Sequential: entry '1' is a function, not an nn.Module"):
        nn.Sequential(nn.Linear(2, 2), F.relu)


@pytest.mark.parametrize("activation,cls", [
    ("relu", nn.ReLU), ("sigmoid", nn.Sigmoid), ("tanh", nn.Tanh),
    ("leaky_relu", nn.LeakyReLU), ("gelu", nn.GELU), ("softplus", nn.Softplus),
])
def test_mlp_puts_the_activation_between_layers_and_none_after_the_last(
        activation: str, cls: type) -> None:
    mlp = nn.MLP([2, 8, 4, 1], activation=activation)
    kinds = [type(m) for m in mlp]
    assert kinds == [nn.Linear, cls, nn.Linear, cls, nn.Linear]
    assert [(m.in_features, m.out_features) for m in mlp if isinstance(m, nn.Linear)] == [
        (2, 8), (8, 4), (4, 1)]
    assert list(mlp.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias",
                                      "4.weight", "4.bias"]
    assert mlp(cr.ones(5, 2)).shape == (5, 1)


def test_mlp_rejects_unknown_activation_and_short_sizes() -> None:
    with pytest.raises(ValueError, match="MLP: unknown activation 'swish'"):
        nn.MLP([2, 1], activation="swish")
    with pytest.raises(ValueError, match="MLP: sizes needs at least"):
        nn.MLP([2])


def test_mlp_matches_torch_sequential_with_copied_weights() -> None:
    mlp = nn.MLP([3, 5, 2], activation="gelu", dtype="float64")
    t_mlp = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.GELU(),
                                torch.nn.Linear(5, 2)).double()
    t_mlp.load_state_dict({k: torch.tensor(v.numpy()) for k, v in mlp.state_dict().items()})
    x = np.random.default_rng(2).normal(size=(4, 3))
    np.testing.assert_allclose(mlp(x).numpy(), t_mlp(torch.tensor(x)).detach().numpy(),
                               rtol=1e-12)


def test_mlp_repr_reads_like_torch() -> None:
    assert repr(nn.MLP([2, 3, 1])) == (
        "MLP(\n"
        "  (0): Linear(in_features=2, out_features=3, bias=True)\n"
        "  (1): ReLU()\n"
        "  (2): Linear(in_features=3, out_features=1, bias=True)\n"
        ")"
    )


# ---------------------------------------------------------------- Dropout and activations


def test_dropout_module_drops_in_train_and_is_identity_in_eval() -> None:
    layer = nn.Dropout(0.5, generator=np.random.default_rng(0))
    x = cr.ones(1000)
    out = layer(x).numpy()
    assert set(np.unique(out)) == {0.0, 2.0}
    assert layer.eval() is layer and not layer.training
    np.testing.assert_array_equal(layer(x).numpy(), x.numpy())


def test_eval_switches_every_descendant() -> None:
    net = nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.Dropout(0.9)))
    net.eval()
    assert all(not m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())


@pytest.mark.parametrize("module,f", [
    (nn.ReLU(), F.relu), (nn.Sigmoid(), F.sigmoid), (nn.Tanh(), F.tanh),
    (nn.LeakyReLU(0.2), lambda x: F.leaky_relu(x, 0.2)),
    (nn.GELU("tanh"), lambda x: F.gelu(x, "tanh")),
    (nn.Softplus(beta=2.0, threshold=3.0), lambda x: F.softplus(x, 2.0, 3.0)),
])
def test_activation_module_equals_its_function(module: nn.Module, f) -> None:
    x = cr.tensor([-3.0, -0.5, 0.0, 0.5, 3.0])
    np.testing.assert_array_equal(module(x).numpy(), f(x).numpy())


def test_activation_module_reprs_match_torch() -> None:
    pairs = [(nn.LeakyReLU(), torch.nn.LeakyReLU()), (nn.GELU(), torch.nn.GELU()),
             (nn.ReLU(), torch.nn.ReLU()), (nn.Identity(), torch.nn.Identity()),
             (nn.Softplus(), torch.nn.Softplus())]
    for mine, theirs in pairs:
        assert repr(mine) == repr(theirs)


def test_identity_returns_its_input() -> None:
    x = cr.tensor([1.0])
    assert nn.Identity(3, foo=1)(x) is x


def test_layer_call_records_a_named_scope_for_graph_drawings() -> None:
    net = nn.Sequential(nn.Linear(2, 2))
    out = net(cr.tensor([[1.0, 2.0]]))
    assert out.grad_fn.scope[:2] == ("Sequential", "0: Linear")


# ---------------------------------------------------------------- nn.init


@pytest.mark.parametrize("name,param", [("linear", None), ("sigmoid", None), ("tanh", None),
                                        ("relu", None), ("leaky_relu", None),
                                        ("leaky_relu", 0.2), ("selu", None)])
def test_calculate_gain_matches_torch(name: str, param: float | None) -> None:
    assert nn.init.calculate_gain(name, param) == pytest.approx(
        torch.nn.init.calculate_gain(name, param), rel=1e-15)


def test_fan_in_and_fan_out_match_torch_for_a_conv_shaped_weight() -> None:
    shape = (8, 3, 5, 5)
    fans = nn.init.fan_in_and_fan_out(nn.Parameter(np.zeros(shape)))
    assert fans == torch.nn.init._calculate_fan_in_and_fan_out(torch.zeros(shape))


def test_xavier_and_kaiming_draws_have_the_documented_spread() -> None:
    rng = np.random.default_rng(0)
    w = nn.Parameter(np.zeros((300, 500)))
    nn.init.xavier_uniform_(w, generator=rng)
    bound = math.sqrt(6 / 800)
    assert np.abs(w.numpy()).max() <= bound and w.numpy().var() == pytest.approx(
        bound**2 / 3, rel=0.02)
    nn.init.kaiming_normal_(w, nonlinearity="relu", generator=rng)
    assert w.numpy().std() == pytest.approx(math.sqrt(2 / 500), rel=0.02)
    nn.init.xavier_normal_(w, gain=2.0, generator=rng)
    assert w.numpy().std() == pytest.approx(2.0 * math.sqrt(2 / 800), rel=0.02)


def test_init_fills_in_place_and_refuses_integer_tensors() -> None:
    w = nn.Parameter(np.zeros((2, 2)))
    data = w.data
    assert nn.init.ones_(w) is w and w.data is data and w.tolist() == [[1.0, 1.0], [1.0, 1.0]]
    with pytest.raises(TypeError, match="uniform_: can only fill floating tensors"):
        nn.init.uniform_(cr.tensor([1, 2]))
