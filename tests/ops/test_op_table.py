"""Every op in the table, on every sample of its record (``chainrule.checking.op_table.SAMPLES``),
is checked:

* reverse mode against float64 central differences;
* its value and gradient against PyTorch on the same inputs (and its float32 dtypes);
* the recorded backward (``create_graph=True``) against the first-order fast path;
* to second order: ∇⟨∇L, v⟩ by nested ``cr.grad`` against differences of ∇L;
* forward mode, ``cr.jvp``, against the directional difference (f(x+ht) − f(x−ht))/2h.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch_refs import TORCH_REFS

import chainrule as cr
from chainrule import ops
from chainrule.checking.differences import central_difference
from chainrule.checking.op_table import (
    SAMPLES,
    Sample,
    check_op_table,
    evaluate,
    numeric_gradient,
    reverse_gradient,
    tensors,
    weights_for,
)

ALL = [sample for name in sorted(SAMPLES) for sample in SAMPLES[name]]
IDS = [sample.id for sample in ALL]


def _tangents(sample: Sample, seed: int = 1) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(a.shape) for a in sample.inputs]


def _assert_close(analytic: list, numeric: list, atol: float = 1e-6, rtol: float = 1e-4) -> None:
    for i, (a, n) in enumerate(zip(analytic, numeric)):
        np.testing.assert_allclose(np.asarray(a, dtype=np.float64), n, atol=atol, rtol=rtol,
                                   err_msg=f"input {i}")


# ---------------------------------------------------------------- completeness


def test_every_op_in_the_table_has_samples_and_a_torch_reference():
    names = set(ops.RECORDS)
    assert names == {*ops.OP_TABLE, *ops.COMPOSITES}
    assert names - set(SAMPLES) == set(), "ops without samples on their record in chainrule/ops/"
    assert names - set(TORCH_REFS) == set(), "ops without a torch reference in torch_refs.py"
    assert set(SAMPLES) - names == set(), "samples for names that are not in the op table"
    assert all(SAMPLES[name] for name in names)


@pytest.mark.parametrize("name", list(ops.RECORDS))
def test_every_record_has_every_facet_and_its_surface_exists(name):
    record = ops.RECORDS[name]
    assert record.samples and all(s.op == name for s in record.samples)
    assert record.formula, "a record needs its derivative formula (or a composite's docstring)"
    exposure = record.exposure
    assert exposure.method or exposure.function or exposure.operators or exposure.internal
    if exposure.internal:
        assert not (exposure.method or exposure.function or exposure.operators)
    if exposure.method:
        assert callable(getattr(cr.Tensor, exposure.method))
    for operator in exposure.operators:
        assert operator in vars(cr.Tensor), f"Tensor.{operator} was not generated"
    if exposure.function:
        assert exposure.function in cr.__all__ and callable(getattr(cr, exposure.function))
    for convention in record.conventions:
        assert convention.op == name and convention in cr.conventions()


def test_a_record_missing_a_facet_is_refused():
    from chainrule.ops._table import Exposure, register, sample

    one = [sample("x", lambda x: x, [np.ones(2)])]
    with pytest.raises(ValueError, match="no samples"):
        register("nameless", None, lambda x: x, [], Exposure(function="f"), [])
    with pytest.raises(ValueError, match="neither exposed nor marked internal"):
        register("nameless", None, lambda x: x, one, Exposure(), [])
    with pytest.raises(ValueError, match="declared twice"):
        register("add", None, lambda x: x, one, Exposure(function="f"), [])
    assert "nameless" not in ops.RECORDS


def test_samples_have_unique_readable_ids():
    assert len(set(IDS)) == len(IDS)


def test_check_op_table_reports_every_op_as_passing():
    rows = check_op_table()
    assert [row.op for row in rows] == list(ops.RECORDS)
    failing = [row for row in rows if not row.passed]
    assert failing == []
    assert all(row.max_abs_err < 1e-6 for row in rows)


def test_check_op_table_flags_a_wrong_derivative(monkeypatch):
    # x · stop_gradient(x) has the value x² but backpropagates only x, half of 2x
    wrong = Sample("wrong", lambda x: x * x.detach(), (np.array([0.5, 1.5, -2.0]),), {}, "mul")
    monkeypatch.setitem(SAMPLES, "mul", [wrong])
    (row,) = check_op_table(["mul"])
    assert not row.passed
    assert row.max_abs_err > 0.1


def test_check_op_table_rejects_an_unknown_name():
    with pytest.raises(ValueError, match="check_op_table: no samples for op 'frobnicate'"):
        check_op_table(["frobnicate"])


# ---------------------------------------------------------------- first order


@pytest.mark.parametrize("sample", ALL, ids=IDS)
def test_reverse_gradient_matches_central_differences(sample):
    w = weights_for(sample)
    analytic = reverse_gradient(sample, sample.inputs, w)
    numeric = numeric_gradient(sample, sample.inputs, w)
    _assert_close(analytic, numeric)


@pytest.mark.parametrize("sample", ALL, ids=IDS)
def test_value_and_gradient_match_torch(sample):
    w = weights_for(sample)
    ours = evaluate(sample, sample.inputs)
    xs = [torch.tensor(a, requires_grad=True) for a in sample.inputs]
    out = TORCH_REFS[sample.op](*xs, **sample.params)
    assert ours.shape == tuple(out.shape)
    assert ours.dtype.name == str(out.dtype).removeprefix("torch.")
    np.testing.assert_allclose(ours, out.detach().numpy(), rtol=1e-12, atol=1e-12)
    loss = (out * torch.tensor(w)).sum()
    expected = torch.autograd.grad(loss, xs, allow_unused=True)
    expected = [np.zeros_like(a) if g is None else g.numpy()
                for a, g in zip(sample.inputs, expected)]
    _assert_close(reverse_gradient(sample, sample.inputs, w), expected, atol=1e-12, rtol=1e-10)


@pytest.mark.parametrize("sample", ALL, ids=IDS)
def test_float32_inputs_give_torchs_dtypes_for_value_and_gradient(sample):
    arrays = [a.astype(np.float32) for a in sample.inputs]
    xs = tensors(arrays, requires_grad=True)
    out = sample(*xs)
    xs_torch = [torch.tensor(a, requires_grad=True) for a in arrays]
    expected = TORCH_REFS[sample.op](*xs_torch, **sample.params)
    assert out.dtype.name == str(expected.dtype).removeprefix("torch.")
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-5, atol=1e-6)
    out.sum().backward()
    for x in xs:
        assert x.grad is None or x.grad.dtype == np.float32


@pytest.mark.parametrize("sample", ALL, ids=IDS)
def test_recorded_backward_agrees_with_the_fast_path(sample):
    # The same rules run on raw arrays (first order) and on Tensors (create_graph=True).
    w = weights_for(sample)
    fast = reverse_gradient(sample, sample.inputs, w)
    xs = tensors(sample.inputs, requires_grad=True)
    (sample(*xs) * cr.tensor(w)).sum().backward(create_graph=True)
    recorded = [np.zeros_like(a) if x.grad is None else x.grad.data
                for a, x in zip(sample.inputs, xs)]
    _assert_close(recorded, fast, atol=1e-13, rtol=1e-12)


# ---------------------------------------------------------------- second order


def _directional_gradient(sample: Sample, w: np.ndarray, v: list[np.ndarray]):
    r"""h(x) = ⟨∇L(x), v⟩ for L = Σ w ⊙ f(x), as a differentiable chainrule function."""
    nums = tuple(range(len(sample.inputs)))

    def loss(*xs):
        return (sample(*xs) * cr.tensor(w)).sum()

    def h(*xs):
        total = cr.tensor(0.0, dtype=np.float64)
        for g, direction in zip(cr.grad(loss, argnums=nums)(*xs), v):
            total = total + (g * cr.tensor(direction)).sum()
        return total

    return h


@pytest.mark.parametrize("sample", ALL, ids=IDS)
def test_second_order_matches_differences_of_the_gradient(sample):
    w = weights_for(sample)
    v = _tangents(sample)
    nums = tuple(range(len(sample.inputs)))
    h = _directional_gradient(sample, w, v)
    analytic = cr.grad(h, argnums=nums)(*tensors(sample.inputs))

    def h_numeric(arrays):
        grads = reverse_gradient(sample, arrays, w)
        return sum(float(np.sum(g * d)) for g, d in zip(grads, v))

    numeric = central_difference(h_numeric, sample.inputs, eps=1e-5)
    _assert_close([g.data for g in analytic], numeric, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("sample", ALL[::4], ids=IDS[::4])
def test_create_graph_backward_gives_a_differentiable_grad(sample):
    w = weights_for(sample)
    v = _tangents(sample)
    xs = tensors(sample.inputs, requires_grad=True)
    (sample(*xs) * cr.tensor(w)).sum().backward(create_graph=True)
    total = cr.tensor(0.0, dtype=np.float64)
    for x, direction in zip(xs, v):
        if x.grad is not None:
            total = total + (x.grad * cr.tensor(direction)).sum()
    expected = cr.grad(_directional_gradient(sample, w, v),
                       argnums=tuple(range(len(xs))))(*tensors(sample.inputs))
    for x in xs:
        x.grad = None
    if total.requires_grad:
        total.backward()
    got = [np.zeros_like(a) if x.grad is None else x.grad.data for a, x in zip(sample.inputs, xs)]
    _assert_close(got, [e.data for e in expected], atol=1e-12, rtol=1e-10)


# ---------------------------------------------------------------- forward mode


@pytest.mark.parametrize("sample", ALL, ids=IDS)
def test_jvp_matches_directional_central_difference(sample):
    t = _tangents(sample)
    out, tangent_out = cr.jvp(lambda *xs: sample(*xs), tensors(sample.inputs), tensors(t))
    eps = 1e-6
    plus = evaluate(sample, [a + eps * d for a, d in zip(sample.inputs, t)])
    minus = evaluate(sample, [a - eps * d for a, d in zip(sample.inputs, t)])
    np.testing.assert_allclose(out.data, evaluate(sample, sample.inputs), rtol=1e-14, atol=0)
    assert tangent_out.shape == out.shape
    np.testing.assert_allclose(tangent_out.data, (plus - minus) / (2 * eps), atol=1e-6, rtol=1e-4)


# ---------------------------------------------------------------- kinks and conventions

KINKS = {
    "relu_at_0_is_0": (lambda x: x.relu(), torch.relu, [[0.0, 1.0, -1.0]]),
    "abs_at_0_is_0": (lambda x: abs(x), torch.abs, [[0.0, 1.0, -1.0]]),
    "max_ties_split_evenly": (lambda x: x.max(axis=1), lambda t: torch.amax(t, 1),
                              [[[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]]]),
    "min_ties_split_evenly": (lambda x: x.min(), torch.amin, [[1.0, 1.0, 3.0]]),
    "maximum_tie_gives_half_to_each": (lambda x, y: x.maximum(y), torch.maximum,
                                       [[1.0, 2.0], [1.0, 3.0]]),
    "minimum_tie_gives_half_to_each": (lambda x, y: x.minimum(y), torch.minimum,
                                       [[1.0, 2.0], [1.0, 3.0]]),
    "clip_passes_gradient_at_edges": (lambda x: x.clip(0.0, 1.0),
                                      lambda t: torch.clamp(t, 0.0, 1.0),
                                      [[0.0, 1.0, 0.5, 2.0]]),
    "sqrt_at_0_is_inf": (lambda x: x.sqrt(), torch.sqrt, [[0.0, 4.0]]),
    "pow_0_to_the_0": (lambda x, y: x ** y, torch.pow, [[0.0, 0.0, 2.0], [0.0, 2.0, 0.0]]),
    "std_of_constant_has_zero_gradient": (lambda x: x.std(axis=1), lambda t: torch.std(
        t, dim=1, correction=0), [[[1.0, 1.0], [1.0, 2.0]]]),
}


@pytest.mark.parametrize("name", list(KINKS))
def test_gradient_at_a_kink_follows_torchs_convention(name):
    fn, reference, data = KINKS[name]
    xs = [cr.tensor(np.array(d), requires_grad=True) for d in data]
    fn(*xs).sum().backward()
    ts = [torch.tensor(np.array(d), requires_grad=True) for d in data]
    reference(*ts).sum().backward()
    for x, t in zip(xs, ts):
        np.testing.assert_array_equal(x.grad.data, t.grad.numpy())
