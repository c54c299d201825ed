r"""Synthetic sequence tasks: digit sequences and a target sequence computed from each,
the classic first problems for attention (a model must learn *where* to look).

``"reverse"``: y = x read backwards, so output position i needs input position L−1−i;
``"sort"``: y = x in ascending order, so each output depends on every input. Generated
here from ``seed`` (nothing downloaded), with no sequence in both the training and the
test set, so test accuracy measures generalisation rather than memory.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule.tensor import Tensor, wrap

__all__ = ["TASKS", "digit_sequences"]

TASKS: tuple[str, ...] = ("reverse", "sort")

Split = tuple[tuple[Tensor, Tensor], tuple[Tensor, Tensor]]


def _count(name: str, value: Any, least: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < least:
        raise ValueError(f"digit_sequences: {name} must be an int >= {least}, got {value!r}")
    return int(value)


def _targets(task: str, x: np.ndarray) -> np.ndarray:
    if task == "reverse":
        return np.ascontiguousarray(x[:, ::-1])
    return np.sort(x, axis=1)


def digit_sequences(task: str = "reverse", n_train: int = 10_000, n_test: int = 1_000,
                    length: int = 8, digits: int = 10, seed: int = 0) -> Split:
    r"""Random sequences of ``length`` digits in ``0 … digits−1`` and their targets, as
    ``((X_train, Y_train), (X_test, Y_test))``, int64 tensors of shape ``(n, length)``.

    The ``n_train + n_test`` sequences are distinct (drawn without replacement from all
    :math:`\text{digits}^{\text{length}}` of them), so no test sequence was seen in
    training. The same arguments give the same arrays.

    Args:
        task: ``"reverse"`` (Y is X backwards) or ``"sort"`` (Y is X sorted).
        n_train, n_test: how many sequences in each split.
        length: digits per sequence.
        digits: the alphabet's size (2 to 10 … any int ≥ 2).
        seed: seed of the draw.

    Raises:
        ValueError: an unknown task, a size below its minimum, or more sequences asked
            for than there are distinct ones.

    >>> import chainrule as cr
    >>> (X, Y), (X_test, Y_test) = cr.data.digit_sequences(n_train=4, n_test=2, length=5)
    >>> X.shape, Y.shape, X_test.shape
    ((4, 5), (4, 5), (2, 5))
    >>> (Y.numpy() == X.numpy()[:, ::-1]).all()
    np.True_
    """
    if task not in TASKS:
        raise ValueError(f"digit_sequences: unknown task {task!r} (choose from "
                         f"{', '.join(TASKS)})")
    n_train = _count("n_train", n_train, 1)
    n_test = _count("n_test", n_test, 0)
    length = _count("length", length, 1)
    digits = _count("digits", digits, 2)
    if length * np.log2(digits) > 62:
        raise ValueError(f"digit_sequences: {digits}^{length} sequences are too many to draw "
                         "from (at most 2^62); use shorter sequences")
    population = digits ** length
    total = n_train + n_test
    if total > population:
        raise ValueError(f"digit_sequences: asked for {total} distinct sequences, but only "
                         f"{population} of length {length} over {digits} digits exist")
    codes = np.random.default_rng(seed).choice(population, size=total, replace=False)
    # code → its base-`digits` numerals, most significant first
    powers = digits ** np.arange(length - 1, -1, -1, dtype=np.int64)
    x = (codes[:, None] // powers) % digits
    x = x.astype(np.int64)
    y = _targets(task, x)
    return ((wrap(x[:n_train].copy()), wrap(y[:n_train].copy())),
            (wrap(x[n_train:].copy()), wrap(y[n_train:].copy())))
