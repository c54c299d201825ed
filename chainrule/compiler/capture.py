r"""Capturing a function's forward pass as a tape: which primitive ran on which values.

While a :class:`Recorder` is installed (``STATE.capture``), every call of
:func:`chainrule.autodiff.apply` comes here first. The recorder runs the call for real
(the capture call *is* an eager run) and writes one :class:`Step`: the primitive's
forward function, where each argument comes from, and the slot that receives the result.

A *slot* is a numbered value of the tape: an argument of the function, an *external*
(a tensor the function closes over, such as a model's parameter, read afresh on every
replay), or a step's result. An argument that is not a tracked value is a constant.

Values that leave the op table are followed where that can be done safely and refused
where it cannot — never replayed as a stale constant:

* reading a tracked tensor's values (``t.data``, ``raw(t)``, ``t.numpy()``,
  ``np.asarray(t)``) gives a :class:`TapeArray`: an ``ndarray`` view whose NumPy calls
  (ufuncs, NumPy functions, ``astype``/``reshape``/indexing) are recorded as steps too, so
  a mask such as ``x.data > 0`` is recomputed on every replay;
* turning a value into Python (``item()``, ``float(t)``, ``bool(t)``, ``tolist()``) would
  freeze a branch, and is refused at capture, naming the call;
* random draws from the library's generator become steps that draw afresh on each replay
  (the same stream as an eager run); an in-place change inside the function is refused.
"""

from __future__ import annotations

import copy
import sys
from collections.abc import Callable
from typing import Any

import numpy as np

from chainrule._config import STATE
from chainrule._quiet import quiet_runner
from chainrule.autodiff import Traced, apply

#: A reference to a value in a step: ("s", slot), ("c", constant) or a nested container
#: ("l", type, [refs]) for a list or tuple of values.
Ref = tuple[Any, ...]


class GuardFailed(Exception):
    """A replay met a value for which the library takes another path than at capture."""


class CaptureError(RuntimeError):
    """A function cannot be captured: its Python control flow depends on tensor values,
    or it does something a replay could not repeat."""


class Step:
    """One recorded call: ``outs = fn(*args, **kwargs)`` over slots and constants.

    ``outs`` lists the result slots (two for a primitive that saves values for its
    derivative: the output and what it saved); ``as_array`` asks for ``np.asarray`` of the
    result (a NumPy scalar from a reduction). ``effect``: the step must run even when its
    result is unused (a random draw advances the generator)."""

    __slots__ = ("fn", "args", "kwargs", "outs", "as_array", "effect", "name", "result")

    fn: Callable[..., Any]
    args: list[Ref]
    kwargs: dict[str, Ref]
    outs: list[int]
    as_array: bool
    effect: bool
    name: str
    #: The shape and dtype of the result at capture, when it was an array of at least one
    #: dimension: the replay may then write it into a buffer of its own (``out=``).
    result: tuple[tuple[int, ...], np.dtype] | None

    def __init__(self, fn: Callable[..., Any], args: list[Ref], kwargs: dict[str, Ref],
                 outs: list[int], as_array: bool, name: str, effect: bool = False) -> None:
        self.fn, self.args, self.kwargs, self.outs = fn, args, kwargs, outs
        self.as_array, self.name, self.effect = as_array, name, effect
        self.result = None

    def produced(self, value: Any) -> Step:
        """Note the result the step gave at capture (see ``result``)."""
        if type(value) in (np.ndarray, TapeArray) and value.ndim:
            self.result = (value.shape, value.dtype)
        return self


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
            return func(*_plain(args), **{k: _plain(v) for k, v in kwargs.items()})
        recorder = _active("np." + func.__name__)
        name = f"np.{func.__name__}"
        core = _REDUCTIONS.get(func)
        if core is not None and len(args) <= 2 and set(kwargs) <= {"axis", "dtype", "keepdims"}:
            func = core  # np.sum(a, …) is np.add.reduce(a, …) behind a Python wrapper
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


def _active(what: str) -> Recorder:
    recorder = STATE.capture
    if not isinstance(recorder, Recorder):  # a TapeArray kept past its capture
        raise CaptureError(f"compile: {what} on a value kept from a capture; use the "
                           "compiled function's results instead")
    return recorder


