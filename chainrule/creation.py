"""Creating tensors: from data, filled with a constant, ranges, and seeded random draws."""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule._config import STATE, generator_for
from chainrule._convert import as_dtype, shape_args, to_array
from chainrule.autodiff import Traced
from chainrule.tensor import Tensor, wrap


def tensor(data: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """A new tensor holding a copy of ``data``.

    Python floats (and lists of them) become the default dtype, float32; NumPy arrays keep
    their dtype; integer data with ``requires_grad=True`` is promoted to the default float.

    >>> import chainrule as cr
    >>> cr.tensor([1.0, 2.0]).dtype, cr.tensor([1, 2]).dtype
    (dtype('float32'), dtype('int64'))
    """
    return Tensor(data, dtype=dtype, requires_grad=requires_grad)


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing memory with ``array`` (no copy; its dtype is kept)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected a numpy.ndarray, got {type(array).__name__}")
    return wrap(array)


def _new_shape(op: str, shape: tuple[Any, ...]) -> tuple[int, ...]:
    """The shape of a new tensor: ints, given as arguments or as one tuple, none negative."""
    resolved = shape_args(op, shape)
    if any(n < 0 for n in resolved):
        raise ValueError(f"{op}: negative dimension in shape {resolved}")
    return resolved


def _filled(op: str, shape: tuple[Any, ...], value: Any, dtype: Any, requires_grad: bool) -> Tensor:
    dtype = STATE.default_dtype if dtype is None else as_dtype(op, dtype)
    data = np.full(_new_shape(op, shape), value, dtype=dtype)
    return wrap(data).requires_grad_(requires_grad) if requires_grad else (
        wrap(data)
    )


def zeros(*shape: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """A tensor of zeros; ``zeros(2, 3)`` and ``zeros((2, 3))`` are the same."""
    return _filled("zeros", shape, 0, dtype, requires_grad)


def ones(*shape: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """A tensor of ones; ``ones(2, 3)`` and ``ones((2, 3))`` are the same."""
    return _filled("ones", shape, 1, dtype, requires_grad)


def full(shape: Any, value: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """A tensor of ``shape`` filled with ``value``; its dtype follows ``value`` as in
    PyTorch and NumPy (a Python int gives int64, a bool gives bool, a float the default
    float dtype) unless ``dtype`` is given."""
    if isinstance(shape, (int, np.integer)):
        shape = (shape,)
    if dtype is None:
        dtype = to_array(value, op="full", copy=False).dtype
    return _filled("full", (tuple(shape),), value, dtype, requires_grad)


def zeros_like(t: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Zeros with the shape (and dtype) of ``t``."""
    data = t.data if isinstance(t, Traced) else to_array(t, op="zeros_like", copy=False)
    return zeros(data.shape, dtype=data.dtype if dtype is None else dtype,
                 requires_grad=requires_grad)


def ones_like(t: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Ones with the shape (and dtype) of ``t``."""
    data = t.data if isinstance(t, Traced) else to_array(t, op="ones_like", copy=False)
    return ones(data.shape, dtype=data.dtype if dtype is None else dtype,
                requires_grad=requires_grad)


def arange(start: Any, stop: Any = None, step: Any = 1, dtype: Any = None,
           requires_grad: bool = False) -> Tensor:
    """Evenly spaced values in [start, stop): integers for integer arguments, else floats."""
    for name, value in (("start", start), ("stop", stop), ("step", step)):
        if value is None and name == "stop":
            continue
        if isinstance(value, bool) or np.ndim(value) != 0 or (
            np.asarray(value).dtype.kind not in "iuf"
        ):
            raise TypeError(f"arange: {name} must be a number, got {type(value).__name__}")
    if stop is None:
        start, stop = 0, start
    if step == 0:
        raise ValueError("arange: step must be nonzero")
    data = np.arange(start, stop, step)
    return Tensor(data if data.dtype.kind != "f" or dtype else data.astype(STATE.default_dtype),
                  dtype=dtype, requires_grad=requires_grad)


def linspace(start: float, stop: float, num: int = 50, dtype: Any = None,
             requires_grad: bool = False) -> Tensor:
    """``num`` evenly spaced values from ``start`` to ``stop`` inclusive."""
    if isinstance(num, bool) or not isinstance(num, (int, np.integer)) or num < 0:
        raise ValueError(f"linspace: num must be a non-negative int, got {num!r}")
    dtype = STATE.default_dtype if dtype is None else as_dtype("linspace", dtype)
    data = np.linspace(start, stop, num).astype(dtype)
    return Tensor(data, requires_grad=requires_grad)


def _random(op: str, draw: str, shape: tuple[Any, ...], seed: int | None, dtype: Any,
            requires_grad: bool) -> Tensor:
    generator = generator_for(seed)
    values = getattr(generator, draw)(_new_shape(op, shape))
    dtype = STATE.default_dtype if dtype is None else as_dtype(op, dtype)
    return Tensor(np.asarray(values, dtype=dtype), requires_grad=requires_grad)


def randn(*shape: Any, seed: int | None = None, dtype: Any = None,
          requires_grad: bool = False) -> Tensor:
    """Standard normal draws, from ``seed`` or else the default generator (``manual_seed``)."""
    return _random("randn", "standard_normal", shape, seed, dtype, requires_grad)


def rand(*shape: Any, seed: int | None = None, dtype: Any = None,
         requires_grad: bool = False) -> Tensor:
    """Uniform draws on [0, 1), from ``seed`` or else the default generator."""
    return _random("rand", "random", shape, seed, dtype, requires_grad)


def eye(n: int, m: int | None = None, dtype: Any = None, requires_grad: bool = False
        ) -> Tensor:
    """The ``n × m`` identity matrix (``m = n`` by default): ones on the diagonal."""
    for name, value in (("n", n), ("m", m)):
        if value is not None and (isinstance(value, bool) or not isinstance(
                value, (int, np.integer)) or value < 0):
            raise ValueError(f"eye: {name} must be a non-negative int, got {value!r}")
    dtype = STATE.default_dtype if dtype is None else as_dtype("eye", dtype)
    return Tensor(np.eye(n, m, dtype=dtype), requires_grad=requires_grad)


def randperm(n: int, seed: int | None = None) -> Tensor:
    """A random permutation of ``0 … n−1`` (int64), from ``seed`` or else the default
    generator (``manual_seed``)."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"randperm: n must be a non-negative int, got {n!r}")
    return wrap(generator_for(seed).permutation(int(n)).astype(np.int64))


#: dtype names, as in PyTorch (``cr.tensor(x, dtype=cr.float64)``): NumPy dtypes.
float16: np.dtype[Any] = np.dtype(np.float16)
float32: np.dtype[Any] = np.dtype(np.float32)
float64: np.dtype[Any] = np.dtype(np.float64)
int32: np.dtype[Any] = np.dtype(np.int32)
int64: np.dtype[Any] = np.dtype(np.int64)
bool_: np.dtype[Any] = np.dtype(np.bool_)
