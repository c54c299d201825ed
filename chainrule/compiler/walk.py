r"""Capturing the backward pass: the engine's walk, run once, writing down every rule call.

The walk is :mod:`chainrule.autodiff.backward`'s first-order pass step for step — the same
consumer counts, the same stack, the same order of rules, the same sums where a value
fans out — so that replaying what it writes gives the engine's gradients bit for bit. It
runs the rules for real (on the capture's arrays, seeded with ones) to learn the shapes
that decide where a broadcast gradient is summed back.

Each rule call becomes a :class:`~chainrule.compiler.capture.Step` over slots: the incoming
gradient, the node's output, its inputs and saved values (the forward's slots) and the
results of earlier rule calls. The walk stops at the function's boundary: a gradient for
an argument or for an external tensor (a parameter) is a *sink*, handed to the engine at
replay, which accumulates it into ``.grad`` (or carries it on into the caller's graph)
exactly as an eager backward does.
"""

from __future__ import annotations

import operator
from typing import Any

import numpy as np

from chainrule._config import STATE
from chainrule.autodiff import Node, Traced
from chainrule.compiler.capture import Recorder, Step
from chainrule.compiler.follow import Ref, TapeArray, constant_array, holds_array


class BackwardTape:
    """The rule calls of one output's backward pass.

    Attributes:
        steps: the calls, in the engine's order; slots numbered after the forward's.
        seed: the slot of the incoming gradient ∂L/∂output.
        sinks: one ``(ref of the tensor, slot of its gradient)`` per gradient leaving the
            function, in the order the engine hands them on.
        fresh: per sink, whether the engine would have let a leaf take that gradient as
            its ``.grad`` without a copy (a rule made it for that input alone).
    """

    def __init__(self, steps: list[Step], seed: int, sinks: list[tuple[Ref, int]],
                 n_slots: int, fresh: list[bool]) -> None:
        self.steps, self.seed, self.sinks, self.n_slots = steps, seed, sinks, n_slots
        self.fresh = fresh


def capture_backward(recorder: Recorder, root: Traced, n_slots: int) -> BackwardTape:
    """Walk the graph below ``root`` (recorded by ``recorder``) as a first-order backward
    pass would, recording the rule calls; slots are numbered from ``n_slots``."""
    walk = _Walk(recorder, n_slots)
    start = root._node
    assert start is not None
    seed = np.ones(root._data.shape, root._data.dtype)
    seed_slot = walk.slot(seed)
    counts = _consumer_counts(start, recorder)
    grads: dict[Node, Any] = {start: seed}
    ready = [start]
    while ready:
        node = ready.pop()
        g = grads.pop(node)
        prim = node.prim
        step = recorder.steps[recorder.node_steps[id(node)]]
        inputs = node.arrays
        out = node.out
        params: dict[str, Any] = node.params
        if isinstance(g, Traced):  # a custom Function's backward returned a Tensor
            g = walk.call(_data_of, "data", [g], {})
        if prim.prepare_g is not None:
            g = walk.call(prim.prepare_g, f"{prim.name}: prepare_g", [g], {}, fine=True)
        refs = {id(out): ("s", step.outs[0])}
        for a, r in zip(inputs or (), step.args):
            refs.setdefault(id(a), r)
        kw_refs = dict(step.kwargs)
        if prim.saves:
            params = {**params, "saved": node.saved}
            kw_refs["saved"] = ("s", step.outs[1])
            refs[id(node.saved)] = ("s", step.outs[1])
        walk.known = refs
        if prim.vjp_all is None:
            rules: Any = prim.vjps
            computed = False
        else:
            together = walk.call(prim.vjp_all, f"{prim.name}: derivative",
                                 [g, out, list(inputs or ()), params, list(node.needs)], {},
                                 kw_refs_for=(3, kw_refs))
            rules = [walk.call(operator.getitem, "item", [together, i], {})
                     if need else None for i, need in enumerate(node.needs)]
            computed = True
        sum_to = prim.sum_to
        for x, a, need, rule in zip(node.inputs or (), inputs or (), node.needs, rules):
            if not need:
                continue
            if computed:
                gx = rule
            else:
                gx = walk.call(rule, f"{prim.name}: derivative", [g, out, *(inputs or ())],
                               params, kw_refs=kw_refs, fine=True)
                if sum_to is not None and getattr(gx, "shape", ()) != getattr(a, "shape", ()):
                    gx = walk.call(sum_to, f"{prim.name}: sum_to", [gx],
                                   {"shape": getattr(a, "shape", ())}, fine=True)
            fresh = not computed and gx is not g  # as the engine decides (backward.py)
            if isinstance(gx, Traced):
                gx = walk.call(_data_of, "data", [gx], {})
            parent = x._node
            if parent is None or id(parent) not in recorder.node_steps:
                walk.sinks.append((recorder.ref(x), walk.ref(gx)[1]))
                walk.fresh.append(fresh)
                continue
            held = grads.get(parent)
            grads[parent] = gx if held is None else walk.call(operator.add, "sum", [held, gx],
                                                              {})
            left = counts[parent] - 1
            counts[parent] = left
            if not left:
                ready.append(parent)
    return BackwardTape(walk.steps, seed_slot, walk.sinks, walk.n_slots, walk.fresh)


def _data_of(value: Any) -> Any:
    return value._data if isinstance(value, Traced) else value


