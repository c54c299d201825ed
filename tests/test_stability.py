"""Numerical stability: for any finite input up to |x| = 1e4, in float32 and float64, the
saturating functions give finite values and finite first and second derivatives, with no
floating-point warning (pytest turns warnings into errors), and agree with PyTorch."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule import ops

EXTREMES = [-1e4, -710.0, -100.0, -20.0, -1.0, 0.0, 1.0, 20.0, 100.0, 710.0, 1e4]
ROWS = [[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4], [1e4, 1e4, 1e4], [3.0, -2.0, 1e4]]

FUNCTIONS = {
    "sigmoid": (lambda x: x.sigmoid(), torch.sigmoid, EXTREMES),
    "tanh": (lambda x: x.tanh(), torch.tanh, EXTREMES),
    "softplus": (lambda x: ops.softplus(x), torch.nn.functional.softplus, EXTREMES),
    "logsumexp": (lambda x: x.logsumexp(axis=-1), lambda x: torch.logsumexp(x, dim=-1), ROWS),
    "logsumexp_all": (lambda x: x.logsumexp(), lambda x: torch.logsumexp(x, dim=(0, 1)), ROWS),
    "softmax": (lambda x: x.softmax(axis=-1), lambda x: torch.softmax(x, dim=-1), ROWS),
    "log_softmax": (lambda x: x.log_softmax(axis=-1), lambda x: torch.log_softmax(x, dim=-1),
                    ROWS),
    "softmax_axis0": (lambda x: x.softmax(axis=0), lambda x: torch.softmax(x, dim=0), ROWS),
}

CASES = [(name, dtype) for name in FUNCTIONS for dtype in (np.float32, np.float64)]
IDS = [f"{name}-{np.dtype(dtype).name}" for name, dtype in CASES]


def _weights(shape: tuple[int, ...], dtype) -> np.ndarray:
    return np.random.default_rng(0).uniform(0.5, 1.5, shape).astype(dtype)


@pytest.mark.parametrize("name, dtype", CASES, ids=IDS)
def test_values_and_gradients_stay_finite_for_huge_inputs(name, dtype):
    fn, _, data = FUNCTIONS[name]
    x = cr.tensor(np.array(data, dtype=dtype), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        # Underflow to 0 is the right answer (e^(−2·10⁴)); overflow, 0/0 and log 0 are not.
        with np.errstate(over="raise", divide="raise", invalid="raise"):
            out = fn(x)
            w = cr.tensor(_weights(out.shape, dtype))
            (out * w).sum().backward()
    assert out.dtype == dtype and x.grad.dtype == dtype
    assert np.all(np.isfinite(out.data)), out
    assert np.all(np.isfinite(x.grad.data)), x.grad


@pytest.mark.parametrize("name, dtype", CASES, ids=IDS)
def test_values_and_gradients_match_torch_for_huge_inputs(name, dtype):
    fn, reference, data = FUNCTIONS[name]
    array = np.array(data, dtype=dtype)
    x = cr.tensor(array, requires_grad=True)
    out = fn(x)
    w = _weights(out.shape, dtype)
    (out * cr.tensor(w)).sum().backward()
    # The oracle runs in float64 on the same (float32-representable) inputs: PyTorch's own
    # float32 logsumexp backward loses digits at |x| = 1e4, where the spacing is 1e-3.
    xt = torch.tensor(array.astype(np.float64), requires_grad=True)
    expected = reference(xt)
    (expected * torch.tensor(w.astype(np.float64))).sum().backward()
    tol = {"rtol": 1e-5, "atol": 1e-6} if dtype == np.float32 else {"rtol": 1e-12, "atol": 1e-14}
    np.testing.assert_allclose(out.data, expected.detach().numpy(), **tol)
    np.testing.assert_allclose(x.grad.data, xt.grad.numpy(), **tol)


@pytest.mark.parametrize("name, dtype", CASES, ids=IDS)
def test_second_derivatives_stay_finite_for_huge_inputs(name, dtype):
    fn, _, data = FUNCTIONS[name]
    x = cr.tensor(np.array(data, dtype=dtype), requires_grad=True)
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        out = fn(x)
        (out * cr.tensor(_weights(out.shape, dtype))).sum().backward(create_graph=True)
        first = x.grad
        x.grad = None
        if first.requires_grad:
            (first * first).sum().backward()
    assert x.grad is None or np.all(np.isfinite(x.grad.data))


def test_saturated_values_are_exact():
    x = cr.tensor(np.array([-1e4, 1e4]), requires_grad=True)
    np.testing.assert_array_equal(x.sigmoid().data, [0.0, 1.0])
    np.testing.assert_array_equal(ops.softplus(x).data, [0.0, 1e4])
    assert x.logsumexp().item() == 1e4
    np.testing.assert_array_equal(x.log_softmax(axis=0).data, [-2e4, 0.0])
    np.testing.assert_array_equal(x.softmax(axis=0).data, [0.0, 1.0])
