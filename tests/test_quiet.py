"""chainrule._quiet: floating-point warnings silenced for one call, the caller's NumPy
error state untouched before and after; and no NumPy warning escapes from the library's
ops, backward passes, optimisers or metrics for any input."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest

import chainrule as cr
from chainrule import ops
from chainrule._quiet import quiet
from chainrule.optim.registry import OPTIMIZERS
from chainrule.train import r2


def test_silences_every_floating_point_warning() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert quiet(np.exp)(np.float32(1e4)) == np.inf
        assert np.isnan(quiet(np.divide)(np.zeros(2), np.zeros(2))).all()
        assert quiet(np.log)(np.zeros(1))[0] == -np.inf


def test_restores_the_callers_state_even_when_it_raises() -> None:
    before = np.geterr()
    with np.errstate(all="raise"):
        assert quiet(np.sqrt)(np.array([-1.0])).size == 1   # inside: silent nan
        with pytest.raises(FloatingPointError):
            np.sqrt(np.array([-1.0]))                          # outside: still raising
        with pytest.raises(TypeError):
            quiet(np.sqrt)("not a number")
        with pytest.raises(FloatingPointError):
            np.sqrt(np.array([-1.0]))
    assert np.geterr() == before


def test_passes_keywords_and_keeps_the_name() -> None:
    out = np.empty(3)
    quiet(np.exp)(np.zeros(3), out=out)
    np.testing.assert_array_equal(out, np.ones(3))
    assert quiet(np.exp).__name__ == "exp"


# ---------------------------------------------------------------- no warning from the library
# Every op of the table, forward, backward and the backward of the backward, on inputs that
# overflow (a quarter of the dtype's largest value: sums, products and squares go past it)
# and on ±inf/nan: IEEE results, and not one NumPy warning (as PyTorch gives them).
def _extreme_inputs(inputs: tuple[np.ndarray, ...], dtype: type, kind: str
                    ) -> list[np.ndarray]:
    arrays = []
    for a in inputs:
        if kind == "huge":
            value = np.sign(a) * np.finfo(dtype).max / 4
        else:  # ±inf where a > 0 / a <= 0, and a nan every third element
            value = np.where(a > 0, np.inf, -np.inf)
            value.reshape(-1)[::3] = np.nan
        arrays.append(np.asarray(value, dtype=dtype))
    return arrays


def _op_cases() -> list[tuple[Any, type, str]]:
    return [(sample, dtype, kind) for record in ops.RECORDS.values()
            for sample in record.samples for dtype in (np.float32, np.float64)
            for kind in ("huge", "inf")]


@pytest.mark.parametrize("sample, dtype, kind", _op_cases(),
                         ids=lambda v: getattr(v, "id", None) or getattr(v, "__name__", str(v)))
def test_every_op_gives_ieee_results_without_a_warning(sample, dtype, kind):
    arrays = _extreme_inputs(sample.inputs, dtype, kind)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        xs = [cr.tensor(a, requires_grad=True) for a in arrays]
        out = sample(*xs)
        weights = cr.tensor(np.full(out.shape, 3.0, dtype=out.dtype))
        (out * weights).sum().backward(create_graph=True)  # recorded rules
        grads = [x.grad for x in xs if x.grad is not None]
        second = sum((g * g).sum() for g in grads)
        if isinstance(second, cr.Tensor) and second.requires_grad:
            second.backward()  # the backward of the backward
        xs = [cr.tensor(a, requires_grad=True) for a in arrays]
        (sample(*xs) * weights).sum().backward()  # first order: rules on raw arrays
        str(cr.explain((sample(*xs) * weights).sum(), xs[0]))


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_an_optimizer_step_that_overflows_gives_ieee_results_without_a_warning(name):
    p = cr.tensor(np.array([3e38, -3e38, 1.0, np.inf], dtype=np.float32), requires_grad=True)
    optimizer = OPTIMIZERS[name]([p], lr=10.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(3):
            optimizer.zero_grad()
            (p * p).sum().backward()
            optimizer.step()
    assert not np.isfinite(p.numpy()).all()


def test_r2_of_overflowing_predictions_is_minus_inf_without_a_warning():
    y = np.array([1.0, 2.0, 3.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert r2(np.array([1e300, -1e300, 0.0]), y) == -np.inf
        r2(np.array([np.inf, 0.0, 1.0]), np.array([np.inf, 1.0, 2.0]))


def test_forwards_are_quiet_in_other_threads_and_leave_the_callers_state_alone():
    import threading

    before = np.geterr()
    errors: list[BaseException] = []

    def work() -> None:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                x = cr.tensor(np.array([3e38, 1.0], dtype=np.float32), requires_grad=True)
                y = (x * 10.0 + x) / 0.0
                (y * 0.0).sum().backward()
                assert not np.isfinite(y.data).any()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert np.geterr() == before
    with pytest.warns(RuntimeWarning):  # NumPy itself still warns for the caller
        np.array([3e38], dtype=np.float32) * np.float32(10.0)
