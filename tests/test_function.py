"""cr.Function: custom derivatives with PyTorch's forward/backward/ctx pattern."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr


class Exp(cr.Function):
    """eˣ with ∂eˣ/∂x = eˣ, saving the output."""

    @staticmethod
    def forward(ctx, x):
        out = x.exp()
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return g * out


class Clamp(cr.Function):
    """clamp(x, lo, hi) with a non-tensor lo and hi (which get None gradients)."""

    @staticmethod
    def forward(ctx, x, lo, hi):
        ctx.save_for_backward(x)
        ctx.lo, ctx.hi = lo, hi
        return x.clip(lo, hi)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        inside = (x.data >= ctx.lo) & (x.data <= ctx.hi)
        return g * inside, None, None


class MulAdd(cr.Function):
    """x·y + y, two tensor inputs: ∂/∂x = y, ∂/∂y = x + 1."""

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return x * y + y

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        return g * y, g * (x + 1)


class Cube(cr.Function):
    """x³ with a backward written with differentiable ops: 3x²."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x * x

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * 3 * x * x


def test_custom_exp_matches_analytic_derivative():
    x = cr.tensor([-1.0, 0.0, 0.5, 2.0], dtype="float64", requires_grad=True)
    Exp.apply(x).sum().backward()
    np.testing.assert_allclose(x.grad.data, np.exp(x.data), rtol=1e-12)


def test_custom_exp_in_a_chain_gets_chain_rule():
    x = cr.tensor([0.3, -0.7], dtype="float64", requires_grad=True)
    (Exp.apply(x.sin()) * 2).sum().backward()  # d/dx 2·e^{sin x} = 2·e^{sin x}·cos x
    np.testing.assert_allclose(x.grad.data, 2 * np.exp(np.sin(x.data)) * np.cos(x.data))


def test_clamp_passes_gradient_inside_and_none_for_non_tensor_args():
    x = cr.tensor([-2.0, -0.5, 0.5, 2.0], requires_grad=True)
    out = Clamp.apply(x, -1.0, 1.0)
    np.testing.assert_allclose(out.data, [-1.0, -0.5, 0.5, 1.0])
    out.sum().backward()
    np.testing.assert_array_equal(x.grad.data, [0.0, 1.0, 1.0, 0.0])


def test_two_tensor_inputs_get_their_gradients():
    x = cr.tensor([1.0, 2.0], dtype="float64", requires_grad=True)
    y = cr.tensor([3.0, -1.0], dtype="float64", requires_grad=True)
    MulAdd.apply(x, y).sum().backward()
    np.testing.assert_allclose(x.grad.data, y.data)
    np.testing.assert_allclose(y.grad.data, x.data + 1)


def test_needs_input_grad_reports_which_inputs_require_grad():
    seen = []

    class Probe(cr.Function):
        @staticmethod
        def forward(ctx, x, y, k):
            seen.append(ctx.needs_input_grad)
            return x * y * k

        @staticmethod
        def backward(ctx, g):
            return None, None, None

    x = cr.tensor(1.0, requires_grad=True)
    y = cr.tensor(2.0)
    Probe.apply(x, y, 3)
    with cr.no_grad():
        Probe.apply(x, y, 3)
    assert seen == [(True, False, False), (False, False, False)]


def test_forward_runs_under_no_grad_and_result_records_one_node():
    class Square(cr.Function):
        @staticmethod
        def forward(ctx, x):
            assert not cr.is_grad_enabled()
            return x * x

        @staticmethod
        def backward(ctx, g):
            raise AssertionError("not called")

    x = cr.tensor(3.0, requires_grad=True)
    out = Square.apply(x)
    assert out.requires_grad and out.grad_fn.prim.name == "Square"
    assert out.grad_fn.inputs[0] is x


def test_no_graph_when_no_input_requires_grad():
    out = Exp.apply(cr.tensor([1.0]))
    assert not out.requires_grad and out.grad_fn is None


