"""The one finite-difference implementation that gradcheck, the op-table check and the
finite-difference plot share: its truncation error, its rounding, its shapes."""

from __future__ import annotations

import numpy as np
import pytest

from chainrule.checking import (
    backward_difference,
    central_difference,
    forward_difference,
    partial_difference,
)


def _quadratic(xs: list[np.ndarray]) -> float:
    """f(x, y) = xᵀAx + 3·Σy² − 2·Σx: ∂f/∂x = (A + Aᵀ)x − 2, ∂f/∂y = 6y."""
    x, y = xs
    a = np.array([[1.0, 2.0], [-1.0, 0.5]])
    return float(x @ a @ x + 3 * np.sum(y * y) - 2 * np.sum(x))


def test_central_difference_is_exact_on_a_quadratic_up_to_rounding():
    # The third derivative of a quadratic is 0, so only the rounding ε·|f|/h remains.
    x, y = np.array([0.3, -1.2]), np.array([[2.0, -0.5, 1.0]])
    a = np.array([[1.0, 2.0], [-1.0, 0.5]])
    gx, gy = central_difference(_quadratic, [x, y], eps=1e-3)
    np.testing.assert_allclose(gx, (a + a.T) @ x - 2, rtol=0, atol=1e-11)
    np.testing.assert_allclose(gy, 6 * y, rtol=0, atol=1e-11)


def test_one_sided_differences_are_exact_on_a_line_but_not_on_a_quadratic():
    x = [np.array([0.7, -2.0])]
    line = lambda xs: float(np.dot([3.0, -1.5], xs[0]) + 4.0)  # noqa: E731
    for difference in (forward_difference, backward_difference):
        np.testing.assert_allclose(difference(line, x, 1e-3)[0], [3.0, -1.5], rtol=0, atol=1e-10)
    # On x² the one-sided error is exactly ±h: (x ± h)² − x² over ±h is 2x ± h.
    square = lambda xs: float(np.sum(xs[0] ** 2))  # noqa: E731
    np.testing.assert_allclose(forward_difference(square, x, 1e-3)[0], 2 * x[0] + 1e-3, atol=1e-9)
    np.testing.assert_allclose(backward_difference(square, x, 1e-3)[0], 2 * x[0] - 1e-3, atol=1e-9)


def test_central_error_shrinks_like_h_squared_on_sin():
    x = np.array([0.4, 1.0, 2.5])
    exact = np.cos(x)
    errors = []
    for h in (1e-2, 1e-3):
        [g] = central_difference(lambda xs: np.sin(xs[0]), [x], eps=h)
        errors.append(np.abs(np.diagonal(g) - exact))
    ratio = errors[0] / errors[1]
    assert np.all((ratio > 90) & (ratio < 110)), ratio  # h/10 → error/100
    # ... and the leading term is h²/6 · f''' = −h²/6 · cos x
    np.testing.assert_allclose(errors[0], (1e-2) ** 2 / 6 * np.abs(np.cos(x)), rtol=1e-3)


def test_forward_error_shrinks_like_h_on_sin():
    x = [np.array([0.4, 1.0])]
    errors = [np.abs(forward_difference(lambda xs: np.sin(xs[0]).sum(), x, h)[0] - np.cos(x[0]))
              for h in (1e-2, 1e-3)]
    ratio = errors[0] / errors[1]
    assert np.all((ratio > 9) & (ratio < 11)), ratio


def test_vector_valued_output_gives_input_shape_then_output_shape():
    x, w = np.arange(6.0).reshape(2, 3) / 10, np.array([1.0, -2.0, 0.5])
    func = lambda xs: np.stack([xs[0] @ xs[1], np.tanh(xs[0]).sum(axis=1)])  # noqa: E731
    gx, gw = central_difference(func, [x, w])
    assert gx.shape == (2, 3, 2, 2) and gw.shape == (3, 2, 2)
    # ∂(x @ w)[i]/∂x[i, j] = w[j]; ∂ tanh-row-sum[i]/∂x[i, j] = 1 − tanh²(x[i, j])
    for i in range(2):
        for j in range(3):
            np.testing.assert_allclose(gx[i, j, 0, i], w[j], atol=1e-9)
            np.testing.assert_allclose(gx[i, j, 1, i], 1 - np.tanh(x[i, j]) ** 2, atol=1e-9)
            np.testing.assert_allclose(gw[j, 0, i], x[i, j], atol=1e-9)
    np.testing.assert_array_equal(partial_difference(func, [x, w], 1), gw)


def test_scalar_input_and_scalar_output():
    [g] = central_difference(lambda xs: float(np.exp(xs[0])), [np.float64(0.5)], eps=1e-5)
    assert g.shape == ()
    assert g == pytest.approx(np.exp(0.5), rel=1e-9)


def test_empty_input_has_an_empty_derivative():
    gx, gy = central_difference(lambda xs: xs[1] * 2, [np.ones((0, 2)), np.ones(2)])
    assert gx.shape == (0, 2) and gy.shape == (2, 2)


def test_inputs_are_copied_to_float64_and_left_untouched():
    x = np.array([1.0, 2.0], dtype=np.float32)
    seen = []
    [g] = central_difference(lambda xs: seen.append(xs[0].dtype) or float(xs[0].sum()), [x])
    assert set(seen) == {np.dtype(np.float64)}
    np.testing.assert_array_equal(x, np.array([1.0, 2.0], dtype=np.float32))
    np.testing.assert_allclose(g, [1.0, 1.0], atol=1e-9)


def test_one_sided_stencils_evaluate_the_unshifted_point_once():
    calls = []
    forward_difference(lambda xs: calls.append(1) or float(xs[0].sum()), [np.zeros(4)])
    assert len(calls) == 4 + 1


def test_an_output_that_changes_shape_between_steps_is_an_error():
    shapes = iter([(2,), (2,), (3,), (3,)])  # element 0's two steps agree, element 1's differ
    with pytest.raises(ValueError, match="same shape"):
        central_difference(lambda xs: np.zeros(next(shapes)), [np.zeros(2)])
