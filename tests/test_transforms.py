"""Function transforms: grad (nested), value_and_grad, vjp, jvp, jacobian, hessian."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr

XS = np.array([-1.3, -0.2, 0.0, 0.7, 2.1])


def _at_each(f, xs=XS):
    return np.array([float(f(cr.tensor(x, dtype="float64"))) for x in xs])


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


@pytest.mark.parametrize(
    ("name", "f", "d1", "d2"),
    [
        ("sin", lambda x: x.sin(), np.cos, lambda x: -np.sin(x)),
        ("tanh", lambda x: x.tanh(), lambda x: 1 - np.tanh(x) ** 2,
         lambda x: -2 * np.tanh(x) * (1 - np.tanh(x) ** 2)),
        ("sigmoid", lambda x: x.sigmoid(), lambda x: _sigmoid(x) * (1 - _sigmoid(x)),
         lambda x: _sigmoid(x) * (1 - _sigmoid(x)) * (1 - 2 * _sigmoid(x))),
        ("cube", lambda x: x ** 3, lambda x: 3 * x ** 2, lambda x: 6 * x),
    ],
)
def test_grad_of_grad_matches_analytic_second_derivative(name, f, d1, d2):
    np.testing.assert_allclose(_at_each(cr.grad(f)), d1(XS), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(_at_each(cr.grad(cr.grad(f))), d2(XS), rtol=1e-12, atol=1e-14)


def test_third_derivative_of_cube_is_six():
    d3 = cr.grad(cr.grad(cr.grad(lambda x: x ** 3)))
    np.testing.assert_allclose(_at_each(d3), 6.0)


def test_hessian_of_quadratic_form_is_a_plus_a_transpose():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(4, 4))
    x0 = rng.normal(size=4)
    h = cr.hessian(lambda x: x @ cr.tensor(a) @ x)(x0)
    assert h.shape == (4, 4)
    np.testing.assert_allclose(h.data, a + a.T, rtol=1e-12, atol=1e-12)


def test_hessian_matches_torch():
    x0 = np.array([0.3, -0.8, 1.1])

    def f(x):
        return (x.sin() * x).sum() + (x * x).sum().exp() * 0.1

    def tf(x):
        return (x.sin() * x).sum() + (x * x).sum().exp() * 0.1

    expected = torch.autograd.functional.hessian(tf, torch.tensor(x0))
    np.testing.assert_allclose(cr.hessian(f)(x0).data, expected.numpy(), rtol=1e-10)


def test_jacobian_matches_torch():
    rng = np.random.default_rng(1)
    w = rng.normal(size=(3, 4))
    x0 = rng.normal(size=4)
    jac = cr.jacobian(lambda x: (cr.tensor(w) @ x).tanh() * x[:3])(x0)
    expected = torch.autograd.functional.jacobian(
        lambda x: torch.tanh(torch.tensor(w) @ x) * x[:3], torch.tensor(x0))
    assert jac.shape == (3, 4)
    np.testing.assert_allclose(jac.data, expected.numpy(), rtol=1e-12, atol=1e-14)


def test_jacobian_shape_is_out_shape_plus_input_shape_for_each_argnum():
    x0, y0 = np.ones((2, 3)), np.full(3, 2.0)
    jx, jy = cr.jacobian(lambda x, y: x * y, argnums=(0, 1))(x0, y0)
    assert jx.shape == (2, 3, 2, 3) and jy.shape == (2, 3, 3)
    # ∂(x·y)ᵢⱼ/∂yₖ = xᵢⱼ when j = k: y is broadcast over the rows
    np.testing.assert_allclose(jy.data[1, 2], [0.0, 0.0, 1.0])
    np.testing.assert_allclose(jx.data.reshape(6, 6), np.diag(np.tile(y0, 2)))


def _f_two(x, y):
    return (x * y).sin() + x ** 2


def test_jvp_equals_jacobian_times_tangent():
    rng = np.random.default_rng(2)
    x0, y0 = rng.normal(size=3), rng.normal(size=3)
    tx, ty = rng.normal(size=3), rng.normal(size=3)
    out, tangent_out = cr.jvp(_f_two, (x0, y0), (tx, ty))
    jx, jy = cr.jacobian(_f_two, argnums=(0, 1))(x0, y0)
    np.testing.assert_allclose(out.data, _f_two(cr.tensor(x0), cr.tensor(y0)).data)
    np.testing.assert_allclose(tangent_out.data, jx.data @ tx + jy.data @ ty, rtol=1e-12)
    _, expected = torch.autograd.functional.jvp(
        lambda a, b: torch.sin(a * b) + a ** 2,
        (torch.tensor(x0), torch.tensor(y0)), (torch.tensor(tx), torch.tensor(ty)))
    np.testing.assert_allclose(tangent_out.data, expected.numpy(), rtol=1e-12)


def test_vjp_equals_cotangent_times_jacobian_one_entry_per_primal():
    rng = np.random.default_rng(3)
    x0, y0 = rng.normal(size=3), rng.normal(size=3)
    v = rng.normal(size=3)
    out, vjp_fn = cr.vjp(_f_two, x0, y0)
    grads = vjp_fn(v)
    assert isinstance(grads, tuple) and len(grads) == 2
    jx, jy = cr.jacobian(_f_two, argnums=(0, 1))(x0, y0)
    np.testing.assert_allclose(grads[0].data, v @ jx.data, rtol=1e-12)
    np.testing.assert_allclose(grads[1].data, v @ jy.data, rtol=1e-12)
    again = vjp_fn(2 * v)  # vjp_fn can be called repeatedly (the graph is retained)
    np.testing.assert_allclose(again[0].data, 2 * grads[0].data, rtol=1e-12)
    (single,) = cr.vjp(lambda x: x.exp(), x0)[1](v)
    np.testing.assert_allclose(single.data, v * np.exp(x0))


def test_vjp_rejects_a_cotangent_of_the_wrong_shape():
    _, vjp_fn = cr.vjp(lambda x: x * 2.0, np.ones(3))
    with pytest.raises(ValueError, match=r"vjp: cotangent has shape \(2,\).*\(3,\)"):
        vjp_fn(np.ones(2))


def test_value_and_grad_with_int_and_tuple_argnums():
    def f(x, y):
        return (x * x * y).sum()

    x0, y0 = np.array([1.0, 2.0]), np.array([3.0, -1.0])
    value, gy = cr.value_and_grad(f, argnums=1)(x0, y0)
    assert float(value) == pytest.approx(-1.0)  # 3 − 4
    np.testing.assert_allclose(gy.data, x0 ** 2)
    value, grads = cr.value_and_grad(f, argnums=(0, 1))(x0, y0)
    assert isinstance(grads, tuple) and len(grads) == 2
    np.testing.assert_allclose(grads[0].data, 2 * x0 * y0)
    np.testing.assert_allclose(grads[1].data, x0 ** 2)
    _, (gx_neg,) = cr.value_and_grad(f, argnums=(-2,))(x0, y0)
    np.testing.assert_allclose(gx_neg.data, 2 * x0 * y0)


def test_grad_of_a_function_independent_of_its_argument_is_zero():
    g = cr.grad(lambda x, y: (y * 2.0).sum())(np.ones(3), cr.tensor(np.ones(2)))
    np.testing.assert_array_equal(g.data, np.zeros(3))


def test_grad_through_closed_over_parameter_stays_differentiable():
    w = cr.tensor([0.5, -1.0], dtype="float64", requires_grad=True)

    def f(x):
        return (w * x).sin().sum()

    x0 = np.array([1.0, 2.0])
    gx = cr.grad(f)(x0)  # ∂f/∂x = w·cos(w·x)
    np.testing.assert_allclose(gx.data, w.data * np.cos(w.data * x0))
    assert gx.requires_grad
    gx.sum().backward()  # ∂/∂w Σ w·cos(wx) = cos(wx) − w·x·sin(wx)
    wx = w.data * x0
    np.testing.assert_allclose(w.grad.data, np.cos(wx) - wx * np.sin(wx), rtol=1e-12)


def test_grad_of_a_plain_function_returns_no_graph():
    value, gx = cr.value_and_grad(lambda x: (x * x).sum())(np.array([1.0, 2.0]))
    assert not gx.requires_grad
    assert not value.requires_grad  # its graph is spent: a plain value, as in JAX


def test_value_keeps_its_graph_for_closed_over_parameters():
    w = cr.tensor(3.0, dtype="float64", requires_grad=True)
    loss, gx = cr.value_and_grad(lambda x: w * x * x)(2.0)
    loss.backward()  # ∂(w x²)/∂w = x²
    assert float(w.grad) == 4.0 and float(gx) == 12.0


def test_grad_does_not_touch_dot_grad_of_inputs():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    cr.grad(lambda t: (t * t).sum())(x)
    assert x.grad is None


def test_grad_of_non_scalar_output_raises_and_suggests_jacobian():
    with pytest.raises(ValueError, match=r"grad: .*scalar.*\(3,\).*cr\.jacobian"):
        cr.grad(lambda x: x * 2.0)(np.ones(3))


def test_bad_argnums_are_rejected_with_the_argument_count():
    with pytest.raises(ValueError, match=r"grad: argnums 2 is out of range .* 2 positional"):
        cr.grad(lambda x, y: (x * y).sum(), argnums=2)(1.0, 2.0)
    with pytest.raises(ValueError, match="argnums"):
        cr.value_and_grad(lambda x: x, argnums=(0, "a"))(1.0)
    with pytest.raises(ValueError, match="hessian: argnums must be a single int"):
        cr.hessian(lambda x, y: x * y, argnums=(0, 1))


def test_non_tensor_output_is_a_type_error():
    with pytest.raises(TypeError, match="grad: the function must return a Tensor"):
        cr.grad(lambda x: 3.0)(1.0)


def test_jvp_rejects_mismatched_tangents():
    with pytest.raises(ValueError, match="jvp: got 2 primal"):
        cr.jvp(lambda x, y: x * y, (1.0, 2.0), (1.0,))
    with pytest.raises(ValueError, match=r"jvp: tangent of shape \(2,\)"):
        cr.jvp(lambda x: x * 2.0, (np.ones(3),), (np.ones(2),))


def test_grad_agrees_with_gradcheck_style_finite_differences():
    f = cr.grad(lambda x: (x.sin() * x.exp()).sum())
    assert cr.gradcheck(f, (np.array([0.2, -0.4, 1.3]),))
