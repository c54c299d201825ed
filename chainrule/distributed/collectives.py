r"""Collectives over the ranks: sums, broadcasts and gathers of arrays, and :func:`shard`.

Arrays travel in MPI's buffer form (``Allreduce``, ``Bcast``: the bytes of a contiguous
NumPy array, no copy into Python objects). mpi4py's lowercase methods (``allreduce``)
pickle their argument instead, about 17 times slower for a 4 KB array; they are used here
only for the few Python numbers a gather of uneven parts needs.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from chainrule._config import default_generator
from chainrule.data.shard import Shard
from chainrule.distributed._mpi import _comm, _mpi, rank, world_size
from chainrule.tensor import Tensor, wrap

_OPS = ("sum", "mean", "max", "min")


def all_reduce(array: Any, op: str = "sum") -> Any:
    r"""The elementwise reduction of ``array`` over all ranks, returned on every rank.

    ``op="sum"`` gives :math:`\sum_r a_r`; ``"mean"`` gives :math:`\frac1W\sum_r a_r`;
    ``"max"``/``"min"`` the extremes. ``array`` itself is left unchanged. A Tensor gives a
    Tensor (without a graph), anything else a NumPy array.

    Raises:
        ValueError: an unknown ``op``.

    >>> import chainrule as cr
    >>> cr.distributed.all_reduce(cr.tensor([1.0, 2.0]))  # a world of one: itself
    tensor([1., 2.])
    """
    if op not in _OPS:
        raise ValueError(f"all_reduce: op must be one of {', '.join(_OPS)}; got {op!r}")
    data = array.data if isinstance(array, Tensor) else np.asarray(array)
    result = np.ascontiguousarray(data).copy()
    if world_size() > 1:
        mpi = _mpi()
        mpi_op = {"sum": mpi.SUM, "mean": mpi.SUM, "max": mpi.MAX, "min": mpi.MIN}[op]
        _comm().Allreduce(mpi.IN_PLACE, result, op=mpi_op)
    if op == "mean":
        result = result / world_size()
    return wrap(result) if isinstance(array, Tensor) else result


def broadcast_arrays(arrays: Iterable[np.ndarray], root: int = 0) -> None:
    """Overwrite each array, in place, with rank ``root``'s: one ``Bcast`` of one flat
    buffer per dtype."""
    arrays = list(arrays)
    if world_size() == 1 or not arrays:
        return
    by_dtype: dict[np.dtype[Any], list[np.ndarray]] = {}
    for a in arrays:
        by_dtype.setdefault(a.dtype, []).append(a)
    for dtype, group in by_dtype.items():
        flat = np.concatenate([a.reshape(-1) for a in group]) if group else np.empty(0, dtype)
        _comm().Bcast(flat, root=root)
        start = 0
        for a in group:
            a[...] = flat[start:start + a.size].reshape(a.shape)
            start += a.size


def broadcast_parameters(module: Any, root: int = 0) -> None:
    """Give every rank rank ``root``'s parameters and buffers, in place (PyTorch DDP does
    this when it wraps a model): ranks that initialised differently start equal.

    Args:
        module: an :class:`~chainrule.nn.Module` (or anything with ``parameters()``).
        root: the rank whose values win.

    Raises:
        ValueError: ``root`` is not a rank of the world.
    """
    if isinstance(root, bool) or not isinstance(root, (int, np.integer)) \
            or not 0 <= root < world_size():
        raise ValueError(f"broadcast_parameters: root must be a rank in "
                         f"0..{world_size() - 1}, got {root!r}")
    tensors = list(module.parameters())
    buffers = getattr(module, "buffers", None)
    if callable(buffers):
        tensors += [b for b in buffers() if b is not None]
    broadcast_arrays((t.data for t in tensors), root=int(root))


def all_gather_rows(array: np.ndarray) -> np.ndarray:
    """Every rank's ``array`` stacked along the first axis in rank order (the parts may have
    different lengths; the trailing shape and dtype must match)."""
    array = np.ascontiguousarray(array)
    if world_size() == 1:
        return array
    comm = _comm()
    lengths = comm.allgather(int(array.shape[0]))
    out = np.empty((sum(lengths), *array.shape[1:]), dtype=array.dtype)
    row = int(np.prod(array.shape[1:], dtype=np.int64))
    counts = [n * row for n in lengths]
    comm.Allgatherv(array.reshape(-1), [out.reshape(-1), counts])
    return out


def all_gather_objects(obj: Any) -> list[Any]:
    """Every rank's ``obj`` (small Python values: pickled), in rank order."""
    if world_size() == 1:
        return [obj]
    return list(_comm().allgather(obj))


def _shared_seed(seed: int | None) -> int:
    """``seed``, or rank 0's draw from the library's generator, the same on every rank.
    Every rank draws (so that generators seeded alike stay alike), then takes rank 0's."""
    if seed is not None:
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"shard: seed must be a non-negative int or None, got {seed!r}")
        return int(seed)
    drawn = np.array([default_generator().integers(2**62)], dtype=np.int64)
    broadcast_arrays([drawn], root=0)
    return int(drawn[0])


def shard(dataset: Any, seed: int | None = None) -> Shard:
    r"""This rank's part of ``dataset``: every ``world_size()``-th sample of each epoch's
    order, starting at ``rank()`` (a :class:`~chainrule.data.shard.Shard`).

    Wrap it in a :class:`~chainrule.data.DataLoader` as the dataset itself would be. Each
    epoch's permutation is drawn from one seed every rank shares (the loader's ``seed``,
    else ``seed``, else one rank 0 draws from the generator :func:`chainrule.manual_seed`
    seeds), so the parts are disjoint and together hold every sample once; their sizes
    differ by at most one. With per-rank batches of ``b``, the ranks' ``k``-th batches
    together are the ``k``-th batch of size ``b * world_size()`` that one process's
    loader over ``dataset`` with the same seed yields.

    Unlike PyTorch's ``DistributedSampler``, nothing is repeated to even the parts out: a
    rank that runs out of batches first takes part in the remaining steps with none
    (:func:`chainrule.fit` does this), so no sample counts twice.

    Args:
        dataset: a TensorDataset, or anything with ``__len__`` and ``__getitem__``.
        seed: the shuffling seed (a non-negative int), or ``None``.

    >>> import chainrule as cr
    >>> part = cr.distributed.shard(cr.data.TensorDataset(cr.arange(5)))
    >>> len(part)  # a world of one holds everything
    5
    """
    return Shard(dataset, rank(), world_size(), _shared_seed(seed))
