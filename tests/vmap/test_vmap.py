"""cr.vmap against torch.func.vmap on composite programs, its arguments (in_axes, out_axes,
pytrees, nesting), its composition with grad/value_and_grad/jacobian in both orders, and
its one-line errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import chainrule as cr
import chainrule.nn.functional as F

RNG = np.random.default_rng(14)


def _t(a):
    return torch.tensor(a)


# ---------------------------------------------------------------- against torch.func.vmap
def _attention(q, k, v):
    return F.softmax(q @ k.T / 2.0, axis=-1) @ v


def _attention_torch(q, k, v):
    return torch.softmax(q @ k.T / 2.0, dim=-1) @ v


def _mlp(x, w1, b1, w2):
    return (F.gelu(F.linear(x, w1, b1)) @ w2.T).tanh()


def _mlp_torch(x, w1, b1, w2):
    return (TF.gelu(TF.linear(x, w1, b1)) @ w2.T).tanh()


def _norm(x, gamma):
    return F.layer_norm(x, (x.shape[-1],)) * gamma + x.logsumexp(axis=-1, keepdims=True)


def _norm_torch(x, gamma):
    return TF.layer_norm(x, (x.shape[-1],)) * gamma + torch.logsumexp(x, dim=-1, keepdim=True)


def _conv(x, w):
    return F.max_pool1d(F.conv1d(x, w, padding=1).relu(), 2).mean(axis=-1)


def _conv_torch(x, w):
    return TF.max_pool1d(TF.conv1d(x, w, padding=1).relu(), 2).mean(dim=-1)


PROGRAMS = [
    ("attention", _attention, _attention_torch, [(5, 4, 3), (6, 3), (6, 2)], (0, None, None)),
    ("attention_all_mapped", _attention, _attention_torch, [(3, 4, 3), (3, 6, 3), (6, 3, 2)],
     (0, 0, 1)),
    ("mlp", _mlp, _mlp_torch, [(4, 3), (5, 3), (5,), (2, 5)], (0, None, None, None)),
    ("mlp_weights_mapped", _mlp, _mlp_torch, [(7, 3), (4, 5, 3), (5,), (2, 5, 4)],
     (None, 0, None, 2)),
    ("norm", _norm, _norm_torch, [(3, 2, 6), (6,)], (1, None)),
    ("conv", _conv, _conv_torch, [(3, 2, 2, 8), (4, 2, 3)], (0, None)),
    ("conv_weight_mapped", _conv, _conv_torch, [(2, 2, 8), (3, 4, 2, 3)], (None, 0)),
]


@pytest.mark.parametrize("name, f, ft, shapes, axes", PROGRAMS, ids=[p[0] for p in PROGRAMS])
def test_composite_programs_match_torch_func_vmap(name, f, ft, shapes, axes):
    arrays = [RNG.normal(size=s) for s in shapes]
    got = cr.vmap(f, in_axes=axes)(*arrays)
    want = torch.func.vmap(ft, in_dims=axes)(*[_t(a) for a in arrays])
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-10, atol=1e-12)


def test_per_example_gradients_match_torch_func():
    x, y = RNG.normal(size=(6, 4)), RNG.integers(0, 3, size=6)
    w, b = RNG.normal(size=(3, 4)), RNG.normal(size=3)

    def loss(p, xi, yi):
        return F.cross_entropy(F.linear(xi, p["w"], p["b"]), yi)

    def loss_torch(p, xi, yi):
        return TF.cross_entropy(TF.linear(xi, p["w"], p["b"]), yi)

    got = cr.vmap(cr.grad(loss), in_axes=(None, 0, 0))({"w": w, "b": b}, x, y)
    want = torch.func.vmap(torch.func.grad(loss_torch), in_dims=(None, 0, 0))(
        {"w": _t(w), "b": _t(b)}, _t(x), _t(y))
    for k in ("w", "b"):
        np.testing.assert_allclose(got[k].numpy(), want[k].numpy(), rtol=1e-10, atol=1e-13)


# ---------------------------------------------------------------- the digits MLP
def _digits_mlp():
    from sklearn.datasets import load_digits

    d = load_digits()
    X, y = d.data[:128] / 16.0, d.target[:128]
    rng = np.random.default_rng(0)
    params = {"w1": rng.normal(size=(128, 64)) * 0.1, "b1": np.zeros(128),
              "w2": rng.normal(size=(10, 128)) * 0.1, "b2": np.zeros(10)}

    def loss(p, x, t):
        h = F.linear(x, p["w1"], p["b1"]).relu()
        return F.cross_entropy(F.linear(h, p["w2"], p["b2"]), t)

    return params, X, y, loss


def test_per_example_gradients_of_the_digits_mlp_equal_a_loop():
    # (their speed against the loop is measured in docs/benchmarks.md's W11 section, not here)
    params, X, y, loss = _digits_mlp()
    got = cr.vmap(cr.grad(loss), in_axes=(None, 0, 0))(params, X, y)
    loop = [cr.grad(loss)(params, X[i], y[i]) for i in range(len(X))]
    for k in params:
        np.testing.assert_allclose(got[k].numpy(), np.stack([g[k].numpy() for g in loop]),
                                   rtol=0, atol=1e-12)


@pytest.mark.parametrize("form", ["linear", "x @ W.T", "W @ x", "x @ V"])
def test_per_example_weight_gradients_are_contiguous_and_equal_a_loop(form):
    # a weight's per-example gradients (outer products) come out in the weight's own
    # layout, whether the program multiplies by W or by W.T: handing out a transposed view
    # costs a copy of the whole stack wherever it is read
    w, v, xs = RNG.normal(size=(5, 4)), RNG.normal(size=(4, 5)), RNG.normal(size=(6, 4))
    f = {"linear": lambda w, x: F.linear(x, w).tanh().sum(),
         "x @ W.T": lambda w, x: (x @ w.T).tanh().sum(),
         "W @ x": lambda w, x: (w @ x).tanh().sum(),
         "x @ V": lambda w, x: (x @ w).tanh().sum()}[form]
    weight = v if form == "x @ V" else w
    got = cr.vmap(cr.grad(f), in_axes=(None, 0))(weight, xs).numpy()
    assert got.flags["C_CONTIGUOUS"]
    want = np.stack([cr.grad(f)(weight, x).numpy() for x in xs])
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-13)


@pytest.mark.parametrize("xs, ys", [((4, 3, 1), (4, 1, 5)), ((4, 80, 1), (4, 1, 64)),
                                     ((1, 80, 1), (4, 1, 64)), ((4, 80, 1), (1, 1, 64))])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_stacks_of_outer_products_equal_numpys_matmul(xs, ys, dtype):
    # the kernel of per-example weight gradients (einsum for small ones, a zero-padded BLAS
    # GEMM for large ones): one product per entry, so exactly NumPy's, broadcasting included
    x, y = RNG.normal(size=xs).astype(dtype), RNG.normal(size=ys).astype(dtype)
    got = (cr.tensor(x) @ cr.tensor(y)).numpy()
    assert got.dtype == dtype and got.flags["C_CONTIGUOUS"]
    np.testing.assert_array_equal(got, np.matmul(x, y))


# ---------------------------------------------------------------- arguments
def test_in_axes_pytrees_and_out_axes():
    p = {"a": RNG.normal(size=(3, 2)), "b": RNG.normal(size=(2, 3))}
    out = cr.vmap(lambda d: {"s": d["a"] + d["b"], "t": d["a"].sum()},
                  in_axes=({"a": 0, "b": 1},), out_axes={"s": 1, "t": 0})(p)
    np.testing.assert_allclose(out["s"].numpy(), (p["a"] + p["b"].T).T)
    np.testing.assert_allclose(out["t"].numpy(), p["a"].sum(axis=1))
    neg = cr.vmap(lambda x: x * 2, in_axes=-1, out_axes=-1)(np.ones((2, 3)))
    assert neg.shape == (2, 3)


def test_unbatched_output_is_broadcast_and_out_axes_none_keeps_it():
    x = np.arange(3.0)
    out = cr.vmap(lambda a, c: (a * 2, c + 1), in_axes=(0, None))(x, cr.tensor(5.0))
    np.testing.assert_array_equal(out[1].numpy(), [6.0, 6.0, 6.0])
    same = cr.vmap(lambda a, c: c * 3, in_axes=(0, None), out_axes=None)(x, cr.tensor(2.0))
    assert same.shape == () and float(same) == 6.0


def test_nested_vmap_is_an_outer_product_of_maps():
    x, y = RNG.normal(size=4), RNG.normal(size=5)
    table = cr.vmap(cr.vmap(lambda a, b: a * b + a, in_axes=(None, 0)), in_axes=(0, None))(x, y)
    np.testing.assert_allclose(table.numpy(), np.outer(x, y) + x[:, None])
    m = RNG.normal(size=(2, 3, 4))
    rows = cr.vmap(cr.vmap(lambda r: r.softmax(axis=0)), in_axes=1)(m)
    want = np.exp(m) / np.exp(m).sum(axis=2, keepdims=True)
    np.testing.assert_allclose(rows.numpy(), want.transpose(1, 0, 2))


def test_comparisons_and_where_inside_vmap():
    x = RNG.normal(size=(4, 3))
    out = cr.vmap(lambda r: cr.where(r > 0, r, r * 0.1))(x)
    np.testing.assert_allclose(out.numpy(), np.where(x > 0, x, 0.1 * x))


# ---------------------------------------------------------------- composition
def test_grad_of_vmap_and_vmap_of_grad_agree():
    w = RNG.normal(size=3)
    xs = RNG.normal(size=(5, 3))

    def f(w, x):
        return (w * x).sin().sum()

    g_outer = cr.grad(lambda w: cr.vmap(f, in_axes=(None, 0))(w, xs).sum())(w)
    g_inner = cr.vmap(cr.grad(f), in_axes=(None, 0))(w, xs).sum(axis=0)
    want = (np.cos(xs * w) * xs).sum(axis=0)
    np.testing.assert_allclose(g_outer.numpy(), want, rtol=1e-12)
    np.testing.assert_allclose(g_inner.numpy(), want, rtol=1e-12)


def test_value_and_grad_and_jacobian_inside_and_outside_vmap():
    xs = RNG.normal(size=(4, 3))
    (values, grads) = cr.vmap(cr.value_and_grad(lambda x: (x ** 3).sum()))(xs)
    np.testing.assert_allclose(values.numpy(), (xs ** 3).sum(axis=1))
    np.testing.assert_allclose(grads.numpy(), 3 * xs ** 2)
    jac = cr.vmap(cr.jacobian(lambda x: x.sin() * x.sum()))(xs)
    want = np.stack([np.diag(np.cos(x)) * x.sum() + np.sin(x)[:, None] for x in xs])
    np.testing.assert_allclose(jac.numpy(), want, rtol=1e-12)
    jac_of_map = cr.jacobian(lambda x: cr.vmap(lambda r: r.exp())(x))(xs[0])
    np.testing.assert_allclose(jac_of_map.numpy(), np.diag(np.exp(xs[0])))


def test_second_derivatives_per_example():
    xs = RNG.normal(size=4)
    d2 = cr.vmap(cr.grad(cr.grad(lambda x: x.sin() * x)))(xs)
    np.testing.assert_allclose(d2.numpy(), 2 * np.cos(xs) - xs * np.sin(xs), rtol=1e-12)
    h = cr.hessian(lambda x: (x ** 3).sum() * x[0])(xs)
    assert h.shape == (4, 4)


def test_vmap_of_a_vjp_is_a_jacobian():
    x = RNG.normal(size=3)
    out, vjp_fn = cr.vjp(lambda v: v.exp() * v[0], x)
    rows = cr.vmap(lambda e: vjp_fn(e)[0])(np.eye(3))
    np.testing.assert_allclose(rows.numpy(), cr.jacrev(lambda v: v.exp() * v[0])(x).numpy())


# ---------------------------------------------------------------- errors
@pytest.mark.parametrize("call, message", [
    (lambda: cr.vmap(lambda a, b: a + b, in_axes=(0,))(np.ones(2), np.ones(2)),
     "in_axes has 1 entries but the function was called with 2"),
    (lambda: cr.vmap(lambda a: a, in_axes=2)(np.ones((2, 3))),
     "in_axes 2 is out of range for argument 0 of shape (2, 3)"),
    (lambda: cr.vmap(lambda a, b: a + b)(np.ones(2), np.ones(3)),
     "argument 0 has 2 along axis 0, argument 1 has 3 along axis 0"),
    (lambda: cr.vmap(lambda d: d["w"], in_axes=({"v": 0},))({"w": np.ones(2)}),
     "has keys ['v'] but the argument has keys ['w']"),
    (lambda: cr.vmap(lambda a: a, in_axes=None)(np.ones(2)), "maps no argument"),
    (lambda: cr.vmap(lambda a: a, out_axes=None)(np.ones(2)), "depends on the mapped axis"),
    (lambda: cr.vmap(lambda a: float(a))(np.ones(2)), "cannot be read inside vmap"),
    (lambda: cr.vmap(lambda a: a, in_axes=0)("text"), "argument 0 is a str"),
])
def test_bad_input_raises_one_line_naming_the_argument(call, message):
    with pytest.raises((ValueError, TypeError, RuntimeError)) as info:
        call()
    assert message in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize("options", [
    {}, {"reduction": "sum"}, {"reduction": "none"}, {"label_smoothing": 0.1},
    {"weight": np.array([0.5, 2.0, 1.0])}, {"ignore_index": 1},
])
def test_cross_entropy_per_example_matches_torch_func(options):
    """F.cross_entropy with batched (N, C) logits and batched targets: each example reduced
    on its own, by the fused path or the general one."""
    x, t = RNG.normal(size=(4, 5, 3)), RNG.integers(0, 3, size=(4, 5))
    kw = {k: v for k, v in options.items() if k != "weight"}
    weight = options.get("weight")
    got = cr.vmap(lambda a, b: F.cross_entropy(a, b, weight=weight, **kw))(x, t)
    tw = None if weight is None else _t(weight)
    want = torch.func.vmap(lambda a, b: TF.cross_entropy(a, b, weight=tw, **kw))(_t(x), _t(t))
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-12, atol=1e-14)


# ---------------------------------------------------------------- library functions
cr.manual_seed(14)
_LAYERS = {"linear": cr.nn.Linear(5, 2), "conv1d": cr.nn.Conv1d(3, 2, 3),
           "mha": cr.nn.MultiheadAttention(5, 1), "gru": cr.nn.GRU(5, 2),
           "lstm": cr.nn.LSTM(5, 2), "rnn": cr.nn.RNN(5, 2),
           "encoder": cr.nn.TransformerEncoderLayer(5, 1, dim_feedforward=8, dropout=0.0)}
FUNCTIONS = {
    "leaky_relu": lambda a: F.leaky_relu(a, 0.1),
    "softplus": lambda a: F.softplus(a, beta=2.0, threshold=1.0),
    "losses": lambda a: F.mse_loss(a, a * 2) + F.huber_loss(a, a * 0)
    + F.binary_cross_entropy(a.sigmoid(), a.sigmoid() * 0 + 0.3)
    + F.binary_cross_entropy_with_logits(a, a * 0 + 0.5),
    "std_var": lambda a: a.std(axis=1) + a.var(axis=0).sum(),
    "stack_cat_expand": lambda a: cr.cat([cr.stack([a, a * 2], axis=1).sum(axis=1),
                                          a[:, :1].expand(3, 4)], axis=-1),
    "argmax": lambda a: a.argmax(axis=-1) + a.argmin(),
    "linear": lambda a: _LAYERS["linear"](a),
    "conv1d": lambda a: _LAYERS["conv1d"](a),
    "pools": lambda a: F.avg_pool1d(a, 2) + F.max_pool1d(a, 2),
    "mha": lambda a: _LAYERS["mha"](a, a, a)[0],
    "gru": lambda a: _LAYERS["gru"](a)[0],
    "lstm": lambda a: _LAYERS["lstm"](a)[0],
    "rnn": lambda a: _LAYERS["rnn"](a)[0],
    "encoder": lambda a: _LAYERS["encoder"](a),
}


@pytest.mark.parametrize("name", list(FUNCTIONS))
def test_library_functions_under_vmap_equal_a_loop(name):
    x = RNG.normal(size=(4, 3, 5))
    f = FUNCTIONS[name]
    got = cr.vmap(f)(x)
    want = np.stack([f(cr.tensor(x[i])).numpy() for i in range(len(x))])
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-10, atol=1e-12)


def test_batched_indices_gather_each_examples_entries():
    x, i = RNG.normal(size=(4, 5)), np.array([1, 0, 4, 2])
    np.testing.assert_array_equal(cr.vmap(lambda a, j: a[j])(x, i).numpy(), x[np.arange(4), i])
    w = cr.tensor(RNG.normal(size=(5, 2)))
    rows = cr.vmap(lambda j: F.embedding(j, w))(np.array([[0, 3], [4, 4], [1, 2]]))
    np.testing.assert_array_equal(rows.numpy(), w.numpy()[[[0, 3], [4, 4], [1, 2]]])
    grads = cr.vmap(cr.grad(lambda a, j: a[j] * 2), in_axes=(None, 0))(x[0], i)
    np.testing.assert_array_equal(grads.numpy(), 2 * np.eye(5)[i])


def test_dropout_under_vmap_draws_a_mask_per_example():
    x = np.ones((64, 8))
    out = cr.vmap(lambda r: F.dropout(r, 0.5))(x).numpy()
    assert set(np.unique(out)) <= {0.0, 2.0}
    assert len({tuple(row) for row in out}) > 1  # not one mask shared by every example


def test_forward_mode_and_hessians_inside_and_outside_vmap():
    xs = RNG.normal(size=(4, 3))

    def g(x):
        return x.sin() * x.sum()

    def f(x):
        return (x ** 3).sum() * x[0]

    for transform in (cr.jacfwd, cr.hessian):
        fn = g if transform is cr.jacfwd else f
        got = cr.vmap(transform(fn))(xs)
        np.testing.assert_allclose(got.numpy(), np.stack([transform(fn)(x).numpy() for x in xs]),
                                   rtol=1e-12)
    ones = np.ones(3)
    _, tangents = cr.vmap(lambda x: cr.jvp(g, (x,), (ones,)))(xs)
    np.testing.assert_allclose(tangents.numpy(),
                               np.stack([cr.jvp(g, (x,), (ones,))[1].numpy() for x in xs]))
    _, tangent = cr.jvp(lambda x: cr.vmap(lambda r: r.exp())(x), (xs,), (np.ones_like(xs),))
    np.testing.assert_allclose(tangent.numpy(), np.exp(xs))


def test_nested_per_example_gradients_and_gradients_of_them():
    w, xs = RNG.normal(size=3), RNG.normal(size=(2, 4, 3))

    def f(w, x):
        return (w * x).sin().sum()

    g = cr.vmap(cr.vmap(cr.grad(f), in_axes=(None, 0)), in_axes=(None, 0))(w, xs)
    np.testing.assert_allclose(g.numpy(), np.cos(xs * w) * xs, rtol=1e-12)
    gx = cr.vmap(cr.grad(f, argnums=1), in_axes=(None, 1))(w, xs[0].T)
    np.testing.assert_allclose(gx.numpy(), np.cos(xs[0] * w) * w, rtol=1e-12)
    # ∂/∂w Σᵢ‖∂f(w, xᵢ)/∂w‖²: a second derivative through the per-example gradients
    h = cr.grad(lambda w: (cr.vmap(cr.grad(f), in_axes=(None, 0))(w, xs[0]) ** 2).sum())(w)
    ref = cr.grad(lambda w: sum((cr.grad(f)(w, x) ** 2).sum() for x in xs[0]))(w)
    np.testing.assert_allclose(h.numpy(), ref.numpy(), rtol=1e-12)


@pytest.mark.parametrize("options", [{}, {"reduction": "sum"},
                                     {"weight": np.array([0.5, 2.0, 1.0]), "ignore_index": 2}])
def test_cross_entropy_under_nested_vmap(options):
    x, t = RNG.normal(size=(2, 3, 4, 3)), RNG.integers(0, 3, size=(2, 3, 4))
    kw = {k: v for k, v in options.items() if k != "weight"}
    weight = options.get("weight")
    got = cr.vmap(cr.vmap(lambda a, b: F.cross_entropy(a, b, weight=weight, **kw)))(x, t)
    want = [[F.cross_entropy(cr.tensor(x[i, j]), cr.tensor(t[i, j]), weight=weight, **kw).item()
             for j in range(3)] for i in range(2)]
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-12)
