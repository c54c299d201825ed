"""Global settings: the default floating dtype, grad mode and the default generator.

Everything here is process-wide state that the rest of the library reads; nothing
here does any math.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar, cast

import numpy as np

_F = TypeVar("_F", bound=Callable[..., Any])

_FLOAT_DTYPES = (np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64))


class _State:
    __slots__ = ("default_dtype", "grad_enabled", "generator", "inplace_clock", "capture")

    default_dtype: np.dtype
    grad_enabled: bool
    generator: np.random.Generator
    #: How many in-place changes have happened so far: a Node remembers the count at its
    #: recording, so backward knows whether anything it saved can have changed since.
    inplace_clock: int
    #: The recorder of a function being captured by ``cr.compile`` (``None``: none is):
    #: the engine hands it every operation (see chainrule/compiler).
    capture: Any

    def __init__(self) -> None:
        self.default_dtype = np.dtype(np.float32)
        self.grad_enabled = True
        self.generator = np.random.default_rng()
        self.inplace_clock = 0
        self.capture = None


STATE = _State()


def set_default_dtype(dtype: Any) -> None:
    """Set the floating dtype used for Python floats and for promoted integer data.

    Args:
        dtype: ``"float32"``, ``"float64"`` (or ``"float16"``), as a string or NumPy dtype.

    Raises:
        TypeError: ``dtype`` is not a floating dtype.

    >>> import chainrule as cr
    >>> cr.set_default_dtype("float64"); cr.tensor(1.5).dtype
    dtype('float64')
    >>> cr.set_default_dtype("float32")
    """
    try:
        resolved = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"set_default_dtype: {dtype!r} is not a NumPy dtype") from None
    if resolved not in _FLOAT_DTYPES:
        raise TypeError(
            f"set_default_dtype: expected a floating dtype (float16, float32, float64), "
            f"got {resolved}"
        )
    STATE.default_dtype = resolved


def get_default_dtype() -> np.dtype:
    """The current default floating dtype (``float32`` unless changed)."""
    return STATE.default_dtype


def is_grad_enabled() -> bool:
    """Whether operations are currently recorded for backpropagation."""
    return STATE.grad_enabled


class _GradMode:
    """Context manager and decorator that sets grad mode, restoring it on exit."""

    _enabled: bool
    _previous: bool

    def __enter__(self) -> None:
        self._previous = STATE.grad_enabled
        STATE.grad_enabled = self._enabled

    def __exit__(self, *exc: object) -> None:
        STATE.grad_enabled = self._previous

    def __call__(self, func: _F) -> _F:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with type(self)():
                return func(*args, **kwargs)

        # functools.wraps keeps the signature for readers; the checkers need telling.
        return cast(_F, wrapper)


class no_grad(_GradMode):
    """Record nothing inside the block: results have no graph and ``requires_grad=False``.

    >>> import chainrule as cr
    >>> x = cr.tensor([1.0, 2.0], requires_grad=True)
    >>> with cr.no_grad():
    ...     y = x * 2
    >>> y.requires_grad
    False
    """

    _enabled = False


class enable_grad(_GradMode):
    """Turn recording back on inside a ``no_grad`` block."""

    _enabled = True


def manual_seed(seed: int) -> np.random.Generator:
    """Seed the library's default generator (layer initialisation, Dropout, randn/rand,
    DataLoader shuffling without ``seed=``). Same seed, same run, bit for bit.

    Returns:
        The new default :class:`numpy.random.Generator`.
    """
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise TypeError(f"manual_seed: expected an int seed, got {type(seed).__name__}")
    STATE.generator = np.random.default_rng(int(seed))
    return STATE.generator


def default_generator() -> np.random.Generator:
    """The generator that :func:`manual_seed` seeds."""
    return STATE.generator


def generator_for(seed: int | None) -> np.random.Generator:
    """A fresh generator for an explicit ``seed``, or the default one when ``seed`` is None."""
    if seed is None:
        return STATE.generator
    return np.random.default_rng(seed)
