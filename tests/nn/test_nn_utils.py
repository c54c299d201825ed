"""cr.nn.utils.clip_grad_norm_ and clip_grad_value_ against torch.nn.utils."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule import nn

SHAPES = [(3, 4), (4,), (2, 2, 3), ()]


def _grads(scale: float, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.normal(size=shape) * scale for shape in SHAPES]


def _pair(grads: list[np.ndarray]):
    ours = [cr.tensor(np.zeros_like(g), requires_grad=True) for g in grads]
    theirs = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in grads]
    for p, t, g in zip(ours, theirs, grads):
        p.grad = cr.tensor(g.copy())
        t.grad = torch.tensor(g.copy())
    return ours, theirs


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, 0.5, float("inf"), "inf", -math.inf, 0])
@pytest.mark.parametrize("scale,max_norm", [(10.0, 1.0), (0.01, 1.0), (1.0, 2.5)])
def test_clip_grad_norm_matches_torch(norm_type, scale, max_norm) -> None:
    ours, theirs = _pair(_grads(scale))
    total = nn.utils.clip_grad_norm_(ours, max_norm, norm_type=norm_type)
    ttotal = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type=norm_type)
    assert isinstance(total, cr.Tensor) and total.shape == () and total.dtype == np.float64
    np.testing.assert_allclose(total.item(), ttotal.item(), rtol=1e-12)
    for p, t in zip(ours, theirs):
        np.testing.assert_allclose(p.grad.numpy(), t.grad.numpy(), rtol=1e-12, atol=1e-300)


def test_clip_grad_norm_in_float32_matches_torch() -> None:
    grads = [g.astype(np.float32) for g in _grads(5.0)]
    ours = [cr.zeros(*g.shape, requires_grad=True) for g in grads]
    theirs = [torch.zeros(g.shape, requires_grad=True) for g in grads]
    for p, t, g in zip(ours, theirs, grads):
        p.grad, t.grad = cr.tensor(g), torch.tensor(g)
    total = nn.utils.clip_grad_norm_(ours, 1.0)
    ttotal = torch.nn.utils.clip_grad_norm_(theirs, 1.0)
    assert total.dtype == np.float32
    np.testing.assert_allclose(total.item(), ttotal.item(), rtol=1e-6)
    for p, t in zip(ours, theirs):
        assert p.grad.dtype == np.float32
        np.testing.assert_allclose(p.grad.numpy(), t.grad.numpy(), rtol=1e-6)


def test_clip_grad_norm_on_a_model_keeps_direction_and_caps_the_norm() -> None:
    cr.manual_seed(0)
    net = nn.MLP([3, 8, 2], dtype="float64")
    (net(cr.ones(5, 3, dtype="float64")) * 100).sum().backward()
    before = [p.grad.numpy().copy() for p in net.parameters()]
    total = nn.utils.clip_grad_norm_(net.parameters(), max_norm=0.5)
    after = np.concatenate([p.grad.numpy().ravel() for p in net.parameters()])
    assert total.item() > 0.5
    assert np.linalg.norm(after) == pytest.approx(0.5, rel=1e-5)
    np.testing.assert_allclose(after * total.item() / np.linalg.norm(after),
                               np.concatenate([b.ravel() for b in before]), rtol=1e-5)


def test_clip_grad_norm_skips_missing_grads_and_takes_a_single_tensor() -> None:
    w = cr.tensor([3.0, 4.0], requires_grad=True)
    assert nn.utils.clip_grad_norm_([cr.zeros(2, requires_grad=True)], 1.0).item() == 0.0
    empty = torch.nn.utils.clip_grad_norm_([torch.zeros(2, requires_grad=True)], 1.0)
    assert nn.utils.clip_grad_norm_([w], 1.0).dtype == np.dtype(str(empty.dtype)[6:])
    w.grad = cr.tensor([3.0, 4.0])
    assert nn.utils.clip_grad_norm_(w, 10.0).item() == 5.0
    assert w.grad.tolist() == pytest.approx([3.0, 4.0], rel=1e-6)


def test_clip_grad_norm_nonfinite() -> None:
    w = cr.tensor([1.0, 1.0], dtype="float64", requires_grad=True)
    w.grad = cr.tensor([np.inf, 1.0])
    t = torch.ones(2, dtype=torch.float64, requires_grad=True)
    t.grad = torch.tensor([np.inf, 1.0], dtype=torch.float64)
    with pytest.raises(RuntimeError, match=r"clip_grad_norm_: the total norm of order 2\.0 of "
                                           r"the gradients is inf, so they cannot be clipped"):
        nn.utils.clip_grad_norm_([w], 1.0, error_if_nonfinite=True)
    assert w.grad.tolist() == [np.inf, 1.0]  # untouched
    total = nn.utils.clip_grad_norm_([w], 1.0)
    ttotal = torch.nn.utils.clip_grad_norm_([t], 1.0)
    assert total.item() == ttotal.item() == np.inf
    np.testing.assert_array_equal(w.grad.numpy(), t.grad.numpy())  # inf·0 = nan, 1·0 = 0


def test_clip_grad_norm_warns_on_an_exhausted_generator() -> None:
    net = nn.Linear(2, 2)
    params = net.parameters()
    list(params)
    with pytest.warns(UserWarning, match="empty generator, no gradient clipping will occur"):
        nn.utils.clip_grad_norm_(params, 1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        nn.utils.clip_grad_norm_([], 1.0)  # an empty list is deliberate: no warning


@pytest.mark.parametrize("bad,error,pattern", [
    (dict(parameters=3, max_norm=1.0), TypeError,
     r"clip_grad_norm_: parameters must be a Tensor or an iterable of Tensors"),
    (dict(parameters=[np.zeros(2)], max_norm=1.0), TypeError,
     r"clip_grad_norm_: parameters\[0\] is a ndarray, not a Tensor"),
    (dict(parameters=[], max_norm="1"), TypeError, r"max_norm must be a number, got '1'"),
    (dict(parameters=[], max_norm=1.0, norm_type="l2"), ValueError,
     r"norm_type must be a number or 'inf', got 'l2'"),
])
def test_clip_grad_norm_argument_errors(bad, error, pattern) -> None:
    with pytest.raises(error, match=pattern):
        nn.utils.clip_grad_norm_(**bad)


@pytest.mark.parametrize("clip_value", [0.5, 2.0, 0.0])
def test_clip_grad_value_matches_torch(clip_value) -> None:
    ours, theirs = _pair(_grads(1.5, seed=3))
    ours[1].grad = None
    theirs[1].grad = None
    assert nn.utils.clip_grad_value_(ours, clip_value) is None
    torch.nn.utils.clip_grad_value_(theirs, clip_value)
    assert ours[1].grad is None
    for p, t in zip(ours, theirs):
        if t.grad is not None:
            np.testing.assert_array_equal(p.grad.numpy(), t.grad.numpy())


def test_clip_grad_value_on_model_parameters() -> None:
    net = nn.Linear(3, 1)
    (net(cr.ones(2, 3)) * 50).sum().backward()
    nn.utils.clip_grad_value_(net.parameters(), 1.0)
    assert all(np.abs(p.grad.numpy()).max() <= 1.0 for p in net.parameters())
    with pytest.raises(TypeError, match="clip_grad_value_: clip_value must be a number"):
        nn.utils.clip_grad_value_(net.parameters(), None)


def test_utils_is_a_module_of_nn() -> None:
    import chainrule.nn.utils as utils

    assert cr.nn.utils is utils and nn.utils.clip_grad_norm_ is utils.clip_grad_norm_
