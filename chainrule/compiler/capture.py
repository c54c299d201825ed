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
  ``np.asarray(t)``) gives a :class:`~chainrule.compiler.follow.TapeArray`: an ``ndarray``
  view whose NumPy calls (ufuncs, NumPy functions, ``astype``/``reshape``/indexing) are
  recorded as steps too, so a mask such as ``x.data > 0`` is recomputed on every replay;
* turning a value into Python (``item()``, ``float(t)``, ``bool(t)``, ``tolist()``) would
  freeze a branch: refused at capture in user code, naming the call; in the library's own
  code (``cross_entropy`` checking its targets) recorded as a *guard* that makes a replay
  capture again when the answer changes;
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
from chainrule.autodiff import Traced, apply, wrap_result
from chainrule.compiler.follow import (
    CaptureError,
    GuardFailed,
    Ref,
    TapeArray,
    constant_array,
    has_tape,
    plain,
)


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
        # a whole training step (see chainrule.compiler.training): what records a
        # backward pass and an optimiser's calls inside the function (None: refused),
        # whether effects on the outside ran (a guard after them is refused), whether
        # optimizer.step() ran (computing with tensors after it is refused), and the
        # .grad tensors a backward pass set (reading them is refused)
        self.on_backward: Callable[..., Any] | None = None
        self.on_optimizer: Callable[..., Any] | None = None
        self.effects = False
        self.stepped = False
        self.gradients: set[int] = set()
        self.arg_slots = [self._track(a) for a in args]
        for a in args:
            self._track_array(a._data, self.slot_of[id(a)])

    # ------------------------------------------------------------ slots
    def refuse(self, why: str, in_place: bool = False, step: bool = False) -> CaptureError:
        """The one-line error for a function that cannot be captured: ``why``, and what to
        do instead (``in_place``: the function changes a tensor's values; ``step``: a
        training step does what a replay could not repeat)."""
        if step:
            return CaptureError(
                f"compile: cannot capture {self.name}: {why}; a replay could not repeat it. "
                "A compiled training step is optimizer.zero_grad(), the loss, "
                "loss.backward() and optimizer.step(); do the rest outside, or call it "
                "uncompiled")
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
            if id(value) in self.gradients:
                raise self.refuse("it reads a .grad that a backward() inside it set (only "
                                  "optimizer.step() may use it there)", step=True)
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
        self.after_step()
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
        self._not_after_effects()
        answer = convert(value.view(np.ndarray))
        key = (id(value), convert)
        if key in self.guarded:  # asked again (``a <= b <= c``, ``not``): one guard
            return answer
        self.guarded.add(key)
        slot = self._new_slot()
        self.steps.append(Step(_Guard(convert, answer), [self.ref(value)], {}, [slot], False,
                               "guard", effect=True))
        return answer

    def _not_after_effects(self) -> None:
        """Refuse a guard after the step's effects ran: a replay that captured again there
        would repeat them."""
        if self.effects:
            raise self.refuse("the library reads a tensor's values after backward() or an "
                              "optimiser call inside the function", step=True)

    def decide(self, question: Callable[..., Any], values: tuple[Any, ...]) -> Any:
        """:func:`chainrule._decide.decide` while capturing: ``question`` answered now and,
        when it reads a followed value, recorded as one guard over its arguments."""
        if not any(has_tape(v) for v in values):
            return question(*values)
        if self.fine:
            raise self.refuse("a derivative rule decides on a tensor's values")
        self._not_after_effects()
        answer = question(*[plain(v) for v in values])
        self.steps.append(Step(_Guard(question, answer), [self.ref(v) for v in values], {},
                               [self._new_slot()], False, "guard", effect=True))
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

    def backward_inside(self, root: Any, gradient: Any, retain_graph: bool,
                        create_graph: bool, targets: Any) -> Any:
        """A backward pass run inside the captured function: recorded by ``on_backward``
        (a whole training step), else refused — its gradients would be frozen."""
        if (self.on_backward is not None and not self.fine and targets is None
                and not create_graph):
            return self.on_backward(self, root, gradient, retain_graph, create_graph, targets)
        raise self.refuse(
            "it runs a backward pass inside (cr.grad, cr.vjp, .backward()); compile the "
            "function whose gradient you want and call backward() on its result, or take "
            "cr.grad of the compiled function")

    def optimizer_call(self, optimizer: Any, method: str, argument: Any) -> Any:
        """``optimizer.step()``/``zero_grad()`` inside the captured function: recorded by
        ``on_optimizer``, else refused (a replay would not repeat it)."""
        if self.on_optimizer is not None and not self.fine:
            return self.on_optimizer(self, optimizer, method, argument)
        raise self.refuse(f"it calls {type(optimizer).__name__}.{method}()", in_place=True)

    def after_step(self) -> None:
        """Refuse computing with tensors after ``optimizer.step()`` ran inside."""
        if self.stepped:
            raise self.refuse("it computes with tensors after optimizer.step(); return "
                              "what was computed before the step", step=True)

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
        self.after_step()
        arg_refs = [self.ref(a) for a in args]
        kw_refs = {k: self.ref(v) for k, v in params.items()}
        plain_args = tuple(_plain_traced(a) for a in args)
        plain_params = {k: plain(v) for k, v in params.items()} if params else params
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
            plain_args = [plain(a) for a in args]
            plain_params = {k: plain(v) for k, v in params.items()}
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
        self.after_step()
        arg_refs = [self.ref(a) for a in args]
        kw_refs = {k: self.ref(v) for k, v in kwargs.items()}
        result = fn(*[plain(a) for a in args], **{k: plain(v) for k, v in kwargs.items()})
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
    """``guard(*values)``: raise :class:`GuardFailed` unless ``convert(*values)`` is still
    the captured ``answer``."""

    def __init__(self, convert: Callable[[Any], Any], answer: Any) -> None:
        self.convert, self.answer = convert, answer

    def __call__(self, *values: Any) -> None:
        answer = self.convert(*values)
        if type(answer) is not type(self.answer) or answer != self.answer:
            raise GuardFailed


def _item(sequence: Any, i: int) -> Any:
    return sequence[i]


def _plain_traced(value: Any) -> Any:
    """A Traced holding a TapeArray as a constant Traced holding the plain view."""
    if isinstance(value, Traced) and type(value._data) is TapeArray:
        return wrap_result(type(value), value._data.view(np.ndarray), None)
    return plain(value)


def _layout(array: np.ndarray) -> tuple[Any, ...]:
    """What makes two arrays the same values: their memory, shape, strides and dtype."""
    return (array.__array_interface__["data"][0], array.shape, array.strides, array.dtype.str)


class RecordingGenerator:
    """Stands in for the library's default generator during capture: every draw runs on
    the real generator and is recorded as a step that draws afresh, from whatever the
    default generator is at replay time, so a replay continues eager's random stream."""

    def __init__(self, recorder: Recorder, real: np.random.Generator) -> None:
        # the capture draws from a copy: the replay that gives the first call's results
        # then makes the draws an eager call would make, from the real generator. The
        # copy is made at the first draw (most functions draw nothing), from the state
        # the real generator had when the capture began.
        self._recorder, self._original = recorder, real
        self._state = real.bit_generator.state
        self._copy: np.random.Generator | None = None

    @property
    def _real(self) -> np.random.Generator:
        if self._copy is None:
            self._copy = copy.deepcopy(self._original)
            self._copy.bit_generator.state = self._state
        return self._copy

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
