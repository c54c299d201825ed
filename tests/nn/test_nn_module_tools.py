"""Module tools with PyTorch's names and semantics: walking the tree (modules, children,
named_modules, named_children, apply), requires_grad_, and to(dtype)/double()/float()."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule import nn


class Block(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(3, 3)
        self.act = nn.ReLU()
        self.register_buffer("running_mean", cr.zeros(3))
        self.register_buffer("steps", cr.tensor(0, dtype="int64"))

    def forward(self, x):
        return self.act(self.fc(x)) - self.running_mean


class TorchBlock(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = torch.nn.Linear(3, 3)
        self.act = torch.nn.ReLU()
        self.register_buffer("running_mean", torch.zeros(3))
        self.register_buffer("steps", torch.tensor(0))


def _trees() -> tuple[nn.Module, torch.nn.Module]:
    shared, tshared = nn.Linear(3, 3), torch.nn.Linear(3, 3)
    ours = nn.Sequential(Block(), nn.Sequential(shared, nn.Tanh(), shared), Block())
    theirs = torch.nn.Sequential(TorchBlock(), torch.nn.Sequential(tshared, torch.nn.Tanh(),
                                                                   tshared), TorchBlock())
    return ours, theirs


def _kinds(modules) -> list[str]:
    return [type(m).__name__.removeprefix("Torch") for m in modules]


def test_walking_the_tree_matches_torch() -> None:
    ours, theirs = _trees()
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in theirs.named_modules()]
    assert _kinds(ours.modules()) == _kinds(theirs.modules())
    assert _kinds(ours.children()) == _kinds(theirs.children())
    inner, tinner = ours[1], theirs[1]
    assert [n for n, _ in inner.named_children()] == [n for n, _ in tinner.named_children()]
    assert [n for n, _ in ours.named_modules(prefix="net")] == [
        n for n, _ in theirs.named_modules(prefix="net")]


def test_apply_visits_children_first_and_returns_self() -> None:
    ours, theirs = _trees()
    seen: list[str] = []
    tseen: list[str] = []
    assert ours.apply(lambda m: seen.append(type(m).__name__)) is ours
    assert theirs.apply(lambda m: tseen.append(type(m).__name__)) is theirs
    assert seen == [name.removeprefix("Torch") for name in tseen]


def test_apply_initialises_weights_like_the_pytorch_idiom() -> None:
    def init(m: nn.Module) -> None:
        if isinstance(m, nn.Linear):
            nn.init.zeros_(m.weight)

    net = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)).apply(init)
    assert all(not m.weight.numpy().any() for m in net if isinstance(m, nn.Linear))


def test_requires_grad_freezes_and_unfreezes_every_parameter() -> None:
    ours, _ = _trees()
    assert ours[0].requires_grad_(False) is ours[0]
    assert [p.requires_grad for p in ours[0].parameters()] == [False, False]
    assert all(p.requires_grad for p in ours[2].parameters())
    frozen = ours[0](cr.ones(1, 3))
    assert not frozen.requires_grad
    ours.requires_grad_()
    assert all(p.requires_grad for p in ours.parameters())
    with pytest.raises(TypeError, match="requires_grad_: flag must be a bool, got 'no'"):
        ours.requires_grad_("no")


def test_a_frozen_layer_gets_no_gradient_while_the_rest_train() -> None:
    net = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 1))
    net[0].requires_grad_(False)
    net(cr.ones(4, 2)).sum().backward()
    assert net[0].weight.grad is None and net[1].weight.grad is not None


@pytest.mark.parametrize("method,args,dtype", [
    ("double", (), np.float64), ("to", ("float64",), np.float64),
    ("to", (cr.float64,), np.float64), ("to", (np.float16,), np.float16),
])
def test_to_converts_parameters_in_place_and_floating_buffers(method, args, dtype) -> None:
    ours, _ = _trees()
    params = list(ours.parameters())
    ours(cr.ones(2, 3)).sum().backward()
    buffer = ours[0].running_mean
    assert getattr(ours, method)(*args) is ours
    assert list(ours.parameters()) == params  # the same Parameter objects
    assert all(p.dtype == dtype and p.grad.dtype == dtype for p in params)
    assert ours[0].running_mean.dtype == dtype and ours[0].running_mean is not buffer
    assert ours[0].steps.dtype == np.int64  # integer buffers keep their dtype
    assert ours(cr.ones(2, 3).to(dtype)).dtype == dtype


def test_to_keeps_identities_like_torch() -> None:
    ours, theirs = _trees()
    for model, double, single in ((ours, "float64", "float32"),
                                  (theirs, torch.float64, torch.float32)):
        weight, buffer = model[0].fc.weight, model[0].running_mean
        model.to(single)  # already float32: nothing changes, not even the buffer
        assert model[0].running_mean is buffer
        model.to(double)
        assert model[0].fc.weight is weight and model[0].running_mean is not buffer


def test_an_optimizer_keeps_working_after_double() -> None:
    cr.manual_seed(0)
    net = nn.Linear(2, 1)
    opt = cr.optim.SGD(net.parameters(), lr=0.1)
    net.double()
    x = cr.tensor([[1.0, 2.0]], dtype="float64")
    before = net.weight.numpy().copy()
    net(x).sum().backward()
    opt.step()
    np.testing.assert_allclose(net.weight.numpy(), before - 0.1 * np.array([[1.0, 2.0]]))
    assert net.weight.dtype == np.float64


def test_float_after_double_round_trips_a_state_dict() -> None:
    net = nn.Sequential(Block(), Block())
    state = net.state_dict()
    net.double().float()
    for name, value in net.state_dict().items():
        assert value.dtype == state[name].dtype, name
        np.testing.assert_array_equal(value.numpy(), state[name].numpy())


def test_to_refuses_an_integer_dtype() -> None:
    with pytest.raises(TypeError, match=r"^Module.to: only floating dtypes are accepted "
                                        r"\(float16, float32, float64\), got int64$"):
        nn.Linear(2, 2).to("int64")
    with pytest.raises(TypeError, match=r"Module.to: 'cuda' is not a NumPy dtype"):
        nn.Linear(2, 2).to("cuda")


def test_reassigning_a_child_or_parameter_keeps_its_place_like_torch() -> None:
    ours = nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 1))
    theirs = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.ReLU(), torch.nn.Linear(2, 1))
    ours[0].weight = nn.Parameter(cr.zeros(2, 2))
    theirs[0].weight = torch.nn.Parameter(torch.zeros(2, 2))
    setattr(ours, "1", nn.Tanh())
    setattr(theirs, "1", torch.nn.Tanh())
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in theirs.named_modules()]
    assert isinstance(ours[1], nn.Tanh)


def test_add_module_refuses_what_torch_refuses() -> None:
    m = nn.Linear(2, 2)
    with pytest.raises(TypeError, match="add_module: module name should be a string, got int"):
        m.add_module(1, nn.ReLU())
    with pytest.raises(KeyError, match="add_module: attribute 'weight' already exists on Linear"):
        m.add_module("weight", nn.ReLU())
