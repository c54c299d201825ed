"""Every op-table sample under ``cr.vmap``, with random ``in_axes``, equals stacking the
unbatched results; and every primitive has a batching rule (a new op cannot skip one)."""

from __future__ import annotations

import zlib

import numpy as np
import pytest

import chainrule as cr
from chainrule import ops
from chainrule.ops._table import Exposure, primitive, sample

SAMPLES = [s for record in ops.RECORDS.values() for s in record.samples]
SCALES = (1.0, 0.9, 1.1)  # three examples: each sample's inputs scaled (stays in its domain)


def test_every_primitive_has_a_batching_rule() -> None:
    missing = [name for name, r in ops.RECORDS.items()
               if r.primitive is not None and r.batch is None]
    assert missing == []


def test_register_refuses_a_primitive_without_a_batching_rule() -> None:
    with pytest.raises(ValueError, match="no batching rule"):
        primitive("unbatched_op", np.negative, [lambda g, out, x: -g], formula="∂(−x)/∂x = −1",
                  samples=[sample("(2,)", lambda x: x, [np.ones(2)])],
                  expose=Exposure(internal="a test"))
    assert "unbatched_op" not in ops.RECORDS


def _stacked(s, inputs, axes):
    """The reference: the sample on each example, stacked along axis 0."""
    outs = []
    for k in range(len(SCALES)):
        xs = [cr.tensor(x * SCALES[k] if a is not None else x) for x, a in zip(inputs, axes)]
        outs.append(s(*xs).numpy())
    return np.stack(outs)


@pytest.mark.parametrize("s", SAMPLES, ids=lambda s: s.id)
def test_sample_under_vmap_equals_stacking(s) -> None:
    rng = np.random.default_rng(zlib.crc32(s.id.encode()))
    axes = [None if rng.random() < 0.3 else int(rng.integers(0, x.ndim + 1)) for x in s.inputs]
    if all(a is None for a in axes):
        axes[0] = int(rng.integers(0, s.inputs[0].ndim + 1))
    batched = [x if a is None else np.stack([x * c for c in SCALES], axis=a)
               for x, a in zip(s.inputs, axes)]
    got = cr.vmap(lambda *xs: s(*xs), in_axes=tuple(axes))(*[cr.tensor(b) for b in batched])
    np.testing.assert_allclose(got.numpy(), _stacked(s, s.inputs, axes), rtol=1e-12,
                               atol=1e-12)


GRAD_SAMPLES = [s for s in SAMPLES if s.op in {
    "add", "mul", "div", "pow", "exp", "tanh", "sum", "max", "reshape", "transpose",
    "getitem", "concatenate", "matmul", "linear", "softmax", "softmax_cross_entropy",
    "log_softmax", "conv", "conv_input_grad", "conv_weight_grad", "max_pool", "pool_sum",
    "gru_cell", "lstm_c", "scatter_add", "broadcast_to", "sum_to", "pad", "std", "logsumexp",
    "stacked_linear",
}]


@pytest.mark.parametrize("s", GRAD_SAMPLES[::2], ids=lambda s: s.id)
def test_per_example_gradients_equal_a_loop(s) -> None:
    """vmap(grad(f)) over the first input, the others shared: each example's gradient."""
    x0 = s.inputs[0]
    rest = [cr.tensor(x) for x in s.inputs[1:]]

    def f(x, *others):
        return (s(x, *others) ** 2).sum()

    batch = np.stack([x0 * c for c in SCALES])
    got = cr.vmap(cr.grad(f), in_axes=(0, *[None] * len(rest)))(batch, *rest)
    want = np.stack([cr.grad(f)(x0 * c, *rest).numpy() for c in SCALES])
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("s", GRAD_SAMPLES[1::2], ids=lambda s: s.id)
def test_grad_of_vmap_equals_a_loop(s) -> None:
    """grad(sum of vmap(f)) with respect to a shared input: the sum over examples."""
    shared = s.inputs[-1]
    firsts = [np.stack([x * c for c in SCALES]) for x in s.inputs[:-1]]

    def total(w):
        if not firsts:
            return cr.vmap(lambda c: (s(w * c) ** 2).sum())(np.array(SCALES)).sum()
        return (cr.vmap(lambda *xs: s(*xs, w) ** 2)(*firsts)).sum()

    got = cr.grad(total)(shared).numpy()
    want = 0
    for k, c in enumerate(SCALES):
        if firsts:
            g = cr.grad(lambda w: (s(*[cr.tensor(f[k]) for f in firsts], w) ** 2).sum())(shared)
        else:
            g = cr.grad(lambda w: (s(w * c) ** 2).sum())(shared)
        want = want + g.numpy()
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("s", SAMPLES[::3], ids=lambda s: s.id)
def test_sample_under_nested_vmap_equals_stacking(s) -> None:
    """Two levels: the outer maps the first input only, the inner every input (so each
    rule also meets values batched at an enclosing level it must treat as constants)."""
    outer_scales, inner_scales = (1.0, 1.05), SCALES
    first = np.stack([np.stack([s.inputs[0] * a * b for b in inner_scales])
                      for a in outer_scales])
    rest = [np.stack([x * b for b in inner_scales]) for x in s.inputs[1:]]
    inner = cr.vmap(lambda *xs: s(*xs))
    got = cr.vmap(inner, in_axes=(0, *[None] * len(rest)))(first, *rest)
    want = np.stack([np.stack([
        s(*[cr.tensor(x) for x in (s.inputs[0] * a * b, *[r * b for r in s.inputs[1:]])]).numpy()
        for b in inner_scales]) for a in outer_scales])
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-12, atol=1e-12)
