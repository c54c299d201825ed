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


# ------------------------------------------------------------ pytrees (JAX's rule)
def _t(tree):
    """A pytree of NumPy arrays as the same pytree of float64 torch tensors."""
    return torch.utils._pytree.tree_map(torch.tensor, tree)


def _close(ours, theirs, rtol=1e-12, atol=1e-14):
    """Same structure (dict/list/tuple, nested), same values leaf by leaf."""
    our_leaves, our_tree = cr.pytree.flatten(ours)
    their_leaves, their_tree = cr.pytree.flatten(theirs)
    assert our_tree == their_tree, f"{our_tree} vs {their_tree}"
    for a, b in zip(our_leaves, their_leaves):
        assert isinstance(a, cr.Tensor)
        assert a.shape == tuple(b.shape)
        np.testing.assert_allclose(a.data, b.detach().numpy(), rtol=rtol, atol=atol)


# torch's forward mode (torch.func.jvp, jacfwd, hessian) imports code that calls
# torch.jit.script on first use, which warns on torch 2.13: not ours to fix.
TORCH_FORWARD = pytest.mark.filterwarnings(
    "ignore:`torch.jit.script` is deprecated:DeprecationWarning")
RNG = np.random.default_rng(11)
PARAMS = {"W": RNG.normal(size=(3, 4)), "b": RNG.normal(size=3)}
X = RNG.normal(size=(5, 4))


def _mlp_loss(p, x):
    return ((x @ p["W"].T + p["b"]).tanh() ** 2).mean()


def test_grad_of_a_dict_is_a_dict_of_tensors_matching_torch_func():
    g = cr.grad(_mlp_loss)(PARAMS, X)
    assert type(g) is dict and list(g) == ["W", "b"]
    _close(g, torch.func.grad(_mlp_loss)(_t(PARAMS), torch.tensor(X)))


def test_a_list_of_the_same_array_twice_gives_two_gradients_not_one_stacked_leaf():
    def f(ws):
        return (ws[0] * ws[1] * ws[1]).sum()  # ∂/∂w₀ = w₁², ∂/∂w₁ = 2w₀w₁

    w = np.array([1.0, 2.0])
    expected = torch.func.grad(f)([torch.tensor(w), torch.tensor(w)])
    g = cr.grad(f)([w, w])
    assert type(g) is list and len(g) == 2
    _close(g, expected)
    # the same Tensor object at both positions: each position still gets its own partial
    wt = cr.tensor(w, requires_grad=True)
    _close(cr.grad(f)([wt, wt]), expected)
    g0, g1 = cr.grad(lambda a, b: (a * b * b).sum(), argnums=(0, 1))(wt, wt)
    _close([g0, g1], expected)


def test_nested_dicts_lists_tuples_and_none_keep_their_structure():
    params = {"enc": [(PARAMS["W"], None), {"b": PARAMS["b"]}], "frozen": None}

    def f(p):
        (w, _), inner = p["enc"]
        return (w @ X.T).sin().sum() * inner["b"].exp().sum()

    g = cr.grad(f)(params)
    assert g["frozen"] is None and g["enc"][0][1] is None
    assert type(g["enc"]) is list and type(g["enc"][0]) is tuple
    expected = torch.func.grad(lambda w, b: (w @ torch.tensor(X).T).sin().sum() * b.exp().sum(),
                               argnums=(0, 1))(*_t((PARAMS["W"], PARAMS["b"])))
    _close((g["enc"][0][0], g["enc"][1]["b"]), expected)


def test_value_and_grad_with_an_argnums_tuple_of_pytrees_matches_torch():
    def f(p, xs, scale):
        return _mlp_loss(p, xs[0]) * scale + (xs[1] ** 2).sum()

    xs = [X, RNG.normal(size=2)]
    value, (gp, gx) = cr.value_and_grad(f, argnums=(0, 1))(PARAMS, xs, 0.5)
    tgrads, tvalue = torch.func.grad_and_value(f, argnums=(0, 1))(_t(PARAMS), _t(xs), 0.5)
    assert float(value) == pytest.approx(float(tvalue), rel=1e-12)
    _close((gp, gx), tgrads)


