"""``chainrule linreg``: the textbook's worked example, without the article's defects."""

from __future__ import annotations

import re

import numpy as np

from chainrule.cli import linreg
from chainrule.cli.main import main


def numpy_gradient_descent(lr: float, epochs: int) -> tuple[float, float]:
    """The textbook's loop written by hand in NumPy, with m defined."""
    x = np.array([1.0, 2.0, 3.0, 4.0])
    y = np.array([2.0, 4.0, 6.0, 8.0])
    m = len(x)
    theta0 = theta1 = 0.0
    for _ in range(epochs):
        h = theta0 + theta1 * x
        grad0 = (h - y).sum() / m
        grad1 = ((h - y) * x).sum() / m
        theta0, theta1 = theta0 - lr * grad0, theta1 - lr * grad1
    return theta0, theta1


def rows(out: str) -> list[list[float]]:
    """The numeric rows of the epoch table."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.split()[:1] == ["epoch"]) + 1
    table = lines[start:lines.index("", start)]
    return [[float(v) for v in line.split()] for line in table]


def test_default_run_prints_final_theta_with_four_decimals(capsys):
    assert main(["linreg"]) == 0
    out = capsys.readouterr().out
    final = re.search(r"final: θ₀ = (\S+), θ₁ = (\S+)", out)
    assert final is not None
    assert final.group(1).startswith("0.1363") and final.group(2).startswith("1.9536")
    assert "converges toward θ₀ = 0, θ₁ = 2" in out


def test_prints_every_hundredth_epoch_not_all_thousand(capsys):
    main(["linreg"])
    epochs = [int(row[0]) for row in rows(capsys.readouterr().out)]
    assert epochs == list(range(0, 1001, 100))


def test_every_flag_sets_the_print_interval_and_keeps_the_last_epoch(capsys):
    main(["linreg", "--epochs", "1000", "--every", "300"])
    epochs = [int(row[0]) for row in rows(capsys.readouterr().out)]
    assert epochs == [0, 300, 600, 900, 1000]


def test_printed_cost_is_one_over_2m_not_one_half(capsys):
    # At θ = 0: Σ(h − y)² = 4 + 16 + 36 + 64 = 120; 1/(2m)·120 = 15, while ½Σ would print 60.
    main(["linreg", "--epochs", "1"])
    first = rows(capsys.readouterr().out)[0]
    assert first == [0.0, 15.0, 0.0, 0.0]


def test_printed_rows_match_a_numpy_reference(capsys):
    main(["linreg", "--epochs", "200", "--every", "100", "--lr", "0.02"])
    table = rows(capsys.readouterr().out)
    for epoch, _, theta0, theta1 in table:
        ref0, ref1 = numpy_gradient_descent(0.02, int(epoch))
        assert abs(theta0 - ref0) < 1e-6 and abs(theta1 - ref1) < 1e-6


def test_first_step_gradient_by_autodiff_matches_the_analytic_one():
    result = linreg.gradient_descent(epochs=1)
    # ∂J/∂θ₀ = 1/m·Σ(0 − y) = −5 and ∂J/∂θ₁ = 1/m·Σ(0 − y)·x = −15 at θ = 0.
    assert result.grad_analytic == (-5.0, -15.0)
    np.testing.assert_allclose(result.grad_autodiff, result.grad_analytic, rtol=0, atol=1e-12)


def test_gradient_check_table_shows_both_gradients_and_their_difference(capsys):
    main(["linreg", "--epochs", "1"])
    out = capsys.readouterr().out
    line = next(row for row in out.splitlines() if row.startswith("∂J/∂θ₁"))
    autodiff, analytic, difference = (float(v) for v in line.split()[1:])
    assert autodiff == analytic == -15.0 and difference == 0.0


def test_analytic_gradient_agrees_with_autodiff_away_from_zero():
    from chainrule.creation import from_numpy, tensor

    theta0 = tensor(0.7, dtype=np.float64, requires_grad=True)
    theta1 = tensor(-1.3, dtype=np.float64, requires_grad=True)
    linreg.cost(theta0, theta1, from_numpy(linreg.X), from_numpy(linreg.Y)).backward()
    np.testing.assert_allclose((theta0.grad.item(), theta1.grad.item()),
                               linreg.analytic_gradient(0.7, -1.3), rtol=1e-12)


def test_learning_rate_flag_is_used():
    theta = linreg.gradient_descent(lr=0.05, epochs=300)
    np.testing.assert_allclose((theta.theta0, theta.theta1), numpy_gradient_descent(0.05, 300),
                               rtol=0, atol=1e-12)


def test_too_large_a_learning_rate_is_reported_as_divergence(capsys):
    assert main(["linreg", "--lr", "1", "--epochs", "500"]) == 0
    out = capsys.readouterr().out
    assert "θ diverges" in out and "converges toward" not in out
    # 2/λ_max of the Hessian [[1, 2.5], [2.5, 7.5]] of J.
    assert f"α < {2 / np.linalg.eigvalsh([[1, 2.5], [2.5, 7.5]]).max():.4f}" in out


def test_just_below_the_stable_learning_rate_still_converges():
    result = linreg.gradient_descent(lr=0.99 * linreg.stable_learning_rate(), epochs=2000)
    assert not result.diverged
    assert abs(result.theta1 - 2) < 1e-2