def _plain(value: Any) -> Any:
    """``value`` with every TapeArray (also in lists and tuples) viewed as an ndarray."""
    if type(value) is TapeArray:
        return value.view(np.ndarray)
    if isinstance(value, (list, tuple)) and any(_has_tape(v) for v in value):
        return type(value)(_plain(v) for v in value)
    return value


def _has_tape(value: Any) -> bool:
    if type(value) is TapeArray:
        return True
    return isinstance(value, (list, tuple)) and any(_has_tape(v) for v in value)


class Recorder:
    """The tape being captured; installed as ``STATE.capture`` while the function runs.

    Attributes:
        steps: the forward steps, in order.
        n_slots: how many slots are numbered so far.
        externals: the tensors the function closes over, in order of first use;
            ``external_slots[i]`` is the slot of ``externals[i]``'s data.
        node_steps: ``id(node)`` → index of the step that recorded it (for the backward).
    """

    def __init__(self, name: str, args: list[Traced], first_slot: int = 0,
                 fine: bool = False) -> None:
        self.name = name
        self.fine = fine  # tracing one derivative rule: no tensors expected
        self.steps: list[Step] = []
        self.n_slots = first_slot
        self.slot_of: dict[int, int] = {}  # id(Traced or ndarray) -> slot
        self.keep: list[Any] = []  # keeps every tracked object alive: ids stay unique
        self.views: dict[tuple[Any, ...], int] = {}  # memory layout of a tracked array -> slot
        self.externals: list[Traced] = []
        self.external_slots: list[int] = []
        self.node_steps: dict[int, int] = {}
        self.modules: list[tuple[Any, bool]] = []  # (module called, its training flag)
        self.generators: list[tuple[Any, Any, Any]] = []  # (module, its generator, state)
        self.guarded: set[tuple[int, Any]] = set()
        self.arg_slots = [self._track(a) for a in args]
        for a in args:
            self._track_array(a._data, self.slot_of[id(a)])

    # ------------------------------------------------------------ slots
    def refuse(self, why: str, in_place: bool = False) -> CaptureError:
        """The one-line error for a function that cannot be captured: ``why``, and what to
        do instead (``in_place``: the function changes a tensor's values)."""
        if in_place:
            return CaptureError(
                f"compile: cannot capture {self.name}: {why}; a replay would not repeat the "
                "change. Call model.eval() (a BatchNorm updates its running statistics in "
                "training mode), move the change out of the compiled function, or call it "
                "uncompiled")
        return CaptureError(
            f"compile: cannot capture {self.name}: {why}; a replay would repeat the "
            "captured branch. Keep value-dependent Python (if/while on values, .item(), "
            "float(), bool(), .tolist()) outside the compiled function, or call it "
            "uncompiled")

    def _new_slot(self) -> int:
        self.n_slots += 1
        return self.n_slots - 1

    def _track(self, value: Any, slot: int | None = None) -> int:
        if slot is None:
            slot = self._new_slot()
        self.slot_of[id(value)] = slot
        self.keep.append(value)
        return slot

    def _track_array(self, array: Any, slot: int) -> None:
        if isinstance(array, np.ndarray):
            self._track(array, slot)
            self.views.setdefault(_layout(array), slot)

    def _external(self, value: Traced) -> int:
        slot = self._track(value)
        self.externals.append(value)
        self.external_slots.append(slot)
        self._track_array(value._data, slot)
        return slot

    def ref(self, value: Any) -> Ref:
        """Where ``value`` comes from: a slot, a constant, or a container of them."""
        slot = self.slot_of.get(id(value))
        if slot is not None:
            return ("s", slot)
        if isinstance(value, Traced):
            data = value._data
            if type(data) is TapeArray or id(data) in self.slot_of:
                return self.ref(data)
            if self.fine:
                raise self.refuse("a derivative rule uses a tensor")
            return ("s", self._external(value))
        if isinstance(value, np.ndarray):
            slot = self.views.get(_layout(value))
            if slot is not None:
                return ("s", slot)
            if type(value) is TapeArray or self._shares_tracked(value):
                raise self.refuse("a value computed from a tensor's values outside the "
                                  "recorded operations is used")
            return ("c", value)
        if isinstance(value, (list, tuple)) and any(
                isinstance(v, (Traced, np.ndarray, list, tuple)) for v in value):
            return ("l", type(value), [self.ref(v) for v in value])
        return ("c", value)

    def _shares_tracked(self, array: np.ndarray) -> bool:
        return any(isinstance(v, np.ndarray)
                   and np.may_share_memory(v.view(np.ndarray), array) for v in self.keep)

    def read(self, value: Traced, what: str) -> Any:
        """The values of ``value`` for code that reads them during capture: a TapeArray
        when ``value`` is tracked (or an external, which becomes tracked)."""
        data = value._data
        if type(data) is TapeArray:
            return data
        slot = self.ref(value)[1] if isinstance(value, Traced) else None
        view = data.view(TapeArray)
        self._track(view, slot)
        return view

    def guard(self, value: TapeArray, convert: Callable[[Any], Any]) -> Any:
        """``convert(value)`` now (a truth, a number), recorded as a step that makes a
        replay stop — and the function be captured again — when it differs."""
        answer = convert(value.view(np.ndarray))
        key = (id(value), convert)
        if key in self.guarded:  # asked again (``a <= b <= c``, ``not``): one guard
            return answer
        self.guarded.add(key)
        slot = self._new_slot()
        self.steps.append(Step(_Guard(convert, answer), [self.ref(value)], {}, [slot], False,
                               "guard", effect=True))
        return answer

    def module_called(self, module: Any) -> None:
        """Note a module called by the function: its training flag is part of the tape's
        signature, and a generator of its own must not be drawn from (see :meth:`done`)."""
        self.modules.append((module, module.training))
        generator = module.__dict__.get("generator")
        if isinstance(generator, np.random.Generator):
            self.generators.append((module, generator, generator.bit_generator.state))

    def done(self) -> None:
        """Refuse a capture that drew from a module's own generator: those draws would be
        frozen (only the library's default generator is drawn afresh on each replay)."""
        for module, generator, state in self.generators:
            if generator.bit_generator.state != state:
                raise self.refuse(
                    f"{type(module).__name__} draws from a generator of its own; give it "
                    "none (the library's default generator, seeded by cr.manual_seed, is "
                    "drawn from afresh on every replay)")

    def backward_inside(self) -> None:
        """Refuse a backward pass run inside the captured function (``cr.grad``,
        ``.backward()``): its gradients would be frozen into the tape."""
        raise self.refuse(
            "it runs a backward pass inside (cr.grad, cr.vjp, .backward()); compile the "
            "function whose gradient you want and call backward() on its result, or take "
            "cr.grad of the compiled function")

    def python(self, value: Traced, what: str) -> None:
        """A tensor's values turned into Python while capturing (``item()``, ``float()``,
        ``bool()``, ``tolist()``): refused in user code — the branch it decides would be
        frozen — and guarded in the library's (see :meth:`guard`)."""
        caller = sys._getframe(2).f_globals.get("__name__", "")
        if self.fine or not caller.startswith("chainrule."):
            raise self.refuse(f"{what} turns a tensor's values into Python (shape "
                              f"{tuple(value._data.shape)})")
        self.guard(self.read(value, what), _CONVERSIONS[what])

    # ------------------------------------------------------------ recording
    def apply(self, prim: Any, args: tuple[Any, ...], params: dict[str, Any],
              checked: bool) -> Any:
        """Run ``apply`` for real with the recorder paused, then record the step."""
        arg_refs = [self.ref(a) for a in args]
        kw_refs = {k: self.ref(v) for k, v in params.items()}
        plain_args = tuple(_plain_traced(a) for a in args)
        plain_params = {k: _plain(v) for k, v in params.items()} if params else params
        STATE.capture = None
        try:
            result = apply(prim, plain_args, plain_params, checked)
        finally:
            STATE.capture = self
        node = result._node
        out_slot = self._track(result)
        self._track_array(result._data, out_slot)
        outs = [out_slot]
        if prim.saves:
            outs.append(self._new_slot())
        if node is not None:
            self.keep.append(node)
            self.node_steps[id(node)] = len(self.steps)
        # as_array: apply turns a NumPy scalar (a full reduction) into an array; the
        # replay checks the type of every primitive's result the same way
        self.steps.append(Step(prim.forward, arg_refs, kw_refs, outs, True, prim.name)
                          .produced(None if prim.saves else result._data))
        return result

    def prim_call(self, prim: Any, args: tuple[Any, ...], params: dict[str, Any]) -> Any:
        """A primitive called on arrays (by a composite or a derivative rule): one step
        calling its forward function on the arrays."""
        arg_refs = [self.ref(a) for a in args]
        kw_refs = {k: self.ref(v) for k, v in params.items()}
        fn = _first_of(prim) if prim.saves else prim.forward
        if self.fine and not prim.saves:
            traced = self._fine_forward(fn, args, params)
            if traced is not None:
                return traced
        STATE.capture = None
        try:
            run = quiet_runner()
            plain_args = [_plain(a) for a in args]
            plain_params = {k: _plain(v) for k, v in params.items()}
            result = (fn(*plain_args, **plain_params) if run is None
                      else run(fn, *plain_args, **plain_params))
        finally:
            STATE.capture = self
        return self._numpy_result(fn, prim.name, arg_refs, kw_refs, result, False)

    def _fine_forward(self, fn: Callable[..., Any], args: tuple[Any, ...],
                      params: dict[str, Any]) -> Any:
        """Inside a derivative rule recorded call by call, the primitive's forward recorded
        call by call too (its NumPy calls on the TapeArrays); ``None``, with nothing
        recorded, when it cannot be (see :meth:`chainrule.compiler.walk._Walk.fine`)."""
        n_steps, n_slots = len(self.steps), self.n_slots
        try:
            run = quiet_runner()
            result = fn(*args, **params) if run is None else run(fn, *args, **params)
        except Exception:  # noqa: BLE001 - a refusal, or NumPy on a TapeArray: record whole
            result = None
        if (type(result) is TapeArray and id(result) in self.slot_of
                and not any(constant_array(r) for step in self.steps[n_steps:]
                            for r in [*step.args, *step.kwargs.values()])):
            return result
        del self.steps[n_steps:]
        self.n_slots = n_slots
        return None

    def numpy_call(self, fn: Callable[..., Any], name: str, args: Any, kwargs: Any,
                   effect: bool = False) -> Any:
        """Run a NumPy call on TapeArrays with plain arrays, record it, and hand back its
        result as TapeArrays (tuples of results element by element)."""
        arg_refs = [self.ref(a) for a in args]
        kw_refs = {k: self.ref(v) for k, v in kwargs.items()}
        result = fn(*[_plain(a) for a in args], **{k: _plain(v) for k, v in kwargs.items()})
        return self._numpy_result(fn, name, arg_refs, kw_refs, result, effect)

    def _numpy_result(self, fn: Callable[..., Any], name: str, arg_refs: list[Ref],
                      kw_refs: dict[str, Ref], result: Any, effect: bool) -> Any:
        if isinstance(result, tuple):
            slot = self._new_slot()
            self.steps.append(Step(fn, arg_refs, kw_refs, [slot], False, name, effect))
            return tuple(self._numpy_result(_item, name, [("s", slot), ("c", i)], {}, r,
                                             False) for i, r in enumerate(result))
        if isinstance(result, (np.ndarray, np.generic)):
            array = np.asarray(result)
            view = array.view(TapeArray)
            slot = self._track(view)
            self._track_array(array, slot)
            self.steps.append(Step(fn, arg_refs, kw_refs, [slot],
                                   type(result) is not np.ndarray, name, effect)
                              .produced(result))
            return view
        if isinstance(result, (bool, int, float, complex)):
            raise self.refuse(f"{name} gives a Python number computed from a tensor's values")
        raise self.refuse(f"{name} gives a {type(result).__name__} computed from a "
                          "tensor's values")

    def check_output(self, value: Any) -> Ref:
        """The reference of one of the function's results."""
        return self.ref(value)


