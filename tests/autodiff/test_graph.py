"""The graph engine: fan-out, accumulation, grad modes, retain_graph, freed buffers,
long chains, create_graph and explicit output gradients."""

from __future__ import annotations

import gc
import math
import weakref

import numpy as np
import pytest

import chainrule as cr


def _leaf(value, dtype=np.float64):
    return cr.tensor(np.asarray(value, dtype=dtype), requires_grad=True)


# ---------------------------------------------------------------- fan-out and fan-in


def test_reusing_a_node_sums_its_gradients():
    a = _leaf(3.0)
    b = a + a  # dL/da gets 1 from each use
    c = b + b
    c.backward()
    assert a.grad.item() == 4.0


def test_diamond_graph_sums_both_paths():
    # z = sin(x) · x²: dz/dx = cos(x)·x² + sin(x)·2x (both branches start at x)
    x = _leaf(0.7)
    z = x.sin() * (x * x)
    z.backward()
    expected = math.cos(0.7) * 0.49 + math.sin(0.7) * 1.4
    assert x.grad.item() == pytest.approx(expected, rel=1e-12)


def test_a_node_consumed_by_a_later_node_waits_for_all_consumers():
    # y is used directly by the output and through w = y², so its gradient must sum
    # both contributions before it is passed on to x: dL/dx = (1 + 2y)·2x
    x = _leaf(1.5)
    y = x * x
    w = y * y
    loss = w + y
    loss.backward()
    assert x.grad.item() == pytest.approx((1 + 2 * 2.25) * 3.0, rel=1e-12)


def test_gradient_accumulates_across_backward_calls():
    x = _leaf([1.0, 2.0])
    (x * 3).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.data, [3 + 2, 3 + 4])


def test_only_leaves_that_require_grad_receive_grad():
    x = _leaf([1.0, 2.0])
    c = cr.tensor(np.array([5.0, 7.0]))
    hidden = x * c
    hidden.sum().backward()
    np.testing.assert_allclose(x.grad.data, [5.0, 7.0])
    assert c.grad is None
    assert hidden.grad is None  # like PyTorch, non-leaves keep no .grad


def test_backward_from_a_leaf_gives_one():
    x = _leaf(2.0)
    x.backward()
    assert x.grad.item() == 1.0


# ---------------------------------------------------------------- grad modes


def test_no_grad_records_nothing():
    x = _leaf([1.0, 2.0])
    with cr.no_grad():
        y = (x * 2).exp()
    assert not y.requires_grad
    assert y.grad_fn is None and y.is_leaf
    assert cr.is_grad_enabled()
    with pytest.raises(RuntimeError, match="does not require grad"):
        y.sum().backward()


def test_enable_grad_records_inside_no_grad():
    x = _leaf(2.0)
    with cr.no_grad():
        assert not cr.is_grad_enabled()
        with cr.enable_grad():
            y = x * x
        z = x * x
    assert y.requires_grad and not z.requires_grad
    y.backward()
    assert x.grad.item() == 4.0


def test_no_grad_works_as_a_decorator_and_restores_the_mode():
    @cr.no_grad()
    def double(t):
        return t * 2

    x = _leaf(1.0)
    assert not double(x).requires_grad
    assert cr.is_grad_enabled()


# ---------------------------------------------------------------- retain_graph


def test_second_backward_without_retain_graph_raises():
    x = _leaf(2.0)
    y = x.exp() * x
    y.backward()
    with pytest.raises(RuntimeError, match=r"retain_graph=True"):
        y.backward()


def test_backward_through_a_subgraph_freed_by_another_output_raises():
    x = _leaf([1.0, 2.0])
    shared = x.exp()
    shared.sum().backward()
    with pytest.raises(RuntimeError, match=r"retain_graph=True"):
        (shared * shared).sum().backward()


def test_retain_graph_allows_a_second_backward_that_doubles_the_grad():
    x = _leaf(2.0)
    y = x.exp() * x  # dy/dx = eˣ(1 + x)
    y.backward(retain_graph=True)
    y.backward()
    assert x.grad.item() == pytest.approx(2 * math.exp(2.0) * 3.0, rel=1e-12)


# ---------------------------------------------------------------- memory and depth


def test_a_100000_node_chain_backpropagates_without_recursion():
    n = 100_000
    x = _leaf(1.0)
    y = x
    for _ in range(n):
        y = y * 1.00001
    y.backward()  # d(x·cⁿ)/dx = cⁿ
    assert x.grad.item() == pytest.approx(1.00001 ** n, rel=1e-9)


