r"""Data-parallel training on MPI (mpi4py, the extra ``chainrule[mpi]``).

Every rank holds the whole model and a disjoint part of the data (:func:`shard`); after
each backward pass the ranks average their gradients, weighted by sample count
(:func:`average_gradients`), so every rank takes the same step, and N ranks compute what
one process computes on the union of their batches. ``cr.fit(..., distributed=True)`` and
``mpirun -np N chainrule train --distributed ...`` do it all; docs/distributed.md says how
to launch, what it costs and where it stops scaling.

``_mpi.py`` (starting MPI, ranks, failing fast), ``collectives.py`` (sums, broadcasts,
gathers, :func:`shard`), ``gradients.py`` (the gradient arena and its one ``Allreduce``).
Importing this package does not import mpi4py: the first call that needs MPI does.
"""

from chainrule.distributed._mpi import abort, init, is_main, rank, world_size
from chainrule.distributed.collectives import all_reduce, broadcast_parameters, shard
from chainrule.distributed.gradients import average_gradients

__all__ = [
    "abort", "all_reduce", "average_gradients", "broadcast_parameters", "init", "is_main",
    "rank", "shard", "world_size",
]
