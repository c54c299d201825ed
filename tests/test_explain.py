"""cr.explain: the chain rule written out path by path, summing to what backward() gives."""

from __future__ import annotations

import math

import numpy as np
import pytest

import chainrule as cr


def _leaf(value, dtype="float64"):
    return cr.tensor(value, dtype=dtype, requires_grad=True)


def _sigmoid(z):
    return 1 / (1 + math.exp(-z))


def _graphs():
    """(name, build) pairs: build() returns (output, [leaves]) on a fresh graph."""

    def chain():
        x = _leaf(0.8)
        return (x * 3.0).sin().exp(), [x]

    def reuse():  # b = a + a; c = b + b: 4 paths of product 1
        a = _leaf(1.5)
        b = a + a
        return b + b, [a]

    def diamond():  # x feeds two branches that meet again
        x = _leaf(0.4)
        u, v = x.sin(), x * x
        return u * v + u, [x]

    def two_leaves():
        w, b = _leaf(-0.3), _leaf(0.2)
        return (w * 2.0 + b).tanh() * w, [w, b]

    def tensors():
        rng = np.random.default_rng(0)
        w = _leaf(rng.normal(size=(4, 3)))
        b = _leaf(rng.normal(size=3))
        x = cr.tensor(rng.normal(size=(5, 4)))
        h = (x @ w + b).sigmoid()
        return (h * h).mean() + (w * w).sum(), [w, b]

    return [chain, reuse, diamond, two_leaves, tensors]


