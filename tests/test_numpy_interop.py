"""NumPy called on Tensors: the functions the op table covers record the gradient, value
questions are answered on the values, anything else refuses by name."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr

A = np.array([[0.5, -1.5, 2.0], [1.0, 0.25, -0.75]])


def _grad_of(program):
    x = cr.tensor(A, requires_grad=True)
    out = program(x)
    assert isinstance(out, cr.Tensor) and out.requires_grad, "the result must carry the graph"
    out.sum().backward()
    return out.data, x.grad.data


def _torch_grad_of(program):
    x = torch.tensor(A, requires_grad=True)
    out = program(x)
    out.sum().backward()
    return out.detach().numpy(), x.grad.numpy()


CASES = [
    ("np.exp", lambda x: np.exp(x), torch.exp),
    ("np.tanh", lambda x: np.tanh(x), torch.tanh),
    ("np.add with an array first", lambda x: np.add(A, x), lambda x: torch.tensor(A) + x),
    ("array * tensor", lambda x: A * x, lambda x: torch.tensor(A) * x),
    ("np.maximum", lambda x: np.maximum(x, 0.3), lambda x: torch.clamp(x, min=0.3)),
    ("np.power", lambda x: np.power(x, 2), lambda x: x ** 2),
    ("np.sum axis", lambda x: np.sum(x * x, axis=0), lambda x: (x * x).sum(0)),
    ("np.mean keepdims", lambda x: np.mean(x, axis=1, keepdims=True),
     lambda x: x.mean(1, keepdim=True)),
    ("np.var ddof", lambda x: np.var(x, ddof=1), lambda x: x.var()),
    ("np.max", lambda x: np.max(x, axis=1), lambda x: x.amax(1)),
    ("np.concatenate", lambda x: np.concatenate([x, x * 2]), lambda x: torch.cat([x, x * 2])),
    ("np.stack", lambda x: np.stack([x, x], axis=1), lambda x: torch.stack([x, x], 1)),
    ("np.reshape", lambda x: np.reshape(x, (3, 2)) * 1.5, lambda x: x.reshape(3, 2) * 1.5),
    ("np.transpose", lambda x: np.transpose(x) @ np.ones(2), lambda x: x.T @ torch.ones(2,
                                                                  dtype=torch.float64)),
    ("np.where", lambda x: np.where(A > 0, x, 2 * x), lambda x: torch.where(
        torch.tensor(A > 0), x, 2 * x)),
    ("np.clip", lambda x: np.clip(x, -1.0, 1.0), lambda x: torch.clamp(x, -1.0, 1.0)),
    ("np.matmul", lambda x: np.matmul(x, A.T), lambda x: x @ torch.tensor(A.T)),
    ("np.abs", lambda x: np.abs(x), torch.abs),
    ("np.sqrt of a square", lambda x: np.sqrt(x * x + 1), lambda x: torch.sqrt(x * x + 1)),
]


@pytest.mark.parametrize("name, program, reference", CASES, ids=[c[0] for c in CASES])
def test_numpy_calls_run_the_op_and_record_the_gradient(name, program, reference):
    value, grad = _grad_of(program)
    expected_value, expected_grad = _torch_grad_of(reference)
    np.testing.assert_allclose(value, expected_value, rtol=1e-12)
    np.testing.assert_allclose(grad, expected_grad, rtol=1e-12)


def test_asarray_is_a_view_and_array_copies():
    t = cr.tensor([1.0, 2.0])
    assert np.asarray(t) is t.data
    copied = np.array(t, copy=True)
    copied[0] = 99.0
    assert t.tolist() == [1.0, 2.0]
    copied = np.array(t)  # NumPy's default copies too
    copied[0] = 99.0
    assert t.tolist() == [1.0, 2.0]
    assert np.asarray(t, dtype=np.float64).dtype == np.float64
    with pytest.raises(ValueError, match="copy=False"):
        np.asarray(t, dtype=np.float64, copy=False)


def test_questions_about_values_are_answered():
    t = cr.tensor([1.0, np.inf, 3.0], requires_grad=True)
    assert np.isfinite(t).tolist() == [True, False, True]
    assert (np.arange(3.0) < t).tolist() == [True, True, True]
    assert np.allclose(cr.tensor([1.0, 2.0]), [1.0, 2.0])
    assert np.shape(t) == (3,) and np.ndim(t) == 1
    np.testing.assert_allclose(cr.tensor([1.0, 2.0]), [1.0, 2.0])


@pytest.mark.parametrize("call, name", [
    (lambda t: np.sort(t), "sort"),
    (lambda t: np.cumsum(t), "cumsum"),
    (lambda t: np.floor(t), "floor"),
    (lambda t: np.linalg.norm(t), "norm"),
])
def test_other_numpy_functions_refuse_by_name(call, name):
    with pytest.raises(TypeError, match=rf"^np\.{name}: not supported on chainrule Tensors"):
        call(cr.tensor([3.0, 1.0, 2.0], requires_grad=True))


def test_numpy_keywords_without_a_counterpart_refuse():
    t = cr.tensor([1.0, 2.0])
    with pytest.raises(TypeError, match=r"np\.sum: out=.* is not supported"):
        np.sum(t, out=np.zeros(()))
    with pytest.raises(TypeError, match=r"^np\.add\.reduce: not supported"):
        np.add.reduce(t)
    assert float(np.sum(t, out=None)) == 3.0
