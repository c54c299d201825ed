"""The results chainrule must reach, through the same code paths as ``chainrule linreg`` and
``chainrule train`` (the functions the CLI calls), with fixed seeds."""

from __future__ import annotations

import numpy as np
import pytest

from chainrule.cli import linreg
from chainrule.cli.train import RECIPES, VAL_SPLIT, _hold_out, train_model
from chainrule.data import load_dataset

SEEDS = range(5)


def numpy_gradient_descent(x: np.ndarray, y: np.ndarray, lr: float, epochs: int
                           ) -> tuple[float, float]:
    """The textbook's loop by hand: h = θ₀ + θ₁x, ∂J/∂θ = 1/m·Σ(h − y)·[1, x]."""
    m = len(x)
    theta0 = theta1 = 0.0
    for _ in range(epochs):
        h = theta0 + theta1 * x
        grad0 = np.sum(h - y) / m
        grad1 = np.sum((h - y) * x) / m
        theta0, theta1 = theta0 - lr * grad0, theta1 - lr * grad1
    return theta0, theta1


def mean_score(dataset: str, **overrides: object) -> float:
    return float(np.mean([train_model(dataset, seed=seed, **overrides).score for seed in SEEDS]))


def test_linreg_matches_hand_written_gradient_descent_on_seed_linear():
    (x, y), _ = load_dataset("seed_linear")
    x, y = x.numpy().reshape(-1), y.numpy().reshape(-1)
    np.testing.assert_array_equal(x, linreg.X)  # the CLI fits the dataset's four points
    np.testing.assert_array_equal(y, linreg.Y)
    result = linreg.gradient_descent(lr=0.01, epochs=1000)
    expected = numpy_gradient_descent(x, y, lr=0.01, epochs=1000)
    np.testing.assert_allclose((result.theta0, result.theta1), expected, rtol=0, atol=1e-10)
    assert round(result.theta0, 4) == 0.1363 and round(result.theta1, 4) == 1.9536


def test_digits_default_mlp_reaches_97_percent_test_accuracy():
    assert RECIPES["digits"].hidden  # the default is an MLP, not a linear model
    assert mean_score("digits") >= 0.97


def test_breast_cancer_logistic_regression_reaches_95_percent():
    assert mean_score("breast_cancer", hidden=()) >= 0.95


def test_iris_default_reaches_93_percent():
    assert mean_score("iris") >= 0.93


def least_squares_test_r2(seed: int, rows: np.ndarray | None = None) -> float:
    """Test R² of the exact least-squares fit on the same standardised features + intercept
    (on the training ``rows`` only, when given)."""
    (X, y), (X_test, y_test) = load_dataset("diabetes", seed=seed)
    if rows is not None:
        X, y = X[rows], y[rows]
    design = np.c_[X.numpy().astype(np.float64), np.ones(len(X))]
    theta, *_ = np.linalg.lstsq(design, y.numpy().astype(np.float64).reshape(-1), rcond=None)
    pred = np.c_[X_test.numpy().astype(np.float64), np.ones(len(X_test))] @ theta
    target = y_test.numpy().astype(np.float64).reshape(-1)
    return 1.0 - np.sum((target - pred) ** 2) / np.sum((target - target.mean()) ** 2)


@pytest.mark.parametrize("seed", SEEDS)
def test_diabetes_linear_regression_reaches_the_least_squares_r2(seed):
    # trained on the whole training split, as the least-squares fit is (no validation
    # samples held out)
    result = train_model("diabetes", hidden=(), seed=seed, val_split=0.0)
    assert result.sizes == [10, 1] and result.n_train == 353
    assert abs(result.score - least_squares_test_r2(seed)) <= 0.01


@pytest.mark.parametrize("seed", SEEDS)
def test_diabetes_with_validation_held_out_reaches_the_least_squares_r2_of_what_it_trains_on(
        seed):
    kept, _ = _hold_out(None, 353, VAL_SPLIT, seed)
    result = train_model("diabetes", hidden=(), seed=seed)
    assert result.n_train == len(kept) == 282
    assert abs(result.score - least_squares_test_r2(seed, kept)) <= 0.01
