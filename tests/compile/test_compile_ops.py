"""``cr.compile`` against eager on every op-table sample and on the fuzz programs: values
and gradients equal bit for bit (``np.array_equal``), replayed on values other than the
captured ones, so a value frozen into the tape would show."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule import ops
from chainrule.pytree import flatten

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fuzz"))

SAMPLES = [s for record in ops.RECORDS.values() for s in record.samples]


def _other_values(arrays: tuple[np.ndarray, ...], seed: int) -> list[np.ndarray]:
    """The same shapes, values moved by up to 5 % (signs kept: domains mostly kept)."""
    rng = np.random.default_rng(seed)
    return [a * rng.uniform(0.95, 1.05, a.shape) for a in arrays]


def _run(fn, arrays, seed_grads: int):
    """Outputs and input gradients of ``fn`` on fresh leaves of ``arrays``."""
    leaves = [cr.tensor(a, requires_grad=True) for a in arrays]
    out = fn(*leaves)
    outs, _ = flatten(out)
    values = [np.array(o.data, copy=True) for o in outs]
    rng = np.random.default_rng(seed_grads)
    for o in outs:
        if o.requires_grad:
            o.backward(rng.standard_normal(o.shape).astype(o.dtype))
    grads = [None if leaf.grad is None else leaf.grad.numpy() for leaf in leaves]
    return values, grads


def _same(mine, theirs, what):
    assert len(mine) == len(theirs), what
    for i, (a, b) in enumerate(zip(mine, theirs)):
        if a is None or b is None:
            assert a is None and b is None, f"{what} {i}: one is None"
            continue
        assert a.dtype == b.dtype and a.shape == b.shape, f"{what} {i}"
        assert np.array_equal(a, b, equal_nan=True), f"{what} {i}: {a} != {b}"


@pytest.mark.parametrize("sample", SAMPLES, ids=[s.id for s in SAMPLES])
def test_compiled_sample_equals_eager(sample):
    compiled = cr.compile(lambda *ts: sample(*ts))
    for seed, arrays in enumerate([list(sample.inputs), _other_values(sample.inputs, 1),
                                   _other_values(sample.inputs, 2)]):
        mine = _run(compiled, arrays, seed)
        theirs = _run(sample, arrays, seed)
        _same(mine[0], theirs[0], f"{sample.id} value (call {seed})")
        _same(mine[1], theirs[1], f"{sample.id} gradient (call {seed})")
    assert compiled.captures == 1


# ---------------------------------------------------------------- the fuzz programs
from fuzz_programs import Program, examples, programs, run_chainrule  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402

FUZZ = settings(derandomize=True, deadline=None, database=None, max_examples=examples(150),
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.filter_too_much])


def _program_run(program: Program, compiled: bool, arrays: list[np.ndarray]):
    weight = cr.tensor(program.weight)

    def f(*leaves):
        last = run_chainrule(program, list(leaves))[-1]
        return last, (last * weight).sum()

    fn = cr.compile(f) if compiled else f
    results = []
    for values in arrays:  # the first call captures, the others replay
        leaves = [cr.tensor(a, requires_grad=rg)
                  for a, rg in zip(values, program.requires_grad)]
        last, loss = fn(*leaves)
        if loss.requires_grad:
            loss.backward()
        results.append([last.numpy().copy(), loss.numpy().copy()]
                       + [None if t.grad is None else t.grad.numpy() for t in leaves])
    return results


@FUZZ
@given(programs())
def test_compiled_fuzz_program_equals_eager(program):
    arrays = [list(program.leaves)]
    for seed in (1, 2):
        arrays.append(_other_values(tuple(program.leaves), seed))
    mine = _program_run(program, True, arrays)
    theirs = _program_run(program, False, arrays)
    for call, (a, b) in enumerate(zip(mine, theirs)):
        _same(a, b, f"call {call} of\n{program!r}\n")
