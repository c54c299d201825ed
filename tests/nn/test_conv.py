"""Conv1d, Conv2d, F.conv1d, F.conv2d and F.pad against PyTorch (float64, copied weights,
values and every gradient), second order through conv2d, initialisation and errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from nn_oracle import compare_with_torch

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn

# PyTorch's own note about its padding='same' with even kernels, not a problem of ours
pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")

# ---------------------------------------------------------------- random configurations


def _configs(nd: int, count: int, seed: int) -> list[dict]:
    """Random convolutions: stride, padding (int, tuple, 'same', 'valid'), dilation,
    groups, odd sizes, batch 1, with and without bias."""
    rng = np.random.default_rng(seed)
    configs = []
    while len(configs) < count:
        groups = int(rng.choice([1, 1, 2, 3]))
        c_in, c_out = groups * int(rng.integers(1, 3)), groups * int(rng.integers(1, 3))
        kernel = tuple(int(k) for k in rng.integers(1, 4, nd))
        dilation = tuple(int(d) for d in rng.integers(1, 3, nd))
        kind = rng.choice(["int", "tuple", "same", "valid"])
        stride = (1,) * nd if kind == "same" else tuple(int(s) for s in rng.integers(1, 4, nd))
        padding = {"int": int(rng.integers(0, 3)), "same": "same", "valid": "valid",
                   "tuple": tuple(int(p) for p in rng.integers(0, 3, nd))}[str(kind)]
        size = tuple(int(n) for n in rng.integers(3, 9, nd))
        pad = [0] * nd if isinstance(padding, str) else (
            [padding] * nd if isinstance(padding, int) else list(padding))
        if any(n + 2 * p < d * (k - 1) + 1
               for n, p, d, k in zip(size, pad, dilation, kernel)):
            continue  # the kernel would not fit: a configuration of the error tests
        configs.append({
            "x": (int(rng.choice([1, 2, 3])), c_in, *size),
            "w": (c_out, c_in // groups, *kernel),
            "bias": bool(rng.random() < 0.7),
            "kwargs": {"stride": stride, "padding": padding, "dilation": dilation,
                       "groups": groups},
        })
    return configs


CONV2D = _configs(2, 24, seed=0)
CONV1D = _configs(1, 16, seed=1)


def _arrays(config: dict, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(config["x"]), rng.standard_normal(config["w"])]
    if config["bias"]:
        arrays.append(rng.standard_normal(config["w"][0]))
    return arrays


def _describe(config: dict) -> str:
    return f"x{config['x']}-w{config['w']}-{config['kwargs']}-bias={config['bias']}"


@pytest.mark.parametrize("config", CONV2D, ids=[_describe(c) for c in CONV2D])
def test_conv2d_values_and_gradients_equal_torch(config: dict) -> None:
    kwargs = config["kwargs"]
    compare_with_torch(lambda *a: F.conv2d(*a, **kwargs), lambda *a: TF.conv2d(*a, **kwargs),
                       _arrays(config, seed=len(CONV2D)))


@pytest.mark.parametrize("config", CONV1D, ids=[_describe(c) for c in CONV1D])
def test_conv1d_values_and_gradients_equal_torch(config: dict) -> None:
    kwargs = config["kwargs"]
    compare_with_torch(lambda *a: F.conv1d(*a, **kwargs), lambda *a: TF.conv1d(*a, **kwargs),
                       _arrays(config, seed=7))


def test_same_padding_with_an_even_kernel_pads_the_extra_row_after() -> None:
    # total padding d(k−1) = 3 for k = 4: 1 before and 2 after, as PyTorch
    kwargs = {"padding": "same", "dilation": (1, 3)}
    arrays = [np.random.default_rng(0).standard_normal(s) for s in ((2, 2, 6, 7), (3, 2, 4, 2))]
    compare_with_torch(lambda *a: F.conv2d(*a, **kwargs), lambda *a: TF.conv2d(*a, **kwargs),
                       arrays)
    assert F.conv2d(cr.ones(2, 2, 6, 7), cr.ones(3, 2, 4, 2), **kwargs).shape == (2, 3, 6, 7)


def test_unbatched_input_equals_torch() -> None:
    rng = np.random.default_rng(3)
    compare_with_torch(lambda x, w, b: F.conv2d(x, w, b, stride=2, padding=1),
                       lambda x, w, b: TF.conv2d(x, w, b, stride=2, padding=1),
                       [rng.standard_normal(s) for s in ((3, 7, 5), (4, 3, 3, 3), (4,))])
    compare_with_torch(lambda x, w: F.conv1d(x, w, padding="same"),
                       lambda x, w: TF.conv1d(x, w, padding="same"),
                       [rng.standard_normal(s) for s in ((2, 9), (3, 2, 4))])


def test_a_batch_split_into_chunks_gives_torchs_values_and_gradients(monkeypatch) -> None:
    # large batches run through im2col and the GEMMs a few images at a time: force one
    # image per chunk
    from chainrule.ops import _im2col

    monkeypatch.setattr(_im2col, "_CHUNK_BYTES", 1)
    assert len(_im2col._chunks(5, 100)) == 5
    kwargs = {"stride": (2, 1), "padding": (1, 2), "dilation": (1, 2), "groups": 2}
    rng = np.random.default_rng(8)
    compare_with_torch(lambda *a: F.conv2d(*a, **kwargs), lambda *a: TF.conv2d(*a, **kwargs),
                       [rng.standard_normal(s) for s in ((5, 4, 7, 6), (6, 2, 3, 2), (6,))])
    flat = dict(kwargs, stride=1)  # every stride 1: the flat layout
    compare_with_torch(lambda *a: F.conv2d(*a, **flat), lambda *a: TF.conv2d(*a, **flat),
                       [rng.standard_normal(s) for s in ((5, 4, 7, 6), (6, 2, 3, 2), (6,))])


def test_float32_stays_float32_with_torchs_values() -> None:
    rng = np.random.default_rng(4)
    x, w = rng.standard_normal((2, 3, 8, 8), dtype=np.float32), rng.standard_normal(
        (4, 3, 3, 3), dtype=np.float32)
    xc, wc = cr.tensor(x, requires_grad=True), cr.tensor(w, requires_grad=True)
    out = F.conv2d(xc, wc, padding=1)
    out.sum().backward()
    assert out.dtype == np.float32 and xc.grad.dtype == np.float32
    assert wc.grad.dtype == np.float32
    np.testing.assert_allclose(out.numpy(), TF.conv2d(torch.tensor(x), torch.tensor(w),
                                                      padding=1).numpy(), rtol=1e-5, atol=1e-5)


# ---------------------------------------------------------------- the layers


def _copy_to_torch(layer: nn.Module, t_layer: torch.nn.Module) -> None:
    t_layer.load_state_dict({k: torch.tensor(v.numpy()) for k, v in layer.state_dict().items()})


LAYERS = [
    ("Conv2d", (3, 4, 3), {}),
    ("Conv2d", (4, 6, (3, 2)), {"stride": (2, 1), "padding": (1, 2), "groups": 2}),
    ("Conv2d", (2, 3, 4), {"padding": "same", "dilation": 2, "bias": False}),
    ("Conv2d", (2, 2, 3), {"padding": "valid", "stride": 3}),
    ("Conv2d", (3, 3, 3), {"groups": 3, "padding": 1}),
    ("Conv2d", (2, 4, 3), {"padding": (1, 2), "padding_mode": "reflect"}),
    ("Conv2d", (2, 4, 3), {"padding": 1, "padding_mode": "replicate", "stride": 2}),
    ("Conv2d", (2, 4, (2, 3)), {"padding": "same", "padding_mode": "circular"}),
    ("Conv1d", (1, 25, 5), {"stride": 2, "padding": 1}),
    ("Conv1d", (25, 25, 3), {"stride": 2, "padding": 1}),
    ("Conv1d", (4, 2, 4), {"padding": "same", "groups": 2, "dilation": 3}),
    ("Conv1d", (2, 3, 3), {"padding": 2, "padding_mode": "circular", "bias": False}),
]


@pytest.mark.parametrize("name,args,kwargs", LAYERS,
                         ids=[f"{n}{a}{k}" for n, a, k in LAYERS])
def test_layer_equals_torch_with_copied_weights(name: str, args: tuple, kwargs: dict) -> None:
    layer = getattr(nn, name)(*args, **kwargs, dtype="float64")
    t_layer = getattr(torch.nn, name)(*args, **kwargs, dtype=torch.float64)
    _copy_to_torch(layer, t_layer)
    spatial = (9,) if name == "Conv1d" else (7, 8)
    for batch in (1, 3):
        x = np.random.default_rng(batch).standard_normal((batch, args[0], *spatial))
        xc, xt = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        out, t_out = layer(xc), t_layer(xt)
        np.testing.assert_allclose(out.numpy(), t_out.detach().numpy(), rtol=1e-10, atol=1e-12)
        g = np.random.default_rng(10 + batch).standard_normal(out.shape)
        layer.zero_grad()
        t_layer.zero_grad()
        (out * cr.tensor(g)).sum().backward()
        (t_out * torch.tensor(g)).sum().backward()
        pairs = [(xc.grad, xt.grad)] + [
            (p.grad, dict(t_layer.named_parameters())[n].grad)
            for n, p in layer.named_parameters()]
        for mine, theirs in pairs:
            np.testing.assert_allclose(mine.numpy(), theirs.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name,args,kwargs", LAYERS,
                         ids=[f"{n}{a}{k}" for n, a, k in LAYERS])
def test_layer_repr_and_attributes_read_like_torch(name: str, args: tuple, kwargs: dict
                                                    ) -> None:
    layer = getattr(nn, name)(*args, **kwargs)
    t_layer = getattr(torch.nn, name)(*args, **kwargs)
    assert repr(layer) == repr(t_layer)
    for attribute in ("in_channels", "out_channels", "kernel_size", "stride", "padding",
                      "dilation", "groups", "padding_mode"):
        assert getattr(layer, attribute) == getattr(t_layer, attribute), attribute
    assert {k: v.shape for k, v in layer.state_dict().items()} == {
        k: tuple(v.shape) for k, v in t_layer.state_dict().items()}


def test_a_small_cnn_trains_like_torch() -> None:
    # the MNIST-1D paper's CNN on random data: two SGD steps, then the same weights
    net = nn.Sequential(nn.Conv1d(1, 5, 5, stride=2, padding=1, dtype="float64"), nn.ReLU(),
                        nn.Conv1d(5, 5, 3, stride=2, padding=1, dtype="float64"), nn.ReLU())
    t_net = torch.nn.Sequential(torch.nn.Conv1d(1, 5, 5, stride=2, padding=1),
                                torch.nn.ReLU(), torch.nn.Conv1d(5, 5, 3, stride=2, padding=1),
                                torch.nn.ReLU()).double()
    _copy_to_torch(net, t_net)
    x = np.random.default_rng(0).standard_normal((4, 1, 40))
    opt = cr.optim.SGD(net.parameters(), lr=0.1)
    t_opt = torch.optim.SGD(t_net.parameters(), lr=0.1)
    for _ in range(2):
        opt.zero_grad()
        t_opt.zero_grad()
        (net(cr.tensor(x)) ** 2).mean().backward()
        (t_net(torch.tensor(x)) ** 2).mean().backward()
        opt.step()
        t_opt.step()
    for name, p in net.state_dict().items():
        np.testing.assert_allclose(p.numpy(), t_net.state_dict()[name].numpy(), rtol=1e-10,
                                   atol=1e-12)


# ---------------------------------------------------------------- second order


def test_second_order_through_conv2d_equals_torch_double_backward() -> None:
    # h = ⟨∇_{x,w} L, (u, v)⟩ for L = Σ tanh(conv2d(x, w) + b)², then ∇h: a Hessian-vector
    # product, whose backward runs the convolution's rules of the rules
    rng = np.random.default_rng(5)
    kwargs = {"stride": (2, 1), "padding": (1, 0), "dilation": (1, 2), "groups": 2}
    shapes = [(2, 4, 5, 6), (2, 2, 2, 2), (2,)]
    arrays = [rng.standard_normal(s) for s in shapes]
    directions = [rng.standard_normal(s) for s in shapes]

    xs = [cr.tensor(a, requires_grad=True) for a in arrays]
    loss = (F.conv2d(*xs, **kwargs).tanh() ** 2).sum()
    loss.backward(create_graph=True)
    grads = [x.grad for x in xs]
    for x in xs:
        x.grad = None
    h = sum((g * cr.tensor(d)).sum() for g, d in zip(grads, directions))
    h.backward()

    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    t_loss = (TF.conv2d(*ts, **kwargs).tanh() ** 2).sum()
    t_grads = torch.autograd.grad(t_loss, ts, create_graph=True)
    t_h = sum((g * torch.tensor(d)).sum() for g, d in zip(t_grads, directions))
    expected = torch.autograd.grad(t_h, ts)
    for g, t_g in zip(grads, t_grads):
        np.testing.assert_allclose(g.numpy(), t_g.detach().numpy(), rtol=1e-10, atol=1e-12)
    for x, e in zip(xs, expected):
        np.testing.assert_allclose(x.grad.numpy(), e.numpy(), rtol=1e-10, atol=1e-12)


def test_hessian_of_a_tiny_conv_equals_torch() -> None:
    rng = np.random.default_rng(6)
    x, w = rng.standard_normal((1, 1, 3, 3)), rng.standard_normal((1, 1, 2, 2))

    def f(w_):
        return (F.conv2d(cr.tensor(x), w_, padding=1).sigmoid() ** 3).sum()

    def t_f(w_):
        return (TF.conv2d(torch.tensor(x), w_, padding=1).sigmoid() ** 3).sum()

    ours = cr.hessian(f)(cr.tensor(w)).numpy()
    theirs = torch.autograd.functional.hessian(t_f, torch.tensor(w)).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)


# ---------------------------------------------------------------- F.pad


PADS = [
    ((2, 3, 4, 5), (1, 2), "constant", 0.0),
    ((2, 3, 4, 5), (1, 2, 2, 0), "constant", 1.5),
    ((2, 3, 4, 5), (-1, 2, 1, -2), "constant", 0.0),
    ((3, 4), (1, 1, 1, 1), "constant", -2.0),
    ((2, 3, 4, 5), (3, 1, 2, 3), "reflect", 0.0),
    ((2, 3, 6), (5, 2), "reflect", 0.0),
    ((2, 3, 4, 5), (2, 0, 1, 3), "replicate", 0.0),
    ((2, 3, 4), (4, 1), "circular", 0.0),
    ((1, 2, 4, 5), (5, 5, 4, 1), "circular", 0.0),
]


@pytest.mark.parametrize("shape,pad,mode,value", PADS,
                         ids=[f"{s}-{p}-{m}" for s, p, m, _ in PADS])
def test_pad_equals_torch(shape: tuple, pad: tuple, mode: str, value: float) -> None:
    compare_with_torch(lambda x: F.pad(x, pad, mode=mode, value=value),
                       lambda x: TF.pad(x, pad, mode=mode, value=value if value else None),
                       [np.random.default_rng(0).standard_normal(shape)])


def test_pad_constant_is_one_node_whose_gradient_is_a_crop() -> None:
    x = cr.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    out = F.pad(x, (1, 2), value=9.0)
    assert out.tolist() == [[9.0, 0.0, 1.0, 2.0, 9.0, 9.0], [9.0, 3.0, 4.0, 5.0, 9.0, 9.0]]
    assert out.grad_fn.prim.name == "pad"
    (out * cr.tensor(np.arange(12.0).reshape(2, 6))).sum().backward()
    assert x.grad.tolist() == [[1.0, 2.0, 3.0], [7.0, 8.0, 9.0]]


# ---------------------------------------------------------------- initialisation


@pytest.mark.parametrize("layer,fan_in", [
    (lambda: nn.Conv2d(16, 32, 3, dtype="float64"), 16 * 9),
    (lambda: nn.Conv2d(12, 300, (5, 2), groups=4, dtype="float64"), 3 * 10),
    (lambda: nn.Conv1d(8, 400, 7, dtype="float64"), 8 * 7),
])
def test_init_is_uniform_within_torchs_kaiming_bound(layer, fan_in: int) -> None:
    cr.manual_seed(0)
    conv = layer()
    bound = 1 / math.sqrt(fan_in)
    # PyTorch: kaiming_uniform_(a=√5) for the weight, U(±1/√fan_in) for the bias
    gain = torch.nn.init.calculate_gain("leaky_relu", math.sqrt(5))
    assert gain * math.sqrt(3 / fan_in) == pytest.approx(bound, rel=1e-12)
    t_conv = type(conv).__name__
    t_weight = getattr(torch.nn, t_conv)(conv.in_channels, conv.out_channels,
                                         conv.kernel_size, groups=conv.groups).weight
    assert torch.nn.init._calculate_fan_in_and_fan_out(t_weight)[0] == fan_in
    w, b = conv.weight.numpy(), conv.bias.numpy()
    assert np.abs(w).max() <= bound and np.abs(b).max() <= bound
    assert w.min() < -0.95 * bound and w.max() > 0.95 * bound
    assert w.var() == pytest.approx(bound**2 / 3, rel=0.1)
    assert b.min() < -0.5 * bound and b.max() > 0.5 * bound


def test_init_is_deterministic_and_takes_a_generator() -> None:
    cr.manual_seed(3)
    a = nn.Conv2d(2, 3, 3)
    cr.manual_seed(3)
    b = nn.Conv2d(2, 3, 3)
    np.testing.assert_array_equal(a.weight.numpy(), b.weight.numpy())
    np.testing.assert_array_equal(a.bias.numpy(), b.bias.numpy())
    c = nn.Conv2d(2, 3, 3, generator=np.random.default_rng(1))
    d = nn.Conv2d(2, 3, 3, generator=np.random.default_rng(1))
    np.testing.assert_array_equal(c.weight.numpy(), d.weight.numpy())
    assert a.weight.dtype == np.float32 and a.weight.requires_grad


# ---------------------------------------------------------------- errors


def _message(action) -> str:
    with pytest.raises((ValueError, TypeError)) as info:
        action()
    return str(info.value)


def test_channel_mismatch_names_the_layer_and_the_algebra() -> None:
    assert _message(lambda: nn.Conv2d(3, 16, 3)(cr.zeros(8, 1, 28, 28))) == (
        "Conv2d(in_channels=3, out_channels=16, kernel_size=(3, 3)): input of shape "
        "(8, 1, 28, 28) has 1 channel, expected 3")
    assert _message(lambda: nn.Conv1d(2, 4, 3)(cr.zeros(5, 9))) == (
        "Conv1d(in_channels=2, out_channels=4, kernel_size=(3,)): input of shape (5, 9) has "
        "5 channels, expected 2")
    assert _message(lambda: F.conv2d(cr.zeros(8, 1, 28, 28), cr.zeros(16, 3, 3, 3))) == (
        "conv2d: input of shape (8, 1, 28, 28) has 1 channel, but weight of shape "
        "(16, 3, 3, 3) with groups=1 expects 3 (weight.shape[1] * groups)")


def test_a_kernel_larger_than_the_padded_input_says_so() -> None:
    assert _message(lambda: nn.Conv2d(3, 16, 5, padding=1)(cr.zeros(2, 3, 2, 6))) == (
        "Conv2d(in_channels=3, out_channels=16, kernel_size=(5, 5)): the kernel spans (5, 5) "
        "(size (5, 5), dilation (1, 1)), more than the padded input (4, 8) "
        "(input (2, 6) plus padding)")
    assert _message(lambda: F.conv1d(cr.zeros(1, 1, 5), cr.zeros(1, 1, 3), dilation=3)) == (
        "conv1d: the kernel spans (7,) (size (3,), dilation (3,)), more than the padded "
        "input (5,) (input (5,) plus padding)")


def test_groups_must_divide_the_channels() -> None:
    assert _message(lambda: nn.Conv2d(3, 4, 3, groups=2)) == (
        "Conv2d: in_channels=3 is not divisible by groups=2 (each group convolves its own "
        "share of the channels)")
    assert _message(lambda: nn.Conv1d(4, 3, 3, groups=2)).startswith(
        "Conv1d: out_channels=3 is not divisible by groups=2")
    assert _message(lambda: nn.Conv2d(4, 4, 3, groups=0)) == (
        "Conv2d: groups must be a positive int, got 0")
    assert _message(lambda: F.conv2d(cr.zeros(1, 4, 5, 5), cr.zeros(3, 2, 3, 3),
                                     groups=2)).startswith(
        "conv2d: weight of shape (3, 2, 3, 3) has 3 output channels, not divisible by groups=2")


def test_bad_arguments_are_refused_before_numpy_runs() -> None:
    assert _message(lambda: nn.Conv2d(4, 4, 3, stride=2, padding="same")) == (
        "Conv2d: padding='same' needs stride 1 (only then does the output keep the input's "
        "size), got stride (2, 2)")
    assert _message(lambda: nn.Conv2d(4, 4, 3, padding="full")) == (
        "Conv2d: padding must be an int, a tuple of 2 ints, 'same' or 'valid', got 'full'")
    assert _message(lambda: nn.Conv2d(4, 4, 3, padding_mode="mirror")) == (
        "Conv2d: padding_mode must be one of 'zeros', 'reflect', 'replicate', 'circular', "
        "got 'mirror'")
    assert _message(lambda: nn.Conv2d(4, 4, (3, 3, 3))) == (
        "Conv2d: kernel_size must be an int or a tuple of 2 ints, each >= 1, got (3, 3, 3)")
    assert _message(lambda: F.conv2d(cr.zeros(1, 1, 5, 5), cr.zeros(1, 1, 3, 3),
                                     stride=0)).startswith("conv2d: stride must be")
    assert _message(lambda: F.conv2d(cr.zeros(1, 1, 5, 5), cr.zeros(1, 1, 3, 3),
                                     padding=-1)).startswith("conv2d: padding must be")
    assert _message(lambda: nn.Conv2d(3, 16, 3)(cr.zeros(28, 28))) == (
        "Conv2d(in_channels=3, out_channels=16, kernel_size=(3, 3)): expected a 3-D "
        "(C, H, W) or 4-D (N, C, H, W) input, got shape (28, 28)")
    assert _message(lambda: F.conv2d(cr.zeros(1, 1, 5, 5), cr.zeros(1, 3, 3))) == (
        "conv2d: weight must be 4-D (out_channels, in_channels/groups, kH, kW), got shape "
        "(1, 3, 3)")
    assert _message(lambda: F.conv2d(cr.zeros(1, 1, 5, 5), cr.zeros(2, 1, 3, 3),
                                     cr.zeros(3))) == (
        "conv2d: bias must have shape (2,), one entry per output channel, got (3,)")
    assert _message(lambda: F.conv1d(cr.tensor(np.zeros((1, 1, 5), dtype=np.int64)),
                                     cr.zeros(1, 1, 3))) == (
        "conv1d: input must be floating point, got dtype int64")


def test_pad_errors() -> None:
    assert _message(lambda: F.pad(cr.zeros(2, 3), (1, 1, 1))).startswith(
        "pad: pad must be a tuple of ints in (before, after) pairs")
    assert _message(lambda: F.pad(cr.zeros(2, 3), (1, 1, 1, 1, 1, 1))) == (
        "pad: 3 (before, after) pairs for a tensor of shape (2, 3), which has 2 axes")
    assert _message(lambda: F.pad(cr.zeros(2, 3), (3, 0), mode="reflect")) == (
        "pad: mode='reflect' needs paddings >= 0 and less than the axis' size; axis 1 has "
        "size 3, padding (3, 0)")
    assert _message(lambda: F.pad(cr.zeros(2, 3), (1, 0), mode="wrap")).startswith(
        "pad: mode must be one of 'constant', 'reflect', 'replicate', 'circular'")
    assert _message(lambda: F.pad(cr.zeros(2, 3), (-2, -2))) == (
        "pad: axis 1 of size 3 with padding (-2, -2) would have a negative size -1")
