"""cr.calculus: derivatives, Taylor coefficients and differentiable integrals."""

from __future__ import annotations

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule.calculus import derivative, integrate, taylor

F64 = np.float64


# ---------------------------------------------------------------- integrate


def test_integral_of_sin_over_zero_to_pi_is_two_in_float64():
    area = integrate(lambda x: x.sin(), 0.0, F64(np.pi))
    assert area.dtype == np.float64
    assert abs(float(area) - 2.0) < 1e-12


def test_integrate_calls_f_once_with_a_1d_tensor_of_nodes():
    calls = []

    def f(x):
        calls.append(x.shape)
        return x * x

    value = integrate(f, F64(-1.0), F64(2.0), n=7)
    assert calls == [(7,)]
    assert abs(float(value) - 3.0) < 1e-12  # ∫₋₁² x² dx = (8 + 1)/3


def test_gauss_legendre_is_exact_for_degree_2n_minus_1_and_not_2n():
    n = 3
    exact_5 = integrate(lambda x: x**5 + x**4, F64(0.0), F64(1.0), n=n)
    assert abs(float(exact_5) - (1 / 6 + 1 / 5)) < 1e-14
    degree_6 = integrate(lambda x: x**6, F64(0.0), F64(1.0), n=n)
    assert abs(float(degree_6) - 1 / 7) > 1e-6  # 6 = 2n: beyond the rule's exactness


def test_derivative_of_integral_wrt_upper_limit_of_t_squared_is_a_squared():
    # d/da ∫₀ᵃ t² dt = a²
    d = cr.grad(lambda a: integrate(lambda t: t**2, 0.0, a))
    for a in (0.5, 1.7, -2.0):
        assert abs(float(d(F64(a))) - a**2) < 1e-12


def test_limits_derivatives_are_f_at_b_and_minus_f_at_a():
    f = lambda x: (x * 0.7).exp() * x.cos()
    f_np = lambda x: np.exp(0.7 * x) * np.cos(x)
    a = cr.tensor(F64(-0.4), requires_grad=True)
    b = cr.tensor(F64(1.3), requires_grad=True)
    integrate(f, a, b).backward()
    assert abs(float(b.grad) - f_np(1.3)) < 1e-12
    assert abs(float(a.grad) + f_np(-0.4)) < 1e-12


def test_integral_is_differentiable_in_a_closed_over_parameter():
    # d/dw ∫₀¹ sin(wx) dx = ∫₀¹ x cos(wx) dx = cos w / w² + sin w / w − 1/w²
    w = cr.tensor(F64(2.0), requires_grad=True)
    integrate(lambda x: (w * x).sin(), 0.0, F64(1.0)).backward()
    expected = math.cos(2) / 4 + math.sin(2) / 2 - 1 / 4
    assert abs(float(w.grad) - expected) < 1e-12


def test_integral_wrt_parameter_matches_central_difference():
    def area(w):
        return integrate(lambda x: (x * w).tanh() / (1 + x * x), 0.0, F64(3.0))

    w0 = F64(0.8)
    analytic = float(cr.grad(area)(w0))
    eps = 1e-6
    numeric = (float(area(w0 + eps)) - float(area(w0 - eps))) / (2 * eps)
    assert abs(analytic - numeric) < 1e-8


def test_fundamental_theorem_derivative_of_running_integral_is_the_integrand():
    # d/dx ∫₀ˣ f(t) dt = f(x)
    f = lambda t: t.sin() * t + 1.0
    running = cr.grad(lambda x: integrate(f, 0.0, x))
    for x in (0.3, 1.0, 2.5):
        assert abs(float(running(F64(x))) - (math.sin(x) * x + 1.0)) < 1e-12


def test_fundamental_theorem_integral_of_derivative_is_the_difference():
    # ∫ₐᵇ f'(x) dx = f(b) − f(a), with f' from autodiff
    f = lambda x: x.exp() * x.sin()
    value = integrate(derivative(f), F64(-1.0), F64(2.0))
    expected = math.exp(2) * math.sin(2) - math.exp(-1) * math.sin(-1)
    assert abs(float(value) - expected) < 1e-12


