"""nn.Module bookkeeping: registration, names, zero_grad, state_dict round trips and
load_state_dict errors; nn.Parameter."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(3, 4), nn.ReLU())
        self.head = nn.Linear(4, 2)
        self.scale = nn.Parameter([1.0])
        self.note = "plain attributes are not registered"

    def forward(self, x):
        return self.head(self.encoder(x)) * self.scale


def test_named_parameters_use_pytorch_dotted_names_in_registration_order() -> None:
    assert [n for n, _ in Net().named_parameters()] == [
        "scale", "encoder.0.weight", "encoder.0.bias", "head.weight", "head.bias"]


def test_parameters_children_and_modules() -> None:
    net = Net()
    assert len(list(net.parameters())) == 5
    assert [type(m).__name__ for m in net.children()] == ["Sequential", "Linear"]
    assert [name for name, _ in net.named_modules()] == ["", "encoder", "encoder.0",
                                                          "encoder.1", "head"]


def test_shared_parameter_is_listed_once() -> None:
    net = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 2))
    net[1].weight = net[0].weight
    assert [n for n, _ in net.named_parameters()] == ["0.weight", "0.bias", "1.bias"]


def test_reassigning_a_parameter_slot_to_a_tensor_is_an_error() -> None:
    layer = nn.Linear(2, 2)
    with pytest.raises(TypeError, match="cannot assign Tensor as parameter 'weight'"):
        layer.weight = cr.ones(2, 2)


def test_assigning_before_init_explains_the_fix() -> None:
    class Broken(nn.Module):
        def __init__(self) -> None:
            self.w = nn.Parameter([1.0])

    with pytest.raises(AttributeError, match=r"call super\(\).__init__\(\) first"):
        Broken()


def test_missing_forward_raises_not_implemented() -> None:
    with pytest.raises(NotImplementedError, match='missing the required "forward"'):
        nn.Module()(1)


def test_unknown_attribute_error_names_the_class() -> None:
    with pytest.raises(AttributeError, match="'Linear' object has no attribute 'wieght'"):
        nn.Linear(2, 2).wieght  # noqa: B018


def test_zero_grad_sets_grad_to_none() -> None:
    net = Net()
    net(cr.ones(2, 3)).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())


def test_zero_grad_set_to_none_false_gives_zeros() -> None:
    layer = nn.Linear(2, 1)
    layer(cr.ones(1, 2)).sum().backward()
    layer.zero_grad(set_to_none=False)
    assert layer.weight.grad.tolist() == [[0.0, 0.0]]


def test_gradients_accumulate_until_zero_grad() -> None:
    layer = nn.Linear(2, 1, dtype="float64")
    x = cr.tensor([[1.0, 2.0]], dtype="float64")
    layer(x).sum().backward()
    layer(x).sum().backward()
    assert layer.weight.grad.tolist() == [[2.0, 4.0]]


def test_state_dict_holds_detached_copies_in_order() -> None:
    net = Net()
    state = net.state_dict()
    assert list(state) == [n for n, _ in net.named_parameters()]
    for name, param in net.named_parameters():
        value = state[name]
        assert isinstance(value, cr.Tensor) and not isinstance(value, nn.Parameter)
        assert not value.requires_grad
        np.testing.assert_array_equal(value.numpy(), param.numpy())
        assert not np.shares_memory(value.numpy(), param.numpy())


def test_state_dict_round_trip_restores_outputs() -> None:
    cr.manual_seed(0)
    a, b = Net(), Net()
    x = cr.ones(2, 3)
    assert not np.array_equal(a(x).numpy(), b(x).numpy())
    weight_before = b.head.weight
    b.load_state_dict(a.state_dict())
    np.testing.assert_array_equal(a(x).numpy(), b(x).numpy())
    assert b.head.weight is weight_before  # copied in place: optimisers keep working


def test_load_state_dict_accepts_numpy_arrays_and_casts_dtype() -> None:
    layer = nn.Linear(2, 1)
    layer.load_state_dict({"weight": np.array([[1.0, 2.0]]), "bias": [0.5]})
    assert layer.weight.dtype == np.float32
    assert layer(cr.tensor([[1.0, 1.0]])).item() == 3.5


def test_load_state_dict_lists_missing_unexpected_and_mismatched() -> None:
    layer = nn.Linear(3, 2)
    state = {"weight": np.zeros((2, 4)), "extra": np.zeros(1)}
    with pytest.raises(RuntimeError) as info:
        layer.load_state_dict(state)
    message = str(info.value)
    assert message.startswith("Error(s) in loading state_dict for Linear:")
    assert 'Missing key(s) in state_dict: "bias".' in message
    assert 'Unexpected key(s) in state_dict: "extra".' in message
    assert ("size mismatch for weight: copying a param with shape (2, 4) from checkpoint, "
            "the shape in current model is (2, 3).") in message


def test_failed_load_changes_nothing() -> None:
    layer = nn.Linear(2, 2)
    before = layer.state_dict()
    with pytest.raises(RuntimeError):
        layer.load_state_dict({"weight": np.ones((2, 2)), "bias": np.ones(3)})
    np.testing.assert_array_equal(layer.weight.numpy(), before["weight"].numpy())


def test_non_strict_load_reports_keys_but_still_checks_shapes() -> None:
    layer = nn.Linear(2, 2)
    result = layer.load_state_dict({"weight": np.ones((2, 2)), "foo": np.ones(1)}, strict=False)
    assert result.missing_keys == ["bias"] and result.unexpected_keys == ["foo"]
    assert layer.weight.tolist() == [[1.0, 1.0], [1.0, 1.0]]
    with pytest.raises(RuntimeError, match="size mismatch for weight"):
        layer.load_state_dict({"weight": np.ones((3, 2))}, strict=False)


def test_repr_nests_like_torch() -> None:
    assert repr(Net()) == (
        "Net(\n"
        "  (encoder): Sequential(\n"
        "    (0): Linear(in_features=3, out_features=4, bias=True)\n"
        "    (1): ReLU()\n"
        "  )\n"
        "  (head): Linear(in_features=4, out_features=2, bias=True)\n"
        ")"
    )


# ---------------------------------------------------------------- Parameter


def test_parameter_requires_grad_and_holds_float_data() -> None:
    p = nn.Parameter([1, 2])
    assert p.requires_grad and p.dtype == np.float32 and p.is_leaf
    assert not nn.Parameter([1.0], requires_grad=False).requires_grad


def test_operations_on_a_parameter_give_plain_tensors() -> None:
    p = nn.Parameter([[1.0, 2.0]])
    for out in (p * 2, p.T, p + p, -p):
        assert type(out) is cr.Tensor
    (p * 3).sum().backward()
    assert type(p.grad) is cr.Tensor and p.grad.tolist() == [[3.0, 3.0]]


def test_parameter_repr_says_parameter_containing() -> None:
    assert repr(nn.Parameter([1.0])).startswith("Parameter containing:\ntensor([1.]")


def test_deepcopy_gives_an_independent_model_with_equal_outputs() -> None:
    import copy

    net = Net()
    twin = copy.deepcopy(net)
    x = cr.ones(2, 3)
    np.testing.assert_array_equal(net(x).numpy(), twin(x).numpy())
    assert twin.head.weight is not net.head.weight
    assert [n for n, _ in twin.named_parameters()] == [n for n, _ in net.named_parameters()]
