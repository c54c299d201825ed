"""Pooling (F.max_pool1d/2d, F.avg_pool1d/2d, F.adaptive_avg_pool2d and their modules)
against PyTorch in float64 over random configurations: values and gradients, second order
through max pooling, reprs, and errors that name the layer and the shapes."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from nn_oracle import compare_with_torch

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn


def _configs(nd: int, count: int, seed: int, dilation: bool) -> list[dict]:
    """Random pooling configurations that PyTorch accepts: odd sizes, batch 1, strides,
    padding up to half the window, dilation, ceil_mode."""
    rng = np.random.default_rng(seed)
    configs = []
    while len(configs) < count:
        k = tuple(int(v) for v in rng.integers(1, 4, nd))
        s = tuple(int(v) for v in rng.integers(1, 4, nd))
        d = tuple(int(v) for v in rng.integers(1, 3, nd)) if dilation else (1,) * nd
        p = tuple(int(rng.integers(0, ki // 2 + 1)) for ki in k)
        size = tuple(int(v) for v in rng.integers(1, 10, nd))
        batch = (int(rng.integers(1, 3)), int(rng.integers(1, 4)))
        ceil = bool(rng.integers(0, 2))
        span_fits = all(n + 2 * pi >= di * (ki - 1) + 1 for n, pi, ki, di in zip(size, p, k, d))
        if span_fits and not _has_an_empty_window(size, k, s, p, d, ceil):
            configs.append({"shape": batch + size, "kernel_size": k, "stride": s, "padding": p,
                            "dilation": d, "ceil_mode": ceil})
    return configs


def _has_an_empty_window(size, kernel, stride, padding, dilation, ceil_mode) -> bool:
    """Whether some window holds no input element (a dilated window stepping over a short
    input): PyTorch's gradient is undefined there (see the test of that case)."""
    for n, k, s, p, d in zip(size, kernel, stride, padding, dilation):
        out = TF.max_pool1d(torch.zeros(1, 1, n), k, s, p, d, ceil_mode).shape[-1]
        for o in range(out):
            if not any(0 <= o * s - p + j * d < n for j in range(k)):
                return True
    return False


def _distinct(shape: tuple[int, ...], seed: int) -> np.ndarray:
    """Values without ties (the arg-max is then unambiguous)."""
    n = int(np.prod(shape))
    return np.random.default_rng(seed).permutation(n).reshape(shape) / n - 0.5


def _kw(config: dict, *drop: str) -> dict:
    return {k: v for k, v in config.items() if k != "shape" and k not in drop}


MAX_CASES = [(nd, c) for nd in (1, 2) for c in _configs(nd, 12, nd, dilation=True)]


@pytest.mark.parametrize("nd,config", MAX_CASES)
def test_max_pool_matches_torch_value_and_gradient(nd: int, config: dict) -> None:
    ours, theirs = (F.max_pool1d, TF.max_pool1d) if nd == 1 else (F.max_pool2d, TF.max_pool2d)
    kw = _kw(config)
    compare_with_torch(lambda x: ours(x, **kw), lambda t: theirs(t, **kw),
                       [_distinct(config["shape"], 0)])


@pytest.mark.parametrize("nd,config", MAX_CASES[::3])
def test_max_pool_return_indices_match_torch(nd: int, config: dict) -> None:
    ours, theirs = (F.max_pool1d, TF.max_pool1d) if nd == 1 else (F.max_pool2d, TF.max_pool2d)
    x = _distinct(config["shape"], 1)
    t_values, t_indices = theirs(torch.tensor(x), **_kw(config), return_indices=True)
    for grad in (True, False):  # the indices come from the recorded node or are found again
        xc = cr.tensor(x, requires_grad=grad)
        values, indices = ours(xc, **_kw(config), return_indices=True)
        np.testing.assert_array_equal(values.data, t_values.numpy())
        np.testing.assert_array_equal(indices.data, t_indices.numpy())
        assert indices.dtype == np.int64 and not indices.requires_grad
        assert values.requires_grad == grad


