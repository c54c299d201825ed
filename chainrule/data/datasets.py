r"""Small bundled datasets, split into train and test sets and standardised.

The scikit-learn datasets (``digits``, ``iris``, ``breast_cancer``, ``diabetes``) ship
inside scikit-learn itself, so nothing is downloaded; scikit-learn is the optional extra
``chainrule[data]``. ``mnist1d`` is generated on this machine by the ``mnist1d`` package
(the same extra) and keeps the paper's split and scaling (see :mod:`chainrule.data.mnist1d`).
``seed_linear`` is the textbook's four points and needs nothing.

Each feature column is standardised with the training split's statistics only,
:math:`x' = (x - \mu_{train}) / \sigma_{train}`, so no information about the test set leaks
into training (the test columns therefore have a mean close to, not exactly, 0).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule._config import get_default_dtype
from chainrule._optional import optional_import
from chainrule.data.mnist1d import mnist1d_arrays
from chainrule.tensor import Tensor, wrap

# name -> (scikit-learn loader, is classification)
_SKLEARN: dict[str, tuple[str, bool]] = {
    "breast_cancer": ("load_breast_cancer", True),
    "diabetes": ("load_diabetes", False),
    "digits": ("load_digits", True),
    "iris": ("load_iris", True),
}
DATASETS: tuple[str, ...] = tuple(sorted((*_SKLEARN, "mnist1d", "seed_linear")))
#: MNIST-1D's fixed split: 4,000 training and 1,000 test sequences.
_MNIST1D_TEST = 1000
_MNIST1D_TOTAL = 5000

Split = tuple[tuple[Tensor, Tensor], tuple[Tensor, Tensor]]


def _wrap(array: np.ndarray) -> Tensor:
    """``array`` as a contiguous Tensor with no graph (scikit-learn may hand out views)."""
    return wrap(np.ascontiguousarray(array))


def _seed_linear() -> Split:
    # The textbook's example: h(x) = θ₀ + θ₁x fits y = 2x exactly. Four points are too few
    # to hold any out, so the test set is a copy of the training set.
    x = np.array([[1.0], [2.0], [3.0], [4.0]], dtype=np.float64)
    y = 2.0 * x
    return (_wrap(x), _wrap(y)), (_wrap(x.copy()), _wrap(y.copy()))


def _mnist1d(test_size: float) -> Split:
    # The paper's split is part of the dataset: a test_size asking for another one is refused
    # rather than silently ignored (0.2 and 1000 both describe the fixed split).
    if test_size not in (_MNIST1D_TEST / _MNIST1D_TOTAL, _MNIST1D_TEST):
        raise ValueError(
            f"load_dataset: 'mnist1d' has the paper's fixed split of "
            f"{_MNIST1D_TOTAL - _MNIST1D_TEST} training and {_MNIST1D_TEST} test sequences; "
            f"test_size must be {_MNIST1D_TEST / _MNIST1D_TOTAL:g} or {_MNIST1D_TEST} (its "
            f"default), got {test_size!r}"
        )
    arrays = mnist1d_arrays()
    dtype = get_default_dtype()
    return (
        (_wrap(arrays.x_train.astype(dtype)), _wrap(arrays.y_train.copy())),
        (_wrap(arrays.x_test.astype(dtype)), _wrap(arrays.y_test.copy())),
    )


def _sklearn(name: str) -> Any:
    needed_by = f"load_dataset: the {name!r} dataset"
    return (optional_import("sklearn.datasets", "scikit-learn", "data", needed_by),
            optional_import("sklearn.model_selection", "scikit-learn", "data", needed_by))


def _check_test_size(test_size: Any) -> None:
    if isinstance(test_size, bool) or not isinstance(test_size, (int, float, np.number)):
        raise TypeError(f"load_dataset: test_size must be a float in (0, 1), got {test_size!r}")
    if isinstance(test_size, (float, np.floating)) and not 0.0 < test_size < 1.0:
        raise ValueError(f"load_dataset: test_size must be in (0, 1), got {test_size}")
    if isinstance(test_size, (int, np.integer)) and test_size < 1:
        raise ValueError(
            f"load_dataset: test_size must be a fraction in (0, 1) or a count >= 1, "
            f"got {test_size}"
        )


def _standardise(train: np.ndarray, test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean = train.mean(axis=0)
    std = train.std(axis=0)
    # Constant columns (digits' always-blank corner pixels) have σ = 0: leave them centred
    # rather than dividing by zero.
    std = np.where(std > 0, std, 1.0)
    return (train - mean) / std, (test - mean) / std


def load_dataset(name: str, test_size: float = 0.2, seed: int = 0) -> Split:
    r"""Load a small dataset as ``((X_train, y_train), (X_test, y_test))`` tensors.

    ====================  ========  ========  ================================
    name                  samples   features  target
    ====================  ========  ========  ================================
    ``"iris"``            150       4         3 classes
    ``"digits"``          1797      64        10 classes (8×8 images)
    ``"breast_cancer"``   569       30        2 classes
    ``"diabetes"``        442       10        regression
    ``"mnist1d"``         5000      40        10 classes (sequences)
    ``"seed_linear"``     4         1         regression, y = 2x
    ====================  ========  ========  ================================

    Features ``X`` have shape ``(N, features)`` and the default float dtype, standardised
    with the mean and standard deviation of the training split only. Classification
    labels ``y`` are int64 of shape ``(N,)``, the split is stratified (each class keeps its
    share in both parts). Regression targets are float columns of shape ``(N, 1)``, in
    their original units, to match the ``(N, 1)`` output of a model ending in
    ``nn.Linear(..., 1)`` (an ``(N,)`` target would silently broadcast against it).

    ``"seed_linear"`` is the textbook's x = 1, 2, 3, 4 and y = 2, 4, 6, 8 in float64,
    unstandardised (so gradient descent converges to θ₀ = 0, θ₁ = 2 as in the book). All
    four points form the training set and the test set is an identical copy: there is
    nothing to hold out; ``test_size`` and ``seed`` are ignored.

    ``"mnist1d"`` is MNIST-1D (Greydanus & Kobak) exactly as its paper trains on it:
    generated by the ``mnist1d`` package with its default arguments (on this machine, once
    per process; nothing is downloaded), 4,000 training and 1,000 test
    sequences of length 40, features ``(N, 40)`` in the default float dtype and int64
    labels. The split and the scaling are the paper's: the package centres and scales all
    5,000 sequences with one mean and one standard deviation, and that is kept (standardising
    each of the 40 positions separately would change the paper's inputs); its split is
    shuffled but not stratified (each class has 89 to 106 test sequences). ``seed`` is
    ignored (the data is the package's seed-42 draw) and ``test_size`` must describe the
    fixed split: 0.2 (the default) or 1000.

    Args:
        name: one of ``"breast_cancer"``, ``"diabetes"``, ``"digits"``, ``"iris"``,
            ``"mnist1d"``, ``"seed_linear"``.
        test_size: fraction of samples in the test split, in (0, 1) (or a count).
        seed: seed of the (deterministic) shuffle before splitting.

    Raises:
        ValueError: an unknown ``name`` (the message lists the valid ones) or a bad
            ``test_size``.
        ImportError: scikit-learn (or, for ``"mnist1d"``, the ``mnist1d`` package) is not
            installed (the message says how to install it).

    >>> import chainrule as cr
    >>> (X, y), (X_test, y_test) = cr.data.load_dataset("seed_linear")
    >>> X.shape, y.reshape(-1).tolist(), X.dtype
    ((4, 1), [2.0, 4.0, 6.0, 8.0], dtype('float64'))
    """
    if not isinstance(name, str):
        raise TypeError(f"load_dataset: name must be a str, got {type(name).__name__}")
    if name == "seed_linear":
        return _seed_linear()
    if name not in DATASETS:
        raise ValueError(
            f"load_dataset: unknown dataset {name!r}; valid names: {', '.join(DATASETS)}"
        )
    _check_test_size(test_size)
    if name == "mnist1d":
        return _mnist1d(test_size)
    datasets, model_selection = _sklearn(name)
    loader, classification = _SKLEARN[name]
    bunch = getattr(datasets, loader)()
    X = np.asarray(bunch.data, dtype=np.float64)
    y = np.asarray(bunch.target)
    try:
        X_train, X_test, y_train, y_test = model_selection.train_test_split(
            X, y, test_size=test_size, random_state=seed,
            stratify=y if classification else None,
        )
    except ValueError as exc:
        raise ValueError(f"load_dataset: cannot split {name!r}: {exc}") from None
    X_train, X_test = _standardise(X_train, X_test)
    dtype = get_default_dtype()
    if classification:
        y_train, y_test = y_train.astype(np.int64), y_test.astype(np.int64)
    else:
        y_train = y_train.astype(dtype).reshape(-1, 1)
        y_test = y_test.astype(dtype).reshape(-1, 1)
    return (
        (_wrap(X_train.astype(dtype)), _wrap(y_train)),
        (_wrap(X_test.astype(dtype)), _wrap(y_test)),
    )