def test_gradcheck_passes_for_custom_functions():
    rng = np.random.default_rng(0)
    assert cr.gradcheck(Exp.apply, (rng.normal(size=(2, 3)),))
    assert cr.gradcheck(MulAdd.apply, (rng.normal(size=3), rng.normal(size=3)))
    assert cr.gradcheck(lambda x: Clamp.apply(x, -0.5, 0.5), (np.array([-0.9, 0.1, 0.9]),))


def test_gradcheck_catches_a_wrong_backward():
    class BadSin(cr.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x.sin()

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * x.sin()  # should be cos

    with pytest.raises(cr.GradcheckError):
        cr.gradcheck(BadSin.apply, (np.array([0.3, 1.2]),))


def test_create_graph_differentiates_through_a_tensor_backward():
    x = cr.tensor(2.0, dtype="float64", requires_grad=True)
    (dx,) = [cr.grad(lambda t: Cube.apply(t))(x)]
    assert float(dx) == pytest.approx(12.0)  # 3x²
    d2 = cr.grad(cr.grad(lambda t: Cube.apply(t)))(x)
    assert float(d2) == pytest.approx(12.0)  # 6x
    d3 = cr.grad(cr.grad(cr.grad(lambda t: Cube.apply(t))))(x)
    assert float(d3) == pytest.approx(6.0)


def test_saved_output_stays_connected_for_second_order():
    x = cr.tensor(0.7, dtype="float64", requires_grad=True)
    d2 = cr.grad(cr.grad(lambda t: Exp.apply(t)))(x)
    assert float(d2) == pytest.approx(np.exp(0.7), rel=1e-12)  # (eˣ)'' = eˣ


def test_wrong_number_of_gradients_names_the_function():
    class TooMany(cr.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2, g

    x = cr.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"TooMany\.backward: returned 2 gradient\(s\).*1"):
        TooMany.apply(x).sum().backward()


def test_wrong_gradient_shape_names_the_function_and_shapes():
    class BadShape(cr.Function):
        @staticmethod
        def forward(ctx, x):
            return x.sum()

        @staticmethod
        def backward(ctx, g):
            return g  # should be expanded to x's shape

    x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"BadShape\.backward: gradient 0 has shape \(\) "
                                           r"but input 0 has shape \(3,\)"):
        BadShape.apply(x).backward()


def test_forward_returning_a_tuple_is_rejected_clearly():
    class Pair(cr.Function):
        @staticmethod
        def forward(ctx, x):
            return x, x

        @staticmethod
        def backward(ctx, g):
            return g

    with pytest.raises(TypeError, match="Pair.forward"):
        Pair.apply(cr.tensor(1.0, requires_grad=True))


def test_matches_torch_autograd_function():
    torch = pytest.importorskip("torch")

    class TorchMulAdd(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, y):
            ctx.save_for_backward(x, y)
            return x * y + y

        @staticmethod
        def backward(ctx, g):
            x, y = ctx.saved_tensors
            return g * y, g * (x + 1)

    xs, ys = np.array([0.5, -1.5, 2.0]), np.array([1.0, 0.25, -3.0])
    tx = torch.tensor(xs, requires_grad=True)
    ty = torch.tensor(ys, requires_grad=True)
    (TorchMulAdd.apply(tx, ty) ** 2).sum().backward()
    x = cr.tensor(xs, requires_grad=True)
    y = cr.tensor(ys, requires_grad=True)
    (MulAdd.apply(x, y) ** 2).sum().backward()
    np.testing.assert_allclose(x.grad.data, tx.grad.numpy())
    np.testing.assert_allclose(y.grad.data, ty.grad.numpy())


def test_explain_shows_a_custom_function_as_one_factor():
    x = cr.tensor(0.5, dtype="float64", requires_grad=True)
    e = cr.explain(Exp.apply(x * 2.0), x)
    (path,) = e.paths
    assert [f.op for f in path.factors] == ["Exp", "mul"]
    assert "Exp.backward" in path.factors[0].formula
    assert path.factors[0].value == pytest.approx(np.exp(1.0), rel=1e-12)
    assert float(e.total) == pytest.approx(2 * np.exp(1.0), rel=1e-12)
