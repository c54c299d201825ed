"""The conventions at non-differentiable points: one named test each, checked against the
value that cr.conventions() declares and, where PyTorch has the same rule, against PyTorch."""

from __future__ import annotations

import ast
import pathlib

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import chainrule as cr
from chainrule.ops import OP_TABLE


def _declared(test_name: str) -> float:
    """The value cr.conventions() declares for the convention proved by ``test_name``."""
    (record,) = [c for c in cr.conventions() if c.test == test_name]
    return record.value


def _grad(f, *values):
    """Gradients of f(*tensors).sum() at ``values`` (float64), chainrule and PyTorch."""
    xs = [cr.tensor(np.asarray(v, dtype=np.float64), requires_grad=True) for v in values]
    f(*xs).sum().backward()
    ts = [torch.tensor(np.asarray(v, dtype=np.float64), requires_grad=True) for v in values]
    return [x.grad.data for x in xs], ts


def _torch_grads(f, ts):
    f(*ts).sum().backward()
    return [t.grad.numpy() for t in ts]


def test_relu_grad_at_zero_is_zero():
    (g,), ts = _grad(lambda x: x.relu(), [0.0, 1.0, -1.0])
    assert g[0] == 0.0 == _declared("test_relu_grad_at_zero_is_zero")
    np.testing.assert_array_equal(g, _torch_grads(torch.relu, ts)[0])


def test_abs_grad_at_zero_is_zero():
    (g,), ts = _grad(lambda x: x.abs(), [0.0, 2.0, -2.0])
    assert g[0] == 0.0 == _declared("test_abs_grad_at_zero_is_zero")
    np.testing.assert_array_equal(g, [0.0, 1.0, -1.0])
    np.testing.assert_array_equal(g, _torch_grads(torch.abs, ts)[0])


def test_max_reduction_splits_ties_evenly():
    (g,), ts = _grad(lambda x: x.max(), [3.0, 1.0, 3.0])
    np.testing.assert_array_equal(g, [0.5, 0.0, 0.5])
    assert g[0] == _declared("test_max_reduction_splits_ties_evenly")
    np.testing.assert_array_equal(g, _torch_grads(torch.amax, ts)[0])
    (g3,), _ = _grad(lambda x: x.max(axis=1), [[2.0, 2.0, 2.0], [0.0, 5.0, 1.0]])
    np.testing.assert_allclose(g3, [[1 / 3, 1 / 3, 1 / 3], [0.0, 1.0, 0.0]])


def test_min_reduction_splits_ties_evenly():
    (g,), ts = _grad(lambda x: x.min(axis=0), [[-1.0, 4.0], [-1.0, 2.0]])
    np.testing.assert_array_equal(g, [[0.5, 0.0], [0.5, 1.0]])
    assert g[0, 0] == _declared("test_min_reduction_splits_ties_evenly")
    np.testing.assert_array_equal(g, _torch_grads(lambda t: torch.amin(t, dim=0), ts)[0])


def test_maximum_gives_half_to_each_side_at_a_tie():
    (gx, gy), ts = _grad(cr.maximum, [1.0, 1.0, 2.0], [1.0, 0.0, 3.0])
    np.testing.assert_array_equal(gx, [0.5, 1.0, 0.0])
    np.testing.assert_array_equal(gy, [0.5, 0.0, 1.0])
    assert gx[0] == gy[0] == _declared("test_maximum_gives_half_to_each_side_at_a_tie")
    tx, ty = _torch_grads(torch.maximum, ts)
    np.testing.assert_array_equal(gx, tx)
    np.testing.assert_array_equal(gy, ty)


def test_minimum_gives_half_to_each_side_at_a_tie():
    (gx, gy), ts = _grad(cr.minimum, [1.0, 1.0, 2.0], [1.0, 0.0, 3.0])
    np.testing.assert_array_equal(gx, [0.5, 0.0, 1.0])
    np.testing.assert_array_equal(gy, [0.5, 1.0, 0.0])
    assert gx[0] == gy[0] == _declared("test_minimum_gives_half_to_each_side_at_a_tie")
    tx, ty = _torch_grads(torch.minimum, ts)
    np.testing.assert_array_equal(gx, tx)
    np.testing.assert_array_equal(gy, ty)


