"""In-place updates follow PyTorch's rules: the same programs give the same values and
gradients in chainrule and PyTorch, and raise in the same places."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

import chainrule as cr

X0 = np.array([0.5, -1.5, 2.0])
C0 = np.array([2.0, 3.0, -1.0])


class Lib:
    """The few calls the programs below need, for one library."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.torch = name == "torch"

    def leaf(self, a: np.ndarray, grad: bool = True) -> Any:
        if self.torch:
            return torch.tensor(a, requires_grad=grad)
        return cr.tensor(a, requires_grad=grad)

    def no_grad(self) -> Any:
        return torch.no_grad() if self.torch else cr.no_grad()

    def values(self, t: Any) -> np.ndarray:
        return t.detach().numpy() if self.torch else np.array(t.data)


def _gd_step(L: Lib) -> tuple[Any, ...]:
    w = L.leaf(X0)
    for _ in range(3):
        loss = (w * w).sum()
        loss.backward()
        with L.no_grad():
            w -= 0.1 * w.grad
        w.grad = None
    return (w,)


def _add_alpha(L: Lib) -> tuple[Any, ...]:
    w = L.leaf(X0)
    c = L.leaf(C0, grad=False)
    with L.no_grad():
        w.add_(c, alpha=0.5)
        w.sub_(c, alpha=2.0)
        w.mul_(2.0)
        w.div_(4.0)
        w.clip_(-0.5, 0.5)
    (w * w).sum().backward()
    return (w, w.grad)


def _non_leaf_recorded(L: Lib) -> tuple[Any, ...]:
    x = L.leaf(X0)
    y = x * 2
    y += 1
    y *= x
    y.sub_(x, alpha=3)
    y /= 2
    y.sum().backward()
    return (y, x.grad)


def _plain_tensor_takes_a_graph(L: Lib) -> tuple[Any, ...]:
    x = L.leaf(X0)
    a = L.leaf(np.zeros(3), grad=False)
    a += x * x
    a.sum().backward()
    return (a, x.grad)


def _copy_and_fill(L: Lib) -> tuple[Any, ...]:
    x = L.leaf(X0)
    src = L.leaf(C0)
    y = x * 1.0
    y.copy_(src)
    z = x * 2.0
    z.fill_(3.0)
    w = x * 3.0
    w.zero_()
    (y * y + z + w).sum().backward()
    return (y, z, w, x.grad, src.grad)


def _clip_recorded(L: Lib) -> tuple[Any, ...]:
    x = L.leaf(X0)
    y = x * 1.0
    y.clip_(-1.0, 1.0)
    y.sum().backward()
    return (y, x.grad)


def _leaf_under_grad(L: Lib) -> tuple[Any, ...]:
    w = L.leaf(X0)
    w += 1
    return (w,)


def _saved_output_changed(L: Lib) -> tuple[Any, ...]:
    x = L.leaf(X0)
    y = x.exp()
    y += 1
    y.sum().backward()
    return (x.grad,)


def _saved_sigmoid_changed(L: Lib) -> tuple[Any, ...]:
    x = L.leaf(X0)
    y = x.sigmoid()
    y.mul_(2)
    y.sum().backward()
    return (x.grad,)


def _saved_constant_changed(L: Lib) -> tuple[Any, ...]:
    x = L.leaf(X0)
    c = L.leaf(C0, grad=False)
    z = (x * c).sum()
    c += 1
    z.backward()
    return (x.grad,)


def _unsaved_constant_changed(L: Lib) -> tuple[Any, ...]:
    x = L.leaf(X0)
    c = L.leaf(C0, grad=False)
    z = (x + c).sum()
    c += 1
    z.backward()
    return (x.grad, c)


def _saved_input_changed_under_no_grad(L: Lib) -> tuple[Any, ...]:
    x = L.leaf(X0)
    y = x * 1.0
    z = (y * y).sum()
    with L.no_grad():
        y.mul_(2)
    z.backward()
    return (x.grad,)


def _changed_after_backward(L: Lib) -> tuple[Any, ...]:
    x = L.leaf(X0)
    c = L.leaf(C0, grad=False)
    (x * c).sum().backward()
    c += 1  # the graph is gone: nothing to protect
    return (x.grad, c)


