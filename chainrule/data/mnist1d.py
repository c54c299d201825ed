r"""MNIST-1D (Greydanus & Kobak), generated on this machine by the ``mnist1d`` package.

Each of the ten digits is a hand-made 1-D template of 12 points; every sample is a template
padded, translated, scaled, sheared, smoothed into correlated noise and resampled to 40
points, so telling the classes apart needs the local spatial structure a convolution sees.
``mnist1d.data.make_dataset(get_dataset_args())`` builds the paper's 5,000 sequences with the
package's default arguments (seed 42) entirely offline: it is the same
data, to rounding, as the ``mnist1d_data.pkl`` the paper's notebooks download, so nothing is
downloaded and no pickle is read. The package is the optional extra ``chainrule[data]``.

The package centres and scales the whole dataset once, :math:`x' = (x - \bar x)/s` with one
mean and one standard deviation over all 5,000 × 40 values; the paper trains on exactly these
numbers, so they are kept as they are (no per-position standardisation: that would give
every one of the 40 positions its own scale and change the paper's inputs).
"""

from __future__ import annotations

import random
from typing import NamedTuple

import numpy as np

from chainrule._optional import optional_import


class Mnist1dArrays(NamedTuple):
    """The generated split as float64 features ``(N, 40)`` and int64 labels ``(N,)``."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


# Generating transforms 5,000 templates: done once per process and kept read-only, so no
# caller can alter what the next one receives.
_CACHE: list[Mnist1dArrays] = []


def mnist1d_arrays() -> Mnist1dArrays:
    """The 4,000 training and 1,000 test sequences of the paper, generated once per process.

    Raises:
        ImportError: the ``mnist1d`` package is not installed (the message says how to
            install it).
    """
    if _CACHE:
        return _CACHE[0]
    data = optional_import("mnist1d.data", "mnist1d", "data",
                           "load_dataset: the 'mnist1d' dataset")
    # make_dataset seeds NumPy's and Python's global generators (its reproducibility):
    # the caller's random state is put back afterwards.
    numpy_state, python_state = np.random.get_state(), random.getstate()
    try:
        generated = data.make_dataset(data.get_dataset_args())
    finally:
        np.random.set_state(numpy_state)
        random.setstate(python_state)
    arrays = Mnist1dArrays(*(np.array(generated[key], dtype=dtype) for key, dtype in (
        ("x", np.float64), ("y", np.int64), ("x_test", np.float64), ("y_test", np.int64))))
    for array in arrays:
        array.flags.writeable = False
    _CACHE.append(arrays)
    return arrays
