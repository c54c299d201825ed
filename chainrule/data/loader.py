r"""Datasets and mini-batches: :class:`TensorDataset` and :class:`DataLoader`.

Mini-batch gradient descent replaces the full gradient
:math:`\nabla_\theta J = \frac{1}{m}\sum_{i=1}^m \nabla_\theta \ell_i` by the average over a
batch :math:`B` of size :math:`b`: :math:`\frac{1}{b}\sum_{i \in B} \nabla_\theta \ell_i`,
an unbiased estimate when :math:`B` is drawn uniformly, which is what shuffling does.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from chainrule._config import default_generator
from chainrule._convert import to_array
from chainrule.autodiff import Traced
from chainrule.data.shard import Shard
from chainrule.data.split import Subset
from chainrule.errors import shape_str
from chainrule.tensor import Tensor, wrap


def _as_tensor(value: Any) -> Tensor:
    """A Tensor sharing ``value``'s array when it is already a Tensor or an ndarray."""
    if isinstance(value, Tensor):
        return value
    if isinstance(value, np.ndarray):
        return wrap(value)
    return wrap(to_array(value, op="TensorDataset"))


class TensorDataset:
    r"""Samples made of matching rows of several tensors: sample ``i`` is ``(t[i] for t)``.

    Args:
        *tensors: Tensors (or arrays, or nested lists) that all have the same length along
            their first axis, e.g. features ``X`` of shape ``(N, d)`` and targets ``y`` of
            shape ``(N,)``.

    Raises:
        ValueError: no tensors, a 0-d tensor, or first dimensions that differ.

    >>> import chainrule as cr
    >>> ds = cr.data.TensorDataset(cr.tensor([[1.0], [2.0], [3.0]]), cr.tensor([2.0, 4.0, 6.0]))
    >>> len(ds), ds[1]
    (3, (tensor([2.]), tensor(4.)))
    """

    def __init__(self, *tensors: Any) -> None:
        if not tensors:
            raise ValueError("TensorDataset: expected at least one tensor")
        converted = tuple(_as_tensor(t) for t in tensors)
        for i, t in enumerate(converted):
            if t.ndim == 0:
                raise ValueError(
                    f"TensorDataset: tensor {i} is 0-d; each tensor needs a first axis that "
                    "indexes the samples"
                )
        lengths = [t.shape[0] for t in converted]
        if len(set(lengths)) != 1:
            shapes = ", ".join(shape_str(t.shape) for t in converted)
            raise ValueError(
                f"TensorDataset: size mismatch between tensors (first dimensions "
                f"{lengths}; shapes {shapes})"
            )
        self.tensors: tuple[Tensor, ...] = converted

    def __len__(self) -> int:
        return self.tensors[0].shape[0]

    def __getitem__(self, index: Any) -> tuple[Tensor, ...]:
        return self.gather(index if isinstance(index, slice) else np.asarray(index))

    def gather(self, indices: Any) -> tuple[Tensor, ...]:
        """The samples at ``indices`` in one fancy-indexing step per tensor (no graph)."""
        return tuple(wrap(t.data[indices]) for t in self.tensors)

    def __repr__(self) -> str:
        shapes = ", ".join(shape_str(t.shape) for t in self.tensors)
        return f"TensorDataset({shapes})"


def _collate(samples: list[Any]) -> Tensor | tuple[Any, ...]:
    """Stack per-sample items along a new first axis: tuples field by field."""
    first = samples[0]
    if isinstance(first, (tuple, list)):
        return tuple(_collate([s[k] for s in samples]) for k in range(len(first)))
    arrays = [s.data if isinstance(s, Traced) else np.asarray(s) for s in samples]
    return wrap(np.stack(arrays))


def _gathers(dataset: Any) -> bool:
    """Whether ``dataset`` hands out a batch in one fancy-indexing step: a TensorDataset,
    or Subsets of one."""
    if isinstance(dataset, Subset):
        return _gathers(dataset.dataset)
    return isinstance(dataset, TensorDataset)


def _check_flag(name: str, value: Any) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"DataLoader: {name} must be a bool, got {value!r}")
    return bool(value)


