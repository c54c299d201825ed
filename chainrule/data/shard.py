r"""One rank's part of a dataset for data-parallel training: :class:`Shard`.

With :math:`W` ranks, rank :math:`r` takes every :math:`W`-th sample of each epoch's order
:math:`\pi` (a permutation of :math:`0..n-1`, the same on every rank):
:math:`\pi_r, \pi_{r+W}, \pi_{r+2W}, \dots`. The parts are disjoint and cover the dataset;
their sizes :math:`\lceil (n - r) / W \rceil` differ by at most one.

Strided parts make the union of the ranks' :math:`k`-th batches of size :math:`b` exactly
the one-process :math:`k`-th batch of size :math:`Wb` over the same order:
:math:`\{\pi_{r + Wj} : kb \le j < (k+1)b,\ 0 \le r < W\} = \{\pi_i : kWb \le i < (k+1)Wb\}`.
So a :class:`~chainrule.data.DataLoader` over a Shard (which draws :math:`\pi` from the
Shard's seed, or the loader's) on :math:`W` ranks sees, step for step, the batches one
process sees with ``batch_size * W``.

This module knows nothing of MPI: :func:`chainrule.distributed.shard` makes a Shard for
the calling rank, with a seed every rank shares.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def _check_int(name: str, value: Any, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"Shard: {name} must be an int, got {value!r}")
    if value < low:
        raise ValueError(f"Shard: {name} must be >= {low}, got {value}")
    return int(value)


class Shard:
    r"""Rank ``rank``'s strided part of ``dataset`` among ``world_size`` ranks.

    Indexed on its own (``shard[i]``), a Shard is the part of the unshuffled order:
    ``shard[i] == dataset[rank + i * world_size]``. A :class:`~chainrule.data.DataLoader`
    over it takes the part of each epoch's order instead: with ``shuffle=True`` it draws
    one permutation of all ``len(dataset)`` samples per epoch from a generator seeded by
    its own ``seed``, else by the Shard's ``seed`` — the same on every rank, so the parts
    stay disjoint.

    Args:
        dataset: anything with ``__len__`` and ``__getitem__`` (a TensorDataset…).
        rank: this part's index, ``0 <= rank < world_size``.
        world_size: the number of parts.
        seed: the shuffling seed the ranks share (a non-negative int).

    >>> import chainrule as cr
    >>> ds = cr.data.TensorDataset(cr.arange(10))
    >>> part = Shard(ds, rank=1, world_size=3, seed=0)
    >>> len(part), [part[i][0].item() for i in range(len(part))]
    (3, [1, 4, 7])
    >>> [b[0].tolist() for b in cr.data.DataLoader(part, batch_size=2)]
    [[1, 4], [7]]
    """

    def __init__(self, dataset: Any, rank: int, world_size: int, seed: int = 0) -> None:
        if not (hasattr(dataset, "__len__") and hasattr(dataset, "__getitem__")):
            raise TypeError(
                f"Shard: dataset must support len() and indexing (e.g. a TensorDataset), "
                f"got {type(dataset).__name__}"
            )
        self.world_size: int = _check_int("world_size", world_size, 1)
        self.rank: int = _check_int("rank", rank, 0)
        if self.rank >= self.world_size:
            raise ValueError(f"Shard: rank must be < world_size = {world_size}, got {rank}")
        self.seed: int = _check_int("seed", seed, 0)
        self.dataset: Any = dataset

    def __len__(self) -> int:
        return len(range(self.rank, len(self.dataset), self.world_size))

    def part(self, order: np.ndarray) -> np.ndarray:
        """This rank's strided part of ``order`` (an epoch's order of all the samples)."""
        return order[self.rank::self.world_size]

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, (list, np.ndarray)):
            return self.dataset[[self.rank + int(i) * self.world_size for i in index]]
        i = int(index)
        if not -len(self) <= i < len(self):
            raise IndexError(f"Shard: index {i} is out of range for {len(self)} samples")
        return self.dataset[self.rank + (i % len(self)) * self.world_size]

    def __repr__(self) -> str:
        return (f"Shard({self.dataset!r}, rank={self.rank}, world_size={self.world_size}, "
                f"{len(self)} of {len(self.dataset)} samples)")
