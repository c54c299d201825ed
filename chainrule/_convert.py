"""User input to arrays: numbers, nested lists, NumPy arrays, dtypes, shapes and index
parts, converted once at the boundary so that errors name the operation and nothing
below has to guess what it was given."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np

from chainrule._config import STATE
from chainrule.autodiff import Traced

# The operand types used as they are; tested by identity first because operators see
# them on nearly every call.
PLAIN_OPERANDS = frozenset({np.ndarray, bool, int, float})


def as_dtype(op: str, dtype: Any) -> np.dtype:
    """``dtype`` as a NumPy dtype, or a TypeError naming ``op``."""
    try:
        return np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{op}: {dtype!r} is not a NumPy dtype") from None


def to_array(data: Any, dtype: Any = None, requires_grad: bool = False, op: str = "tensor",
             copy: bool = True) -> np.ndarray:
    """Convert user data to an ndarray following the dtype rules of API.md.

    Python floats and lists of floats take the default dtype (float32); NumPy arrays
    keep theirs; data that must carry gradients is promoted to the default float dtype.
    """
    # copy=None, not False: "copy only if needed" (NumPy 2 raises for False when a copy is
    # unavoidable, e.g. for a NumPy scalar)
    if isinstance(data, Traced):
        # subok: a value followed by cr.compile's capture stays marked (see compile/)
        array = np.array(data.data, copy=True if copy else None, subok=True)
    elif isinstance(data, (np.ndarray, np.generic)):
        array = np.array(data, copy=True if copy else None)
    else:
        try:
            array = np.array(data)
        except (ValueError, TypeError) as exc:
            raise TypeError(
                f"{op}: cannot make a tensor from {type(data).__name__} ({exc})"
            ) from None
        if array.dtype.kind == "f" and dtype is None:
            array = array.astype(STATE.default_dtype)
    if array.dtype.kind not in "biuf":
        raise TypeError(
            f"{op}: expected numbers (a number, a nested list of numbers or a numeric array), "
            f"got data of dtype {array.dtype} from {type(data).__name__}"
        )
    if dtype is not None:
        array = array.astype(as_dtype(op, dtype), copy=False)
    if requires_grad and array.dtype.kind != "f":
        # Gradients need real numbers: integer data is promoted, never truncated.
        array = array.astype(STATE.default_dtype)
    return array


def operand(op: str, value: Any) -> Any:
    """Accept a Traced value, an array or a number as an operand of ``op``; lists become
    arrays; anything else is a TypeError naming ``op``."""
    if type(value) in PLAIN_OPERANDS or isinstance(value, (Traced, np.ndarray, np.generic)):
        return value
    if isinstance(value, (list, tuple)):
        if _holds_traced(value):
            raise TypeError(
                f"{op}: a {type(value).__name__} of Tensors as an operand would drop their "
                "graph; join them with cr.stack([...]) or cr.concatenate([...]) first"
            )
        return to_array(value, op=op)
    raise TypeError(
        f"{op}: expected a Tensor, NumPy array or number, got {type(value).__name__}"
    )


def _holds_traced(items: list[Any] | tuple[Any, ...]) -> bool:
    """Whether a (nested) list or tuple holds a Traced value anywhere."""
    stack: list[Any] = [items]
    while stack:
        for item in stack.pop():
            if isinstance(item, Traced):
                return True
            if isinstance(item, (list, tuple)):
                stack.append(item)
    return False


def index_parts(value: Any) -> Any:
    """An index with its Tensors and lists turned into (integer or boolean) arrays."""
    if isinstance(value, tuple):
        return tuple(index_parts(v) for v in value)
    if isinstance(value, Traced):
        return value.data
    if isinstance(value, list):
        return np.asarray(value)
    return value


def shape_args(op: str, shape: tuple[Any, ...]) -> tuple[int, ...]:
    """``f(2, 3)`` and ``f((2, 3))`` both mean shape (2, 3)."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    for n in shape:
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
            raise TypeError(f"{op}: shape entries must be ints, got {shape!r}")
    return tuple(int(n) for n in shape)


_F = TypeVar("_F", bound=Callable[..., Any])
_TORCH_KEYWORDS = {"dim": "axis", "keepdim": "keepdims", "dim0": "axis1", "dim1": "axis2"}


def numpy_axis_names(func: _F, op: str | None = None) -> _F:
    """Wrap a function that takes NumPy's ``axis``/``keepdims`` so that PyTorch's ``dim``/
    ``keepdim`` get a TypeError that names the right keyword (and, for ``max``/``min``,
    ``argmax``/``argmin`` for the indices: with NumPy's semantics they return values only,
    so quietly accepting ``dim=`` would mislead)."""
    name = op or func.__name__.strip("_").removesuffix("_form")

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except TypeError:
            wrong = [k for k in _TORCH_KEYWORDS if k in kwargs]
            if not wrong:
                raise
            raise TypeError(_torch_keyword_message(name, wrong[0])) from None

    return wrapper  # type: ignore[return-value]


def _torch_keyword_message(op: str, keyword: str) -> str:
    right = _TORCH_KEYWORDS[keyword]
    message = (f"{op}: chainrule takes NumPy's {right}=, not PyTorch's {keyword}= "
               f"(write {op}(..., {right}=...))")
    if op in ("max", "min") and keyword == "dim":
        message += (f"; {op}(axis=...) returns the values only: use arg{op}(axis=...) for "
                    "the indices")
    return message
