"""Module buffers (``register_buffer``): state that is saved and loaded with the state dict
but is not a parameter — PyTorch's names, order and rules."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule import nn


class Stats(nn.Module):
    """A layer with a parameter, two persistent buffers (float and int) and a scratch one."""

    def __init__(self, n: int = 3) -> None:
        super().__init__()
        self.weight = nn.Parameter(np.ones(n, dtype=np.float32))
        self.register_buffer("running_mean", cr.zeros(n))
        self.register_buffer("num_batches_tracked", cr.tensor(0, dtype="int64"))
        self.register_buffer("scratch", cr.zeros(n), persistent=False)

    def forward(self, x):
        return (x - self.running_mean) * self.weight


class TorchStats(torch.nn.Module):
    def __init__(self, n: int = 3) -> None:
        super().__init__()
        self.weight = torch.nn.Parameter(torch.ones(n))
        self.register_buffer("running_mean", torch.zeros(n))
        self.register_buffer("num_batches_tracked", torch.tensor(0))
        self.register_buffer("scratch", torch.zeros(n), persistent=False)


def _pair() -> tuple[nn.Module, torch.nn.Module]:
    ours = nn.Sequential(nn.Linear(3, 3), Stats(), nn.Sequential(Stats(), nn.Linear(3, 1)))
    theirs = torch.nn.Sequential(torch.nn.Linear(3, 3), TorchStats(),
                                 torch.nn.Sequential(TorchStats(), torch.nn.Linear(3, 1)))
    return ours, theirs


def test_state_dict_keys_and_order_match_torch() -> None:
    ours, theirs = _pair()
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert "1.running_mean" in ours.state_dict() and "1.scratch" not in ours.state_dict()


def test_buffers_are_not_parameters() -> None:
    ours, theirs = _pair()
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert [n for n, _ in ours.named_buffers()] == [n for n, _ in theirs.named_buffers()]
    assert len(list(ours.buffers())) == 6
    assert not any(b is p for b in ours.buffers() for p in ours.parameters())
    stats = ours[1]
    assert [n for n, _ in stats.named_buffers(prefix="m")] == [
        "m.running_mean", "m.num_batches_tracked", "m.scratch"]
    assert list(ours.named_buffers(recurse=False)) == []


def test_an_optimizer_leaves_buffers_alone() -> None:
    m = Stats()
    with cr.no_grad():
        m.running_mean += 1.0
    opt = cr.optim.SGD(m.parameters(), lr=0.1)
    m(cr.full((2, 3), 3.0)).sum().backward()
    opt.step()
    assert m.running_mean.tolist() == [1.0, 1.0, 1.0]
    assert m.weight.tolist() != [1.0, 1.0, 1.0]


def test_a_buffer_is_read_and_replaced_as_an_attribute() -> None:
    m = Stats()
    new = cr.tensor([1.0, 2.0, 3.0])
    m.running_mean = new
    assert m.running_mean is new and m.state_dict()["running_mean"].tolist() == [1.0, 2.0, 3.0]
    assert "running_mean" not in m.__dict__ and "running_mean" in dir(m)
    m.running_mean = None  # as in PyTorch: the name stays reserved, out of the state dict
    assert m.running_mean is None and "running_mean" not in m.state_dict()
    with pytest.raises(TypeError, match=r"cannot assign list as buffer 'running_mean' "
                                        r"\(Tensor or None expected\)"):
        m.running_mean = [1.0, 2.0, 3.0]


def test_a_buffer_can_become_a_parameter_and_be_deleted() -> None:
    m = Stats()
    m.running_mean = nn.Parameter(cr.zeros(3))
    assert "running_mean" in dict(m.named_parameters())
    assert "running_mean" not in dict(m.named_buffers())
    del m.scratch
    assert "scratch" not in dict(m.named_buffers())
    with pytest.raises(AttributeError):
        m.scratch  # noqa: B018


def test_load_state_dict_copies_buffers_in_place() -> None:
    a, b = Stats(), Stats()
    with cr.no_grad():
        a.running_mean += 2.5
    a.num_batches_tracked = cr.tensor(7, dtype="int64")
    buffer = b.running_mean
    b.load_state_dict(a.state_dict())
    assert b.running_mean is buffer and buffer.tolist() == [2.5, 2.5, 2.5]
    assert b.num_batches_tracked.item() == 7 and b.num_batches_tracked.dtype == np.int64


def test_load_state_dict_expects_persistent_buffers_only() -> None:
    m = Stats()
    state = m.state_dict()
    del state["running_mean"]
    with pytest.raises(RuntimeError, match=r'Missing key\(s\) in state_dict: "running_mean"'):
        m.load_state_dict(state)
    state["running_mean"] = cr.zeros(3)
    state["scratch"] = cr.zeros(3)  # not persistent: not expected
    with pytest.raises(RuntimeError, match=r'Unexpected key\(s\) in state_dict: "scratch"'):
        m.load_state_dict(state)
    missing, unexpected = m.load_state_dict(state, strict=False)
    assert (missing, unexpected) == ([], ["scratch"])


def test_buffer_shape_mismatch_names_the_buffer() -> None:
    with pytest.raises(RuntimeError, match=r"size mismatch for running_mean: copying a param "
                                           r"with shape \(4,\) from checkpoint"):
        Stats(3).load_state_dict(Stats(4).state_dict())


def test_state_dict_with_buffers_round_trips_through_save_and_load(tmp_path) -> None:
    ours, _ = _pair()
    with cr.no_grad():
        ours[1].running_mean += 0.25
    ours[2][0].num_batches_tracked = cr.tensor(12, dtype="int64")
    cr.save(ours.state_dict(), tmp_path / "m.npz")
    loaded = cr.load(tmp_path / "m.npz")
    assert list(loaded) == list(ours.state_dict())
    assert loaded["2.0.num_batches_tracked"].dtype == np.int64
    assert loaded["2.0.num_batches_tracked"].shape == ()
    fresh, _ = _pair()
    fresh.load_state_dict(loaded)
    for (name, value), (_, again) in zip(ours.state_dict().items(), fresh.state_dict().items()):
        assert value.dtype == again.dtype, name
        np.testing.assert_array_equal(value.numpy(), again.numpy())


def test_torch_state_dict_with_buffers_loads_by_name() -> None:
    ours, theirs = _pair()
    with torch.no_grad():
        theirs[1].running_mean += 3.0
    theirs[1].num_batches_tracked += 5
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    assert ours[1].running_mean.tolist() == [3.0, 3.0, 3.0]
    assert ours[1].num_batches_tracked.item() == 5


@pytest.mark.parametrize("name,value,error,pattern", [
    ("a.b", cr.zeros(1), KeyError, r"buffer name can't be empty or contain '\.', got 'a\.b'"),
    ("", cr.zeros(1), KeyError, r"buffer name can't be empty or contain '\.', got ''"),
    ("weight", cr.zeros(1), KeyError, r"attribute 'weight' already exists on Stats"),
    ("training", cr.zeros(1), KeyError, r"attribute 'training' already exists on Stats"),
    (3, cr.zeros(1), TypeError, r"buffer name should be a string, got int"),
    ("x", np.zeros(1), TypeError,
     r"cannot assign ndarray to buffer 'x' \(a Tensor or None is required; wrap arrays "),
])
def test_register_buffer_refuses_what_torch_refuses(name, value, error, pattern) -> None:
    with pytest.raises(error, match=pattern):
        Stats().register_buffer(name, value)


def test_register_buffer_before_init_explains_the_fix() -> None:
    class Broken(nn.Module):
        def __init__(self) -> None:
            self.register_buffer("x", cr.zeros(1))

    with pytest.raises(AttributeError, match=r"call super\(\).__init__\(\) first"):
        Broken()


def test_reregistering_a_buffer_can_change_persistence() -> None:
    m = Stats()
    m.register_buffer("scratch", cr.ones(3))
    assert "scratch" in m.state_dict()
    m.register_buffer("scratch", cr.ones(3), persistent=False)
    assert "scratch" not in m.state_dict()
