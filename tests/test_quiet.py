"""chainrule._quiet: floating-point warnings silenced for one call, the caller's NumPy
error state untouched before and after."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from chainrule._quiet import quiet


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
