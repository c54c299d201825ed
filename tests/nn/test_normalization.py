"""F.batch_norm, F.layer_norm, nn.BatchNorm1d/2d and nn.LayerNorm against PyTorch in
float64: values, every gradient, the running statistics over several training steps and
in evaluation, second order, and errors that name the layer and the shapes."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from nn_oracle import compare_with_torch

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn, optim

SHAPES = [(5, 3), (1, 4, 7), (4, 3, 5), (2, 3, 4, 5), (3, 2, 1, 3)]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("affine", [True, False])
def test_batch_norm_training_matches_torch_with_running_stats(shape: tuple, affine: bool
                                                              ) -> None:
    rng = np.random.default_rng(len(shape))
    channels = shape[1]
    x = rng.normal(2.0, 3.0, size=shape)
    mean0, var0 = rng.normal(size=channels), rng.uniform(0.5, 2.0, channels)
    ours_stats = [cr.tensor(mean0.copy()), cr.tensor(var0.copy())]
    their_stats = [torch.tensor(mean0.copy()), torch.tensor(var0.copy())]
    params = [rng.normal(size=channels), rng.normal(size=channels)] if affine else []

    def ours(x, *wb):
        return F.batch_norm(x, *ours_stats, *wb, training=True, momentum=0.3, eps=1e-3)

    def theirs(x, *wb):
        return TF.batch_norm(x, *their_stats, *wb, training=True, momentum=0.3, eps=1e-3)

    compare_with_torch(ours, theirs, [x, *params])
    for a, t in zip(ours_stats, their_stats):
        np.testing.assert_allclose(a.data, t.numpy(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("shape", SHAPES)
def test_batch_norm_evaluation_uses_the_running_stats_like_torch(shape: tuple) -> None:
    rng = np.random.default_rng(10 + len(shape))
    channels = shape[1]
    mean, var = rng.normal(size=channels), rng.uniform(0.5, 2.0, channels)
    arrays = [rng.normal(size=shape), rng.normal(size=channels), rng.normal(size=channels)]
    compare_with_torch(
        lambda x, w, b: F.batch_norm(x, cr.tensor(mean), cr.tensor(var), w, b),
        lambda x, w, b: TF.batch_norm(x, torch.tensor(mean), torch.tensor(var), w, b),
        arrays)


def test_batch_norm_without_running_stats_normalises_by_the_batch() -> None:
    x = np.random.default_rng(3).normal(size=(6, 2, 3))
    compare_with_torch(lambda x: F.batch_norm(x, None, None, training=True),
                       lambda x: TF.batch_norm(x, None, None, training=True), [x])


def test_second_order_through_batch_norm_matches_torch() -> None:
    rng = np.random.default_rng(4)
    x0, w0 = rng.normal(size=(3, 2, 2)), rng.normal(size=2)
    v = [rng.normal(size=x0.shape), rng.normal(size=w0.shape)]

    def f(x, w):
        return (F.batch_norm(x, None, None, w, training=True) ** 3).sum()

    def tf(x, w):
        return (TF.batch_norm(x, None, None, w, training=True) ** 3).sum()

    # the Hessian in full with respect to x, and H·v (x and weight together) by double grad
    np.testing.assert_allclose(
        cr.hessian(lambda x: f(x, cr.tensor(w0)))(cr.tensor(x0)).data,
        torch.autograd.functional.hessian(lambda t: tf(t, torch.tensor(w0)),
                                          torch.tensor(x0)).numpy(), rtol=1e-9, atol=1e-10)

    def directional(x, w):
        gx, gw = cr.grad(f, argnums=(0, 1))(x, w)
        return (gx * cr.tensor(v[0])).sum() + (gw * cr.tensor(v[1])).sum()

    ours = cr.grad(directional, argnums=(0, 1))(cr.tensor(x0), cr.tensor(w0))
    ts = [torch.tensor(x0, requires_grad=True), torch.tensor(w0, requires_grad=True)]
    grads = torch.autograd.grad(tf(*ts), ts, create_graph=True)
    t_dir = sum((g * torch.tensor(d)).sum() for g, d in zip(grads, v))
    theirs = torch.autograd.grad(t_dir, ts)
    for a, t in zip(ours, theirs):
        np.testing.assert_allclose(a.data, t.numpy(), rtol=1e-9, atol=1e-10)


def test_the_batch_norm_gradient_couples_the_examples_of_a_batch() -> None:
    # in training, changing one example changes every example's output; in eval, none
    x = cr.tensor(np.random.default_rng(5).normal(size=(4, 3)), requires_grad=True)
    F.batch_norm(x, None, None, training=True)[0].sum().backward()
    assert np.abs(x.grad.data[1:]).max() > 1e-3
    x.grad = None
    F.batch_norm(x, cr.zeros(3, dtype="float64"), cr.ones(3, dtype="float64"))[0].sum().backward()
    np.testing.assert_array_equal(x.grad.data[1:], 0.0)


@pytest.mark.parametrize("normalized_shape", [(5,), (4, 5), 5, (3, 4, 5)])
@pytest.mark.parametrize("affine", [True, False])
def test_layer_norm_matches_torch(normalized_shape, affine: bool) -> None:
    rng = np.random.default_rng(6)
    x = rng.normal(3.0, 2.0, size=(2, 3, 4, 5))
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else normalized_shape
    params = [rng.normal(size=shape), rng.normal(size=shape)] if affine else []
    compare_with_torch(lambda x, *wb: F.layer_norm(x, normalized_shape, *wb, eps=1e-4),
                       lambda x, *wb: TF.layer_norm(x, shape, *wb, eps=1e-4), [x, *params])


def test_layer_norm_second_order_matches_torch() -> None:
    x0 = np.random.default_rng(7).normal(size=(2, 3))

    def f(x):
        return (F.layer_norm(x, 3) ** 3).sum()

    expected = torch.autograd.functional.hessian(
        lambda t: (TF.layer_norm(t, (3,)) ** 3).sum(), torch.tensor(x0)).numpy()
    np.testing.assert_allclose(cr.hessian(f)(cr.tensor(x0)).data, expected, rtol=1e-9,
                               atol=1e-10)


# ---------------------------------------------------------------- modules


def _copy_into_torch(ours: nn.Module, theirs: torch.nn.Module) -> None:
    state = {k: torch.tensor(np.asarray(v.data)) for k, v in ours.state_dict().items()}
    theirs.load_state_dict(state)


@pytest.mark.parametrize("cls,tcls,shape,momentum", [
    (nn.BatchNorm1d, torch.nn.BatchNorm1d, (8, 3), 0.1),
    (nn.BatchNorm1d, torch.nn.BatchNorm1d, (5, 4, 7), 0.5),
    (nn.BatchNorm1d, torch.nn.BatchNorm1d, (4, 2, 3), None),
    (nn.BatchNorm2d, torch.nn.BatchNorm2d, (4, 3, 5, 5), 0.1),
    (nn.BatchNorm2d, torch.nn.BatchNorm2d, (1, 2, 3, 5), None),
])
def test_batch_norm_module_running_stats_after_training_steps_and_eval(
        cls, tcls, shape, momentum) -> None:
    rng = np.random.default_rng(8)
    ours = cls(shape[1], momentum=momentum, dtype="float64")
    theirs = tcls(shape[1], momentum=momentum, dtype=torch.float64)
    ours.weight.data[:] = rng.normal(size=shape[1])
    ours.bias.data[:] = rng.normal(size=shape[1])
    _copy_into_torch(ours, theirs)
    opt = optim.SGD(ours.parameters(), lr=0.1)
    t_opt = torch.optim.SGD(theirs.parameters(), lr=0.1)
    for step in range(4):
        x = rng.normal(step, 1.0 + step, size=shape)
        g = rng.normal(size=shape)
        opt.zero_grad()
        t_opt.zero_grad()
        (ours(cr.tensor(x)) * cr.tensor(g)).sum().backward()
        (theirs(torch.tensor(x)) * torch.tensor(g)).sum().backward()
        opt.step()
        t_opt.step()
    theirs_state = theirs.state_dict()
    assert list(ours.state_dict()) == list(theirs_state)
    for name, value in ours.state_dict().items():
        np.testing.assert_allclose(np.asarray(value.data), theirs_state[name].numpy(),
                                   rtol=1e-10, atol=1e-12, err_msg=name)
    assert int(ours.num_batches_tracked.item()) == 4
    ours.eval()
    theirs.eval()
    x = rng.normal(size=shape)
    compare_with_torch(ours, theirs, [x])
    np.testing.assert_allclose(ours.running_mean.data, theirs.running_mean.numpy(), rtol=1e-10)


@pytest.mark.parametrize("affine,track,bias", [(False, True, True), (True, False, True),
                                               (False, False, True), (True, True, False)])
def test_batch_norm_module_options_match_torch(affine: bool, track: bool, bias: bool) -> None:
    ours = nn.BatchNorm2d(3, eps=1e-3, affine=affine, track_running_stats=track, bias=bias,
                          dtype="float64")
    theirs = torch.nn.BatchNorm2d(3, eps=1e-3, affine=affine, track_running_stats=track,
                                  bias=bias, dtype=torch.float64)
    assert repr(ours) == repr(theirs)
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert list(ours.state_dict()) == list(theirs.state_dict())
    x = np.random.default_rng(9).normal(size=(2, 3, 4, 4))
    for mode in (True, False):
        ours.train(mode)
        theirs.train(mode)
        compare_with_torch(ours, theirs, [x])
    if not track:
        assert ours.running_mean is None and ours.num_batches_tracked is None


def test_batch_norm_init_and_buffers_are_not_parameters() -> None:
    layer = nn.BatchNorm1d(4)
    np.testing.assert_array_equal(layer.weight.data, np.ones(4))
    np.testing.assert_array_equal(layer.bias.data, np.zeros(4))
    np.testing.assert_array_equal(layer.running_mean.data, np.zeros(4))
    np.testing.assert_array_equal(layer.running_var.data, np.ones(4))
    assert layer.weight.dtype == layer.running_mean.dtype == np.float32
    assert layer.num_batches_tracked.dtype == np.int64
    assert [n for n, _ in layer.named_parameters()] == ["weight", "bias"]
    assert not layer.running_mean.requires_grad
    layer(cr.ones(3, 4) * cr.tensor([[1.0], [2.0], [3.0]]))
    layer.reset_running_stats()
    np.testing.assert_array_equal(layer.running_mean.data, np.zeros(4))
    assert int(layer.num_batches_tracked.item()) == 0


def test_batch_norm_buffers_round_trip_through_save_and_load_and_from_torch(tmp_path) -> None:
    ours = nn.BatchNorm2d(3)
    for _ in range(3):
        ours(cr.randn(4, 3, 2, 2) * 2 + 1)
    cr.save(ours.state_dict(), tmp_path / "bn.npz")
    loaded = nn.BatchNorm2d(3)
    loaded.load_state_dict(cr.load(tmp_path / "bn.npz"))
    for name, value in ours.state_dict().items():
        np.testing.assert_array_equal(loaded.state_dict()[name].data, value.data, err_msg=name)
        assert loaded.state_dict()[name].dtype == value.dtype
    assert int(loaded.num_batches_tracked.item()) == 3
    theirs = torch.nn.BatchNorm2d(3)
    theirs(torch.randn(4, 3, 2, 2))
    from_torch = nn.BatchNorm2d(3)
    from_torch.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    np.testing.assert_array_equal(from_torch.running_var.data, theirs.running_var.numpy())


def test_batch_norm_eval_makes_each_output_independent_of_the_batch() -> None:
    layer = nn.BatchNorm1d(2)
    for _ in range(3):
        layer(cr.randn(16, 2) * 3 + 1)
    layer.eval()
    batch = cr.randn(5, 2)
    np.testing.assert_allclose(layer(batch)[:1].data, layer(batch[:1]).data, rtol=1e-6)


def test_layer_norm_module_matches_torch() -> None:
    ours = nn.LayerNorm((4, 5), eps=1e-4, dtype="float64")
    theirs = torch.nn.LayerNorm((4, 5), eps=1e-4, dtype=torch.float64)
    assert repr(ours) == repr(theirs)
    rng = np.random.default_rng(11)
    ours.weight.data[:] = rng.normal(size=(4, 5))
    ours.bias.data[:] = rng.normal(size=(4, 5))
    _copy_into_torch(ours, theirs)
    compare_with_torch(ours, theirs, [rng.normal(size=(3, 4, 5))])
    for name in ("weight", "bias"):
        np.testing.assert_allclose(getattr(ours, name).grad.data,
                                   getattr(theirs, name).grad.numpy(), rtol=1e-10)
    plain = nn.LayerNorm(5, elementwise_affine=False)
    assert plain.weight is None and list(plain.parameters()) == []
    assert repr(plain) == repr(torch.nn.LayerNorm(5, elementwise_affine=False))
    assert repr(nn.LayerNorm(5, bias=False)) == repr(torch.nn.LayerNorm(5, bias=False))
    np.testing.assert_array_equal(nn.LayerNorm(3).weight.data, np.ones(3, np.float32))


# ---------------------------------------------------------------- errors


def test_normalisation_errors_name_the_layer_and_the_shapes() -> None:
    with pytest.raises(ValueError, match=r"^BatchNorm2d\(3\): input of shape \(8, 1, 28, 28\) "
                                         r"has 1 channel, expected 3$"):
        nn.BatchNorm2d(3)(cr.ones(8, 1, 28, 28))
    with pytest.raises(ValueError, match=r"^BatchNorm2d\(3\): expected a 4-D \(N, C, H, W\) "
                                         r"input, got shape \(8, 3, 28\)$"):
        nn.BatchNorm2d(3)(cr.ones(8, 3, 28))
    with pytest.raises(ValueError, match=r"^BatchNorm1d\(3\): expected a 2-D \(N, C\) or 3-D "
                                         r"\(N, C, L\) input, got shape \(8, 3, 4, 4\)$"):
        nn.BatchNorm1d(3)(cr.ones(8, 3, 4, 4))
    with pytest.raises(ValueError, match=r"^BatchNorm1d\(3\): expected more than 1 value per "
                                         r"channel when training, got an input of shape "
                                         r"\(1, 3\) \(train on batches of 2 or more, or "
                                         r"evaluate with the running statistics: "
                                         r"model.eval\(\)\)$"):
        nn.BatchNorm1d(3)(cr.ones(1, 3))
    nn.BatchNorm1d(3).eval()(cr.ones(1, 3))  # evaluation needs no batch statistics
    with pytest.raises(ValueError, match=r"^batch_norm: running_mean of shape \(4,\) does not "
                                         r"match the 3 channels of the input of shape "
                                         r"\(2, 3\) \(expected \(3,\)\)$"):
        F.batch_norm(cr.ones(2, 3), cr.zeros(4), cr.ones(3))
    with pytest.raises(ValueError, match=r"^batch_norm: running_mean and running_var are "
                                         r"needed when training=False"):
        F.batch_norm(cr.ones(2, 3), None, None)
    with pytest.raises(ValueError, match=r"^LayerNorm\(\(10,\)\): normalized_shape \(10,\) "
                                         r"does not match the last axes of the input of shape "
                                         r"\(3, 5\) \(expected \(\*, 10\)\)$"):
        nn.LayerNorm(10)(cr.ones(3, 5))
    with pytest.raises(ValueError, match=r"^layer_norm: weight of shape \(4,\) does not match "
                                         r"normalized_shape \(5,\)$"):
        F.layer_norm(cr.ones(2, 5), 5, cr.ones(4))
    with pytest.raises(ValueError, match=r"^BatchNorm1d: momentum must be in \[0, 1\] or "
                                         r"None, got 1.5$"):
        nn.BatchNorm1d(3, momentum=1.5)
