"""The textbook's regularisation terms, exactly λ/(2m)·Σ|θ| and λ/(2m)·Σθ²."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn

THETA = [np.array([[0.5, -1.5], [2.0, 0.0]]), np.array([-3.0, 0.25])]


def _params() -> list[cr.Tensor]:
    return [cr.tensor(t, requires_grad=True) for t in THETA]


@pytest.mark.parametrize("lam,m", [(1.0, 4), (0.1, 150), (0.0, 1)])
def test_l1_penalty_is_lambda_over_2m_times_sum_of_abs(lam: float, m: int) -> None:
    params = _params()
    value = F.l1_penalty(params, lam, m)
    expected = lam / (2 * m) * sum(np.abs(t).sum() for t in THETA)
    assert value.item() == pytest.approx(expected, rel=1e-15)
    value.backward()
    for p, t in zip(params, THETA):
        np.testing.assert_allclose(p.grad.numpy(), lam / (2 * m) * np.sign(t), rtol=1e-15)


@pytest.mark.parametrize("lam,m", [(1.0, 4), (0.1, 150)])
def test_l2_penalty_is_lambda_over_2m_times_sum_of_squares(lam: float, m: int) -> None:
    params = _params()
    value = F.l2_penalty(params, lam, m)
    expected = lam / (2 * m) * sum((t**2).sum() for t in THETA)
    assert value.item() == pytest.approx(expected, rel=1e-15)
    value.backward()
    for p, t in zip(params, THETA):  # derivative λ/m·θ: what weight_decay = λ/m adds
        np.testing.assert_allclose(p.grad.numpy(), lam / m * t, rtol=1e-15)


def test_l1_penalty_gradient_at_zero_is_zero() -> None:
    theta = cr.tensor([0.0], dtype="float64", requires_grad=True)
    F.l1_penalty([theta], 1.0, 1).backward()
    assert theta.grad.tolist() == [0.0]


def test_penalties_accept_model_parameters_and_a_single_tensor() -> None:
    layer = nn.Linear(3, 2)
    total = sum(float((p.numpy().astype(np.float64) ** 2).sum()) for p in layer.parameters())
    assert F.l2_penalty(layer.parameters(), 2.0, 5).item() == pytest.approx(total / 5, rel=1e-6)
    assert F.l1_penalty(cr.tensor([-2.0, 2.0]), 1.0, 1).item() == 2.0


def test_regularised_textbook_cost() -> None:
    # J(θ) = 1/(2m)·Σ(h−y)² + λ/(2m)·Σθ², with h = θ₀ + θ₁x on the textbook's data
    x, y = cr.tensor([1.0, 2.0, 3.0, 4.0]), cr.tensor([2.0, 4.0, 6.0, 8.0])
    theta0 = cr.tensor(0.5, requires_grad=True)
    theta1 = cr.tensor(1.5, requires_grad=True)
    h = theta0 + theta1 * x
    m, lam = 4, 0.3
    J = F.mse_loss(h, y) / 2 + F.l2_penalty([theta0, theta1], lam, m)
    residual = 0.5 + 1.5 * np.arange(1, 5) - 2 * np.arange(1, 5)
    expected = (residual**2).sum() / (2 * m) + lam / (2 * m) * (0.5**2 + 1.5**2)
    assert J.item() == pytest.approx(expected, rel=1e-6)
    J.backward()
    assert theta1.grad.item() == pytest.approx(
        (residual * np.arange(1, 5)).sum() / m + lam / m * 1.5, rel=1e-6)


def test_penalty_argument_errors() -> None:
    with pytest.raises(ValueError, match="l2_penalty: m, the number of training examples"):
        F.l2_penalty(_params(), 1.0, 0)
    with pytest.raises(ValueError, match=r"l1_penalty: lam \(λ\) must be non-negative"):
        F.l1_penalty(_params(), -1.0, 3)
    with pytest.raises(ValueError, match="l2_penalty: params is empty"):
        F.l2_penalty(iter([]), 1.0, 3)