def test_max_pool_indices_of_ties_unbatched_input_and_empty_windows_match_torch() -> None:
    ties = np.array([[[[1.0, 1.0, 0.0], [1.0, 2.0, 2.0], [2.0, 0.0, 2.0]]]])
    for args, kw in (((2,), {"stride": 1}), ((2,), {"stride": 1, "padding": 1})):
        _, ours = F.max_pool2d(cr.tensor(ties), *args, **kw, return_indices=True)
        _, theirs = TF.max_pool2d(torch.tensor(ties), *args, **kw, return_indices=True)
        np.testing.assert_array_equal(ours.data, theirs.numpy())  # the first of tied maxima
    unbatched = _distinct((3, 5, 7), 2)
    _, ours = F.max_pool2d(cr.tensor(unbatched), 3, 2, 1, return_indices=True)
    _, theirs = TF.max_pool2d(torch.tensor(unbatched), 3, 2, 1, return_indices=True)
    np.testing.assert_array_equal(ours.data, theirs.numpy())
    # a dilated window over padding only: PyTorch's index points past the input, kept as is
    short = np.array([[[0.5, 2.0]], [[1.0, -1.0]]])
    _, ours = F.max_pool1d(cr.tensor(short), 2, 1, 1, 3, return_indices=True)
    _, theirs = TF.max_pool1d(torch.tensor(short), 2, 1, 1, 3, return_indices=True)
    np.testing.assert_array_equal(ours.data, theirs.numpy())


def test_max_pool_modules_return_indices_like_torch() -> None:
    x = _distinct((2, 3, 6, 7), 3)
    layer, t_layer = nn.MaxPool2d(3, 2, 1, return_indices=True), torch.nn.MaxPool2d(
        3, 2, 1, return_indices=True)
    xc = cr.tensor(x, requires_grad=True)
    (values, indices), (t_values, t_indices) = layer(xc), t_layer(torch.tensor(x))
    np.testing.assert_array_equal(indices.data, t_indices.numpy())
    np.testing.assert_array_equal(values.data, t_values.numpy())
    values.sum().backward()  # the values still carry the gradient
    assert xc.grad.data.sum() == values.size
    _, indices1 = nn.MaxPool1d(2, return_indices=True)(cr.tensor(x[0]))
    _, t_indices1 = torch.nn.MaxPool1d(2, return_indices=True)(torch.tensor(x[0]))
    np.testing.assert_array_equal(indices1.data, t_indices1.numpy())
    assert repr(layer) == repr(t_layer)


AVG_CASES = [(nd, c, include) for nd in (1, 2) for c in _configs(nd, 10, 10 + nd, False)
             for include in (True, False)]


@pytest.mark.parametrize("nd,config,include", AVG_CASES)
def test_avg_pool_matches_torch_value_and_gradient(nd: int, config: dict, include: bool
                                                   ) -> None:
    ours, theirs = (F.avg_pool1d, TF.avg_pool1d) if nd == 1 else (F.avg_pool2d, TF.avg_pool2d)
    kw = {**_kw(config, "dilation"), "count_include_pad": include}
    x = np.random.default_rng(1).normal(size=config["shape"])
    compare_with_torch(lambda t: ours(t, **kw), lambda t: theirs(t, **kw), [x])


def test_avg_pool2d_divisor_override_matches_torch() -> None:
    x = np.random.default_rng(2).normal(size=(2, 3, 5, 6))
    kw = {"kernel_size": 3, "stride": 2, "padding": 1, "divisor_override": 4}
    compare_with_torch(lambda t: F.avg_pool2d(t, **kw), lambda t: TF.avg_pool2d(t, **kw), [x])