def test_vjp_with_dict_primals_and_a_dict_output_matches_torch():
    def f(p, x):
        return {"h": x @ p["W"].T + p["b"], "norm": (p["W"] ** 2).sum()}

    out, vjp_fn = cr.vjp(f, PARAMS, X)
    cot = {"h": RNG.normal(size=(5, 3)), "norm": 0.3}
    grads = vjp_fn(cot)
    tout, tvjp = torch.func.vjp(f, _t(PARAMS), torch.tensor(X))
    _close(out, tout)
    _close(grads, tvjp({"h": torch.tensor(cot["h"]), "norm": torch.tensor(0.3)}))
    assert isinstance(grads, tuple) and len(grads) == 2 and type(grads[0]) is dict


@TORCH_FORWARD
def test_jvp_with_pytree_primals_and_outputs_matches_torch():
    def f(p):
        return [(p["W"] @ p["x"]).tanh(), {"s": (p["x"] * p["x"]).sum()}]

    primals = {"W": PARAMS["W"], "x": RNG.normal(size=4)}
    tangents = {"x": RNG.normal(size=4), "W": RNG.normal(size=(3, 4))}  # keys in another order
    out, tangent_out = cr.jvp(f, (primals,), (tangents,))
    in_order = {"W": tangents["W"], "x": tangents["x"]}  # torch needs the primals' key order
    tout, ttangent = torch.func.jvp(f, (_t(primals),), (_t(in_order),))
    _close(out, tout)
    _close(tangent_out, ttangent)


def test_jvp_under_no_grad_still_gives_the_directional_derivative():
    with cr.no_grad():
        out, tangent_out = cr.jvp(lambda x: x * x, (np.array([1.0, 2.0]),), (np.ones(2),))
    np.testing.assert_allclose(tangent_out.data, [2.0, 4.0])
    assert not out.requires_grad


@TORCH_FORWARD
def test_hessian_of_a_dict_has_a_block_per_pair_like_torch():
    def f(p, x):
        return ((p["W"] @ x.T).sin() * p["b"][:, None]).sum()

    h = cr.hessian(f)(PARAMS, X)
    assert h["W"]["b"].shape == (3, 4, 3) and h["b"]["W"].shape == (3, 3, 4)
    _close(h, torch.func.hessian(f)(_t(PARAMS), torch.tensor(X)))


def test_integer_leaves_are_promoted_to_float_as_for_plain_arguments():
    g = cr.grad(lambda p: (p["a"] * p["b"]).sum())({"a": 3, "b": np.array([1, 2])})
    plain = cr.grad(lambda a: a * 2)(3)
    assert g["a"].dtype == g["b"].dtype == plain.dtype == np.float32
    assert float(g["a"]) == 3.0 and g["b"].tolist() == [3.0, 3.0]


def test_a_string_leaf_is_a_type_error_naming_the_function_the_place_and_the_type():
    def loss(p):
        return (p["w"] ** 2).sum()

    with pytest.raises(TypeError, match=r"^grad: argument 0\['meta'\]\[1\] of loss is of type "
                                        r"str; a differentiated argument must be a Tensor"):
        cr.grad(loss)({"w": np.ones(2), "meta": [3, "run 1"]})
    with pytest.raises(TypeError, match=r"^jacfwd: argument 1 of <lambda> is of type ndarray "
                                        r"\(dtype <U1\)"):
        cr.jacfwd(lambda x, y: x, argnums=(0, 1))(1.0, np.array(["a"]))


def test_outputs_and_cotangents_of_the_wrong_structure_are_named():
    with pytest.raises(TypeError, match=r"^vjp: the function must return a Tensor \(or a dict, "
                                        r"list or tuple of Tensors\), got float at \['b'\]$"):
        cr.vjp(lambda x: {"a": x, "b": 2.0}, 1.0)
    _, vjp_fn = cr.vjp(lambda x: {"a": x, "b": x * 2}, np.ones(2))
    with pytest.raises(ValueError, match=r"^vjp: the cotangent must have the structure of the "
                                         r"output \(at the top: expected a dict with keys"):
        vjp_fn({"a": np.ones(2)})
    with pytest.raises(ValueError, match=r"vjp: cotangent has shape \(\) but the output has "
                                         r"shape \(2,\) \(output\['b'\]\)"):
        vjp_fn({"a": np.ones(2), "b": 1.0})
    with pytest.raises(ValueError, match=r"jvp: tangent of shape \(2,\) for a primal of shape "
                                         r"\(3,\) \(primals\[0\]\['a'\]\)"):
        cr.jvp(lambda p: p["a"], ({"a": np.ones(3)},), ({"a": np.ones(2)},))