def test_integrate_of_constant_scalar_result_broadcasts():
    value = integrate(lambda x: cr.tensor(F64(3.0)), F64(1.0), F64(2.5))
    assert abs(float(value) - 4.5) < 1e-14


def test_integrate_python_limits_take_the_dtype_of_numpy_limits():
    # 0.1 is not rounded through float32 when the other limit is float64
    value = integrate(lambda x: x * 0.0 + 1.0, 0.1, F64(1.0))
    assert value.dtype == np.float64
    assert abs(float(value) - 0.9) < 1e-15


def test_integrate_rejects_wrong_shape_and_bad_n():
    with pytest.raises(ValueError, match=r"integrate: f must return one value per node"):
        integrate(lambda x: x.sum().reshape(1), F64(0.0), F64(1.0), n=4)
    with pytest.raises(ValueError, match="integrate: n must be a positive integer"):
        integrate(lambda x: x, 0.0, 1.0, n=0)


# ---------------------------------------------------------------- derivative


@pytest.mark.parametrize("order", [0, 1, 2, 3, 4, 5])
def test_nth_derivative_of_sin_cycles_through_cos_minus_sin_minus_cos(order):
    x = 0.7
    cycle = [math.sin(x), math.cos(x), -math.sin(x), -math.cos(x)]
    value = derivative(lambda t: t.sin(), order)(F64(x))
    assert abs(float(value) - cycle[order % 4]) < 1e-12


@pytest.mark.parametrize("order", [1, 2, 3])
def test_nth_derivative_of_exp_is_exp(order):
    assert abs(float(derivative(lambda t: t.exp(), order)(F64(1.3))) - math.exp(1.3)) < 1e-12


@pytest.mark.parametrize(("order", "expected"), [(1, 3 * 4.0), (2, 6 * 2.0), (3, 6.0), (4, 0.0)])
def test_nth_derivative_of_x_cubed(order, expected):
    assert float(derivative(lambda t: t**3, order)(F64(2.0))) == pytest.approx(expected, abs=1e-12)


def test_derivative_returns_a_function_that_accepts_a_grid_for_elementwise_f():
    xs = np.linspace(-2, 2, 9)
    slope = derivative(lambda t: t.tanh())(xs)
    np.testing.assert_allclose(slope.numpy(), 1 - np.tanh(xs) ** 2, atol=1e-14)


def test_derivative_rejects_negative_order():
    with pytest.raises(ValueError, match="derivative: order must be a non-negative integer"):
        derivative(lambda t: t, -1)


# ---------------------------------------------------------------- taylor


def test_taylor_coefficients_of_exp_at_zero_are_one_over_k_factorial():
    c = taylor(lambda x: x.exp(), F64(0.0), 6)
    np.testing.assert_allclose(c.numpy(), [1 / math.factorial(k) for k in range(7)], atol=1e-15)


def test_taylor_coefficients_of_sin_at_zero_alternate_on_odd_powers():
    c = taylor(lambda x: x.sin(), F64(0.0), 7)
    expected = [0, 1, 0, -1 / 6, 0, 1 / 120, 0, -1 / 5040]
    np.testing.assert_allclose(c.numpy(), expected, atol=1e-15)


def test_taylor_polynomial_approximates_f_near_x0():
    x0, h = 0.5, 0.1
    c = taylor(lambda x: (x + 1.0).log(), F64(x0), 8)
    poly = sum(ck * h**k for k, ck in enumerate(c.numpy()))
    assert abs(poly - math.log1p(x0 + h)) < 1e-10


def test_taylor_coefficients_are_differentiable_in_a_closed_over_parameter():
    # f(x) = exp(w x): c_k = w^k / k!, so dc_2/dw = w
    w = cr.tensor(F64(1.5), requires_grad=True)
    c = taylor(lambda x: (w * x).exp(), F64(0.0), 3)
    c[2].backward()
    assert abs(float(w.grad) - 1.5) < 1e-12
