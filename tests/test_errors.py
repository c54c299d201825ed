"""User mistakes raise the builtin exception that fits, with a message that names the
operation and the shapes/dtypes involved, and never a NumPy traceback: errors are
checked before NumPy runs, or translated ``from None``."""

from __future__ import annotations

import re
import traceback

import numpy as np
import pytest

import chainrule as cr
from chainrule import ops


def _a():
    return cr.tensor(np.arange(12.0).reshape(3, 4))


def _freed_graph():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = (x.exp() * x).sum()
    y.backward()
    y.backward()


# (id, action, exception type, pattern); a pattern starting with "^" must match the whole
# message, others must be found in it.
CASES = [
    # ------------------------------------------------------------ matmul
    ("matmul_operator", lambda: _a() @ cr.zeros(5, 2), ValueError,
     r"^matmul: shapes \(3, 4\) and \(5, 2\) are not aligned \(4 != 5\)$"),
    ("matmul_function", lambda: cr.matmul(_a(), np.zeros((5, 2))), ValueError,
     r"^matmul: shapes \(3, 4\) and \(5, 2\) are not aligned \(4 != 5\)$"),
    ("matmul_vector", lambda: cr.zeros(2) @ cr.zeros(1, 2), ValueError,
     r"^matmul: shapes \(2,\) and \(1, 2\) are not aligned \(2 != 1\)$"),
    ("matmul_scalar", lambda: _a() @ cr.tensor(2.0), ValueError,
     r"matmul: both operands need at least 1 dimension, got shapes \(3, 4\) and \(\)"),
    ("matmul_batch", lambda: cr.zeros(2, 3, 4) @ cr.zeros(3, 4, 5), ValueError,
     r"matmul: batch dimensions of shapes \(2, 3, 4\) and \(3, 4, 5\) cannot be broadcast"),
    # ------------------------------------------------------------ broadcasting
    ("add_broadcast", lambda: _a() + cr.zeros(5), ValueError,
     r"^add: shapes \(3, 4\) and \(5,\) cannot be broadcast together$"),
    ("sub_broadcast", lambda: cr.zeros(3) - cr.zeros(2), ValueError,
     r"^sub: shapes \(3,\) and \(2,\) cannot be broadcast together$"),
    ("mul_broadcast_array", lambda: _a() * np.ones((2, 4)), ValueError,
     r"^mul: shapes \(3, 4\) and \(2, 4\) cannot be broadcast together$"),
    ("div_broadcast", lambda: cr.div([1.0, 2.0], [1.0, 2.0, 3.0]), ValueError,
     r"^div: shapes \(2,\) and \(3,\) cannot be broadcast together$"),
    ("pow_broadcast", lambda: cr.zeros(3) ** cr.zeros(2), ValueError,
     r"^pow: shapes \(3,\) and \(2,\) cannot be broadcast together$"),
    ("maximum_broadcast", lambda: cr.maximum(cr.zeros(3), cr.zeros(2)), ValueError,
     r"^maximum: shapes \(3,\) and \(2,\) cannot be broadcast together$"),
    ("compare_broadcast", lambda: cr.zeros(3) < cr.zeros(2), ValueError,
     r"^lt: shapes \(3,\) and \(2,\) cannot be broadcast together$"),
    ("where_broadcast", lambda: cr.where([True, False], cr.zeros(3), 0.0), ValueError,
     r"where: shapes \(2,\) and \(3,\)"),
    ("expand", lambda: _a().expand(3, 5), ValueError,
     r"^expand: cannot broadcast a tensor of shape \(3, 4\) to shape \(3, 5\)$"),
    # ------------------------------------------------------------ axes
    ("sum_axis", lambda: _a().sum(axis=2), ValueError,
     r"^sum: axis 2 is out of range for a tensor with ndim 2 \(valid: -2 to 1\)$"),
    ("sum_negative_axis", lambda: _a().sum(axis=-3), ValueError,
     r"^sum: axis -3 is out of range for a tensor with ndim 2"),
    ("sum_repeated_axis", lambda: _a().sum(axis=(1, -1)), ValueError, r"^sum: repeated axis"),
    ("sum_float_axis", lambda: _a().sum(axis=1.5), TypeError,
     r"^sum: axis must be an int, a tuple of ints or None"),
    ("mean_axis", lambda: _a().mean(axis=5), ValueError, r"^mean: axis 5 .* ndim 2"),
    ("var_axis", lambda: _a().var(axis=(0, 2)), ValueError, r"^var: axis 2 .* ndim 2"),
    ("max_axis", lambda: _a().max(axis=3), ValueError, r"^max: axis 3 .* ndim 2"),
    ("min_axis", lambda: cr.min(_a(), axis=-4), ValueError, r"^min: axis -4 .* ndim 2"),
    ("logsumexp_axis", lambda: _a().logsumexp(axis=2), ValueError,
     r"^logsumexp: axis 2 .* ndim 2"),
    ("softmax_axis", lambda: _a().softmax(axis=2), ValueError, r"^softmax: axis 2 .* ndim 2"),
    ("log_softmax_axis", lambda: cr.log_softmax(_a(), axis=-3), ValueError,
     r"^log_softmax: axis -3 .* ndim 2"),
    ("softmax_axis_none", lambda: _a().softmax(axis=None), TypeError,
     r"^softmax: axis must be an int, got NoneType$"),
    ("squeeze_axis", lambda: _a().squeeze(4), ValueError, r"^squeeze: axis 4 .* ndim 2"),
    ("squeeze_long_axis", lambda: _a().squeeze(0), ValueError,
     r"^squeeze: cannot squeeze axis 0 of size 3 \(tensor of shape \(3, 4\)\)"),
    ("unsqueeze_axis", lambda: _a().unsqueeze(4), ValueError,
     r"^unsqueeze: axis 4 is out of range for a tensor with ndim 3"),
    ("swapaxes_axis", lambda: _a().swapaxes(0, 2), ValueError, r"^swapaxes: axis 2 .* ndim 2"),
    ("transpose_axes", lambda: _a().transpose(0, 0), ValueError,
     r"^transpose: axes \(0, 0\) are not a permutation of the 2 axes .* shape \(3, 4\)$"),
    ("concatenate_axis", lambda: cr.concatenate([_a(), _a()], axis=2), ValueError,
     r"^concatenate: axis 2 .* ndim 2"),
    ("concatenate_shapes", lambda: cr.concatenate([_a(), cr.zeros(5, 2)]), ValueError,
     r"^concatenate: shapes \(3, 4\) and \(5, 2\) differ outside axis 0$"),
    ("stack_shapes", lambda: cr.stack([_a(), cr.zeros(5, 2)]), ValueError,
     r"^stack: all tensors must have the same shape, got \(3, 4\), \(5, 2\)$"),
    ("argmax_axis", lambda: _a().argmax(axis=3), ValueError, r"^argmax: axis 3 .* ndim 2"),
    ("max_of_empty", lambda: cr.zeros(2, 0).max(axis=1), ValueError,
     r"^max: cannot reduce over an empty axis \(shape \(2, 0\)\)$"),
    # ------------------------------------------------------------ operand types
    ("add_str", lambda: _a() + "x", TypeError,
     r"^add: expected a Tensor, NumPy array or number, got str$"),
    ("radd_str", lambda: "x" + _a(), TypeError, r"^add: expected a Tensor, .* got str$"),
    ("mul_none", lambda: _a() * None, TypeError, r"^mul: expected a Tensor, .* got NoneType$"),
    ("matmul_str", lambda: _a() @ "x", TypeError, r"^matmul: expected a Tensor, .* got str$"),
    ("pow_dict", lambda: _a() ** {}, TypeError, r"^pow: expected a Tensor, .* got dict$"),
    ("function_str", lambda: cr.add("x", _a()), TypeError, r"^add: expected a Tensor"),
    ("tensor_from_str", lambda: cr.tensor("abc"), TypeError,
     r"^tensor: expected numbers .* got data of dtype <U3 from str$"),
    ("tensor_from_objects", lambda: cr.tensor([object()]), TypeError,
     r"^tensor: expected numbers .* dtype object"),
    ("tensor_ragged", lambda: cr.tensor([[1.0], [1.0, 2.0]]), TypeError,
     r"^tensor: cannot make a tensor from list"),
    ("tensor_bad_dtype", lambda: cr.tensor([1.0], dtype="blah"), TypeError,
     r"^tensor: 'blah' is not a NumPy dtype$"),
    ("astype_bad_dtype", lambda: _a().astype("blah"), TypeError,
     r"^astype: 'blah' is not a NumPy dtype$"),
    ("clip_bound", lambda: _a().clip("a", 1.0), TypeError,
     r"^clip: lo must be a number or None, got str$"),
    ("zeros_like_str", lambda: cr.zeros_like("abc"), TypeError, r"^zeros_like: expected numbers"),
    ("from_numpy_list", lambda: cr.from_numpy([1.0]), TypeError,
     r"^from_numpy: expected a numpy.ndarray, got list$"),
    ("requires_grad_flag", lambda: cr.tensor([1.0], requires_grad="yes"), TypeError,
     r"^tensor: requires_grad must be a bool"),
    ("set_default_dtype", lambda: cr.set_default_dtype("int64"), TypeError,
     r"^set_default_dtype: expected a floating dtype .* got int64$"),
    ("set_default_dtype_name", lambda: cr.set_default_dtype("blah"), TypeError,
     r"^set_default_dtype: 'blah' is not a NumPy dtype$"),
    # ------------------------------------------------------------ dtypes NumPy refuses
    ("int_negative_power", lambda: cr.tensor([1, 2]) ** -1, ValueError,
     r"^pow: integers to negative integer powers are not allowed \(base dtype int64, "
     r"exponent dtype int64\)"),
    ("bool_negation", lambda: -cr.tensor([True]), TypeError,
     r"^neg: cannot negate a boolean tensor"),
    ("bool_subtraction", lambda: cr.tensor([True]) - cr.tensor([False]), TypeError,
     r"^sub: cannot subtract boolean tensors \(dtypes bool and bool\)"),
    # ------------------------------------------------------------ shapes and creation
    ("reshape_size", lambda: _a().reshape(5, 3), ValueError,
     r"^reshape: cannot reshape a tensor of shape \(3, 4\) \(12 elements\) into shape "
     r"\(5, 3\)$"),
    ("reshape_minus_one", lambda: _a().reshape(-1, 5), ValueError,
     r"^reshape: cannot reshape a tensor of shape \(3, 4\) \(12 elements\) into shape "
     r"\(-1, 5\)$"),
    ("reshape_float", lambda: _a().reshape(2.5, 2), TypeError,
     r"^reshape: shape entries must be ints"),
    ("zeros_negative", lambda: cr.zeros(2, -1), ValueError,
     r"^zeros: negative dimension in shape \(2, -1\)$"),
    ("randn_negative", lambda: cr.randn(-3), ValueError, r"^randn: negative dimension"),
    ("zeros_float", lambda: cr.zeros(2.5), TypeError, r"^zeros: shape entries must be ints"),
    ("arange_zero_step", lambda: cr.arange(0, 3, 0), ValueError,
     r"^arange: step must be nonzero$"),
    ("arange_str", lambda: cr.arange("a"), TypeError, r"^arange: start must be a number"),
    ("linspace_num", lambda: cr.linspace(0.0, 1.0, -2), ValueError,
     r"^linspace: num must be a non-negative int, got -2$"),
    # ------------------------------------------------------------ indexing
    ("index_out_of_range", lambda: _a()[5], IndexError,
     r"^getitem: index 5 is out of bounds for axis 0 with size 3 \(tensor of shape \(3, 4\)\)$"),
    ("index_too_many", lambda: _a()[0, 0, 0], IndexError,
     r"^getitem: too many indices .* \(tensor of shape \(3, 4\)\)$"),
    ("index_bad_mask", lambda: _a()[np.array([True, False])], IndexError,
     r"^getitem: boolean index did not match"),
    ("index_float", lambda: _a()[1.5], IndexError, r"^getitem: only integers"),
    ("setitem_out_of_range", lambda: _a().__setitem__(7, 1.0), IndexError,
     r"^setitem: index 7 is out of bounds .* \(tensor of shape \(3, 4\)\)$"),
    ("setitem_shape", lambda: _a().__setitem__(0, [1.0, 2.0]), ValueError,
     r"^setitem: could not broadcast"),
    ("item_of_many", lambda: _a().item(), ValueError,
     r"^item: only a one-element tensor converts to a Python number, this one has shape "
     r"\(3, 4\)$"),
    # ------------------------------------------------------------ autodiff
    ("backward_freed_graph", _freed_graph, RuntimeError,
     r"^backward: the graph was freed by an earlier backward\(\); pass retain_graph=True"),
    ("backward_non_scalar", lambda: (cr.tensor([1.0, 2.0], requires_grad=True) * 2).backward(),
     RuntimeError, r"^backward: a gradient can be created implicitly only for a scalar output, "
     r"but this tensor has shape \(2,\); pass gradient="),
    ("backward_without_graph", lambda: cr.tensor(1.0).backward(), RuntimeError,
     r"^backward: this tensor does not require grad"),
    ("backward_gradient_shape",
     lambda: (cr.tensor([1.0, 2.0], requires_grad=True) * 2).backward(np.ones(3)), ValueError,
     r"^backward: gradient has shape \(3,\) but the output has shape \(2,\)$"),
    ("grad_of_vector", lambda: cr.grad(lambda t: t * 2)(cr.tensor([1.0, 2.0])), ValueError,
     r"^grad: the function must return a scalar .* got shape \(2,\)"),
    ("grad_of_float", lambda: cr.grad(lambda t: 3.0)(cr.tensor(1.0)), TypeError,
     r"^grad: the function must return a Tensor, got float$"),
    ("requires_grad_off_non_leaf",
     lambda: (cr.tensor([1.0], requires_grad=True) * 2).requires_grad_(False), RuntimeError,
     r"^requires_grad_: only leaf tensors"),
    ("setitem_requires_grad",
     lambda: cr.tensor([1.0], requires_grad=True).__setitem__(0, 2.0), RuntimeError,
     r"^setitem: cannot change a leaf tensor that requires grad in place"),
    ("sum_to_shape", lambda: ops.sum_to(_a(), shape=(5,)), ValueError,
     r"^sum_to: shape \(3, 4\) cannot be summed to \(5,\)$"),
]