def test_sqrt_grad_at_zero_is_plus_inf():
    (g,), ts = _grad(lambda x: x.sqrt(), [0.0, 4.0])
    assert g[0] == np.inf == _declared("test_sqrt_grad_at_zero_is_plus_inf")
    assert g[1] == 0.25
    np.testing.assert_array_equal(g, _torch_grads(torch.sqrt, ts)[0])


def test_clip_grad_is_one_at_the_edges():
    values = [-1.0, 1.0, 0.0, -1.5, 1.5]
    (g,), ts = _grad(lambda x: x.clip(-1.0, 1.0), values)
    np.testing.assert_array_equal(g, [1.0, 1.0, 1.0, 0.0, 0.0])
    assert g[0] == g[1] == _declared("test_clip_grad_is_one_at_the_edges")
    np.testing.assert_array_equal(g, _torch_grads(lambda t: t.clamp(-1.0, 1.0), ts)[0])


def test_pow_grad_wrt_base_is_zero_for_zero_exponent():
    (gx, gy), ts = _grad(lambda x, y: x ** y, [0.0, 2.0], [0.0, 0.0])
    assert gx[0] == 0.0 == _declared("test_pow_grad_wrt_base_is_zero_for_zero_exponent")
    np.testing.assert_array_equal(gx, [0.0, 0.0])
    tx, ty = _torch_grads(torch.pow, ts)
    np.testing.assert_array_equal(gx, tx)
    np.testing.assert_allclose(gy, ty)


def test_pow_grad_wrt_exponent_is_zero_at_zero_base():
    (gx, gy), ts = _grad(lambda x, y: x ** y, [0.0, 0.0], [0.0, 2.0])
    np.testing.assert_array_equal(gy, [0.0, 0.0])
    assert gy[1] == _declared("test_pow_grad_wrt_exponent_is_zero_at_zero_base")
    tx, ty = _torch_grads(torch.pow, ts)
    np.testing.assert_array_equal(gx, tx)
    np.testing.assert_array_equal(gy, ty)


def _test_names_in_this_file() -> set[str]:
    tree = ast.parse(pathlib.Path(__file__).read_text(encoding="utf-8"))
    return {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}


def test_every_convention_names_a_test_in_this_file():
    names = _test_names_in_this_file()
    declared = [c.test for c in cr.conventions()]
    assert len(set(declared)) == len(declared)
    missing = [t for t in declared if t not in names]
    assert not missing, f"conventions without their test: {missing}"


@pytest.mark.parametrize("record", cr.conventions(), ids=lambda c: c.name)
def test_every_convention_names_an_op_whose_formula_states_it(record):
    assert record.op in OP_TABLE
    assert record.name and record.rule and record.rationale
    assert record.name in str(cr.conventions())


def test_api_md_conventions_are_all_listed():
    ops = {c.op for c in cr.conventions()}
    assert {"relu", "abs", "max", "min", "maximum", "minimum", "sqrt", "clip"} <= ops


def test_max_pool_sends_a_tie_to_the_first_maximum():
    # windows [3, 3] and [3, 1]: the first window's gradient goes to its first 3 only; the
    # second window's maximum is the same element as the first's second 3
    values = [[[3.0, 3.0, 1.0]]]
    (g,), ts = _grad(lambda x: cr.nn.functional.max_pool1d(x, 2, stride=1), values)
    np.testing.assert_array_equal(g, [[[1.0, 1.0, 0.0]]])
    assert g[0, 0, 0] == _declared("test_max_pool_sends_a_tie_to_the_first_maximum")
    np.testing.assert_array_equal(g, _torch_grads(lambda t: F.max_pool1d(t, 2, 1), ts)[0])
    square = [[[[2.0, 2.0], [2.0, 2.0]]]]  # a four-way tie: row-major first takes it all
    (g2,), ts2 = _grad(lambda x: cr.nn.functional.max_pool2d(x, 2), square)
    np.testing.assert_array_equal(g2, [[[[1.0, 0.0], [0.0, 0.0]]]])
    np.testing.assert_array_equal(g2, _torch_grads(lambda t: F.max_pool2d(t, 2), ts2)[0])