def _consumer_counts(root: Node, recorder: Recorder) -> dict[Node, int]:
    """:func:`chainrule.autodiff.consumer_counts`, stopping at the function's boundary."""
    counts = {root: 0}
    stack = [root]
    while stack:
        node = stack.pop()
        for x, need in zip(node.inputs or (), node.needs):
            if not need:
                continue
            parent = x._node
            if parent is None or id(parent) not in recorder.node_steps:
                continue
            if parent in counts:
                counts[parent] += 1
            else:
                counts[parent] = 1
                stack.append(parent)
    return counts


class _Walk:
    """The slots of the backward pass: values (by identity) → slots, and the steps."""

    def __init__(self, recorder: Recorder, n_slots: int) -> None:
        self.recorder = recorder
        self.n_slots = n_slots
        self.slot_of: dict[int, int] = {}
        self.keep: list[Any] = []
        self.steps: list[Step] = []
        self.sinks: list[tuple[Ref, int]] = []
        self.fresh: list[bool] = []
        self.known: dict[int, Ref] = {}  # the current node's output, inputs, saved

    def slot(self, value: Any) -> int:
        self.n_slots += 1
        self.slot_of[id(value)] = self.n_slots - 1
        self.keep.append(value)
        return self.n_slots - 1

    def ref(self, value: Any) -> Ref:
        slot = self.slot_of.get(id(value))
        if slot is not None:
            return ("s", slot)
        known = self.known.get(id(value))
        if known is not None:
            return known
        if isinstance(value, (list, tuple)) and any(
                isinstance(v, (np.ndarray, Traced, list, tuple)) for v in value):
            return ("l", type(value), [self.ref(v) for v in value])
        if isinstance(value, (np.ndarray, Traced)):
            return self.recorder.ref(value)
        return ("c", value)

    def call(self, fn: Any, name: str, args: list[Any], params: dict[str, Any],
             kw_refs: dict[str, Ref] | None = None,
             kw_refs_for: tuple[int, dict[str, Ref]] | None = None, fine: bool = False) -> Any:
        """Run ``fn(*args, **params)`` and record it; ``kw_refs`` are the references of
        ``params`` (the forward's), ``kw_refs_for`` those of a params dict passed as the
        positional argument at that index (a ``vjp_all`` rule). ``fine``: try recording
        the NumPy calls and primitives inside ``fn`` (see :meth:`fine`) first."""
        arg_refs = [self.ref(a) for a in args]
        if kw_refs_for is not None:
            index, refs = kw_refs_for
            arg_refs[index] = ("d", {k: refs.get(k, ("c", v)) for k, v in args[index].items()})
        keywords = kw_refs if kw_refs is not None else {k: self.ref(v)
                                                          for k, v in params.items()}
        if fine:
            traced = self.fine(fn, name, args, params, arg_refs, keywords)
            if traced is not None:
                return traced
        result = fn(*args, **params)
        self.steps.append(Step(fn, arg_refs, keywords, [self.slot(result)], False, name)
                          .produced(result))
        return result

    def fine(self, fn: Any, name: str, args: list[Any], params: dict[str, Any],
             arg_refs: list[Ref], kw_refs: dict[str, Ref]) -> Any:
        """Record the calls inside the rule ``fn`` — its primitives' forward functions and
        its NumPy calls — rather than ``fn`` itself, so the replay skips the rule's own
        Python. ``None`` (record ``fn`` whole) unless every value the rule computes with is
        followed: the rule's arrays are handed in as TapeArrays, and a rule that branches
        on values, writes in place, or mixes in an array the tape did not see (a constant
        it built, something it saved in a container) is recorded whole instead."""
        trace = Recorder(name, [], first_slot=self.n_slots, fine=True)
        originals: dict[int, Any] = {}

        def follow(value: Any, ref: Ref) -> Any:
            if ref[0] == "s" and type(value) is np.ndarray:
                view = value.view(TapeArray)
                trace._track(view, ref[1])
                trace._track_array(value, ref[1])
                originals[id(view)] = value
                return view
            if ref[0] == "l":
                return ref[1](follow(v, r) for v, r in zip(value, ref[2]))
            if ref[0] == "s" or (ref[0] == "c" and holds_array(value)):
                raise _NotFollowed  # a container, or an array the tape has as a constant
            return value

        try:
            traced_args = [follow(a, r) for a, r in zip(args, arg_refs)]
            traced_params = {k: follow(v, kw_refs[k]) for k, v in params.items()}
        except _NotFollowed:
            return None
        STATE.capture = trace
        try:
            result = fn(*traced_args, **traced_params)
        except Exception:  # noqa: BLE001 - a refusal, or NumPy on a TapeArray: record whole
            return None
        finally:
            STATE.capture = None
        if type(result) is not TapeArray or id(result) not in trace.slot_of:
            return None
        for step in trace.steps:
            if any(constant_array(r) for r in [*step.args, *step.kwargs.values()]):
                return None
        self.steps.extend(trace.steps)
        self.n_slots = trace.n_slots
        if id(result) in originals:  # the rule handed one of its arguments on
            return originals[id(result)]
        plain = result.view(np.ndarray)
        self.slot_of[id(plain)] = trace.slot_of[id(result)]
        self.keep.append(plain)
        return plain


class _NotFollowed(Exception):
    """A rule's argument that a fine trace cannot follow."""
