r"""Turning a tape into straight-line Python: one statement per recorded call.

A replay is the tape's calls, in order, on slots held in local variables (``s0``, ``s1``,
…): no Tensor, no Node, no checks, no graph walk — the forward functions and derivative
rules of the op table called on NumPy arrays. Writing the tape out as the source of a
function and compiling it once makes each call cost what the call itself costs; a loop
interpreting a list of steps would add its own overhead to every one of them.

Steps whose results nothing needs (neither a result of the function nor the backward
pass) are left out, except those with an effect (a random draw advances the generator).
Steps whose arguments are all immutable constants — a training step's seed ∂L/∂L = 1 and
what the rules make of it, such as a mean's 1/n broadcast to the input's shape — are
computed once, here, and their results become constants of the replay (*constant
folding*: the same call on the same values gives the same bits at every replay).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from chainrule._source import define
from chainrule.compiler.capture import Step
from chainrule.compiler.follow import Ref


def used_slots(ref: Ref, into: set[int]) -> None:
    """Add the slots that ``ref`` reads to ``into``."""
    kind = ref[0]
    if kind == "s":
        into.add(ref[1])
    elif kind == "l":
        for r in ref[2]:
            used_slots(r, into)
    elif kind == "d":
        for r in ref[1].values():
            used_slots(r, into)


def live_steps(steps: Sequence[Step], needed: set[int]) -> list[Step]:
    """The steps that produce ``needed`` slots (or have an effect), in order; ``needed``
    grows by the slots those steps read."""
    kept = []
    for step in reversed(steps):
        if step.effect or any(o in needed for o in step.outs):
            kept.append(step)
            for ref in step.args:
                used_slots(ref, needed)
            for ref in step.kwargs.values():
                used_slots(ref, needed)
    kept.reverse()
    return kept


def _immutable(value: Any) -> bool:
    """Whether ``value`` can never change: a Python or NumPy scalar, a dtype, a tuple of
    immutables, or an array that is read-only all the way down to the memory it views (a
    writeable array, a tensor or anything else could be changed between two replays)."""
    if value is None or value is Ellipsis or type(value) in (bool, int, float, complex, str,
                                                            slice):
        return True
    if isinstance(value, (np.generic, np.dtype)):
        return True
    if type(value) is tuple:
        return all(_immutable(v) for v in value)
    if type(value) is np.ndarray:
        while isinstance(value, np.ndarray):
            if value.flags.writeable:
                return False
            value = value.base
        return value is None
    return False


def _constant(ref: Ref, folded: dict[int, Any]) -> bool:
    kind = ref[0]
    if kind == "s":
        return ref[1] in folded
    if kind == "c":
        return _immutable(ref[1])
    if kind == "l":
        return all(_constant(r, folded) for r in ref[2])
    return all(_constant(r, folded) for r in ref[1].values())


def _value(ref: Ref, folded: dict[int, Any]) -> Any:
    kind = ref[0]
    if kind == "s":
        return folded[ref[1]]
    if kind == "c":
        return ref[1]
    if kind == "l":
        items = [_value(r, folded) for r in ref[2]]
        return items if ref[1] is list else ref[1](items)
    return {k: _value(r, folded) for k, r in ref[1].items()}


def fold(steps: Sequence[Step], public: set[int]) -> tuple[list[Step], dict[int, Any]]:
    """Constant folding: compute now each step without an effect whose arguments are all
    immutable constants (or results folded before it), unless a result is ``public`` (a
    result of the function, a kept value, a gradient handed on: those must be fresh
    arrays at every replay). Returns the steps left and ``{slot: value}`` for the folded
    results, made read-only (a replay only reads them)."""
    folded: dict[int, Any] = {}
    left = []
    for step in steps:
        if (step.effect or any(o in public for o in step.outs)
                or not all(_constant(r, folded) for r in step.args)
                or not all(_constant(r, folded) for r in step.kwargs.values())):
            left.append(step)
            continue
        result = step.fn(*[_value(r, folded) for r in step.args],
                         **{k: _value(r, folded) for k, r in step.kwargs.items()})
        values = []
        for value in [result] if len(step.outs) == 1 else list(result):
            if step.as_array and type(value) is not np.ndarray:
                value = np.asarray(value)
            if type(value) is np.ndarray and value.flags.writeable:
                value.flags.writeable = False
            values.append(value)
        if all(_immutable(v) for v in values):
            folded.update(zip(step.outs, values))
        else:  # a result that could change (a view of something writeable): keep the step
            left.append(step)
    return left, folded


def _is_ufunc(fn: Any) -> bool:
    """A ufunc, or one of its methods (``np.add.reduce``): a fresh array, never a view."""
    return isinstance(fn, np.ufunc) or isinstance(getattr(fn, "__self__", None), np.ufunc)


def buffered(steps: Sequence[Step], public: set[int]) -> dict[int, tuple[Any, Any]]:
    """The slots a replay may write into buffers of the tape's own (``out=``), with their
    shapes and dtypes: results of a ufunc that only ufuncs read (so no view of the buffer
    can outlive the replay) and that are not ``public`` (a result of the function, a value
    the backward pass keeps, a gradient handed on)."""
    readers: dict[int, list[Step]] = {}
    for step in steps:
        used: set[int] = set()
        for ref in [*step.args, *step.kwargs.values()]:
            used_slots(ref, used)
        for slot in used:
            readers.setdefault(slot, []).append(step)
    chosen = {}
    for step in steps:
        slot = step.outs[0]
        if (isinstance(step.fn, np.ufunc) and step.fn.nout == 1 and len(step.outs) == 1
                and step.result is not None and not step.effect and "out" not in step.kwargs
                and slot not in public and readers.get(slot)
                and all(_is_ufunc(r.fn) for r in readers[slot])):
            chosen[slot] = step.result
    return chosen


class _Source:
    """Source lines and the namespace of the objects they name."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.namespace: dict[str, Any] = {"ndarray": np.ndarray, "asarray": np.asarray}
        self._names: dict[int, str] = {}
        self.buffers: dict[int, tuple[Any, Any]] = {}  # slot -> (shape, dtype): out=
        self.folded: dict[int, Any] = {}  # slot -> its value, computed once (see fold)

    def name(self, obj: Any, prefix: str) -> str:
        """A global name for ``obj`` in the generated code."""
        found = self._names.get(id(obj))
        if found is None:
            found = f"{prefix}{len(self.namespace)}"
            self.namespace[found] = obj
            self._names[id(obj)] = found
        return found

    def expr(self, ref: Ref) -> str:
        kind = ref[0]
        if kind == "s":
            if ref[1] in self.folded:
                return self.expr(("c", self.folded[ref[1]]))
            return f"s{ref[1]}"
        if kind == "c":
            value = ref[1]
            if value is None or type(value) in (bool, int, str):
                return repr(value)
            if type(value) is float and math.isfinite(value):
                return repr(value)  # repr of a float reads back exactly
            return self.name(value, "C")
        if kind == "l":
            items = [self.expr(r) for r in ref[2]]
            if ref[1] is list:
                return "[" + ", ".join(items) + "]"
            if ref[1] is tuple:
                return "(" + "".join(i + ", " for i in items) + ")"
            return f"{self.name(ref[1], 'T')}(" + ", ".join(items) + ")"
        if kind == "d":
            return "{" + ", ".join(f"{k!r}: {self.expr(r)}" for k, r in ref[1].items()) + "}"
        raise AssertionError(f"unknown reference {ref!r}")

    def step(self, step: Step) -> None:
        keywords = [f"{k}={self.expr(r)}" for k, r in step.kwargs.items()]
        buffer = self.buffers.get(step.outs[0])
        if buffer is not None:
            keywords.append(f"out={self.name(np.empty(*buffer), 'B')}")
        call = self.name(step.fn, "F") + "(" + ", ".join(
            [self.expr(r) for r in step.args] + keywords) + ")"
        out = f"s{step.outs[0]}"
        if len(step.outs) == 1:
            self.lines.append(f"{out} = {call}")
        else:
            self.lines.append(", ".join(f"s{o}" for o in step.outs) + f" = {call}")
        if step.as_array and buffer is None:  # a ufunc writing into out= returns that array
            self.lines.append(f"if {out}.__class__ is not ndarray: {out} = asarray({out})")

    def function(self, name: str, params: Iterable[str], body: list[str],
                 filename: str) -> Callable[..., Any]:
        text = f"def {name}({', '.join(params)}):\n" + "".join(
            f"    {line}\n" for line in (body or ["pass"]))
        return define(text, filename, name, self.namespace)


