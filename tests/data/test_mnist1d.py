"""load_dataset("mnist1d"): the paper's data, generated locally (shapes, dtypes, the values of
the paper's mnist1d_data.pkl, its split and scaling), generated once per process without
touching the caller's random state, and the hint when the package is missing."""

from __future__ import annotations

import random
import sys

import numpy as np
import pytest

import chainrule as cr
from chainrule.data import load_dataset
from chainrule.data import mnist1d as mnist1d_module

# Figures of the mnist1d_data.pkl the paper's notebooks download (github.com/greydanus/
# mnist1d, committed 2021): the generated data must be the same.
PAPER_FIRST_LABELS = [2, 6, 4, 5, 6, 6, 6, 0, 3, 1, 6, 9]
PAPER_TEST_CLASS_COUNTS = [102, 104, 89, 106, 106, 98, 99, 96, 98, 102]
PAPER_FIRST_VALUES = [-0.3320056673693902, -0.4719103656557236, -0.778697076293495,
                      -1.0097408265367047]
PAPER_LAST_TEST_VALUES = [0.6598756470890784, 0.8777343497528006, 1.193151836835276]
PAPER_TRAIN_SUM = -51.78746787509559


def _hide(monkeypatch: pytest.MonkeyPatch, package: str) -> None:
    # A None entry in sys.modules makes importing the package (or a submodule) fail.
    for name in [m for m in sys.modules if m == package or m.startswith(package + ".")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, package, None)


def test_missing_package_says_to_install_the_data_extra(monkeypatch):
    monkeypatch.setattr(mnist1d_module, "_CACHE", [])
    _hide(monkeypatch, "mnist1d")
    with pytest.raises(ImportError) as info:
        load_dataset("mnist1d")
    assert str(info.value) == ("load_dataset: the 'mnist1d' dataset needs mnist1d; install it "
                               'with: pip install "chainrule[data]"')


def test_unknown_name_lists_mnist1d():
    with pytest.raises(ValueError, match="valid names: .*iris, mnist1d, seed_linear"):
        load_dataset("mnist")


class TestGenerated:
    @pytest.fixture(autouse=True)
    def _package(self):
        pytest.importorskip("mnist1d")

    def test_shapes_and_dtypes(self):
        (X, y), (X_test, y_test) = load_dataset("mnist1d")
        assert all(isinstance(t, cr.Tensor) for t in (X, y, X_test, y_test))
        assert X.shape == (4000, 40) and X_test.shape == (1000, 40)
        assert y.shape == (4000,) and y_test.shape == (1000,)
        assert X.dtype == X_test.dtype == np.float32
        assert y.dtype == y_test.dtype == np.int64
        assert not X.requires_grad
        assert set(np.unique(y.numpy())) == set(np.unique(y_test.numpy())) == set(range(10))

    def test_features_follow_the_default_dtype(self):
        cr.set_default_dtype("float64")
        (X, y), (X_test, _) = load_dataset("mnist1d")
        assert X.dtype == X_test.dtype == np.float64 and y.dtype == np.int64

    def test_it_is_the_papers_data(self):
        cr.set_default_dtype("float64")  # the pickle's values are float64
        (X, y), (X_test, y_test) = load_dataset("mnist1d")
        assert y.numpy()[:12].tolist() == PAPER_FIRST_LABELS
        assert np.bincount(y_test.numpy()).tolist() == PAPER_TEST_CLASS_COUNTS
        np.testing.assert_allclose(X.numpy()[0, :4], PAPER_FIRST_VALUES, rtol=1e-12)
        np.testing.assert_allclose(X_test.numpy()[-1, -3:], PAPER_LAST_TEST_VALUES, rtol=1e-12)
        assert X.numpy().sum() == pytest.approx(PAPER_TRAIN_SUM, abs=1e-8)

    def test_the_papers_scaling_is_kept_not_standardised_per_position(self):
        cr.set_default_dtype("float64")
        (X, _), (X_test, _) = load_dataset("mnist1d")
        both = np.concatenate([X.numpy(), X_test.numpy()])
        # One mean and one standard deviation over all 5,000 × 40 values, as generated...
        assert abs(both.mean()) < 1e-12 and both.std() == pytest.approx(1.0, abs=1e-12)
        # ...so the positions keep their own spreads (per-position standardisation would
        # make each of them 1 on the training split).
        assert np.ptp(X.numpy().std(axis=0)) > 0.2

    def test_seed_is_ignored_and_test_size_must_describe_the_fixed_split(self):
        (a, _), _ = load_dataset("mnist1d", seed=0)
        (b, _), (t, _) = load_dataset("mnist1d", test_size=1000, seed=7)
        np.testing.assert_array_equal(a.numpy(), b.numpy())
        assert t.shape == (1000, 40)
        with pytest.raises(ValueError, match=(
                r"^load_dataset: 'mnist1d' has the paper's fixed split of 4000 training and "
                r"1000 test sequences; test_size must be 0.2 or 1000 \(its default\), "
                r"got 0.3$")):
            load_dataset("mnist1d", test_size=0.3)
        with pytest.raises(ValueError, match="load_dataset: test_size must be in"):
            load_dataset("mnist1d", test_size=1.5)

    def test_generated_once_and_every_call_gets_its_own_tensors(self, monkeypatch):
        (X, y), _ = load_dataset("mnist1d")
        first = X.numpy().copy()

        def fail(*args, **kwargs):
            raise AssertionError("regenerated")

        monkeypatch.setattr("mnist1d.data.make_dataset", fail)
        X.numpy()[:] = 0.0
        y.numpy()[:] = -1
        (X_again, y_again), _ = load_dataset("mnist1d")
        np.testing.assert_array_equal(X_again.numpy(), first)
        assert y_again.numpy().min() == 0

    def test_generating_leaves_the_callers_random_state_alone(self, monkeypatch):
        # The package seeds NumPy's and Python's global generators with 42.
        monkeypatch.setattr(mnist1d_module, "_CACHE", [])
        np.random.seed(5)
        random.seed(5)
        expected = (np.random.rand(), random.random())
        np.random.seed(5)
        random.seed(5)
        load_dataset("mnist1d")
        assert (np.random.rand(), random.random()) == expected
