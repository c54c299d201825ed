"""viz.descent_path / plot_descent: optimiser paths over a cost's contours."""

from __future__ import annotations

import numpy as np
import pytest
from viz_helpers import assert_image

import chainrule as cr
from chainrule import optim, viz

pytest.importorskip("matplotlib")


def test_linreg_cost_is_the_textbook_j_on_grids_and_tensors():
    # J(θ₀, θ₁) = 1/(2m) Σ (θ₀ + θ₁x − y)², x = 1..4, y = 2x
    t0, t1 = np.meshgrid([0.0, 1.0], [0.0, 2.0])
    x, y = np.array([1, 2, 3, 4.0]), np.array([2, 4, 6, 8.0])
    expected = [[np.mean((a + b * x - y) ** 2) / 2 for a, b in zip(ra, rb)]
                for ra, rb in zip(t0, t1)]
    np.testing.assert_allclose(viz.linreg_cost(t0, t1), expected)
    # on tensors, autodiff gives the textbook's ∂J/∂θ₀ = (1/m)Σ(h−y), ∂J/∂θ₁ = (1/m)Σ(h−y)x
    g0, g1 = cr.grad(viz.linreg_cost, argnums=(0, 1))(np.float64(0.5), np.float64(1.0))
    h = 0.5 + 1.0 * x
    assert float(g0) == pytest.approx(np.mean(h - y))
    assert float(g1) == pytest.approx(np.mean((h - y) * x))


def test_gd_path_is_the_textbook_update_theta_minus_alpha_grad():
    path = viz.descent_path(viz.linreg_cost, (0.0, 0.0), optimizer="gd", lr=0.01, steps=3)
    assert path.shape == (4, 2)
    x, y = np.array([1, 2, 3, 4.0]), np.array([2, 4, 6, 8.0])
    theta = np.zeros(2)
    for k in range(3):
        h = theta[0] + theta[1] * x
        grad = np.array([np.mean(h - y), np.mean((h - y) * x)])
        theta = theta - 0.01 * grad
        np.testing.assert_allclose(path[k + 1], theta, rtol=1e-12)


def test_optimizers_approach_the_minimum_of_each_cost():
    lin = viz.descent_path(viz.linreg_cost, (0.0, 0.0), optimizer="momentum", lr=0.01, steps=300)
    np.testing.assert_allclose(lin[-1], [0.0, 2.0], atol=0.05)
    rosen = viz.descent_path(viz.rosenbrock, (-1.2, 1.0), optimizer="adam", lr=0.05, steps=1500)
    np.testing.assert_allclose(rosen[-1], [1.0, 1.0], atol=0.05)


def test_descent_path_accepts_an_optimizer_factory_and_matches_the_named_one():
    named = viz.descent_path(viz.rosenbrock, (-1.0, 0.5), optimizer="adam", lr=0.01, steps=5)
    made = viz.descent_path(viz.rosenbrock, (-1.0, 0.5), steps=5,
                            optimizer=lambda params: optim.Adam(params, lr=0.01))
    np.testing.assert_array_equal(named, made)


def test_descent_path_reports_divergence_and_bad_arguments():
    with pytest.raises(ValueError, match="descent_path: the path diverged at step"):
        viz.descent_path(viz.rosenbrock, (-1.2, 1.0), optimizer="gd", lr=0.1, steps=50)
    with pytest.raises(ValueError, match="descent_path: unknown optimizer 'lbfgs'"):
        viz.descent_path(viz.rosenbrock, (0.0, 0.0), optimizer="lbfgs")
    with pytest.raises(ValueError, match="descent_path: start must be two numbers"):
        viz.descent_path(viz.rosenbrock, (0.0, 0.0, 0.0))


def test_plot_descent_draws_contours_and_each_labelled_path(tmp_path):
    paths = {
        name: viz.descent_path(viz.linreg_cost, (0.0, 0.0), optimizer=name, lr=lr, steps=40)
        for name, lr in (("gd", 0.1), ("momentum", 0.01), ("adam", 0.1))
    }
    fig = viz.plot_descent(viz.linreg_cost, paths, minimum=(0, 2), save=tmp_path / "d.png")
    assert_image(tmp_path / "d.png")
    ax = fig.axes[0]
    assert ax.get_xlabel() == "θ₀" and ax.get_ylabel() == "θ₁" and ax.get_title()
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[0] == "minimum"
    assert [label.split(" (")[0] for label in labels[1:]] == ["gd", "momentum", "adam"]
    drawn = [line for line in ax.get_lines() if line.get_label().startswith("gd")]
    np.testing.assert_allclose(drawn[0].get_xydata(), paths["gd"])
    assert len(ax.collections) > 0  # the contour levels


def test_plot_descent_calls_f_on_numpy_grids_and_accepts_a_single_path():
    calls = []

    def bowl(t0, t1):
        calls.append((type(t0), np.shape(t0)))
        return t0**2 + 3 * t1**2

    fig = viz.plot_descent(bowl, [[1.0, 1.0], [0.5, 0.4], [0.1, 0.0]], resolution=50)
    assert calls == [(np.ndarray, (50, 50))]
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()][0].startswith("path")


def test_plot_descent_rejects_paths_of_the_wrong_shape():
    with pytest.raises(ValueError, match=r"plot_descent: a path must be a \(k, 2\) array"):
        viz.plot_descent(viz.rosenbrock, np.zeros((5, 3)))
