r"""NumPy's protocols on Tensors: ``np.asarray(t)``, ``np.exp(t)``, ``np.sum(t)``,
``np.concatenate([t, u])`` and the other NumPy ufuncs and functions that the op table
covers run chainrule's op and record the gradient (MyGrad's approach).

* ``__array__`` honours NumPy 2's ``dtype`` and ``copy``: ``np.asarray(t)`` is a view of
  ``t.data``, ``np.array(t)`` (``copy=True``) a copy.
* ``__array_ufunc__`` and ``__array_function__`` look the NumPy callable up among the op
  records' ``numpy`` facet and call the op with NumPy's arguments.
* Questions whose answers carry no derivative (comparisons, ``np.isfinite``,
  ``np.allclose``, ``np.shape``…) are answered on the values.
* Anything else raises a TypeError naming the function: a NumPy result would silently
  drop the graph.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from chainrule._convert import operand
from chainrule.autodiff import Traced, apply, raw, wrap_result
from chainrule.ops import RECORDS, OpRecord


def _numpy_form(record: OpRecord) -> Callable[..., Any]:
    """The op called with NumPy's positional arguments (tensors, arrays or numbers)."""
    if record.exposure.form is not None or record.primitive is None:
        return record.form
    prim = record.primitive
    return lambda *args: apply(prim, tuple(operand(prim.name, a) for a in args), {})


_DISPATCH: dict[Any, Callable[..., Any]] = {
    func: _numpy_form(record) for record in RECORDS.values() for func in record.exposure.numpy
}

# NumPy keywords that name a positional parameter of the op's form, and how the op calls
# the rest of them.
_POSITIONAL = ("newshape", "shape", "axes")
_RENAMED = {"a_min": "lo", "a_max": "hi", "min": "lo", "max": "hi"}
# Keywords the ops do not take; harmless at these values (NumPy's defaults).
_DEFAULTS: dict[str, Any] = {"out": None, "dtype": None, "where": True, "order": "C",
                             "casting": "same_kind", "subok": True, "initial": None}

#: Comparisons and predicates: their results carry no derivative, so they are answered on
#: the values (a bool Tensor for elementwise results, as the comparison operators give).
_VALUE_UFUNCS = frozenset({
    np.less, np.less_equal, np.greater, np.greater_equal, np.equal, np.not_equal,
    np.isfinite, np.isnan, np.isinf, np.signbit, np.logical_and, np.logical_or,
    np.logical_not, np.logical_xor,
})
_VALUE_FUNCTIONS = frozenset({
    np.shape, np.ndim, np.size, np.allclose, np.isclose, np.array_equal, np.array_equiv,
    np.argmax, np.argmin, np.argsort, np.any, np.all, np.count_nonzero, np.nonzero,
    np.may_share_memory, np.shares_memory, np.iscomplexobj, np.isrealobj, np.result_type,
    np.can_cast, np.min_scalar_type,
})


def _values(value: Any) -> Any:
    """``value`` with every Tensor (also inside lists and tuples) replaced by its array."""
    if isinstance(value, Traced):
        return raw(value)
    if isinstance(value, (list, tuple)):
        return type(value)(_values(v) for v in value)
    return value


def _refuse(name: str) -> TypeError:
    return TypeError(
        f"np.{name}: not supported on chainrule Tensors (its result would not carry the "
        f"gradient); use chainrule's operations, or call np.{name} on t.numpy() for a "
        "value without gradient"
    )


def _adapted(name: str, args: tuple[Any, ...], kwargs: dict[str, Any]
             ) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """NumPy's keywords in the op's terms (``a_min`` → ``lo``; ``newshape``, ``axes`` →
    positional); a keyword with no counterpart must hold NumPy's default."""
    args, adapted = tuple(args), {}
    for key, value in kwargs.items():
        if key in _POSITIONAL:
            args += (value,)
        elif key in _RENAMED:
            adapted[_RENAMED[key]] = value
        elif key in _DEFAULTS:
            if value is not _DEFAULTS[key] and value != _DEFAULTS[key]:
                raise TypeError(f"np.{name}: {key}={value!r} is not supported on chainrule "
                                "Tensors")
        else:
            adapted[key] = value
    return args, adapted


class NumPyProtocols:
    """``__array__``, ``__array_ufunc__`` and ``__array_function__`` for Tensor."""

    __slots__ = ()

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        data: np.ndarray = raw(self)  # cr.compile's capture follows these values
        if dtype is not None and np.dtype(dtype) != data.dtype:
            if copy is False:
                raise ValueError(f"__array__: converting dtype {data.dtype} to "
                                 f"{np.dtype(dtype)} needs a copy, and copy=False was asked")
            return data.astype(dtype)
        return data.copy() if copy else data

    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        name = getattr(ufunc, "__name__", str(ufunc))
        if not all(isinstance(x, (Traced, np.ndarray, np.generic, int, float, bool, list,
                                  tuple)) for x in inputs):
            return NotImplemented  # another library's array: let it answer
        if method == "__call__" and ufunc in _VALUE_UFUNCS:
            result = getattr(ufunc, method)(*_values(inputs), **kwargs)
            like: Any = type(self)
            return wrap_result(like, np.asarray(result), None)
        if method != "__call__":
            raise TypeError(f"np.{name}.{method}: not supported on chainrule Tensors; use the "
                            "Tensor's own reductions (t.sum(), t.max()…)")
        target = _DISPATCH.get(ufunc)
        if target is None:
            raise _refuse(name)
        _, adapted = _adapted(name, (), kwargs)
        return target(*inputs, **adapted)

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        name = getattr(func, "__name__", str(func))
        if not all(issubclass(t, (Traced, np.ndarray)) for t in types):
            return NotImplemented
        if func in _VALUE_FUNCTIONS:
            result = func(*_values(args), **_values(kwargs))
            if isinstance(result, np.ndarray) and result.ndim:
                like: Any = type(self)
                return wrap_result(like, result, None)
            return result
        target = _DISPATCH.get(func)
        if target is None:
            raise _refuse(name)
        args, adapted = _adapted(name, args, kwargs)
        return target(*args, **adapted)
