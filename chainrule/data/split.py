r"""Splitting a dataset: :class:`Subset` and :func:`random_split`, PyTorch's
``torch.utils.data`` rules (counts or fractions, remainders dealt round-robin), drawn from
chainrule's generators (``seed=``, or ``cr.manual_seed`` when it is ``None``)."""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from chainrule._config import generator_for

__all__ = ["Subset", "random_split"]


class Subset:
    r"""The samples of ``dataset`` at ``indices``, in that order: ``subset[i]`` is
    ``dataset[indices[i]]``.

    Args:
        dataset: anything with ``__len__`` and ``__getitem__`` (a :class:`TensorDataset`,
            another Subset, …).
        indices: a sequence of ints.

    A :class:`DataLoader` over a Subset of a :class:`TensorDataset` gathers each batch in
    one fancy-indexing step, as over the dataset itself.

    >>> import chainrule as cr
    >>> ds = cr.data.TensorDataset(cr.arange(10) * 10)
    >>> part = cr.data.Subset(ds, [7, 2])
    >>> len(part), part[0][0].item()
    (2, 70)
    """

    def __init__(self, dataset: Any, indices: Sequence[int]) -> None:
        self.dataset: Any = dataset
        self.indices: list[int] = [int(i) for i in indices]
        self._index = np.asarray(self.indices, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, (list, np.ndarray)):
            return self.dataset[[self.indices[int(i)] for i in index]]
        return self.dataset[self.indices[index]]

    def gather(self, indices: Any) -> Any:
        """The samples at ``indices`` in one step when the dataset can gather (no graph)."""
        gather = getattr(self.dataset, "gather", None)
        if gather is None:
            raise TypeError(f"Subset.gather: {type(self.dataset).__name__} cannot gather")
        return gather(self._index[indices])

    def __repr__(self) -> str:
        return f"Subset({self.dataset!r}, {len(self)} samples)"


def _lengths(n: int, lengths: Sequence[Any]) -> list[int]:
    """Counts that add up to ``n``, from counts or from fractions (PyTorch's rule)."""
    if isinstance(lengths, (str, bytes)) or not isinstance(lengths, (Sequence, np.ndarray)):
        raise TypeError(f"random_split: lengths must be a list of counts or fractions, got "
                        f"{type(lengths).__name__}")
    values = list(lengths)
    for i, value in enumerate(values):
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer,
                                                             np.floating)):
            raise TypeError(f"random_split: lengths[{i}] must be a number, got {value!r}")
    total = sum(values)
    if values and math.isclose(total, 1) and total <= 1:
        counts = []
        for i, fraction in enumerate(values):
            if not 0 <= fraction <= 1:
                raise ValueError(f"random_split: fraction at index {i} is not between 0 and "
                                 f"1, got {fraction!r}")
            counts.append(math.floor(n * fraction))
        for i in range(n - sum(counts)):  # the remainder, one each, round-robin
            counts[i % len(counts)] += 1
        for i, count in enumerate(counts):
            if count == 0:
                warnings.warn(f"random_split: length of split at index {i} is 0; this might "
                              f"result in an empty dataset.", UserWarning, stacklevel=3)
        return counts
    if any(v != int(v) for v in values) and all(0 <= v <= 1 for v in values):
        raise ValueError(f"random_split: the fractions add up to {total:g}, not 1 (give "
                         f"fractions that add up to 1, or counts that add up to {n})")
    for i, value in enumerate(values):
        if value != int(value) or value < 0:
            raise ValueError(f"random_split: lengths[{i}] must be a count >= 0 (or all "
                             f"lengths fractions that add up to 1), got {value!r}")
    if total != n:
        raise ValueError(f"random_split: the lengths add up to {total:g}, but the dataset has "
                         f"{n} samples (give counts that add up to {n}, or fractions that "
                         f"add up to 1)")
    return [int(v) for v in values]


def random_split(dataset: Any, lengths: Sequence[int | float], seed: int | None = None
                 ) -> list[Subset]:
    r"""Split ``dataset`` at random into non-overlapping :class:`Subset`\ s.

    Args:
        dataset: anything with ``__len__`` and ``__getitem__``.
        lengths: counts that add up to ``len(dataset)``, or fractions that add up to 1:
            each fraction :math:`f` gets :math:`\lfloor f\,n \rfloor` samples and the
            remaining ones go one each to the splits in turn, from the first (PyTorch's
            rule, so ``[0.8, 0.2]`` of 10 samples is 8 and 2).
        seed: an int for a reproducible split, or ``None`` to draw from the library's
            generator (:func:`chainrule.manual_seed`).

    Returns:
        One Subset per length; together they hold every index exactly once.

    Raises:
        TypeError: lengths that are not numbers, or a ``seed`` that is not an int.
        ValueError: counts that do not add up to the dataset's size, a negative or
            fractional count, a fraction outside [0, 1], or a negative ``seed``.

    >>> import chainrule as cr
    >>> ds = cr.data.TensorDataset(cr.arange(10))
    >>> train, test = cr.data.random_split(ds, [0.8, 0.2], seed=0)
    >>> len(train), len(test)
    (8, 2)
    >>> sorted(train.indices + test.indices) == list(range(10))
    True
    """
    if not (hasattr(dataset, "__len__") and hasattr(dataset, "__getitem__")):
        raise TypeError(f"random_split: dataset must support len() and indexing (e.g. a "
                        f"TensorDataset), got {type(dataset).__name__}")
    if seed is not None:
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
            raise TypeError(f"random_split: seed must be an int or None, got {seed!r}")
        if seed < 0:
            raise ValueError(f"random_split: seed must be non-negative, got {seed}")
    counts = _lengths(len(dataset), lengths)
    order = generator_for(seed).permutation(sum(counts)).tolist()
    offsets = np.cumsum([0, *counts]).tolist()
    return [Subset(dataset, order[start:stop]) for start, stop in zip(offsets, offsets[1:])]