class DataLoader:
    r"""Iterate over a dataset in mini-batches, optionally reshuffled every epoch.

    With ``shuffle=True`` each pass (each ``for batch in loader``) draws a fresh random
    permutation of the sample indices. With ``seed`` the permutations come from a
    :class:`numpy.random.Generator` created once from ``seed``, so the sequence of epochs
    is the same on every run; without ``seed`` they come from the library's default
    generator, which :func:`chainrule.manual_seed` seeds.

    Args:
        dataset: a :class:`TensorDataset` (or a :class:`Subset` of one, e.g. from
            :func:`random_split`), or any object with ``__len__`` and
            ``__getitem__(i)`` returning a sample (a tuple of tensors/arrays/numbers, or a
            single one). Over a :class:`~chainrule.data.shard.Shard` (from
            :func:`chainrule.distributed.shard`) each epoch's order is this rank's strided
            part of one permutation of all the samples, drawn from ``seed`` or else the
            Shard's seed, which every rank shares.
        batch_size: samples per batch (the last batch may be smaller).
        shuffle: reshuffle the order every epoch.
        seed: a non-negative int seed for the shuffling generator, or ``None``.
        drop_last: drop the last batch when it has fewer than ``batch_size`` samples.

    Returns (when iterated):
        For a :class:`TensorDataset` (or Subsets of one), tuples of Tensors of
        ``batch_size`` rows gathered by fancy indexing (no per-sample Python loop, no
        graph). For other datasets, samples stacked along a new first axis: a tuple of
        Tensors when samples are tuples, else a Tensor.

    Raises:
        TypeError: a dataset without ``__len__``/``__getitem__``, or a non-int/non-bool
            argument.
        ValueError: ``batch_size < 1`` or a negative ``seed``.

    >>> import chainrule as cr
    >>> ds = cr.data.TensorDataset(cr.arange(5))
    >>> [b[0].tolist() for b in cr.data.DataLoader(ds, batch_size=2)]
    [[0, 1], [2, 3], [4]]
    >>> len(cr.data.DataLoader(ds, batch_size=2, drop_last=True))
    2
    """

    def __init__(self, dataset: Any, batch_size: int = 1, shuffle: bool = False,
                 seed: int | None = None, drop_last: bool = False) -> None:
        if not (hasattr(dataset, "__len__") and hasattr(dataset, "__getitem__")):
            raise TypeError(
                f"DataLoader: dataset must support len() and indexing (e.g. a TensorDataset), "
                f"got {type(dataset).__name__}"
            )
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)):
            raise TypeError(f"DataLoader: batch_size must be an int, got {batch_size!r}")
        if batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be at least 1, got {batch_size}")
        if seed is not None:
            if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
                raise TypeError(f"DataLoader: seed must be an int or None, got {seed!r}")
            if seed < 0:
                raise ValueError(f"DataLoader: seed must be non-negative, got {seed}")
        self.dataset: Any = dataset
        self.batch_size: int = int(batch_size)
        self.shuffle: bool = _check_flag("shuffle", shuffle)
        self.drop_last: bool = _check_flag("drop_last", drop_last)
        self.seed: int | None = seed
        # Created once, so successive epochs continue one reproducible stream.
        self._generator: np.random.Generator | None = (
            None if seed is None else np.random.default_rng(int(seed)))
        if isinstance(dataset, Shard) and seed is None:
            # every rank must draw the same permutation: the Shard's seed is shared
            self._generator = np.random.default_rng(dataset.seed)

    def __len__(self) -> int:
        n = len(self.dataset)
        if self.drop_last:
            return n // self.batch_size
        return -(-n // self.batch_size)

    def _order(self) -> np.ndarray:
        if isinstance(self.dataset, Shard):  # this rank's part of the order of all samples
            return self.dataset.part(self._permutation(len(self.dataset.dataset)))
        return self._permutation(len(self.dataset))

    def _permutation(self, n: int) -> np.ndarray:
        if not self.shuffle:
            return np.arange(n)
        # Read the default generator now, not at construction: manual_seed may replace it.
        generator = self._generator if self._generator is not None else default_generator()
        return generator.permutation(n)

    def _fetch(self, indices: np.ndarray) -> Any:
        # a Shard's order holds indices into the whole dataset
        source = self.dataset.dataset if isinstance(self.dataset, Shard) else self.dataset
        if _gathers(source):
            return source.gather(indices)
        return _collate([source[int(i)] for i in indices])

    def __iter__(self) -> Iterator[Any]:
        order = self._order()
        stop = len(self) * self.batch_size if self.drop_last else len(order)
        for start in range(0, stop, self.batch_size):
            yield self._fetch(order[start:start + self.batch_size])

    def __repr__(self) -> str:
        return (
            f"DataLoader({self.dataset!r}, batch_size={self.batch_size}, "
            f"shuffle={self.shuffle}, seed={self.seed}, drop_last={self.drop_last})"
        )
