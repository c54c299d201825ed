r"""Following a tensor's values outside the op table while ``cr.compile`` captures.

Code that reads a followed tensor's values (``t.data``, ``raw(t)``, ``.numpy()``,
``np.asarray(t)``) gets a :class:`TapeArray`: an ``ndarray`` view whose NumPy calls are
handed to the recorder installed in ``STATE.capture`` (:mod:`.capture`) and recorded as
steps; turning one into Python is refused in user code and guarded in the library's.
NumPy's converters, which NumPy's protocols do not reach, are wrapped while a capture
runs (:func:`follow_numpy`).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import numpy as np

from chainrule._config import STATE

#: A reference to a value in a step: ("s", slot), ("c", constant) or a nested container
#: ("l", type, [refs]) for a list or tuple of values, ("d", {key: ref}) for a dict.
Ref = tuple[Any, ...]


class GuardFailed(Exception):
    """A replay met a value for which the library takes another path than at capture."""


class CaptureError(RuntimeError):
    """A function cannot be captured: its Python control flow depends on tensor values,
    or it does something a replay could not repeat."""


class TapeArray(np.ndarray):
    """A view of a tracked tensor's values handed out during capture: NumPy calls on it
    are recorded as steps, turning it into a Python value is refused."""

    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        recorder = _active("np." + getattr(ufunc, "__name__", str(ufunc)))
        if "out" in kwargs or method == "at":
            raise recorder.refuse(f"np.{ufunc.__name__}(..., out=) writes into an array "
                                  "in place", in_place=True)
        fn = ufunc if method == "__call__" else getattr(ufunc, method)
        return recorder.numpy_call(fn, f"np.{ufunc.__name__}", inputs, kwargs)

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        if func in _METADATA_FUNCTIONS:  # shapes and dtypes: fixed by the signature
            return func(*plain(args), **{k: plain(v) for k, v in kwargs.items()})
        recorder = _active("np." + func.__name__)
        name = f"np.{func.__name__}"
        core = _REDUCTIONS.get(func)
        if core is not None and len(args) <= 2 and set(kwargs) <= {"axis", "dtype", "keepdims"}:
            func = core  # np.sum(a, …) is np.add.reduce(a, …) behind a Python wrapper
        elif func is np.reshape and len(args) == 2 and not kwargs and type(args[0]) is TapeArray:
            func = np.ndarray.reshape  # the same view, without np.reshape's wrapper
        return recorder.numpy_call(func, name, args, kwargs)

    # ndarray methods that do not pass through NumPy's protocols
    def astype(self, *args: Any, **kwargs: Any) -> Any:
        return _active("astype").numpy_call(np.ndarray.astype, "astype", (self, *args), kwargs)

    def reshape(self, *args: Any, **kwargs: Any) -> Any:
        return _active("reshape").numpy_call(np.ndarray.reshape, "reshape", (self, *args),
                                             kwargs)

    def __getitem__(self, index: Any) -> Any:
        return _active("indexing").numpy_call(np.ndarray.__getitem__, "indexing",
                                              (self, index), {})

    def copy(self, *args: Any, **kwargs: Any) -> Any:
        return _active("copy").numpy_call(np.ndarray.copy, "copy", (self, *args), kwargs)

    def ravel(self, *args: Any, **kwargs: Any) -> Any:
        return _active("ravel").numpy_call(np.ndarray.ravel, "ravel", (self, *args), kwargs)

    def transpose(self, *args: Any) -> Any:
        return _active("transpose").numpy_call(np.ndarray.transpose, "transpose",
                                               (self, *args), {})

    @property
    def T(self) -> Any:  # noqa: N802 - NumPy's name
        return self.transpose()

    def _python(self, what: str, convert: Callable[[Any], Any]) -> Any:
        recorder = _active(what)
        caller = sys._getframe(2).f_globals.get("__name__", "")
        if recorder.fine or not caller.startswith("chainrule."):
            raise recorder.refuse(f"{what} turns a tensor's values into Python")
        # the library reading the values (cross_entropy choosing its fused path when every
        # target is a class, counting the rows it averages): the answer is kept, with a
        # guard that a replay checks; user code that does this is refused
        return recorder.guard(self, convert)

    def __setitem__(self, index: Any, value: Any) -> None:
        raise _active("setitem").refuse("assigning into a tensor's values changes them in "
                                        "place", in_place=True)

    def item(self, *args: Any) -> Any:
        return self._python("item()", lambda a: a.item(*args))

    def tolist(self) -> Any:
        return self._python("tolist()", np.ndarray.tolist)

    def __bool__(self) -> bool:
        return bool(self._python("bool()", bool))

    def __float__(self) -> float:
        return float(self._python("float()", float))

    def __int__(self) -> int:
        return int(self._python("int()", int))

    def __index__(self) -> int:
        return int(self._python("an index", int))


#: NumPy's reductions and the ufunc methods they call on an ndarray (the same results; the
#: replay skips the wrapper's Python).
_REDUCTIONS: dict[Any, Any] = {np.sum: np.add.reduce, np.prod: np.multiply.reduce,
                               np.max: np.maximum.reduce, np.amax: np.maximum.reduce,
                               np.min: np.minimum.reduce, np.amin: np.minimum.reduce}

_METADATA_FUNCTIONS = frozenset({np.shape, np.ndim, np.size, np.result_type, np.can_cast,
                                 np.iscomplexobj, np.isrealobj})


def _active(what: str) -> Any:
    """The recorder of the capture under way (:class:`chainrule.compiler.capture.Recorder`)."""
    recorder = STATE.capture
    if recorder is None:  # a TapeArray kept past its capture
        raise CaptureError(f"compile: {what} on a value kept from a capture; use the "
                           "compiled function's results instead")
    return recorder


def plain(value: Any) -> Any:
    """``value`` with every TapeArray (also in lists and tuples) viewed as an ndarray."""
    if type(value) is TapeArray:
        return value.view(np.ndarray)
    if isinstance(value, (list, tuple)) and any(has_tape(v) for v in value):
        return type(value)(plain(v) for v in value)
    return value


def has_tape(value: Any) -> bool:
    if type(value) is TapeArray:
        return True
    return isinstance(value, (list, tuple)) and any(has_tape(v) for v in value)


#: NumPy's converters are C functions that NumPy's protocols do not reach: while a function
#: is captured they are wrapped, so a copy of a followed value is followed too (a copy the
#: tape did not see would be replayed as a stale constant).
_CONVERTERS = ("array", "asarray", "asanyarray", "ascontiguousarray", "asfortranarray")


def _followed(name: str, original: Callable[..., Any]) -> Callable[..., Any]:
    def convert(*args: Any, **kwargs: Any) -> Any:
        recorder = STATE.capture
        if recorder is not None and (
                any(has_tape(a) for a in args) or any(has_tape(v) for v in kwargs.values())):
            return recorder.numpy_call(original, f"np.{name}", args, kwargs)
        return original(*args, **kwargs)

    convert.__name__ = name
    convert.__wrapped__ = original  # type: ignore[attr-defined]
    return convert


def _copyto(dst: Any, src: Any, *args: Any, **kwargs: Any) -> Any:
    recorder = STATE.capture
    if recorder is not None and (has_tape(src) or has_tape(dst)):
        raise recorder.refuse("np.copyto writes a tensor's values into an array in place",
                              in_place=True)
    return _ORIGINALS["copyto"](dst, src, *args, **kwargs)


_ORIGINALS: dict[str, Any] = {}


def follow_numpy() -> None:
    """Wrap NumPy's converters (and refuse ``np.copyto`` of followed values) while a
    function is captured; :func:`restore_numpy` undoes it."""
    for name in (*_CONVERTERS, "copyto"):
        _ORIGINALS[name] = getattr(np, name)
    for name in _CONVERTERS:
        setattr(np, name, _followed(name, _ORIGINALS[name]))
    np.copyto = _copyto


def restore_numpy() -> None:
    """Put NumPy's own converters back."""
    for name, original in _ORIGINALS.items():
        setattr(np, name, original)
    _ORIGINALS.clear()


def holds_array(value: Any) -> bool:
    """Whether ``value`` is an array or a container holding one."""
    if isinstance(value, np.ndarray):
        return True
    if isinstance(value, (list, tuple)):
        return any(holds_array(v) for v in value)
    if isinstance(value, dict):
        return any(holds_array(v) for v in value.values())
    return False


def constant_array(ref: Ref) -> bool:
    """Whether ``ref`` holds an array as a constant (built inside a rule from values the
    trace did not follow, it would be frozen)."""
    if ref[0] == "c":
        return holds_array(ref[1])
    if ref[0] == "l":
        return any(constant_array(r) for r in ref[2])
    if ref[0] == "d":
        return any(constant_array(r) for r in ref[1].values())
    return False