_CONVERSIONS: dict[str, Callable[[Any], Any]] = {
    "item()": np.ndarray.item, "tolist()": np.ndarray.tolist, "bool()": bool,
    "float()": float, "int()": int}

_FIRSTS: dict[int, Callable[..., Any]] = {}


def _first_of(prim: Any) -> Callable[..., Any]:
    """The forward of a primitive that saves values, giving its output alone (what a call
    on arrays returns)."""
    found = _FIRSTS.get(id(prim))
    if found is None:
        forward = prim.forward

        def found(*args: Any, **params: Any) -> Any:
            return forward(*args, **params)[0]

        found.__name__ = f"{prim.name}_output"
        _FIRSTS[id(prim)] = found
    return found


class _Guard:
    """``guard(value)``: raise :class:`GuardFailed` unless ``convert(value)`` is still the
    captured ``answer``."""

    def __init__(self, convert: Callable[[Any], Any], answer: Any) -> None:
        self.convert, self.answer = convert, answer

    def __call__(self, value: Any) -> None:
        answer = self.convert(value)
        if type(answer) is not type(self.answer) or answer != self.answer:
            raise GuardFailed


def _item(sequence: Any, i: int) -> Any:
    return sequence[i]


def _plain_traced(value: Any) -> Any:
    """A Traced holding a TapeArray as a constant Traced holding the plain view."""
    if isinstance(value, Traced) and type(value._data) is TapeArray:
        from chainrule.autodiff import wrap_result
        plain = wrap_result(type(value), value._data.view(np.ndarray), None)
        return plain
    return _plain(value)


