"""Bugs the stability sweep (tools/stability.py) found, one named test each. Every test
failed before its fix: the values are the inputs the sweep reported."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr
import chainrule.nn.functional as F

F32, F64 = np.finfo(np.float32), np.finfo(np.float64)


def _strict():
    # what pytest's filterwarnings=error does for warnings, for every NumPy FP event
    return np.errstate(over="raise", divide="raise", invalid="raise", under="ignore")


def test_std_of_a_row_with_nan_is_nan_not_zero():
    # composites.std took the root only "where var > 0": nan > 0 is False, so nan became 0
    x = cr.tensor([np.nan, 0.0], requires_grad=True)
    out = x.std()
    assert np.isnan(out.item())
    out.backward()
    assert np.isnan(x.grad.numpy()).all()


def test_std_with_a_nan_row_keeps_the_other_rows():
    x = cr.tensor(np.array([[np.nan, 1.0], [1.0, 3.0]]))
    np.testing.assert_array_equal(np.isnan(x.std(axis=1).numpy()), [True, False])
    assert x.std(axis=1).numpy()[1] == 1.0


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_std_of_a_tiny_spread_does_not_underflow(dtype):
    # float32 std([0, 1e-30]) was 0 with gradient 0: the squares (1e-60) underflowed
    data = np.array([0.0, -1e-30], dtype=dtype)
    x = cr.tensor(data, requires_grad=True)
    with _strict():
        out = x.std()
        out.backward()
    assert out.dtype == dtype
    np.testing.assert_allclose(out.item(), 5e-31, rtol=1e-6)
    np.testing.assert_allclose(x.grad.numpy(), [0.5, -0.5], rtol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_std_of_a_huge_spread_does_not_overflow(dtype):
    # float32 std([1e20, -1e20]) was inf: the squares (1e40) overflowed
    big = 1e20 if dtype == np.float32 else 1e200
    x = cr.tensor(np.array([big, -big], dtype=dtype), requires_grad=True)
    with _strict():
        out = x.std()
        out.backward()
    np.testing.assert_allclose(out.item(), big, rtol=1e-6)
    np.testing.assert_allclose(x.grad.numpy(), [0.5, -0.5], rtol=1e-6)


def test_std_scaling_leaves_ordinary_values_bit_identical():
    rng = np.random.default_rng(0)
    data = rng.standard_normal((5, 7)) * 1e13  # spread > 2^40: the scaled path
    for axis in (None, 0, 1, (0, 1), -1):
        mine = cr.tensor(data).std(axis=axis, keepdims=axis == 1).numpy()
        np.testing.assert_allclose(mine, np.std(data, axis=axis, keepdims=axis == 1),
                                   rtol=1e-15)


@pytest.mark.parametrize("name", ["logsumexp", "log_softmax", "softmax", "cross_entropy"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_shift_by_the_max_does_not_warn_at_the_dtype_extremes(name, dtype):
    # x − max(x) = −max − max overflowed to −inf with a warning; e^(−inf) = 0 is right
    big = np.finfo(dtype).max
    data = np.array([[-big, big], [1.0, 2.0]], dtype=dtype)
    x = cr.tensor(data, requires_grad=True)
    fns = {
        "logsumexp": lambda t: t.logsumexp(axis=1),
        "log_softmax": lambda t: t.log_softmax(axis=1)[:, 1],
        "softmax": lambda t: t.softmax(axis=1),
        "cross_entropy": lambda t: F.cross_entropy(t, cr.tensor([1, 0]), reduction="none"),
    }
    with _strict():
        out = fns[name](x)
        out.sum().backward()
    assert np.isfinite(out.numpy()).all() and np.isfinite(x.grad.numpy()).all()


@pytest.mark.parametrize("approximate", ["none", "tanh"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gelu_at_the_dtype_extremes_is_finite_without_warnings(approximate, dtype):
    # erf' = e^(−x²) squared x (overflow past 1.8e19 in float32); the tanh form cubed it
    big = np.finfo(dtype).max
    data = np.array([-big, -1e30, -1e4, -1.0, 0.0, 1.0, 1e4, 1e30, big], dtype=dtype)
    data = data[np.isfinite(data)]
    x = cr.tensor(data, requires_grad=True)
    with _strict():
        out = F.gelu(x, approximate=approximate)
        out.sum().backward()
    expected_out = np.where(data > 0, data, 0.0)
    far = np.abs(data) >= 1e4
    np.testing.assert_array_equal(out.numpy()[far], expected_out[far])
    np.testing.assert_array_equal(x.grad.numpy()[far], (data[far] > 0).astype(dtype))


def test_gelu_keeps_its_second_derivative_after_the_tail_clip():
    x = torch.tensor([-3.0, -0.5, 0.0, 0.7, 2.0], dtype=torch.float64, requires_grad=True)
    (g,) = torch.autograd.grad(torch.nn.functional.gelu(x).sum(), x, create_graph=True)
    (h,) = torch.autograd.grad(g.sum(), x)
    second = cr.grad(lambda t: cr.grad(lambda u: F.gelu(u).sum())(t).sum())(
        cr.tensor(x.detach().numpy()))
    np.testing.assert_allclose(second.numpy(), h.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_huber_gradient_is_finite_for_huge_differences(dtype):
    # q·(|d| − q/2): the backward multiplied the incoming gradient by |d| ≈ max → inf,
    # then by clip's 0 → nan
    big = np.finfo(dtype).max
    x = cr.tensor(np.array([big, -big / 2, 0.25], dtype=dtype), requires_grad=True)
    with _strict():
        out = F.huber_loss(x, cr.zeros(3, dtype=dtype), reduction="none")
        out.backward(np.full(3, 1.5, dtype=dtype))
    np.testing.assert_allclose(x.grad.numpy(), [1.5, -1.5, 0.375], rtol=1e-6)
    np.testing.assert_allclose(out.numpy()[1:], [big / 2 - 0.5, 0.03125], rtol=1e-6)


def test_huber_matches_torch_on_both_sides_of_delta():
    d = np.array([-3.0, -1.0, -0.999, 0.0, 0.5, 1.0, 1.001, 2.5, 1e4])
    for delta in (0.5, 1.0, 2.0):
        x = cr.tensor(d, requires_grad=True)
        out = F.huber_loss(x, cr.zeros(len(d), dtype="float64"), delta=delta)
        out.backward()
        xt = torch.tensor(d, requires_grad=True)
        ref = torch.nn.functional.huber_loss(xt, torch.zeros(len(d), dtype=torch.float64),
                                             delta=delta)
        ref.backward()
        np.testing.assert_allclose(out.item(), ref.item(), rtol=1e-14)
        np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-14)