@pytest.mark.parametrize("build", _graphs(), ids=lambda f: f.__name__)
def test_sum_over_paths_equals_backward(build):
    out, leaves = build()
    e = cr.explain(out, leaves)
    out.backward()
    for total, from_paths, leaf in zip(e.total, e.backward_total, leaves):
        np.testing.assert_allclose(total, leaf.grad.data, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(from_paths, leaf.grad.data, rtol=1e-12, atol=1e-15)
    assert e.matches
    for i, leaf in enumerate(leaves):
        mine = [p.contribution for p in e.paths if p.wrt == i]
        np.testing.assert_allclose(np.sum(mine, axis=0), leaf.grad.data, rtol=1e-12)


@pytest.mark.parametrize("build", _graphs()[:4], ids=lambda f: f.__name__)
def test_scalar_path_product_is_product_of_factor_values(build):
    out, leaves = build()
    e = cr.explain(out, leaves)
    for path in e.paths:
        values = [f.value for f in path.factors]
        assert all(v is not None for v in values)
        assert float(path.contribution) == pytest.approx(math.prod(values), rel=1e-12)


def test_reuse_counts_every_path():
    out, (a,) = _graphs()[1]()
    e = cr.explain(out, a)
    assert e.num_paths == 4 and len(e.paths) == 4
    assert float(e.total) == 4.0


def test_sigmoid_factor_shows_its_formula_and_value():
    x = _leaf(2.0)
    z = x * x
    e = cr.explain(z.sigmoid(), x)
    text = str(e)
    assert "sigmoid" in text and "σ'(z) = σ(z)(1−σ(z))" in text
    s = _sigmoid(4.0)
    factor = e.paths[0].factors[0]
    assert factor.op == "sigmoid"
    assert factor.formula == "σ'(z) = σ(z)(1−σ(z))"
    assert factor.value == pytest.approx(s * (1 - s), rel=1e-12)
    assert f"{s * (1 - s):.6g}" in text


def test_factor_formula_is_the_part_for_the_input_taken():
    x, y = _leaf(2.0), _leaf(5.0)
    e = cr.explain(x * y, [x, y])
    by_input = {p.wrt: p.factors[0] for p in e.paths}
    assert by_input[0].formula == "∂(x·y)/∂x = y" and by_input[0].value == 5.0
    assert by_input[1].formula == "∂(x·y)/∂y = x" and by_input[1].value == 2.0


def test_does_not_free_the_graph_before_backward():
    x = _leaf([1.0, 2.0])
    out = (x.exp() * x).sum()
    grad_before = x.grad
    cr.explain(out, x)
    assert grad_before is None and x.grad is None  # explain leaves .grad alone
    out.backward()
    np.testing.assert_allclose(x.grad.data, np.exp(x.data) * (1 + x.data))


def test_works_after_backward_with_retain_graph_and_fails_clearly_after_free():
    x = _leaf(0.5)
    out = x.tanh() * 2.0
    out.backward(retain_graph=True)
    e = cr.explain(out, x)
    assert float(e.total) == pytest.approx(float(x.grad))
    out.backward()  # frees the buffers
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        cr.explain(out, x)


def test_many_paths_are_capped_and_summarised():
    x = _leaf(1.0)
    b = x
    for _ in range(10):
        b = b + b  # 2¹⁰ paths from x to the output
    e = cr.explain(b, x, max_paths=64)
    assert e.num_paths == 1024 and len(e.paths) == 64
    assert float(e.total) == 1024.0
    assert "960 more paths" in str(e)


def test_long_chain_needs_no_recursion_and_prints_elided():
    x = _leaf(0.1)
    y = x
    for _ in range(3000):
        y = y * 1.0001
    e = cr.explain(y, x)
    assert e.num_paths == 1
    assert float(e.total) == pytest.approx(1.0001 ** 3000, rel=1e-9)
    text = str(e)
    assert "more factors" in text
    assert len(text.splitlines()) < 40 and max(len(line) for line in text.splitlines()) < 300


def test_large_tensors_are_summarised_not_printed():
    w = _leaf(np.random.default_rng(3).normal(size=(50, 40)))
    out = (w.tanh() ** 2).sum()
    text = str(cr.explain(out, w))
    assert "shape (50, 40)" in text and "‖·‖" in text and "mean" in text
    assert len(text) < 2000


def test_non_leaf_wrt_gives_the_partial_through_it():
    x = _leaf(0.3)
    h = x * 2.0
    out = h.sin() + x
    e = cr.explain(out, h)
    assert float(e.total) == pytest.approx(math.cos(0.6), rel=1e-12)


def test_unreached_input_has_no_paths_and_zero_total():
    x, y = _leaf(1.0), _leaf(2.0)
    e = cr.explain(x.exp(), {"x": x, "y": y})
    assert e.num_paths == [1, 0]
    assert float(e.total[1]) == 0.0
    assert "∂L/∂y" in str(e)


def test_output_itself_is_one_empty_path():
    x = _leaf(3.0)
    e = cr.explain(x, x)
    assert e.num_paths == 1 and float(e.total) == 1.0


def test_rejects_non_scalar_output_and_non_tensor_wrt():
    x = _leaf([1.0, 2.0])
    with pytest.raises(ValueError, match=r"explain: output must be a scalar.*\(2,\)"):
        cr.explain(x * 2.0, x)
    with pytest.raises(TypeError, match="explain: wrt"):
        cr.explain((x * 2.0).sum(), 3.0)


def test_html_and_repr_show_the_breakdown():
    x = _leaf(1.0)
    e = cr.explain(x.sin(), x)
    assert "cos x" in repr(e)
    assert e._repr_html_().startswith("<pre>") and "cos x" in e._repr_html_()


def test_columns_fit_long_op_names_and_stay_aligned_across_paths():
    import chainrule.nn.functional as F

    x = _leaf([[[1.0, 2.0, 3.0, 4.0]]])
    w = _leaf([[[1.0, -1.0]]])
    text = str(cr.explain((F.conv1d(x, w) * 2.0).sum(), {"x": x, "w": w}))
    rows = [line for line in text.splitlines() if " input " in line]
    assert any(row.lstrip().startswith("conv in conv1d  input 0") for row in rows)
    assert len({row.index(" input ") for row in rows}) == 1  # the op column fits them all
    assert len({row.index("= a Jacobian") for row in rows}) == 1  # so does the formula column
    # a conv without bias has two of its three rules: each row shows its own
    assert any("input 1  ∂/∂w: g ↦ conv_weight_grad(x, g)  " in row for row in rows)
    assert any("input 0  ∂conv(x,w)/∂x: g ↦ conv_input_grad(g, w)  " in row for row in rows)
    assert not any("∂/∂b" in row for row in rows)