def _layout(array: np.ndarray) -> tuple[Any, ...]:
    """What makes two arrays the same values: their memory, shape, strides and dtype."""
    return (array.__array_interface__["data"][0], array.shape, array.strides, array.dtype.str)


class RecordingGenerator:
    """Stands in for the library's default generator during capture: every draw runs on
    the real generator and is recorded as a step that draws afresh, from whatever the
    default generator is at replay time, so a replay continues eager's random stream."""

    def __init__(self, recorder: Recorder, real: np.random.Generator) -> None:
        # the capture draws from a copy: the replay that gives the first call's results
        # then makes the draws an eager call would make, from the real generator
        self._recorder, self._real = recorder, copy.deepcopy(real)

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._real, name)
        if not callable(method):
            return method
        if name in ("shuffle", "bit_generator", "spawn"):
            raise self._recorder.refuse(f"generator.{name}() inside the function")

        def draw(*args: Any, **kwargs: Any) -> Any:
            return self._recorder.numpy_call(_Draw(name), f"generator.{name}", args, kwargs,
                                             effect=True)

        return draw


class _Draw:
    """A replayed random draw: ``name`` called on the default generator at replay time."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        generator = STATE.generator
        if isinstance(generator, RecordingGenerator):  # drawn while capturing: the real one
            generator = generator._real
        return getattr(generator, self.name)(*args, **kwargs)


#: NumPy's converters are C functions that NumPy's protocols do not reach: while a function
#: is captured they are wrapped, so a copy of a followed value is followed too (a copy the
#: tape did not see would be replayed as a stale constant).
_CONVERTERS = ("array", "asarray", "asanyarray", "ascontiguousarray", "asfortranarray")


def _followed(name: str, original: Callable[..., Any]) -> Callable[..., Any]:
    def convert(*args: Any, **kwargs: Any) -> Any:
        recorder = STATE.capture
        if isinstance(recorder, Recorder) and (
                any(_has_tape(a) for a in args) or any(_has_tape(v) for v in kwargs.values())):
            return recorder.numpy_call(original, f"np.{name}", args, kwargs)
        return original(*args, **kwargs)

    convert.__name__ = name
    convert.__wrapped__ = original  # type: ignore[attr-defined]
    return convert


def _copyto(dst: Any, src: Any, *args: Any, **kwargs: Any) -> Any:
    recorder = STATE.capture
    if isinstance(recorder, Recorder) and (_has_tape(src) or _has_tape(dst)):
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
