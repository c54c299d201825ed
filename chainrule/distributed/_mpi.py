r"""The MPI world: starting it, who this process is in it, and ending it fast on a failure.

mpi4py (the optional extra ``chainrule[mpi]``) is imported on the first call that needs it,
never by ``import chainrule``: importing ``mpi4py.MPI`` initialises MPI. Started by
``mpirun -np N``, the processes form one world of ``N`` ranks; started alone, a process is
a world of one, where every collective is the identity.

Fail-fast. A rank that dies while the others wait in a collective would leave them waiting
for ever: MPI has no timeout. A rank killed by a signal is seen by ``mpirun``, which ends
the job. A rank that raises is handled here: :func:`init` installs a ``sys.excepthook``
that prints the traceback, then one line naming the rank and the error, then calls
``MPI_Abort``, which makes ``mpirun`` end every rank with a non-zero status. (A rank that
calls ``sys.exit`` with a non-zero status is not an exception Python hands to the hook;
:func:`abort` ends the job instead, and ``chainrule train --distributed`` does so itself.)
"""

from __future__ import annotations

import os
import sys
import traceback
from types import TracebackType
from typing import Any

from chainrule._optional import optional_import

_STATE: dict[str, Any] = {"comm": None, "hooked": False}


def _mpi() -> Any:
    """The ``mpi4py.MPI`` module (importing it initialises MPI), or the extra's hint."""
    return optional_import("mpi4py.MPI", "mpi4py", "mpi", "chainrule.distributed")


def _slurm_tasks() -> int:
    """The tasks Slurm launched this step with (0 when not started by ``srun``)."""
    if "SLURM_PROCID" not in os.environ:
        return 0
    for name in ("SLURM_STEP_NUM_TASKS", "SLURM_NTASKS", "SLURM_NPROCS"):
        value = os.environ.get(name, "").strip()
        if value.isdigit():
            return int(value)
    return 0


def _refuse_singletons(size: int) -> None:
    """Under ``srun`` without PMIx, Open MPI 5 starts every task as its own world of one:
    N copies of the whole training instead of one training on N ranks. Refuse it."""
    tasks = _slurm_tasks()
    if size == 1 and tasks > 1:
        raise RuntimeError(
            f"chainrule.distributed: Slurm started {tasks} tasks but MPI sees a world of 1 "
            "(each task would train alone); launch with 'srun --mpi=pmix ...' (see "
            "'srun --mpi=list') or with mpirun inside the allocation"
        )


def _fail_fast(kind: type[BaseException], value: BaseException,
               tb: TracebackType | None) -> None:
    """``sys.excepthook`` for ranks of a world of several: report, then abort them all."""
    traceback.print_exception(kind, value, tb)
    if issubclass(kind, KeyboardInterrupt):
        abort(130)
    abort(1, f"{kind.__name__}: {value}")


def init() -> None:
    """Start MPI (once; later calls do nothing) and, in a world of several ranks, make an
    uncaught exception on any rank end the whole job (see the module's docstring).

    Raises:
        ModuleNotFoundError: mpi4py is not installed (``pip install "chainrule[mpi]"``).
        RuntimeError: Slurm launched several tasks that MPI sees as separate worlds of one.
    """
    if _STATE["comm"] is not None:
        return
    comm = _mpi().COMM_WORLD
    _refuse_singletons(comm.Get_size())
    _STATE["comm"] = comm
    if comm.Get_size() > 1 and not _STATE["hooked"]:
        sys.excepthook = _fail_fast
        _STATE["hooked"] = True


def _comm() -> Any:
    """``MPI.COMM_WORLD``, starting MPI on first use."""
    init()
    return _STATE["comm"]


def rank() -> int:
    """This process's rank, ``0 <= rank() < world_size()`` (starts MPI on first use)."""
    return int(_comm().Get_rank())


def world_size() -> int:
    """The number of processes training together (1 when not started by ``mpirun``)."""
    return int(_comm().Get_size())


def is_main() -> bool:
    """Whether this is rank 0, the one that prints, shows progress and saves."""
    return rank() == 0


def abort(status: int = 1, message: str | None = None) -> None:
    """End every rank of the job now with ``status`` (``MPI_Abort``), after writing
    ``message`` as one line naming this rank to standard error.

    Use it where a rank would otherwise leave alone (``sys.exit(status)`` on one rank
    waits for the others at MPI's exit, and they wait for it). In a world of one it exits
    the process with ``status``.
    """
    comm = _STATE["comm"]
    size = 1 if comm is None else comm.Get_size()
    if message is not None:
        where = f"rank {comm.Get_rank()} of {size}" if comm is not None else "rank 0 of 1"
        sys.stderr.write(f"chainrule.distributed: {where} failed: {message}\n")
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    if size > 1:
        comm.Abort(int(status) or 1)
    os._exit(int(status))