def test_saved_intermediate_is_released_by_backward():
    x = _leaf([0.5, 1.5])
    hidden = x.exp()
    loss = (hidden * hidden).sum()
    ref = weakref.ref(hidden)
    del hidden
    assert ref() is not None  # the graph keeps it for the backward pass
    loss.backward()
    assert ref() is None


def test_retain_graph_keeps_the_saved_intermediate():
    x = _leaf([0.5, 1.5])
    hidden = x.exp()
    loss = (hidden * hidden).sum()
    ref = weakref.ref(hidden)
    del hidden
    loss.backward(retain_graph=True)
    assert ref() is not None


def test_dropping_an_output_frees_its_graph_without_the_garbage_collector():
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        x = _leaf([0.5, 1.5])
        hidden = x.sin()
        out = (hidden * x).sum()
        refs = [weakref.ref(hidden), weakref.ref(out)]
        del hidden, out
        assert [r() for r in refs] == [None, None]
    finally:
        if was_enabled:
            gc.enable()


# ---------------------------------------------------------------- create_graph, detach


def test_create_graph_makes_grad_differentiable():
    x = _leaf(2.0)
    (x ** 3).backward(create_graph=True)  # dy/dx = 3x² = 12
    first = x.grad
    assert first.item() == pytest.approx(12.0)
    assert first.requires_grad
    x.grad = None
    first.backward()  # d(3x²)/dx = 6x = 12
    assert x.grad.item() == pytest.approx(12.0)


def test_create_graph_twice_gives_the_third_derivative():
    x = _leaf(0.3)
    x.sin().backward(create_graph=True)
    d1 = x.grad  # cos x
    x.grad = None
    d1.backward(create_graph=True)
    d2 = x.grad  # −sin x
    x.grad = None
    d2.backward()
    assert x.grad.item() == pytest.approx(-math.cos(0.3), rel=1e-12)


def test_detach_shares_data_and_stops_the_gradient():
    x = _leaf([1.0, 2.0])
    d = (x * 2).detach()
    assert not d.requires_grad and d.is_leaf
    y = x * d  # d is a constant: dy/dx = d
    y.sum().backward()
    np.testing.assert_allclose(x.grad.data, [2.0, 4.0])
    shared = x.detach()
    shared.data[0] = 10.0
    assert x.data[0] == 10.0


def test_requires_grad_on_integer_data_promotes_to_float():
    t = cr.tensor([1, 2, 3])
    assert t.dtype == np.int64
    t.requires_grad_()
    assert t.dtype == np.float32 and t.requires_grad
    (t * t).sum().backward()
    np.testing.assert_allclose(t.grad.data, [2.0, 4.0, 6.0])


# ---------------------------------------------------------------- output gradients


def test_backward_with_an_explicit_gradient_gives_the_vjp():
    x = _leaf([1.0, 2.0])
    y = x * x  # vᵀ ∂y/∂x = 2x ⊙ v
    y.backward(gradient=cr.tensor(np.array([1.0, 10.0])))
    np.testing.assert_allclose(x.grad.data, [2.0, 40.0])


def test_backward_accepts_a_numpy_gradient():
    x = _leaf([[1.0, 2.0]])
    (x * 3).backward(gradient=np.array([[1.0, -1.0]]))
    np.testing.assert_allclose(x.grad.data, [[3.0, -3.0]])


def test_backward_of_a_non_scalar_without_gradient_raises():
    x = _leaf([1.0, 2.0])
    with pytest.raises(RuntimeError, match=r"backward: .*scalar.*\(2,\).*gradient="):
        (x * 2).backward()


def test_backward_with_a_wrongly_shaped_gradient_raises():
    x = _leaf([1.0, 2.0])
    with pytest.raises(ValueError, match=r"backward: gradient has shape \(3,\) .* \(2,\)"):
        (x * 2).backward(gradient=np.ones(3))


def test_grad_dtype_matches_the_leaf_dtype():
    x32 = cr.tensor([1.0, 2.0], requires_grad=True)
    x64 = _leaf([1.0, 2.0])
    (x32 * x64).sum().backward()  # the product is float64; each grad keeps its leaf's dtype
    assert x32.grad.dtype == np.float32
    assert x64.grad.dtype == np.float64