@pytest.mark.parametrize("action, error, pattern", [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_user_mistake_raises_a_clear_builtin_error(action, error, pattern):
    with pytest.raises(error) as info:
        action()
    message = str(info.value)
    assert re.search(pattern, message), f"message {message!r} does not match {pattern!r}"
    assert type(info.value).__module__ == "builtins"


@pytest.mark.parametrize("action, error", [c[1:3] for c in CASES], ids=[c[0] for c in CASES])
def test_no_numpy_frames_or_chained_numpy_errors_leak(action, error):
    with pytest.raises(error) as info:
        action()
    exc = info.value
    assert exc.__cause__ is None
    assert exc.__context__ is None or exc.__suppress_context__
    frames = [frame.filename for frame in traceback.extract_tb(exc.__traceback__)]
    assert not [f for f in frames if "/numpy/" in f], frames


def test_matmul_message_is_exactly_the_documented_one():
    with pytest.raises(ValueError) as info:
        cr.tensor(np.ones((3, 4))) @ cr.tensor(np.ones((5, 2)))
    assert str(info.value) == "matmul: shapes (3, 4) and (5, 2) are not aligned (4 != 5)"


def test_errors_inside_a_graph_leave_it_usable():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    with pytest.raises(ValueError):
        y + cr.zeros(3)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.data, [2.0, 2.0])
