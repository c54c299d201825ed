"""Activations, linear and dropout in chainrule.nn.functional against PyTorch."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from nn_oracle import compare_with_torch

import chainrule as cr
import chainrule.nn.functional as F

RNG = np.random.default_rng(1234)
X = RNG.normal(size=(6, 5)) * 4  # spans both sides of every kink and the softplus threshold
X[0, :4] = [0.0, -0.0, 20.0, 5.0]  # the kink, the threshold itself

ACTIVATIONS = {
    "sigmoid": (F.sigmoid, torch.sigmoid),
    "tanh": (F.tanh, torch.tanh),
    "relu": (F.relu, torch.relu),
    "leaky_relu": (F.leaky_relu, TF.leaky_relu),
    "leaky_relu_0.2": (lambda x: F.leaky_relu(x, 0.2), lambda x: TF.leaky_relu(x, 0.2)),
    "softplus": (F.softplus, TF.softplus),
    "softplus_beta": (lambda x: F.softplus(x, beta=2.0, threshold=5.0),
                      lambda x: TF.softplus(x, beta=2.0, threshold=5.0)),
    "gelu": (F.gelu, TF.gelu),
    "gelu_tanh": (lambda x: F.gelu(x, approximate="tanh"),
                  lambda x: TF.gelu(x, approximate="tanh")),
    "softmax": (F.softmax, lambda x: TF.softmax(x, dim=-1)),
    "softmax_axis0": (lambda x: F.softmax(x, axis=0), lambda x: TF.softmax(x, dim=0)),
    "log_softmax": (F.log_softmax, lambda x: TF.log_softmax(x, dim=-1)),
    "log_softmax_axis0": (lambda x: F.log_softmax(x, axis=0),
                          lambda x: TF.log_softmax(x, dim=0)),
}


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation_value_and_gradient_match_torch(name: str) -> None:
    f, tf = ACTIVATIONS[name]
    compare_with_torch(f, tf, [X])


EXTREMES = np.array([-1e4, -1e3, -60.0, -1.0, 0.0, 1.0, 60.0, 1e3, 1e4])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation_is_finite_and_silent_at_1e4(name: str, dtype: str) -> None:
    f, tf = ACTIVATIONS[name]
    x = cr.tensor(EXTREMES.astype(dtype), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = f(x)
        out.sum().backward()
    assert np.isfinite(out.numpy()).all() and np.isfinite(x.grad.numpy()).all()
    expected = tf(torch.tensor(EXTREMES.astype(dtype))).numpy()
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-5, atol=1e-6)


def test_relu_grad_at_zero_is_zero_and_leaky_relu_grad_at_zero_is_slope() -> None:
    x = cr.tensor([0.0, 0.0], dtype="float64", requires_grad=True)
    (F.relu(x[:1]).sum() + F.leaky_relu(x[1:], 0.3).sum()).backward()
    assert x.grad.tolist() == [0.0, 0.3]


def test_activations_keep_float32() -> None:
    x = cr.tensor([-1.0, 2.0])
    for name, (f, _) in ACTIVATIONS.items():
        assert f(x).dtype == np.float32, name


def test_activations_accept_lists_and_arrays() -> None:
    assert F.relu([-1.0, 2.0]).tolist() == [0.0, 2.0]
    assert F.sigmoid(np.zeros(2)).tolist() == [0.5, 0.5]


def test_gelu_rejects_unknown_approximation() -> None:
    with pytest.raises(ValueError, match="gelu: approximate must be 'none' or 'tanh'"):
        F.gelu(cr.tensor([1.0]), approximate="fast")


def test_activation_second_derivative_matches_torch() -> None:
    # the composites are built from primitives, so their backward is differentiable too
    for f, tf in (ACTIVATIONS["gelu"], ACTIVATIONS["softplus"], ACTIVATIONS["leaky_relu"]):
        x = cr.tensor(X[1], requires_grad=True)
        d2 = cr.grad(lambda v: cr.grad(lambda u: f(u).sum())(v).sum())(x)
        t = torch.tensor(X[1], requires_grad=True)
        (g,) = torch.autograd.grad(tf(t).sum(), t, create_graph=True)
        (t_d2,) = torch.autograd.grad(g.sum(), t)
        np.testing.assert_allclose(d2.numpy(), t_d2.numpy(), rtol=1e-10, atol=1e-12)


# ---------------------------------------------------------------- linear


def test_linear_matches_torch_with_and_without_bias() -> None:
    x, w, b = RNG.normal(size=(4, 3)), RNG.normal(size=(2, 3)), RNG.normal(size=(2,))
    compare_with_torch(F.linear, TF.linear, [x, w, b])
    compare_with_torch(F.linear, TF.linear, [x, w])
    compare_with_torch(F.linear, TF.linear, [RNG.normal(size=(2, 5, 3)), w, b])


def test_linear_shape_error_names_both_shapes() -> None:
    with pytest.raises(ValueError, match=r"linear: input of shape \(4, 2\) has 2 features, "
                                         r"but weight of shape \(5, 3\) expects 3"):
        F.linear(cr.ones(4, 2), cr.ones(5, 3))


# ---------------------------------------------------------------- dropout


def test_dropout_zeroes_about_p_and_scales_survivors() -> None:
    x = cr.ones(200, 100, dtype="float64")
    out = F.dropout(x, p=0.3, generator=np.random.default_rng(0)).numpy()
    kept = out != 0
    assert abs(1 - kept.mean() - 0.3) < 0.01
    np.testing.assert_array_equal(out[kept], 1 / 0.7)


def test_dropout_gradient_is_the_scaled_mask() -> None:
    x = cr.tensor(RNG.normal(size=(50,)), requires_grad=True)
    out = F.dropout(x, p=0.5, generator=np.random.default_rng(3))
    out.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), (out.numpy() != 0) * 2.0)


def test_dropout_is_identity_when_not_training_or_p_zero() -> None:
    x = cr.tensor([1.0, 2.0, 3.0])
    assert F.dropout(x, 0.9, training=False) is x
    assert F.dropout(x, 0.0) is x


def test_dropout_p_one_gives_zeros_without_warning() -> None:
    out = F.dropout(cr.tensor([1.0, 2.0]), p=1.0)
    assert out.tolist() == [0.0, 0.0]


def test_dropout_uses_default_generator_seeded_by_manual_seed() -> None:
    x = cr.ones(1000)
    cr.manual_seed(7)
    first = F.dropout(x, 0.5).numpy()
    cr.manual_seed(7)
    second = F.dropout(x, 0.5).numpy()
    np.testing.assert_array_equal(first, second)
    assert not np.array_equal(first, F.dropout(x, 0.5).numpy())


@pytest.mark.parametrize("p", [-0.1, 1.5])
def test_dropout_rejects_p_outside_unit_interval(p: float) -> None:
    with pytest.raises(ValueError, match=r"dropout: probability p must be in \[0, 1\]"):
        F.dropout(cr.ones(3), p)