# ------------------------------------------------------------ has_aux
def _loss_with_aux(p, x, step=None):
    h = x @ p["W"].T + p["b"]
    aux = {"h": h} if step is None else {"h": h, "step": step}  # torch's aux holds tensors only
    return (h ** 2).mean(), aux


def test_grad_with_has_aux_returns_gradient_and_aux_like_torch():
    g, aux = cr.grad(_loss_with_aux, has_aux=True)(PARAMS, X, "step 7")
    tg, taux = torch.func.grad(_loss_with_aux, has_aux=True)(_t(PARAMS), torch.tensor(X))
    _close(g, tg)
    assert aux["step"] == "step 7"  # aux is anything: passed through as it is
    np.testing.assert_allclose(aux["h"].data, taux["h"].numpy(), rtol=1e-12)
    assert not aux["h"].requires_grad  # a plain value: its graph is spent, as in JAX


def test_value_and_grad_with_has_aux_returns_value_aux_then_gradient():
    (value, aux), g = cr.value_and_grad(_loss_with_aux, has_aux=True)(PARAMS, X)
    tg, (tvalue, taux) = torch.func.grad_and_value(_loss_with_aux, has_aux=True)(
        _t(PARAMS), torch.tensor(X))
    assert float(value) == pytest.approx(float(tvalue), rel=1e-12)
    np.testing.assert_allclose(aux["h"].data, taux["h"].numpy(), rtol=1e-12)
    _close(g, tg)


def test_has_aux_nests_and_aux_stays_differentiable_for_an_outer_grad():
    def inner(x):  # (3x², x³): the gradient of x³, and x³ itself as aux
        return cr.grad(lambda y: (y ** 3, y ** 3), has_aux=True)(x)

    slope, aux = inner(2.0)
    assert float(slope) == 12.0 and float(aux) == 8.0
    assert float(cr.grad(lambda x: inner(x)[0])(2.0)) == 12.0  # (3x²)' = 6x
    assert float(cr.grad(lambda x: inner(x)[1])(2.0)) == 12.0  # (x³)' = 3x², through the aux


def test_has_aux_errors_say_what_was_returned():
    with pytest.raises(TypeError, match=r"^grad: with has_aux=True the function must return a "
                                        r"pair \(output, aux\), got Tensor$"):
        cr.grad(lambda x: x * x, has_aux=True)(1.0)
    with pytest.raises(TypeError, match=r"got a tuple of length 3$"):
        cr.value_and_grad(lambda x: (x, x, x), has_aux=True)(1.0)
    with pytest.raises(TypeError, match=r"^grad: the function must return a Tensor, got tuple "
                                        r"\(for a function returning \(output, aux\), pass "
                                        r"has_aux=True\)$"):
        cr.grad(lambda x: (x * x, "aux"))(1.0)
    with pytest.raises(TypeError, match=r"^value_and_grad: the function must return a Tensor"):
        cr.value_and_grad(lambda x: 3.0)(1.0)


# ------------------------------------------------------------ jacrev and jacfwd
A_WIDE, A_TALL = RNG.normal(size=(2, 5)), RNG.normal(size=(6, 2))
JACOBIAN_CASES = [
    ("elementwise", lambda x: x.sin() * x, (RNG.normal(size=4),)),
    ("wide 2x5", lambda x: A_WIDE @ x.tanh(), (RNG.normal(size=5),)),
    ("tall 6x2", lambda x: (A_TALL @ x).exp(), (RNG.normal(size=2),)),
    ("scalar out", lambda x: (x ** 3).sum(), (RNG.normal(size=(2, 3)),)),
    ("scalar in", lambda x: x * cr.tensor([1.0, 2.0, 3.0], dtype="float64"), (0.7,)),
    ("matrix in and out", lambda x: x @ x.T, (RNG.normal(size=(2, 3)),)),
]