def forward_function(steps: Sequence[Step], inputs: Sequence[int], outputs: Sequence[Ref],
                     keep: Sequence[int], filename: str,
                     externals: Sequence[tuple[int, Any]] = ()) -> Callable[..., Any]:
    """``forward(*input slots) -> (results, kept)``: the tape's forward on the arrays of
    ``inputs``; ``results`` are the values ``outputs`` refer to, ``kept`` the slots ``keep``
    (those the backward pass reads). ``externals`` — ``(slot, tensor)`` — are read inside,
    afresh on every call (``tensor._data``: a parameter the optimiser updated in place, or
    whose ``.data`` was replaced)."""
    source = _Source()
    for slot, tensor in externals:
        source.lines.append(f"s{slot} = {source.name(tensor, 'E')}._data")
    needed: set[int] = set(keep)
    for ref in outputs:
        used_slots(ref, needed)
    public = set(needed)
    live, source.folded = fold(live_steps(steps, needed), public)
    source.buffers = buffered(live, public)
    for step in live:
        source.step(step)
    results = "(" + "".join(source.expr(r) + ", " for r in outputs) + ")"
    kept = "(" + "".join(f"s{k}, " for k in keep) + ")"
    source.lines.append(f"return {results}, {kept}")
    return source.function("forward", [f"s{i}" for i in inputs], source.lines, filename)


def backward_function(steps: Sequence[Step], seed: int, keep: Sequence[int],
                      sinks: Sequence[int], filename: str) -> Callable[..., Any]:
    """``backward(g, kept) -> [gradients]``: the recorded rule calls from the seed ``g``
    to one gradient per sink slot."""
    source = _Source()
    needed = set(sinks)
    body, source.folded = fold(live_steps(steps, needed), set(sinks))
    source.buffers = buffered(body, set(sinks))
    if keep:
        source.lines.append("".join(f"s{k}, " for k in keep) + "= kept")
    for step in body:
        source.step(step)
    source.lines.append("return [" + ", ".join(f"s{k}" for k in sinks) + "]")
    return source.function("backward", [f"s{seed}", "kept"], source.lines, filename)


def backward_reads(steps: Sequence[Step], sinks: Sequence[int], first_backward_slot: int
                   ) -> list[int]:
    """The forward slots (numbered below ``first_backward_slot``) that the live backward
    steps read."""
    needed = set(sinks)
    live_steps(steps, needed)
    return sorted(s for s in needed if s < first_backward_slot)
