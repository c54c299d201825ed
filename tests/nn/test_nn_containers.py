"""nn.ModuleList, nn.ModuleDict, nn.Flatten and nn.Softmax against PyTorch's."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule import nn


def _names(module) -> list[str]:
    return [name for name, _ in module.named_parameters()]


def _lists() -> tuple[nn.ModuleList, torch.nn.ModuleList]:
    return (nn.ModuleList([nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 3)]),
            torch.nn.ModuleList([torch.nn.Linear(2, 2), torch.nn.ReLU(),
                                 torch.nn.Linear(2, 3)]))


def _same(ours: nn.Module, theirs: torch.nn.Module) -> None:
    assert _names(ours) == _names(theirs)
    assert [n for n, _ in ours.named_children()] == [n for n, _ in theirs.named_children()]
    assert [type(m).__name__ for m in ours.children()] == [
        type(m).__name__ for m in theirs.children()]


def test_module_list_registers_its_entries_as_children() -> None:
    ours, theirs = _lists()
    _same(ours, theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert len(ours) == 3 and isinstance(ours[-1], nn.Linear) and ours[-1] is ours[2]
    assert [type(m).__name__ for m in ours] == ["Linear", "ReLU", "Linear"]


@pytest.mark.parametrize("edit", [
    lambda m, L, R: m.append(L(2, 4)),
    lambda m, L, R: m.extend([R(), L(4, 1)]),
    lambda m, L, R: m.insert(1, L(5, 5)),
    lambda m, L, R: m.insert(0, R()),
    lambda m, L, R: m.__delitem__(0),
    lambda m, L, R: m.__delitem__(slice(0, 2)),
    lambda m, L, R: m.__delitem__(-2),
    lambda m, L, R: m.pop(0),
    lambda m, L, R: m.pop(-1),
    lambda m, L, R: m.__setitem__(0, L(8, 8)),
    lambda m, L, R: m.__iadd__([L(9, 9)]),
], ids=["append", "extend", "insert", "insert0", "del", "del-slice", "del-neg", "pop0",
        "pop-last", "setitem", "iadd"])
def test_list_edits_match_torch(edit) -> None:
    ours, theirs = _lists()
    edit(ours, nn.Linear, nn.ReLU)
    edit(theirs, torch.nn.Linear, torch.nn.ReLU)
    _same(ours, theirs)
    assert [tuple(p.shape) for p in ours.parameters()] == [
        tuple(p.shape) for p in theirs.parameters()]


@pytest.mark.parametrize("index", [-1, -3, -10, 3, 10])
def test_insert_and_pop_follow_python_lists(index) -> None:
    # PyTorch's insert mishandles these (a KeyError at -1, a child named "10" at 10)
    ours, _ = _lists()
    expected = list(ours)
    tanh = nn.Tanh()
    expected.insert(index, tanh)
    ours.insert(index, tanh)
    assert list(ours) == expected
    assert [n for n, _ in ours.named_children()] == [str(i) for i in range(4)]
    assert ours.pop() is expected.pop() and len(ours) == 3


def test_slicing_and_adding_share_the_modules() -> None:
    ours, _ = _lists()
    part = ours[1:]
    assert isinstance(part, nn.ModuleList) and len(part) == 2 and part[1] is ours[2]
    assert _names(part) == ["1.weight", "1.bias"]
    both = ours + part
    assert isinstance(both, nn.ModuleList) and len(both) == 5 and both[4] is ours[2]
    assert ours.append(nn.Tanh()) is ours
    assert list(ours[::-1])[0].__class__ is nn.Tanh


def test_module_list_repr_compresses_repeats_like_torch() -> None:
    ours = nn.ModuleList([nn.ReLU(), nn.ReLU(), nn.ReLU(), nn.Tanh()])
    theirs = torch.nn.ModuleList([torch.nn.ReLU(), torch.nn.ReLU(), torch.nn.ReLU(),
                                  torch.nn.Tanh()])
    assert repr(ours) == repr(theirs)
    assert repr(nn.ModuleList()) == repr(torch.nn.ModuleList()) == "ModuleList()"
    nested = nn.ModuleList([nn.Sequential(nn.ReLU())])
    assert repr(nested) == repr(torch.nn.ModuleList([torch.nn.Sequential(torch.nn.ReLU())]))


def test_a_model_built_from_a_module_list_trains() -> None:
    class Deep(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.layers = nn.ModuleList([nn.Linear(2, 2, dtype="float64") for _ in range(3)])

        def forward(self, x):
            for layer in self.layers:
                x = layer(x).tanh()
            return x

    model = Deep()
    assert _names(model)[:2] == ["layers.0.weight", "layers.0.bias"]
    opt = cr.optim.SGD(model.parameters(), lr=0.1)
    model(cr.ones(4, 2, dtype="float64")).sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    opt.step()
    model.double().eval()
    assert not model.layers[2].training


def test_module_list_errors() -> None:
    ours, _ = _lists()
    with pytest.raises(IndexError, match="ModuleList: index 3 is out of range for 3 modules"):
        ours[3]  # noqa: B018
    with pytest.raises(TypeError, match="ModuleList: indices must be ints or slices, got str"):
        ours["a"]  # noqa: B018
    with pytest.raises(TypeError, match="ModuleList.append: expected an nn.Module, got int"):
        ours.append(3)
    with pytest.raises(TypeError, match="ModuleList.extend: expected an iterable of modules, "
                                        "got Linear"):
        ours.extend(nn.Linear(2, 2))
    with pytest.raises(NotImplementedError, match="missing the required \"forward\""):
        ours(cr.ones(2))


def _dicts() -> tuple[nn.ModuleDict, torch.nn.ModuleDict]:
    return (nn.ModuleDict({"enc": nn.Linear(2, 3), "act": nn.ReLU(), "dec": nn.Linear(3, 1)}),
            torch.nn.ModuleDict({"enc": torch.nn.Linear(2, 3), "act": torch.nn.ReLU(),
                                 "dec": torch.nn.Linear(3, 1)}))


def test_module_dict_is_a_mapping_of_registered_children() -> None:
    ours, theirs = _dicts()
    _same(ours, theirs)
    assert list(ours) == list(ours.keys()) == ["enc", "act", "dec"]
    assert [k for k, _ in ours.items()] == list(ours)
    assert [type(m).__name__ for m in ours.values()] == ["Linear", "ReLU", "Linear"]
    assert "enc" in ours and "nope" not in ours and len(ours) == 3
    assert ours["dec"].out_features == 1
    with pytest.raises(KeyError):
        ours["nope"]  # noqa: B018


@pytest.mark.parametrize("edit", [
    lambda d, L: d.__setitem__("extra", L(1, 1)),
    lambda d, L: d.__setitem__("enc", L(2, 5)),  # a replaced key keeps its place
    lambda d, L: d.__delitem__("act"),
    lambda d, L: d.pop("enc"),
    lambda d, L: d.clear(),
    lambda d, L: d.update({"z": L(1, 2), "enc": L(4, 4)}),
    lambda d, L: d.update([("a", L(1, 1)), ("b", L(2, 2))]),
], ids=["set", "replace", "del", "pop", "clear", "update-dict", "update-pairs"])
def test_dict_edits_match_torch(edit) -> None:
    ours, theirs = _dicts()
    edit(ours, nn.Linear)
    edit(theirs, torch.nn.Linear)
    _same(ours, theirs)
    assert list(ours.keys()) == list(theirs.keys())


def test_module_dict_takes_pairs_and_another_module_dict() -> None:
    first = nn.ModuleDict([("a", nn.ReLU()), ("b", nn.Tanh())])
    second = nn.ModuleDict(first)
    assert list(second) == ["a", "b"] and second["a"] is first["a"]


def test_module_dict_errors_match_torch_kinds() -> None:
    with pytest.raises(KeyError, match="attribute 'train' already exists on ModuleDict"):
        nn.ModuleDict({"train": nn.ReLU()})
    with pytest.raises(TypeError, match="module name should be a string, got int"):
        nn.ModuleDict({1: nn.ReLU()})
    with pytest.raises(KeyError, match=r"can't be empty or contain '\.', got 'a\.b'"):
        nn.ModuleDict({"a.b": nn.ReLU()})
    with pytest.raises(ValueError, match=r"element #0 must be a \(key, module\) pair"):
        nn.ModuleDict([("a", nn.ReLU(), 3)])
    with pytest.raises(TypeError, match="ModuleDict.update: expected a mapping or an iterable"):
        nn.ModuleDict(3)
    with pytest.raises(TypeError, match="ModuleDict: expected an nn.Module, got str"):
        nn.ModuleDict({"a": "relu"})


# ---------------------------------------------------------------- Flatten and Softmax


@pytest.mark.parametrize("shape,start,end", [
    ((2, 3, 4, 5), 1, -1), ((2, 3, 4, 5), 0, 1), ((2, 3, 4, 5), -2, -1), ((2, 3, 4, 5), 2, 2),
    ((2, 3), 0, -1), ((1, 0, 3), 1, -1), ((7,), 0, -1), ((), 0, -1),
])
def test_flatten_matches_torch_with_gradient(shape, start, end) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=shape)
    xt = torch.tensor(x, requires_grad=True)
    theirs = torch.nn.Flatten(start, end)(xt)
    ours_x = cr.tensor(x, requires_grad=True)
    ours = nn.Flatten(start, end)(ours_x)
    assert ours.shape == tuple(theirs.shape)
    np.testing.assert_array_equal(ours.numpy(), theirs.detach().numpy())
    g = rng.normal(size=ours.shape)
    ours.backward(cr.tensor(g))
    theirs.backward(torch.tensor(g))
    np.testing.assert_array_equal(ours_x.grad.numpy(), xt.grad.numpy())


def test_flatten_defaults_and_repr_match_torch() -> None:
    assert repr(nn.Flatten()) == repr(torch.nn.Flatten()) == "Flatten(start_dim=1, end_dim=-1)"
    assert nn.Flatten(start_dim=0, end_dim=2)(cr.zeros(2, 3, 4, 5)).shape == (24, 5)


def test_flatten_errors_name_the_layer_and_shape() -> None:
    with pytest.raises(ValueError, match=r"^Flatten\(start_dim=1, end_dim=-1\): start_dim 1 is "
                                         r"out of range for an input of shape \(3,\) "
                                         r"\(valid: -1 to 0\)$"):
        nn.Flatten()(cr.zeros(3))
    with pytest.raises(ValueError, match=r"start_dim comes after end_dim for an input of "
                                         r"shape \(2, 3, 4\)"):
        nn.Flatten(2, 1)(cr.zeros(2, 3, 4))
    with pytest.raises(TypeError, match="Flatten: start_dim must be an int, got 1.0"):
        nn.Flatten(1.0)


@pytest.mark.parametrize("axis", [-1, 0, 1, 2])
def test_softmax_matches_torch_with_gradient(axis) -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2, 3, 4)) * 5
    xt = torch.tensor(x, requires_grad=True)
    theirs = torch.nn.Softmax(dim=axis)(xt)
    ours_x = cr.tensor(x, requires_grad=True)
    ours = nn.Softmax(axis=axis)(ours_x)
    np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), rtol=1e-13, atol=1e-15)
    g = rng.normal(size=x.shape)
    ours.backward(cr.tensor(g))
    theirs.backward(torch.tensor(g))
    np.testing.assert_allclose(ours_x.grad.numpy(), xt.grad.numpy(), rtol=1e-10, atol=1e-14)


def test_softmax_takes_numpys_axis_and_explains_dim() -> None:
    assert repr(nn.Softmax()) == "Softmax(axis=-1)"
    assert nn.Softmax(1).axis == 1
    with pytest.raises(TypeError, match=r"^Softmax: chainrule takes NumPy's axis=, not "
                                        r"PyTorch's dim="):
        nn.Softmax(dim=1)
    with pytest.raises(TypeError, match="Softmax: axis must be an int, got NoneType"):
        nn.Softmax(None)
    with pytest.raises(ValueError, match="softmax: axis 2 is out of range"):
        nn.Softmax(2)(cr.zeros(2, 3))


def test_a_small_cnn_style_head_composes() -> None:
    head = nn.Sequential(nn.Flatten(), nn.Linear(12, 5), nn.Softmax(axis=1))
    out = head(cr.ones(4, 3, 2, 2))
    assert out.shape == (4, 5)
    np.testing.assert_allclose(out.numpy().sum(axis=1), 1.0, rtol=1e-6)
