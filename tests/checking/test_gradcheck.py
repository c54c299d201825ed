"""cr.gradcheck: reverse mode against float64 central differences, every Jacobian entry."""

from __future__ import annotations

import re

import numpy as np
import pytest

import chainrule as cr
from chainrule.autodiff import Primitive


def _bad_square(scale: float) -> Primitive:
    """x² with a deliberately wrong derivative ``scale``·x (right when scale = 2)."""
    return Primitive("bad_square", lambda x: x * x,
                     [lambda g, out, x: g * scale * x], formula="∂x²/∂x = 2x")


def test_passes_for_correct_functions_of_several_inputs():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(3, 4)), rng.normal(size=(4, 2))
    assert cr.gradcheck(lambda x, y: (x @ y).tanh(), (a, b)) is True
    assert cr.gradcheck(lambda x: x.softmax(axis=-1), (a,)) is True


def test_accepts_tensors_arrays_and_a_single_tensor():
    x = cr.tensor([0.5, -1.0, 2.0])
    assert cr.gradcheck(lambda t: t.sigmoid(), x)
    assert cr.gradcheck(lambda t: t.sigmoid(), (x,))
    assert cr.gradcheck(lambda t: t.sigmoid(), [x.data])


def test_runs_in_float64_on_copies_and_leaves_inputs_alone():
    seen = []
    x = cr.tensor([1.0, 2.0])  # float32

    def f(t):
        seen.append(t.dtype)
        return t * t

    cr.gradcheck(f, (x,))
    assert set(seen) == {np.dtype(np.float64)}
    assert x.dtype == np.float32 and x.grad is None and not x.requires_grad


def test_every_output_element_of_a_matrix_output_is_checked():
    prim = _bad_square(2.0)
    x = np.arange(6.0).reshape(2, 3)
    assert cr.gradcheck(lambda t: prim(t) * 1.5, (x,))  # right derivative: passes
    wrong = _bad_square(2.1)
    with pytest.raises(cr.GradcheckError):
        cr.gradcheck(lambda t: wrong(t) * 1.5, (x,))


def test_error_names_input_element_and_both_values():
    wrong = _bad_square(3.0)  # analytic 3x instead of 2x
    y = np.array([1.0, 2.0])
    x = np.array([0.0, 0.0, 2.0])  # elements 0 and 1 agree (x = 0); element 2 does not
    with pytest.raises(cr.GradcheckError) as info:
        cr.gradcheck(lambda a, b: wrong(b).sum() + a.sum(), (y, x))
    message = str(info.value)
    assert "input 1" in message and "element (2,)" in message
    analytic = float(re.search(r"analytic ([-\d.e+]+)", message).group(1))
    numerical = float(re.search(r"numerical ([-\d.e+]+)", message).group(1))
    assert analytic == pytest.approx(6.0)
    assert numerical == pytest.approx(4.0, rel=1e-6)


def test_gradcheck_error_is_a_runtime_error():
    assert issubclass(cr.GradcheckError, RuntimeError)


def test_input_that_does_not_affect_output_has_zero_derivative():
    assert cr.gradcheck(lambda x, y: x.exp(), (np.array([0.1, 0.2]), np.array([3.0])))
    assert cr.gradcheck(lambda x: cr.tensor(np.ones(2)) * 3.0, (np.array([1.0]),))


def test_nonzero_numerical_derivative_with_no_analytic_path_fails():
    # the output depends on x through .data, which the graph cannot see: analytic 0
    with pytest.raises(cr.GradcheckError, match="analytic 0.0"):
        cr.gradcheck(lambda x: cr.tensor(x.data * 2.0), (np.array([1.0, 2.0]),))


def test_detects_a_kink_sampled_exactly_at_relu_zero():
    # relu'(0) = 0 by convention, but the central difference sees the average ½
    with pytest.raises(cr.GradcheckError, match="element \\(1,\\)"):
        cr.gradcheck(lambda x: x.relu(), (np.array([1.0, 0.0]),))


def test_tolerances_are_honoured():
    slightly_wrong = _bad_square(2.0 + 1e-4)  # relative error 5e-5
    x = np.array([1.0, 3.0])
    assert cr.gradcheck(lambda t: slightly_wrong(t), (x,))  # within rtol 1e-3
    with pytest.raises(cr.GradcheckError):
        cr.gradcheck(lambda t: slightly_wrong(t), (x,), atol=1e-9, rtol=1e-7)


def test_f_must_return_a_tensor():
    with pytest.raises(TypeError, match="gradcheck: f must return a Tensor"):
        cr.gradcheck(lambda x: 3.0, (np.array([1.0]),))


def test_agrees_with_torch_gradcheck_on_the_same_function():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(2, 3)), rng.normal(size=(3,))
    ta = torch.tensor(a, requires_grad=True)
    tb = torch.tensor(b, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x, y: torch.logsumexp(x * y, dim=1), (ta, tb))
    assert cr.gradcheck(lambda x, y: (x * y).logsumexp(axis=1), (a, b))
