"""The habits PyTorch users bring: .data assignment, the methods they reach for, dim=,
and NumPy's negative axes in transpose."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr
import chainrule.nn.functional as F


def test_assigning_data_converts_to_the_tensors_dtype():
    x = cr.tensor(1.0, requires_grad=True)
    x.data = 5.0
    assert x.dtype == np.float32 and float(x) == 5.0
    assert (x * x).item() == 25.0
    x.data = np.array([1, 2])
    assert x.dtype == np.float32 and x.shape == (2,)
    shared = np.ones(3, dtype=np.float32)
    x.data = shared
    assert x.data is shared
    i = cr.tensor([1, 2])
    i.data = [2.7, 3.2]
    assert i.dtype == np.int64


@pytest.mark.parametrize("bad", ["abc", None, object(), {"a": 1}])
def test_assigning_non_numbers_to_data_is_a_type_error(bad):
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(TypeError, match="^data: "):
        x.data = bad
    assert x.tolist() == [1.0, 2.0]


def test_clone_is_a_differentiable_copy_like_pytorch():
    a = np.array([1.0, -2.0, 3.0])
    x, tx = cr.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    y, ty = x.clone(), tx.clone()
    assert not np.shares_memory(y.data, x.data)
    (y * y).sum().backward()
    (ty * ty).sum().backward()
    np.testing.assert_allclose(x.grad.data, tx.grad.numpy())


def test_dtype_conversions_and_names():
    x = cr.tensor([1.5, 2.5], requires_grad=True)
    assert x.double().dtype == cr.float64 == np.float64
    assert x.double().float().dtype == cr.float32
    assert x.to(cr.float64).dtype == np.float64 and x.to("float64").dtype == np.float64
    x.double().sum().backward()
    assert x.grad.dtype == np.float32 and x.grad.tolist() == [1.0, 1.0]
    assert cr.tensor([1, 2], dtype=cr.int64).dtype == np.int64
    assert cr.tensor([1, 0], dtype=cr.bool_).dtype == np.bool_


def test_numel_mT_argmax_eye_randperm_cat():
    x = cr.tensor(np.arange(6.0).reshape(2, 3))
    assert x.numel() == 6 and type(x.numel()) is int
    assert x.mT.shape == (3, 2) and cr.ones(4, 2, 3).mT.shape == (4, 3, 2)
    with pytest.raises(ValueError, match="^mT: needs at least 2 dimensions"):
        _ = cr.ones(3).mT
    assert cr.argmax(x).item() == 5 and cr.argmax(x, axis=1).tolist() == [2, 2]
    assert cr.argmin(x, axis=0).tolist() == [0, 0, 0]
    np.testing.assert_array_equal(cr.eye(3).data, np.eye(3))
    assert cr.eye(2, 3).shape == (2, 3) and cr.eye(2).dtype == np.float32
    p = cr.randperm(10, seed=0)
    assert sorted(p.tolist()) == list(range(10)) and p.dtype == np.int64
    assert cr.randperm(10, seed=0).tolist() == p.tolist()
    assert cr.cat([x, x]).shape == (4, 3) and cr.cat is cr.concatenate


@pytest.mark.parametrize("call, op", [
    (lambda t: t.sum(dim=0), "sum"),
    (lambda t: t.mean(dim=0), "mean"),
    (lambda t: t.var(dim=0), "var"),
    (lambda t: t.logsumexp(dim=0), "logsumexp"),
    (lambda t: t.softmax(dim=0), "softmax"),
    (lambda t: cr.sum(t, dim=0), "sum"),
    (lambda t: cr.stack([t, t], dim=0), "stack"),
    (lambda t: cr.concatenate([t, t], dim=0), "concatenate"),
    (lambda t: t.squeeze(dim=0), "squeeze"),
    (lambda t: t.argmax(dim=0), "argmax"),
    (lambda t: cr.argmin(t, dim=0), "argmin"),
    (lambda t: F.softmax(t, dim=1), "softmax"),
    (lambda t: F.log_softmax(t, dim=1), "log_softmax"),
])
def test_dim_is_refused_with_a_message_naming_axis(call, op):
    with pytest.raises(TypeError, match=rf"^{op}: chainrule takes NumPy's axis=, not "
                                        r"PyTorch's dim="):
        call(cr.ones(2, 3))


def test_max_with_dim_points_to_argmax_for_the_indices():
    with pytest.raises(TypeError, match=r"max\(axis=\.\.\.\) returns the values only: use "
                                        r"argmax\(axis=\.\.\.\) for the indices"):
        cr.ones(2, 3).max(dim=1)
    with pytest.raises(TypeError, match=r"^sum: chainrule takes NumPy's keepdims=, not "
                                        r"PyTorch's keepdim="):
        cr.ones(2, 3).sum(axis=0, keepdim=True)


def test_other_type_errors_are_left_alone():
    with pytest.raises(TypeError, match="unexpected keyword argument 'bogus'"):
        cr.ones(2).sum(bogus=1)


def test_transpose_takes_negative_axes_like_numpy():
    a = np.arange(24.0).reshape(2, 3, 4)
    x = cr.tensor(a, requires_grad=True)
    np.testing.assert_array_equal(x.transpose(-1, 0, 1).data, np.transpose(a, (-1, 0, 1)))
    np.testing.assert_array_equal(cr.transpose(x, (0, -1, -2)).data,
                                  np.transpose(a, (0, -1, -2)))
    x.transpose(-1, 0, 1).sum().backward()
    np.testing.assert_array_equal(x.grad.data, np.ones_like(a))
    with pytest.raises(ValueError, match=r"transpose: axes \(3, 0, 1\) are out of range"):
        x.transpose(3, 0, 1)


def test_a_list_of_tensors_as_an_operand_refuses_instead_of_dropping_the_graph():
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(TypeError, match=r"^mul: a list of Tensors as an operand would drop "
                                        r"their graph; join them with cr\.stack"):
        w * [w, w]
    with pytest.raises(TypeError, match=r"^add: a list of Tensors"):
        cr.add([[w[0], 1.0]], w)
    assert (w * [2.0, 3.0]).tolist() == [2.0, 6.0]