@pytest.mark.parametrize("size,output_size", [
    ((7, 9), (3, 4)), ((5, 5), 1), ((6, 4), (6, 4)), ((5, 7), (5, None)), ((3, 4), (5, 7)),
    ((8, 6), 4), ((1, 1), (2, 3)),
])
def test_adaptive_avg_pool2d_matches_torch(size: tuple, output_size) -> None:
    x = np.random.default_rng(3).normal(size=(2, 3) + size)
    compare_with_torch(lambda t: F.adaptive_avg_pool2d(t, output_size),
                       lambda t: TF.adaptive_avg_pool2d(t, output_size), [x])


def test_unbatched_inputs_pool_like_torch() -> None:
    x = _distinct((3, 5, 7), 4)
    compare_with_torch(lambda t: F.max_pool2d(t, 2, 1), lambda t: TF.max_pool2d(t, 2, 1), [x])
    compare_with_torch(lambda t: F.avg_pool2d(t, 3, padding=1),
                       lambda t: TF.avg_pool2d(t, 3, padding=1), [x])
    compare_with_torch(lambda t: F.adaptive_avg_pool2d(t, 2),
                       lambda t: TF.adaptive_avg_pool2d(t, 2), [x])
    compare_with_torch(lambda t: F.max_pool1d(t[0], 3), lambda t: TF.max_pool1d(t[0], 3), [x])


def test_overlapping_windows_add_their_gradients_at_a_shared_maximum() -> None:
    x = cr.tensor([[[0.0, 5.0, 1.0, 2.0]]], requires_grad=True)
    F.max_pool1d(x, 3, stride=1).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [[[0.0, 2.0, 0.0, 0.0]]])


def test_max_pool_of_nan_and_of_all_minus_inf_windows_follows_torch() -> None:
    values = [[[1.0, np.nan, 0.5, -np.inf, -np.inf, 2.0, np.nan, np.nan]]]
    for kw in ({"kernel_size": 2}, {"kernel_size": 3, "stride": 2, "padding": 1}):
        x = cr.tensor(values, dtype="float64", requires_grad=True)
        out = F.max_pool1d(x, **kw)
        out.sum().backward()
        t = torch.tensor(values, dtype=torch.float64, requires_grad=True)
        t_out = TF.max_pool1d(t, **kw)
        t_out.sum().backward()
        np.testing.assert_array_equal(out.data, t_out.detach().numpy())
        np.testing.assert_array_equal(x.grad.data, t.grad.numpy())


def test_a_window_that_steps_over_the_input_gives_minus_inf_and_no_gradient() -> None:
    # length 1, kernel 2 dilated by 2, padding 1: the window reads positions −1 and 1
    x = cr.tensor([[[0.5], [2.0]]], dtype="float64", requires_grad=True)
    out = F.max_pool1d(x, 2, stride=2, padding=1, dilation=2, ceil_mode=True)
    expected = TF.max_pool1d(torch.tensor(x.data), 2, 2, 1, 2, ceil_mode=True)
    np.testing.assert_array_equal(out.data, expected.numpy())
    assert np.isneginf(out.data).all()
    out.sum().backward()
    np.testing.assert_array_equal(x.grad.data, np.zeros((1, 2, 1)))


def test_max_pool_keeps_integer_dtype_and_avg_pool_keeps_float32() -> None:
    ints = cr.tensor(np.arange(16).reshape(1, 4, 4))
    assert F.max_pool2d(ints, 2).dtype == np.int64
    np.testing.assert_array_equal(
        F.max_pool2d(ints, 2, padding=1).data,
        TF.max_pool2d(torch.arange(16).reshape(1, 4, 4), 2, padding=1).numpy())
    x = cr.ones(2, 3, 6, 6, requires_grad=True)
    for out in (F.avg_pool2d(x, 2), F.max_pool2d(x, 3), F.adaptive_avg_pool2d(x, 4)):
        assert out.dtype == np.float32
        out.sum().backward()
        assert x.grad.dtype == np.float32


