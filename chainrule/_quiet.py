"""IEEE arithmetic without NumPy's floating-point warnings, cheaply.

Overflow to ±inf, 0/0 = nan and log 0 = −inf are the right IEEE answers and PyTorch gives
them silently; NumPy warns. ``np.errstate`` silences it but costs about as much to enter
as a small ufunc costs to run, and the engine silences one ufunc call per recorded exp,
log, pow, division and sigmoid. :func:`quiet` does what ``errstate`` does in NumPy 2 — set
the context variable holding the error state, restore it after the call — at a small
fraction of the cost (figures in docs/benchmarks.md). That variable is private to NumPy,
so where it is missing (NumPy 1.x) ``quiet`` falls back to ``np.errstate``.
"""

from __future__ import annotations

import contextvars
import functools
import threading
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

import numpy as np

# NumPy's error-state variable, or None where NumPy has none (1.x). Bound to a name of our
# own: NumPy's stubs declare theirs Final, so the fallback could not rebind it.
_errstate: ContextVar[Any] | None
try:  # NumPy ≥ 2: errstate sets this context variable
    from numpy._core.umath import _extobj_contextvar, _make_extobj

    _errstate = _extobj_contextvar
    _IGNORE: Any = _make_extobj(all="ignore")
except ImportError:  # pragma: no cover - NumPy 1.x
    _errstate = None


def quiet(func: Callable[..., Any]) -> Callable[..., Any]:
    """``func`` with every floating-point warning silenced while it runs; the caller's
    error state (``np.seterr``, an enclosing ``np.errstate``) is restored afterwards.

    >>> import numpy as np
    >>> quiet(np.divide)(np.float64(1.0), 0.0)
    np.float64(inf)
    """
    if _errstate is None:  # pragma: no cover - NumPy 1.x

        @functools.wraps(func)
        def fallback(*args: Any, **kwargs: Any) -> Any:
            with np.errstate(all="ignore"):
                return func(*args, **kwargs)

        return fallback

    set_state, reset = _errstate.set, _errstate.reset

    def quieted(*args: Any, **kwargs: Any) -> Any:
        token = set_state(_IGNORE)
        try:
            return func(*args, **kwargs)
        finally:
            reset(token)

    quieted.__name__ = quieted.__qualname__ = getattr(func, "__name__", "quieted")
    quieted.__doc__ = getattr(func, "__doc__", None)
    return quieted


# Each thread's own context in which the error state is "ignore" (``THREAD.run`` is its
# ``run``): entering it costs less than setting and resetting the state around every call
# (a Context can be entered by one thread at a time, hence one per thread).
THREAD = threading.local()

#: The error state now, and the quiet one: the engine compares them inline.
current_state: Callable[[], Any] = (_errstate.get if _errstate is not None
                                    else lambda: None)
QUIET_STATE: Any = _IGNORE if _errstate is not None else object()


def quiet_runner() -> Callable[..., Any] | None:
    """``run(func, *args)`` calling ``func`` with floating-point warnings silenced, or
    ``None`` when they already are (inside another quiet call, or a quiet backward pass):
    the engine's way of running every forward function.

    >>> import numpy as np
    >>> run = quiet_runner()
    >>> run(np.divide, 1.0, 0.0) if run else np.divide(1.0, 0.0)
    np.float64(inf)
    """
    if _errstate is None:  # pragma: no cover - NumPy 1.x
        return quiet(lambda func, *args, **kwargs: func(*args, **kwargs))
    if _errstate.get() is _IGNORE:
        return None
    try:
        return THREAD.run
    except AttributeError:
        context = contextvars.copy_context()
        context.run(_errstate.set, _IGNORE)
        THREAD.run = context.run
        return context.run