def _view_of_a_saved_value_changed(L: Lib) -> tuple[Any, ...]:
    x = L.leaf(X0)
    c = L.leaf(C0, grad=False)
    z = (x * c).sum()
    with L.no_grad():
        view = c[1:]
        view.mul_(5.0)
    z.backward()
    return (x.grad,)


PROGRAMS: list[Callable[[Lib], tuple[Any, ...]]] = [
    _gd_step, _add_alpha, _non_leaf_recorded, _plain_tensor_takes_a_graph, _copy_and_fill,
    _clip_recorded, _leaf_under_grad, _saved_output_changed, _saved_sigmoid_changed,
    _saved_constant_changed, _unsaved_constant_changed, _saved_input_changed_under_no_grad,
    _changed_after_backward, _view_of_a_saved_value_changed,
]


@pytest.mark.parametrize("program", PROGRAMS, ids=[p.__name__.strip("_") for p in PROGRAMS])
def test_same_values_gradients_and_errors_as_pytorch(program):
    outcomes = {}
    for name in ("torch", "chainrule"):
        L = Lib(name)
        try:
            outcomes[name] = [L.values(t) for t in program(L)]
        except RuntimeError as exc:
            outcomes[name] = exc
    expected, got = outcomes["torch"], outcomes["chainrule"]
    if isinstance(expected, Exception):
        assert isinstance(got, RuntimeError), f"PyTorch raised {expected!r}; chainrule did not"
        return
    assert not isinstance(got, Exception), f"chainrule raised {got!r}; PyTorch did not"
    assert len(got) == len(expected)
    for a, b in zip(got, expected):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_the_gradient_descent_idiom_keeps_the_same_leaf():
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    original = w
    (w * w).sum().backward()
    with cr.no_grad():
        w -= 0.5 * w.grad
    assert w is original and w.requires_grad and w.is_leaf
    np.testing.assert_allclose(w.data, [0.0, 0.0])


def test_a_leaf_that_requires_grad_refuses_and_says_to_use_no_grad():
    w = cr.tensor([1.0], requires_grad=True)
    for update in (lambda: w.add_(1), lambda: w.zero_(), lambda: w.__imul__(2)):
        with pytest.raises(RuntimeError, match=r"in place.*cr\.no_grad\(\)"):
            update()
    np.testing.assert_array_equal(w.data, [1.0])


def test_backward_names_the_op_that_changed_a_saved_value():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = x.tanh()
    y.mul_(3)
    with pytest.raises(RuntimeError, match=r"^backward: tanh saved its output .* and mul_ "
                                           r"changed it in place"):
        y.sum().backward()


def test_in_place_keeps_dtype_and_shape_or_says_why():
    i = cr.tensor([1, 2])
    with pytest.raises(TypeError, match=r"add_: .*dtype float64.*dtype int64"):
        i += 1.5
    with pytest.raises(RuntimeError):  # also what PyTorch raises
        i += 1.5
    f = cr.tensor([1.0, 2.0])
    with pytest.raises(ValueError, match=r"add_: the result has shape \(2, 2\).*shape \(2,\)"):
        f += cr.ones(2, 2)
    f += np.float64(1.0)  # a wider float is cast back, as in PyTorch and NumPy
    assert f.dtype == np.float32
    np.testing.assert_array_equal(i.data, [1, 2])


def test_in_place_writes_the_buffer_so_views_and_numpy_see_it():
    t = cr.tensor([1.0, 2.0, 3.0])
    array = t.numpy()
    t *= 2
    np.testing.assert_array_equal(array, [2.0, 4.0, 6.0])
    t.fill_(7)
    assert t.tolist() == [7.0, 7.0, 7.0]
    t.copy_([1.0, 2.0, 3.0])
    t.zero_()
    assert t.tolist() == [0.0, 0.0, 0.0]


def test_a_read_only_buffer_is_refused_with_the_op_name():
    t = cr.from_numpy(np.broadcast_to(np.ones(1), (3,)))
    with pytest.raises(ValueError, match=r"^add_: this tensor's memory is read-only"):
        t += 1


def test_in_place_ops_return_the_tensor_itself():
    t = cr.tensor([1.0, 2.0])
    assert t.add_(1) is t and t.mul_(2) is t and t.zero_() is t and t.fill_(1) is t