def test_second_order_through_max_pool_matches_torch() -> None:
    # f(x) = Σ max_pool(x)³: the Hessian is diagonal at the arg-maxima, 6·x there
    x0 = _distinct((1, 1, 4, 5), 5)

    def f(x):
        return (F.max_pool2d(x, 2, stride=1, padding=1) ** 3).sum()

    def tf(t):
        return (TF.max_pool2d(t, 2, stride=1, padding=1) ** 3).sum()

    hessian = cr.hessian(f)(cr.tensor(x0)).data
    expected = torch.autograd.functional.hessian(tf, torch.tensor(x0)).numpy()
    np.testing.assert_allclose(hessian, expected, rtol=1e-10, atol=1e-12)
    assert np.abs(hessian).max() > 0
    x = cr.tensor(x0, requires_grad=True)
    (g,) = cr.grad(f, argnums=(0,))(x)
    t = torch.tensor(x0, requires_grad=True)
    (tg,) = torch.autograd.grad(tf(t), t, create_graph=True)
    (g * g).sum().backward()
    (tg * tg).sum().backward()
    np.testing.assert_allclose(x.grad.data, t.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_second_order_through_avg_pool_is_zero_for_a_linear_map() -> None:
    x = cr.tensor(np.random.default_rng(6).normal(size=(1, 1, 5, 5)))

    def f(t):
        return (F.avg_pool2d(t, 3, 2, 1) ** 2).sum()

    def tf(t):
        return (TF.avg_pool2d(t, 3, 2, 1) ** 2).sum()

    expected = torch.autograd.functional.hessian(tf, torch.tensor(x.data)).numpy()
    np.testing.assert_allclose(cr.hessian(f)(x).data, expected, rtol=1e-10, atol=1e-12)


# ---------------------------------------------------------------- modules

MODULE_PAIRS = [
    (nn.MaxPool1d(3), torch.nn.MaxPool1d(3), (2, 3, 10)),
    (nn.MaxPool1d(3, 2, 1, 2, ceil_mode=True), torch.nn.MaxPool1d(3, 2, 1, 2, ceil_mode=True),
     (1, 2, 9)),
    (nn.MaxPool2d(2), torch.nn.MaxPool2d(2), (2, 3, 6, 7)),
    (nn.MaxPool2d((3, 2), (2, 1), (1, 0), ceil_mode=True),
     torch.nn.MaxPool2d((3, 2), (2, 1), (1, 0), ceil_mode=True), (1, 2, 7, 5)),
    (nn.AvgPool1d(2), torch.nn.AvgPool1d(2), (2, 3, 9)),
    (nn.AvgPool1d(3, 2, 1, True, False), torch.nn.AvgPool1d(3, 2, 1, True, False), (1, 2, 8)),
    (nn.AvgPool2d(2), torch.nn.AvgPool2d(2), (2, 3, 6, 7)),
    (nn.AvgPool2d(3, 2, 1, divisor_override=5), torch.nn.AvgPool2d(3, 2, 1, divisor_override=5),
     (1, 2, 7, 5)),
    (nn.AdaptiveAvgPool2d((2, 3)), torch.nn.AdaptiveAvgPool2d((2, 3)), (2, 3, 7, 8)),
    (nn.AdaptiveAvgPool2d((None, 2)), torch.nn.AdaptiveAvgPool2d((None, 2)), (1, 2, 3, 5)),
]


@pytest.mark.parametrize("ours,theirs,shape", MODULE_PAIRS, ids=lambda v: repr(v)[:40])
def test_pooling_modules_match_torch_modules(ours, theirs, shape) -> None:
    assert repr(ours) == repr(theirs)
    assert list(ours.parameters()) == []
    compare_with_torch(ours, theirs, [_distinct(shape, 7)])


def test_max_pool2d_default_stride_is_the_kernel_size() -> None:
    layer = nn.MaxPool2d(3)
    assert layer.stride == 3
    assert layer(cr.ones(1, 1, 9, 9)).shape == (1, 1, 3, 3)


# ---------------------------------------------------------------- errors


def test_pooling_errors_name_the_function_and_the_shapes() -> None:
    with pytest.raises(ValueError, match=r"^max_pool2d: expected a 3-D \(C, H, W\) or 4-D "
                                         r"\(N, C, H, W\) input, got shape \(8, 28\)$"):
        F.max_pool2d(cr.ones(8, 28), 2)
    with pytest.raises(ValueError, match=r"^avg_pool1d: expected a 2-D \(C, L\) or 3-D "
                                         r"\(N, C, L\) input, got shape \(5,\)$"):
        F.avg_pool1d(cr.ones(5), 2)
    with pytest.raises(ValueError, match=r"^max_pool2d: the window spans 5 positions along "
                                         r"axis 3, but the input of shape \(1, 1, 8, 4\) has "
                                         r"only 4 there \(padding 0 on each side\)$"):
        F.max_pool2d(cr.ones(1, 1, 8, 4), 5)
    with pytest.raises(ValueError, match=r"^avg_pool2d: padding \(2, 2\) must be at most half "
                                         r"of kernel_size \(3, 3\)$"):
        F.avg_pool2d(cr.ones(1, 1, 8, 8), 3, padding=2)
    with pytest.raises(ValueError, match=r"^max_pool1d: padding \(2,\) must be at most half "
                                         r"of kernel_size \(3,\)$"):
        F.max_pool1d(cr.ones(1, 1, 8), 3, padding=2, dilation=2)
    with pytest.raises(ValueError, match=r"^max_pool1d: stride must be positive, got 0$"):
        F.max_pool1d(cr.ones(1, 1, 8), 2, stride=0)
    with pytest.raises(TypeError, match=r"^max_pool2d: kernel_size must be an int or a tuple "
                                        r"of 2 ints, got \(2, 2, 2\)$"):
        F.max_pool2d(cr.ones(1, 1, 8, 8), (2, 2, 2))
    with pytest.raises(TypeError, match=r"^avg_pool2d: input must be floating point, got "
                                        r"dtype int64$"):
        F.avg_pool2d(cr.tensor(np.ones((1, 4, 4), dtype=np.int64)), 2)
    with pytest.raises(ValueError, match=r"^adaptive_avg_pool2d: output_size must hold "
                                         r"positive ints, got \(0, 2\)$"):
        F.adaptive_avg_pool2d(cr.ones(1, 4, 4), (0, 2))


def test_pooling_module_errors_name_the_layer() -> None:
    with pytest.raises(ValueError, match=r"^MaxPool2d\(kernel_size=2, stride=2, padding=0, "
                                         r"dilation=1, ceil_mode=False\): expected a 3-D "
                                         r"\(C, H, W\) or 4-D \(N, C, H, W\) input, got shape "
                                         r"\(28, 28\)$"):
        nn.MaxPool2d(2)(cr.ones(28, 28))
    with pytest.raises(ValueError, match=r"^AvgPool1d\(kernel_size=\(9,\), stride=\(9,\), "
                                         r"padding=\(0,\)\): the window spans 9 positions"):
        nn.AvgPool1d(9)(cr.ones(1, 1, 8))
    with pytest.raises(ValueError, match=r"^AdaptiveAvgPool2d\(output_size=3\): expected a "
                                         r"3-D"):
        nn.AdaptiveAvgPool2d(3)(cr.ones(4, 4))


def test_errors_are_raised_before_numpy_runs_for_every_bad_geometry() -> None:
    x = cr.ones(1, 1, 5, 5)
    bad = [{"kernel_size": 0}, {"kernel_size": 2, "padding": -1}, {"kernel_size": 2.5},
           {"kernel_size": 2, "dilation": 0}, {"kernel_size": (2,)}]
    for kw in bad:
        with pytest.raises((TypeError, ValueError), match=r"^max_pool2d: "):
            F.max_pool2d(x, **kw)
