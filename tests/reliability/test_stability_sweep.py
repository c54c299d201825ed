"""The stability sweep (tools/stability.py, ``make stability``) on its coarse grid: every
activation, loss and reduction, float32 and float64, from −1e4 to 1e4 with ±0,
subnormals and finfo.max — finite and warning-free where the maths is finite, equal to
PyTorch, and nan/inf inputs propagate without an exception."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import chainrule as cr

TOOLS = Path(__file__).resolve().parents[2] / "tools"
if str(TOOLS) not in sys.path:
    sys.path.insert(0, str(TOOLS))

import stability  # noqa: E402

CASES = [(case, dtype) for case in stability.CASES for dtype in stability.DTYPES]


@pytest.mark.parametrize("case, dtype", CASES,
                         ids=[f"{c.name}-{np.dtype(d).name}" for c, d in CASES])
def test_function_is_stable_over_the_grid(case, dtype):
    report = stability.sweep_case(case, dtype, coarse=True)
    assert report.in_range > 0
    assert not report.failures, "\n".join(report.failures)


def test_grid_holds_signed_zeros_subnormals_and_extremes():
    for dtype in stability.DTYPES:
        g = stability.grid(dtype, coarse=True)
        fi = np.finfo(dtype)
        assert g.dtype == dtype
        assert np.signbit(g[(g == 0)]).any() and (~np.signbit(g[g == 0])).any()
        assert fi.smallest_subnormal in g and -fi.smallest_subnormal in g
        assert fi.tiny in g and fi.max in g and fi.min in g
        assert 1e4 in g and -1e4 in g


def test_sweep_catches_a_function_that_overflows():
    # a naive softplus log(1 + e^x): overflows at x > 88 in float32 though the maths is finite
    naive = stability.Case(
        "naive_softplus", stability._elementwise, lambda x: (x.exp() + 1.0).log(),
        torch.nn.functional.softplus, lambda x: np.logaddexp(x, 0))
    report = stability.sweep_case(naive, np.float32, coarse=True)
    assert any("warning" in f or "inf" in f for f in report.failures), report.failures
    assert cr.tensor([1.0]).dtype == np.float32  # the library defaults were left alone


def test_sweep_catches_a_wrong_gradient():
    wrong = stability.Case(
        "sigmoid_times", stability._elementwise, lambda x: x.sigmoid() * 1.001,
        torch.sigmoid, stability._ld_sigmoid)
    report = stability.sweep_case(wrong, np.float64, coarse=True)
    assert any("differs from PyTorch" in f for f in report.failures), report.failures
