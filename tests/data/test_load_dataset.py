"""load_dataset: shapes, dtypes, stratified splits, standardisation from the training split
only, seed_linear, and the hint when scikit-learn is missing."""

from __future__ import annotations

import sys

import numpy as np
import pytest

import chainrule as cr
from chainrule.data import load_dataset

pytest.importorskip("sklearn")

SHAPES = {  # name -> (samples, features, classes or None for regression)
    "iris": (150, 4, 3),
    "digits": (1797, 64, 10),
    "breast_cancer": (569, 30, 2),
    "diabetes": (442, 10, None),
}


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_shapes_and_dtypes(name):
    n, d, classes = SHAPES[name]
    (X, y), (X_test, y_test) = load_dataset(name)
    assert all(isinstance(t, cr.Tensor) for t in (X, y, X_test, y_test))
    assert X.shape[0] + X_test.shape[0] == n
    assert X_test.shape[0] == int(np.ceil(0.2 * n))
    assert X.shape[1:] == X_test.shape[1:] == (d,)
    assert X.dtype == X_test.dtype == np.float32
    assert not X.requires_grad
    if classes is None:
        assert y.shape == (X.shape[0], 1) and y_test.shape == (X_test.shape[0], 1)
        assert y.dtype == y_test.dtype == np.float32
    else:
        assert y.shape == (X.shape[0],) and y_test.shape == (X_test.shape[0],)
        assert y.dtype == y_test.dtype == np.int64
        assert set(np.unique(y.numpy())) == set(range(classes))


def test_features_follow_the_default_dtype():
    cr.set_default_dtype("float64")
    (X, y), _ = load_dataset("diabetes")
    assert X.dtype == np.float64 and y.dtype == np.float64


@pytest.mark.parametrize("name", ["iris", "digits", "breast_cancer"])
def test_split_is_stratified(name):
    (_, y), (_, y_test) = load_dataset(name)
    train_share = np.bincount(y.numpy()) / len(y)
    test_share = np.bincount(y_test.numpy()) / len(y_test)
    # Stratification keeps each class's share up to one sample of rounding in the test set.
    np.testing.assert_allclose(test_share, train_share, atol=1.0 / len(y_test) + 1e-12)


def test_iris_test_split_has_ten_of_each_class():
    _, (_, y_test) = load_dataset("iris")
    assert np.bincount(y_test.numpy()).tolist() == [10, 10, 10]


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_standardised_with_training_statistics_only(name):
    (X, _), (X_test, _) = load_dataset(name)
    train = X.numpy().astype(np.float64)
    test = X_test.numpy().astype(np.float64)
    varying = train.std(axis=0) > 0
    np.testing.assert_allclose(train.mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(train.std(axis=0)[varying], 1.0, rtol=1e-4)
    # Statistics from the test split would give it mean exactly 0; the train's do not.
    assert np.abs(test.mean(axis=0)).max() > 1e-3


def test_constant_pixels_of_digits_stay_finite():
    (X, _), (X_test, _) = load_dataset("digits")
    assert np.isfinite(X.numpy()).all() and np.isfinite(X_test.numpy()).all()
    constant = X.numpy().std(axis=0) == 0
    assert constant.any()  # digits has blank corner pixels
    np.testing.assert_array_equal(X.numpy()[:, constant], 0.0)


def test_regression_targets_keep_their_units():
    from sklearn.datasets import load_diabetes

    (_, y), (_, y_test) = load_dataset("diabetes")
    both = np.sort(np.concatenate([y.numpy().ravel(), y_test.numpy().ravel()]))
    np.testing.assert_allclose(both, np.sort(load_diabetes().target), rtol=1e-6)


def test_same_seed_same_split_and_different_seed_different_split():
    (a, _), _ = load_dataset("iris", seed=3)
    (b, _), _ = load_dataset("iris", seed=3)
    (c, _), _ = load_dataset("iris", seed=4)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert not np.array_equal(a.numpy(), c.numpy())


def test_test_size_sets_the_split():
    (X, _), (X_test, _) = load_dataset("iris", test_size=0.5)
    assert X.shape[0] == X_test.shape[0] == 75


def test_seed_linear_is_the_textbook_data():
    (X, y), (X_test, y_test) = load_dataset("seed_linear")
    assert X.shape == y.shape == (4, 1)
    assert X.dtype == y.dtype == np.float64
    assert X.numpy().ravel().tolist() == [1.0, 2.0, 3.0, 4.0]
    assert y.numpy().ravel().tolist() == [2.0, 4.0, 6.0, 8.0]
    # The documented choice: the test set is an identical copy (nothing to hold out).
    np.testing.assert_array_equal(X_test.numpy(), X.numpy())
    np.testing.assert_array_equal(y_test.numpy(), y.numpy())
    assert X_test.numpy() is not X.numpy()


def test_seed_linear_needs_no_sklearn(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn", None)
    (X, _), _ = load_dataset("seed_linear")
    assert X.shape == (4, 1)


def test_missing_sklearn_raises_import_error_with_install_hint(monkeypatch):
    # A None entry in sys.modules makes `import sklearn` raise ImportError.
    monkeypatch.setitem(sys.modules, "sklearn", None)
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    monkeypatch.setitem(sys.modules, "sklearn.model_selection", None)
    with pytest.raises(ImportError, match=r'pip install "chainrule\[data\]"') as info:
        load_dataset("iris")
    assert "\n" not in str(info.value)


def test_unknown_name_lists_the_valid_ones():
    with pytest.raises(ValueError, match="unknown dataset 'mnist'") as info:
        load_dataset("mnist")
    for name in ("breast_cancer", "diabetes", "digits", "iris", "seed_linear"):
        assert name in str(info.value)


@pytest.mark.parametrize("test_size", [0.0, 1.0, -0.1, 1.5])
def test_bad_test_size_raises(test_size):
    with pytest.raises(ValueError, match="load_dataset: test_size"):
        load_dataset("iris", test_size=test_size)


def test_non_string_name_raises_type_error():
    with pytest.raises(TypeError, match="load_dataset: name must be a str"):
        load_dataset(3)