@pytest.mark.parametrize(("name", "f", "args"), JACOBIAN_CASES, ids=[c[0] for c in JACOBIAN_CASES])
def test_jacrev_and_jacfwd_agree_with_each_other_and_with_jacobian(name, f, args):
    args = tuple(np.asarray(a, dtype=np.float64) for a in args)
    jr, jf, j = cr.jacrev(f)(*args), cr.jacfwd(f)(*args), cr.jacobian(f)(*args)
    out_shape = f(*(cr.tensor(a) for a in args)).shape
    assert jr.shape == jf.shape == out_shape + args[0].shape
    np.testing.assert_allclose(jf.data, jr.data, rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(j.data, jr.data)


def test_jacrev_and_jacfwd_match_torch_func_on_non_square_jacobians():
    a = RNG.normal(size=(2, 5))

    def f(x):
        return (x.sin() @ a.T) * x[:2]

    x0 = RNG.normal(size=5)
    expected = torch.func.jacrev(lambda x: (x.sin() @ torch.tensor(a).T) * x[:2])(
        torch.tensor(x0))
    assert cr.jacrev(f)(x0).shape == cr.jacfwd(f)(x0).shape == (2, 5)
    _close(cr.jacrev(f)(x0), expected)
    _close(cr.jacfwd(f)(x0), expected)


@TORCH_FORWARD
def test_jacrev_and_jacfwd_of_pytrees_with_argnums_tuples_match_torch_func():
    def f(p, xs):
        h = (xs[0] @ p["W"].T + p["b"]).tanh()
        return {"h": h, "reg": (p["W"] ** 2).sum() * xs[1]}

    xs = (X[:2], np.float64(0.5))
    for ours, theirs in ((cr.jacrev, torch.func.jacrev), (cr.jacfwd, torch.func.jacfwd)):
        j = ours(f, argnums=(0, 1))(PARAMS, xs)
        expected = theirs(f, argnums=(0, 1))(_t(PARAMS), _t(xs))
        assert j["h"][0]["W"].shape == (2, 3, 3, 4) and j["reg"][1][0].shape == (2, 4)
        _close(j, expected, rtol=1e-11)
        _close(ours(f)(PARAMS, xs), theirs(f)(_t(PARAMS), _t(xs)), rtol=1e-11)


@TORCH_FORWARD
def test_jacfwd_of_jacrev_and_jacrev_of_jacfwd_are_the_hessian():
    def f(p, x):
        return ((p["W"] @ x.T).sin() * p["b"][:, None]).sum()

    expected = torch.func.hessian(f)(_t(PARAMS), torch.tensor(X))
    _close(cr.jacfwd(cr.jacrev(f))(PARAMS, X), expected, rtol=1e-11)
    _close(cr.jacrev(cr.jacfwd(f))(PARAMS, X), expected, rtol=1e-11)


def test_jacfwd_builds_columns_and_jacrev_rows(monkeypatch):
    # f: R² → R⁶. Reverse mode: one backward pass over the batch of the 6 unit vectors
    # (vmap). Forward mode: one pass recording u ↦ uᵀJ, then one over the batch of the 2
    # input basis vectors eⱼ (1 + 1).
    import chainrule.transforms as transforms

    passes = []
    real = transforms._backward

    def counting(*args, **kwargs):
        passes.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(transforms, "_backward", counting)
    a = cr.tensor(RNG.normal(size=(6, 2)))
    x0 = RNG.normal(size=2)
    jr = cr.jacrev(lambda x: (a @ x).sin())(x0)
    assert len(passes) == 1
    passes.clear()
    jf = cr.jacfwd(lambda x: (a @ x).sin())(x0)
    assert len(passes) == 2
    np.testing.assert_allclose(jf.data, jr.data, rtol=1e-12)


def test_jacobians_of_a_function_independent_of_an_argument_are_zero_blocks():
    for jac in (cr.jacrev, cr.jacfwd):
        jx, jy = jac(lambda x, y: x * 2.0, argnums=(0, 1))(np.ones(3), np.ones((2, 2)))
        assert jy.shape == (3, 2, 2) and not jy.data.any()
        np.testing.assert_array_equal(jx.data, 2 * np.eye(3))


def test_jacobians_stay_differentiable_in_closed_over_parameters():
    w = cr.tensor([0.5, -1.0, 2.0], dtype="float64", requires_grad=True)
    x0 = np.array([1.0, 2.0, 0.3])
    # J = diag(w·cos(wx)); Σ J = Σ w·cos(wx), whose ∂/∂w is cos(wx) − wx·sin(wx)
    expected = np.cos(w.data * x0) - w.data * x0 * np.sin(w.data * x0)
    for jac in (cr.jacrev, cr.jacfwd):
        w.grad = None
        jac(lambda x: (w * x).sin())(x0).sum().backward()
        np.testing.assert_allclose(w.grad.data, expected, rtol=1e-12)
