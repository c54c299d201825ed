"""Tensor creation, dtype rules, properties, conversions, comparisons, shape methods and
indexing, as API.md states them (PyTorch's names, NumPy's array semantics)."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr

# ---------------------------------------------------------------- dtype rules


@pytest.mark.parametrize(
    "data, dtype",
    [
        (1.5, np.float32),
        ([1.0, 2.0], np.float32),
        ([1, 2.5], np.float32),
        ([1, 2], np.int64),
        (True, np.bool_),
        (np.array([1.0, 2.0]), np.float64),
        (np.array([1.0], dtype=np.float32), np.float32),
        (np.float64(2.0), np.float64),
        (np.array([1, 2], dtype=np.int32), np.int32),
    ],
    ids=["float", "float_list", "mixed_list", "int_list", "bool", "float64_array",
         "float32_array", "float64_scalar", "int32_array"],
)
def test_tensor_dtype_follows_the_data(data, dtype):
    assert cr.tensor(data).dtype == np.dtype(dtype)


def test_integer_data_with_requires_grad_is_promoted_to_the_default_float():
    t = cr.tensor([1, 2, 3], requires_grad=True)
    assert t.dtype == np.float32
    np.testing.assert_array_equal(t.data, [1.0, 2.0, 3.0])


def test_explicit_dtype_wins():
    assert cr.tensor([1, 2], dtype="float64").dtype == np.float64
    assert cr.tensor([1.7, 2.2], dtype=np.int64).dtype == np.int64


def test_set_default_dtype_switches_floats_and_promotions():
    cr.set_default_dtype("float64")
    assert cr.get_default_dtype() == np.float64
    assert cr.tensor(1.5).dtype == np.float64
    assert cr.tensor([1, 2], requires_grad=True).dtype == np.float64
    assert cr.zeros(2).dtype == np.float64
    assert cr.randn(2, seed=0).dtype == np.float64
    cr.set_default_dtype(np.float32)
    assert cr.tensor(1.5).dtype == np.float32


def test_set_default_dtype_rejects_non_floating_dtypes():
    with pytest.raises(TypeError, match="set_default_dtype: expected a floating dtype"):
        cr.set_default_dtype("int64")


def test_tensor_copies_its_data_but_from_numpy_shares_memory():
    a = np.zeros(3)
    copied, shared = cr.tensor(a), cr.from_numpy(a)
    a[0] = 5.0
    assert copied.data[0] == 0.0
    assert shared.data[0] == 5.0 and shared.dtype == np.float64
    shared.data[1] = 7.0
    assert a[1] == 7.0


def test_from_numpy_requires_an_array():
    with pytest.raises(TypeError, match="from_numpy: expected a numpy.ndarray, got list"):
        cr.from_numpy([1.0, 2.0])


# ---------------------------------------------------------------- creation functions


def test_shape_given_as_arguments_or_as_a_tuple_is_the_same():
    for make in (cr.zeros, cr.ones, cr.randn, cr.rand):
        assert make(2, 3).shape == make((2, 3)).shape == (2, 3)
    np.testing.assert_array_equal(cr.zeros(2, 3).data, cr.zeros((2, 3)).data)
    assert cr.zeros(2, 3).dtype == np.float32
    np.testing.assert_array_equal(cr.ones(2).data, [1.0, 1.0])


def test_full_takes_the_dtype_of_its_value():
    assert cr.full((2, 2), 1.5).dtype == np.float32
    assert cr.full((2,), 3).dtype == np.int64  # like torch.full and np.full
    assert cr.full(2, 0.5).shape == (2,)
    np.testing.assert_array_equal(cr.full((2, 3), 7.0).data, np.full((2, 3), 7.0))


def test_like_functions_keep_shape_and_dtype():
    t = cr.tensor(np.arange(6, dtype=np.float64).reshape(2, 3))
    z, o = cr.zeros_like(t), cr.ones_like(t)
    assert z.shape == o.shape == (2, 3)
    assert z.dtype == o.dtype == np.float64
    assert z.data.sum() == 0 and o.data.sum() == 6


def test_arange_gives_integers_for_integers_and_default_floats_for_floats():
    np.testing.assert_array_equal(cr.arange(4).data, [0, 1, 2, 3])
    assert cr.arange(4).dtype == np.int64
    floats = cr.arange(0, 1, 0.25)
    assert floats.dtype == np.float32
    np.testing.assert_allclose(floats.data, [0.0, 0.25, 0.5, 0.75])


def test_seeded_random_draws_are_reproducible_and_leave_the_default_generator_alone():
    cr.manual_seed(3)
    expected_next = cr.randn(4).data.copy()
    cr.manual_seed(3)
    a, b = cr.randn(2, 3, seed=0), cr.randn(2, 3, seed=0)
    np.testing.assert_array_equal(a.data, b.data)
    assert not np.array_equal(a.data, cr.randn(2, 3, seed=1).data)
    np.testing.assert_array_equal(cr.randn(4).data, expected_next)  # seed= did not advance it
    assert a.dtype == np.float32


def test_manual_seed_makes_unseeded_draws_reproducible():
    cr.manual_seed(42)
    first = (cr.randn(5).data.copy(), cr.rand(5).data.copy())
    cr.manual_seed(42)
    second = (cr.randn(5).data, cr.rand(5).data)
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])
    assert np.all((second[1] >= 0) & (second[1] < 1))


def test_random_draws_do_not_touch_numpys_global_rng():
    np.random.seed(123)
    expected = np.random.random(3)
    np.random.seed(123)
    cr.randn(10)
    cr.rand(10, seed=5)
    np.testing.assert_array_equal(np.random.random(3), expected)


# ---------------------------------------------------------------- properties, conversions


def test_properties_follow_numpy_meanings():
    t = cr.tensor(np.arange(6.0).reshape(2, 3))
    assert t.size == 6 and type(t.size) is int
    assert isinstance(t.dtype, np.dtype)
    assert t.shape == (2, 3) and t.ndim == 2
    np.testing.assert_array_equal(t.T.data, t.data.T)
    assert isinstance(t.data, np.ndarray)


def test_is_leaf_and_requires_grad():
    x = cr.tensor([1.0], requires_grad=True)
    y = x * 2
    assert x.is_leaf and not y.is_leaf
    assert y.requires_grad and y.grad_fn is not None
    assert cr.tensor([1.0]).is_leaf and not cr.tensor([1.0]).requires_grad


def test_repr_shows_grad_fn_requires_grad_and_non_default_dtype():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    assert repr(x) == "tensor([1., 2.], requires_grad=True)"
    assert repr(x * 2) == "tensor([2., 4.], grad_fn=<mul>)"
    assert repr(cr.tensor(np.array([1.0]))) == "tensor([1.], dtype=float64)"
    assert repr(cr.tensor([1, 2])) == "tensor([1, 2])"


def test_item_tolist_and_numpy():
    t = cr.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert t[1, 0].item() == 3.0 and type(t[1, 0].item()) is float
    assert t.tolist() == [[1.0, 2.0], [3.0, 4.0]]
    assert cr.tensor(2.5).tolist() == 2.5
    assert t.numpy() is t.data
    with pytest.raises(ValueError, match=r"item: only a one-element tensor .* shape \(2, 2\)"):
        t.item()


def test_float_int_len_iter_and_bool():
    t = cr.tensor([1.5, 2.0])
    assert float(t[0]) == 1.5 and int(t[1]) == 2
    assert len(t) == 2 and [x.item() for x in t] == [1.5, 2.0]
    assert bool(cr.tensor(1.0)) and not bool(cr.tensor(0.0))
    with pytest.raises(ValueError, match="ambiguous"):
        bool(t)
    with pytest.raises(TypeError, match="len: a 0-d tensor has no length"):
        len(cr.tensor(1.0))


def test_numpy_array_on_the_left_gives_a_tensor():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = np.array([3.0, 4.0]) * x
    assert isinstance(y, cr.Tensor) and y.requires_grad
    y.sum().backward()
    np.testing.assert_allclose(x.grad.data, [3.0, 4.0])


def test_astype_is_differentiable_and_casts_the_gradient_back():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = x.astype("float64")
    assert y.dtype == np.float64
    (y * y).sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_allclose(x.grad.data, [2.0, 4.0])


def test_setitem_on_a_leaf_that_requires_grad_raises():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="setitem: cannot change a leaf tensor that requires "
                                           "grad in place"):
        x[0] = 5.0
    plain = cr.tensor([1.0, 2.0])
    plain[0] = 5.0
    assert plain.tolist() == [5.0, 2.0]
    with cr.no_grad():
        x[0] = 5.0
    assert x.tolist() == [5.0, 2.0] and x.requires_grad and x.is_leaf


def test_setitem_on_a_non_leaf_is_recorded_like_pytorch():
    import torch

    results = []
    for lib in (cr, torch):
        x = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
        v = lib.tensor(5.0, requires_grad=True)
        y = x * 2
        y[1] = v
        y[np.array([0, 2]) if lib is cr else torch.tensor([0, 2])] = 7.0
        (y * y * x).sum().backward()
        results.append([np.asarray(t.detach().numpy() if lib is torch else t.data)
                        for t in (y, x.grad, v.grad)])
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b)


# ---------------------------------------------------------------- comparisons


@pytest.mark.parametrize("op, ufunc", [
    ("__lt__", np.less), ("__le__", np.less_equal), ("__gt__", np.greater),
    ("__ge__", np.greater_equal), ("__eq__", np.equal), ("__ne__", np.not_equal),
])
def test_comparisons_return_bool_tensors_without_grad(op, ufunc):
    a = np.array([[1.0, 2.0, 3.0]])
    b = np.array([[2.0], [1.0]])
    x = cr.tensor(a, requires_grad=True)
    for other in (cr.tensor(b, requires_grad=True), b, 2.0):
        result = getattr(x, op)(other)
        assert isinstance(result, cr.Tensor)
        assert result.dtype == np.bool_
        assert not result.requires_grad and result.grad_fn is None
        np.testing.assert_array_equal(result.data, ufunc(a, getattr(other, "data", other)))


def test_tensors_stay_hashable_despite_elementwise_equality():
    x = cr.tensor([1.0])
    assert {x: 1}[x] == 1


# ---------------------------------------------------------------- shape methods


def test_transpose_permutes_like_numpy():
    a = np.arange(24.0).reshape(2, 3, 4)
    t = cr.tensor(a)
    np.testing.assert_array_equal(t.transpose().data, a.transpose())
    np.testing.assert_array_equal(t.transpose(1, 0, 2).data, a.transpose(1, 0, 2))
    np.testing.assert_array_equal(t.transpose((2, 0, 1)).data, a.transpose(2, 0, 1))
    np.testing.assert_array_equal(cr.transpose(t, 0, 2, 1).data, a.transpose(0, 2, 1))
    np.testing.assert_array_equal(t.swapaxes(0, 2).data, a.swapaxes(0, 2))
    np.testing.assert_array_equal(t.swapaxes(-1, 1).data, a.swapaxes(-1, 1))
    np.testing.assert_array_equal(t.T.data, a.T)


def test_squeeze_unsqueeze_expand():
    t = cr.tensor(np.arange(3.0).reshape(1, 3, 1))
    assert t.squeeze().shape == (3,)
    assert t.squeeze(0).shape == (3, 1)
    assert t.squeeze(-1).shape == (1, 3)
    assert t.squeeze((0, 2)).shape == (3,)
    assert cr.tensor([1.0, 2.0]).unsqueeze(0).shape == (1, 2)
    assert cr.tensor([1.0, 2.0]).unsqueeze(-1).shape == (2, 1)
    column = cr.tensor([[1.0], [2.0]])
    e = column.expand(2, 3)
    assert e.shape == (2, 3) and column.expand((3, 2, -1)).shape == (3, 2, 1)
    np.testing.assert_array_equal(e.data, [[1, 1, 1], [2, 2, 2]])
    assert np.shares_memory(e.data, column.data)  # a broadcasting view, no copy


def test_reshape_accepts_arguments_a_tuple_and_minus_one():
    t = cr.tensor(np.arange(6.0))
    assert t.reshape(2, 3).shape == t.reshape((2, 3)).shape == t.reshape(-1, 3).shape == (2, 3)
    assert t.reshape(3, -1).shape == (3, 2)
    assert t.flatten().shape == (6,)


def test_var_and_std_use_ddof_zero_by_default():
    a = np.array([[1.0, 2.0, 4.0], [3.0, 5.0, 9.0]])
    t = cr.tensor(a)
    np.testing.assert_allclose(t.var().data, np.var(a))
    np.testing.assert_allclose(t.var(axis=1).data, np.var(a, axis=1))
    np.testing.assert_allclose(t.var(ddof=1).data, np.var(a, ddof=1))
    np.testing.assert_allclose(t.std(axis=0, keepdims=True).data, np.std(a, axis=0, keepdims=True))
    np.testing.assert_allclose(cr.var(t, axis=-1).data, np.var(a, axis=-1))


def test_reductions_follow_numpy_axis_semantics():
    a = np.arange(24.0).reshape(2, 3, 4)
    t = cr.tensor(a)
    np.testing.assert_array_equal(t.sum(axis=(0, -1)).data, a.sum(axis=(0, -1)))
    np.testing.assert_array_equal(t.max(axis=1, keepdims=True).data, a.max(1, keepdims=True))
    np.testing.assert_array_equal(t.min().data, a.min())
    np.testing.assert_allclose(t.mean(axis=-2).data, a.mean(axis=-2))
    np.testing.assert_array_equal(t.argmax(axis=1).data, a.argmax(axis=1))


# ---------------------------------------------------------------- indexing


def test_basic_indexing_matches_numpy():
    a = np.arange(12.0).reshape(3, 4)
    t = cr.tensor(a)
    for index in (1, -1, (slice(None), 2), (slice(1, None), slice(None, None, 2)),
                  (Ellipsis, -1), (None, 0)):
        np.testing.assert_array_equal(t[index].data, a[index])


def test_integer_array_indexing_with_repeats_accumulates_gradient():
    x = cr.tensor([10.0, 20.0, 30.0], requires_grad=True)
    y = x[[0, 2, 0, 0]]
    np.testing.assert_array_equal(y.data, [10.0, 30.0, 10.0, 10.0])
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.data, [3.0, 0.0, 1.0])


def test_index_with_an_integer_tensor():
    x = cr.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    rows = cr.tensor([1, 1])
    (x[rows, cr.tensor([0, 1])] * 2).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [[0.0, 0.0], [2.0, 2.0]])


def test_boolean_mask_indexing_selects_and_routes_gradient():
    x = cr.tensor([[1.0, -2.0], [-3.0, 4.0]], requires_grad=True)
    mask = x > 0
    picked = x[mask]
    np.testing.assert_array_equal(picked.data, [1.0, 4.0])
    (picked * picked).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [[2.0, 0.0], [0.0, 8.0]])
    np.testing.assert_array_equal(x[np.array([True, False])].data, [[1.0, -2.0]])
