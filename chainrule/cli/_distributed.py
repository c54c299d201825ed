"""``chainrule train --distributed``: one command run by every rank of ``mpirun -np N``.

Rank 0 alone prints (the others' standard output goes to ``os.devnull``) and saves. A rank
that fails in any way — an exception, a user error, a diverged loss, ``sys.exit`` with a
non-zero status — writes one line naming itself to standard error and ends the whole job
with ``MPI_Abort``: returning normally would leave the other ranks waiting for it in a
collective, or it waiting for them in ``MPI_Finalize``, for ever.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import traceback
from collections.abc import Callable

from chainrule import distributed
from chainrule.cli._args import PROG


def _status_and_message(exc: BaseException) -> tuple[int, str]:
    """The exit status ``chainrule`` gives ``exc`` (main.py's rules) and its one line."""
    if isinstance(exc, SystemExit):
        code = exc.code
        status = 0 if code is None else code if isinstance(code, int) else 2
        return status, "" if isinstance(code, int) or code is None else str(code)
    if isinstance(exc, KeyboardInterrupt):
        return 130, "interrupted"
    if isinstance(exc, (ValueError, OSError, ImportError)):  # the user's mistakes
        return 2, str(exc) or type(exc).__name__
    traceback.print_exception(type(exc), exc, exc.__traceback__)
    return 1, f"{type(exc).__name__}: {exc}"


def run_distributed(args: argparse.Namespace,
                    body: Callable[[argparse.Namespace, bool], int]) -> int:
    """Run ``body(args, True)`` on this rank; end every rank at once if it fails here."""
    try:
        distributed.init()
    except (RuntimeError, ImportError) as exc:  # Slurm singletons; mpi4py not installed
        raise ValueError(str(exc)) from None
    if distributed.world_size() == 1:
        return body(args, True)
    main = distributed.is_main()
    with open(os.devnull, "w") as devnull, \
            contextlib.redirect_stdout(sys.stdout if main else devnull):
        try:
            status, message = body(args, True), ""
        except BaseException as exc:  # noqa: B036 - every way out must reach the others
            status, message = _status_and_message(exc)
    if status != 0:
        where = f"rank {distributed.rank()} of {distributed.world_size()}"
        sys.stderr.write(f"{PROG}: error: {where}: {message or f'exit status {status}'}\n")
        distributed.abort(status)
    return status
