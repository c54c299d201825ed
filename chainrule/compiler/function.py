r"""``cr.compile(f)``: capture ``f`` once per input signature, replay it afterwards.

The first call with a new *signature* — the shapes, dtypes and ``requires_grad`` flags of
the tensor arguments, the values of the other arguments, and grad mode — runs ``f``
eagerly under a :class:`~chainrule.compiler.capture.Recorder`, on stand-in leaves for the
tensor arguments (so the graph it records ends at ``f``'s boundary), walks that graph's
backward pass once (:mod:`.walk`), and writes both out as Python functions
(:mod:`.codegen`). That first call and every later one then *replay*: the forward function
runs on the arguments' arrays and the externals' current arrays (a parameter updated in
place by an optimiser is read afresh), and each result that needs a gradient gets one
graph node whose derivative rule is the replayed backward pass. ``loss.backward()`` on a
result therefore runs the engine's ordinary walk over that single node, which hands each
gradient to its argument or parameter as an eager backward would: accumulated into
``.grad``, in the same order, bit for bit.
"""

from __future__ import annotations

import functools
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import numpy as np

from chainrule._config import STATE
from chainrule._quiet import quiet_runner
from chainrule._source import define
from chainrule.autodiff import Node, Primitive, Traced, wrap_result
from chainrule.autodiff.scope import SCOPES
from chainrule.compiler.capture import Recorder, RecordingGenerator
from chainrule.compiler.codegen import backward_function, backward_reads, forward_function
from chainrule.compiler.follow import (
    CaptureError,
    GuardFailed,
    Ref,
    follow_numpy,
    plain,
    restore_numpy,
)
from chainrule.compiler.training import record_backward, record_optimizer
from chainrule.compiler.walk import capture_backward
from chainrule.pytree import TreeDef, flatten, unflatten
from chainrule.tensor import Tensor

#: How many signatures a compiled function keeps a tape for.
CACHE_SIZE = 8

_new = object.__new__


class _Output:
    """How one result of the function is rebuilt on a replay."""

    __slots__ = ("ref", "kind", "index", "cls", "prim", "sinks")

    def __init__(self, ref: Ref, kind: str, index: int, cls: type,
                 prim: Primitive | None, sinks: list[tuple[str, Any]]) -> None:
        # kind: "arg" (the argument itself), "ext" (an external tensor), "value" (a
        # constant or step result: a new tensor, with a node when prim is set)
        self.ref, self.kind, self.index, self.cls, self.prim, self.sinks = (
            ref, kind, index, cls, prim, sinks)


class Tape:
    """One signature's captured forward and backward passes, ready to replay."""

    def __init__(self, name: str, forward: Callable[..., Any], externals: list[Traced],
                 external_flags: list[bool], outputs: list[_Output], out_tree: TreeDef | None,
                 tensor_positions: list[int], modules: list[tuple[Any, bool]]) -> None:
        self.name = name
        self.forward = forward
        self.externals = externals
        self.external_flags = external_flags
        self.outputs = outputs
        self.out_tree = out_tree
        self.tensor_positions = tensor_positions  # which flat arguments are tensors
        self.modules = modules
        #: a whole training step's results at capture (the capture call was the step: it
        #: must not be replayed once more), handed out by the call that captured
        self.first: Any = _NONE

        #: ``still_valid()``: False when an external tensor's ``requires_grad`` or a
        #: module's training flag (``train()``/``eval()``) changed since capture — the tape
        #: would be another function's. Written out as one expression.
        self.still_valid = _validity(externals, external_flags, modules)

    def replay(self, leaves: list[Any]) -> Any:
        """Run the forward on ``leaves`` (the flat arguments) and build the results."""
        arrays = [leaves[i]._data if isinstance(leaves[i], Traced) else leaves[i]
                  for i in self.tensor_positions]
        run = quiet_runner()
        try:
            results, kept = (self.forward(*arrays) if run is None
                             else run(self.forward, *arrays))
        except GuardFailed:  # the library would take another path: capture again
            return _AGAIN
        grad = STATE.grad_enabled
        outs = []
        for spec, value in zip(self.outputs, results):
            if spec.kind == "arg":
                outs.append(leaves[spec.index])
                continue
            if spec.kind == "ext":
                outs.append(self.externals[spec.index])
                continue
            out: Any = _new(spec.cls)
            out._data = value
            out.grad = None
            if spec.prim is not None and grad:
                sinks = [leaves[i] if where == "arg" else i for where, i in spec.sinks]
                node = _new(Node)
                node.prim, node.inputs, node.out = spec.prim, tuple(sinks), value
                node.arrays = [s._data for s in sinks]
                node.params, node.needs, node.scope = {}, [True] * len(sinks), SCOPES[-1]
                node.saved, node.stamp = kept, STATE.inplace_clock
                out._node = node
                out.requires_grad = True
            else:
                out._node = None
                out.requires_grad = False
            outs.append(out)
        return outs[0] if self.out_tree is None else unflatten(self.out_tree, outs)


_AGAIN = object()  # a replay's answer when a guard failed
_NONE = object()  # no results kept from the capture (it was not a training step)


def _validity(externals: list[Traced], flags: list[bool], modules: list[tuple[Any, bool]]
              ) -> Callable[[], bool]:
    names: dict[str, Any] = {}
    terms = []
    for k, (e, flag) in enumerate(zip(externals, flags)):
        names[f"E{k}"] = e
        terms.append(f"E{k}.requires_grad is {bool(flag)}")
    for k, (module, training) in enumerate(modules):
        names[f"M{k}"] = module
        terms.append(f"M{k}.training is {bool(training)}")
    text = "def still_valid():\n    return " + (" and ".join(terms) or "True") + "\n"
    return define(text, "<compiled tape's validity>", "still_valid", names)


def _array(leaf: Any) -> Any:
    return leaf._data if isinstance(leaf, Traced) else leaf


def _backward_primitive(name: str, backward: Callable[..., Any], fresh: list[bool]
                        ) -> Primitive:
    """The derivative of one compiled result: the replayed backward pass, as one rule
    giving every sink's gradient (what the node saved is the forward's kept slots).

    A gradient that eager would have copied before it became a leaf's ``.grad`` (one
    handed on unchanged, possibly to several inputs) is copied here; the others become
    ``.grad`` as they are (``owns_grads``), as eager's do."""
    copies = [k for k, f in enumerate(fresh) if not f]

    def vjp_all(g: Any, out: Any, inputs: Any, params: dict[str, Any], needs: Any
                ) -> list[Any]:
        if isinstance(g, Traced):
            raise RuntimeError(
                f"compile: {name}'s result cannot be differentiated with create_graph=True "
                "(a replayed backward is not itself recorded); differentiate the "
                "uncompiled function for higher derivatives")
        grads: list[Any] = backward(g, params["saved"])
        for k in copies:
            grads[k] = np.array(grads[k])
        return grads

    return Primitive(f"compiled {name}", lambda *a: None, vjp_all=vjp_all, saves=True,
                     formula="the captured backward pass of the compiled function",
                     owns_grads=True)


def _signature(leaf: Any) -> Any:
    if isinstance(leaf, Traced):
        data = leaf._data
        return (type(leaf), data.shape, data.dtype.str, leaf.requires_grad)
    if isinstance(leaf, np.ndarray):
        return (np.ndarray, leaf.shape, leaf.dtype.str)
    try:
        hash(leaf)
    except TypeError:
        return ("id", id(leaf))
    return (type(leaf), leaf)


def capture(f: Callable[..., Any], name: str, leaves: list[Any], tree: TreeDef) -> Tape:
    """Run ``f`` on stand-ins for ``leaves`` under a recorder and build its :class:`Tape`."""
    positions = [i for i, leaf in enumerate(leaves) if isinstance(leaf, (Traced, np.ndarray))]
    stand_ins: list[Any] = list(leaves)
    for i in positions:
        leaf = leaves[i]
        if isinstance(leaf, Traced):
            stand = wrap_result(type(leaf), leaf._data, None)
            stand.requires_grad = leaf.requires_grad
        else:
            stand = wrap_result(Tensor, leaf, None)
        stand_ins[i] = stand
    recorder = Recorder(name, [stand_ins[i] for i in positions])
    recorder.on_backward, recorder.on_optimizer = record_backward, record_optimizer
    clock, generator = STATE.inplace_clock, STATE.generator
    STATE.capture = recorder
    STATE.generator = RecordingGenerator(recorder, generator)  # type: ignore[assignment]
    follow_numpy()
    try:
        args, kwargs = unflatten(tree, stand_ins)
        result = f(*args, **kwargs)
    finally:
        restore_numpy()
        STATE.capture = None
        STATE.generator = generator
    recorder.done()
    if STATE.inplace_clock != clock:
        raise recorder.refuse("it changes a tensor in place", in_place=True)
    out_leaves, out_tree = flatten(result)
    single = not isinstance(result, (tuple, list, dict)) and result is not None
    outputs: list[_Output] = []
    refs: list[Ref] = []
    backward_tapes: list[tuple[int, Traced]] = []
    arg_index = {recorder.arg_slots[k]: positions[k] for k in range(len(positions))}
    ext_index = {slot: k for k, slot in enumerate(recorder.external_slots)}
    for value in out_leaves:
        if not isinstance(value, (Traced, np.ndarray)):
            raise CaptureError(f"compile: {name} returns a {type(value).__name__}; a "
                               "compiled function returns tensors (in tuples, lists, dicts)")
        ref = recorder.ref(value)
        refs.append(ref)
        slot = ref[1] if ref[0] == "s" else None
        if slot in arg_index and isinstance(value, Traced):
            outputs.append(_Output(ref, "arg", arg_index[slot], Tensor, None, []))
        elif slot in ext_index and value is recorder.externals[ext_index[slot]]:
            outputs.append(_Output(ref, "ext", ext_index[slot], Tensor, None, []))
        else:
            cls = type(value) if isinstance(value, Traced) else Tensor
            outputs.append(_Output(ref, "value", -1, cls._result_class, None, []))
            if isinstance(value, Traced) and value._node is not None and not recorder.effects:
                backward_tapes.append((len(outputs) - 1, value))
    # the backward passes, numbered after the forward's slots
    n_slots = recorder.n_slots
    tapes = []
    for index, value in backward_tapes:
        follow_numpy()  # a rule recorded call by call must not copy values unseen either
        try:
            tapes.append((index, capture_backward(recorder, value, n_slots)))
        finally:
            restore_numpy()
    keep_set: set[int] = set()  # the forward's slots that some backward pass reads
    for _, tape in tapes:
        keep_set.update(backward_reads(tape.steps, [s for _, s in tape.sinks], n_slots))
    keep = sorted(keep_set)
    forward = forward_function(recorder.steps, recorder.arg_slots, refs, keep,
                               f"<compiled {name}>",
                               list(zip(recorder.external_slots, recorder.externals)))
    for index, tape in tapes:
        # the backward unpacks every kept slot: the same tuple serves every output
        backward = backward_function(tape.steps, tape.seed, keep,
                                     [s for _, s in tape.sinks], f"<compiled {name} backward>")
        sinks: list[tuple[str, Any]] = []
        for sink_ref, _ in tape.sinks:
            slot = sink_ref[1]
            if slot in arg_index:
                sinks.append(("arg", arg_index[slot]))
            else:
                sinks.append(("obj", recorder.externals[ext_index[slot]]))
        spec = outputs[index]
        spec.prim = _backward_primitive(name, backward, tape.fresh)
        spec.sinks = sinks
    tape_out_tree = None if single else out_tree
    compiled = Tape(name, forward, recorder.externals,
                [e.requires_grad for e in recorder.externals], outputs, tape_out_tree,
                positions, _unique_modules(recorder.modules))
    if recorder.effects:  # the results without their graph (their backward already ran)
        compiled.first = unflatten(out_tree, [
            v if (isinstance(v, Traced) and v._node is None) or spec.kind != "value"
            else wrap_result(spec.cls, plain(_array(v)), None)
            for v, spec in zip(out_leaves, outputs)])
    return compiled


def _unique_modules(called: list[tuple[Any, bool]]) -> list[tuple[Any, bool]]:
    seen: dict[int, tuple[Any, bool]] = {}
    for module, training in called:
        seen.setdefault(id(module), (module, bool(training)))
    return list(seen.values())


class Compiled:
    """``f`` compiled: called like ``f``, replaying a captured tape (see the module
    docstring). ``cache_size`` tapes are kept, one per signature."""

    def __init__(self, f: Callable[..., Any], cache_size: int = CACHE_SIZE) -> None:
        if not callable(f):
            raise TypeError(f"compile: expected a function, got {type(f).__name__}")
        self.f = f
        self.name: str = getattr(f, "__name__", type(f).__name__)
        self.cache_size = cache_size
        self._tapes: OrderedDict[Any, Tape] = OrderedDict()
        self.__doc__ = getattr(f, "__doc__", None)
        self.__wrapped__ = f

    def __get__(self, obj: Any, objtype: Any = None) -> Any:
        """A compiled method: bound to its instance, which becomes an argument (one tape
        per instance)."""
        return self if obj is None else functools.partial(self, obj)

    @property
    def captures(self) -> int:
        """How many tapes are cached now."""
        return len(self._tapes)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if STATE.capture is not None:  # inside another function being captured: be part
            return self.f(*args, **kwargs)  # of its tape (a replay would be invisible to it)
        if not kwargs and all(type(a) is Tensor for a in args):  # the common case
            leaves: list[Any] = list(args)
            key: Any = (STATE.grad_enabled, *[(a._data.shape, a._data.dtype, a.requires_grad)
                                              for a in args])
            tree = None
        else:
            leaves, tree = flatten((args, kwargs))
            key = (STATE.grad_enabled, tree, *[_signature(leaf) for leaf in leaves])
        tape = self._tapes.get(key)
        if tape is not None and tape.still_valid():
            result = tape.replay(leaves)
            if result is not _AGAIN:
                return result
        full_tree = tree if tree is not None else flatten((args, {}))[1]
        try:
            tape = capture(self.f, self.name, leaves, full_tree)
        except CaptureError as refusal:  # the builtin exception, one line (API.md)
            raise RuntimeError(str(refusal)) from None
        self._tapes[key] = tape
        while len(self._tapes) > self.cache_size:
            self._tapes.popitem(last=False)
        if tape.first is not _NONE:
            result, tape.first = tape.first, _NONE
            return result
        result = tape.replay(leaves)
        assert result is not _AGAIN, "a tape's guards fail on the values it was captured on"
        return result


def compile(f: Callable[..., Any]) -> Compiled:  # noqa: A001 - the API's name
    r"""``f`` compiled: a function with ``f``'s results whose forward and backward passes
    run from a tape captured on the first call and replayed afterwards.

    The results are ``f``'s, bit for bit, and so are the gradients ``backward()`` puts in
    ``.grad``. A new signature (shapes, dtypes, ``requires_grad`` flags of the tensor
    arguments, the values of the other arguments, grad mode, the training flag of every
    module ``f`` calls) is captured again; a few tapes are kept. Tensors that ``f`` closes
    over (a model's parameters) are read afresh on every call; random draws from the
    library's generator (dropout) are made afresh, continuing eager's stream. Python side
    effects inside ``f`` (printing, appending to a list, setting an attribute) happen at
    capture only, as under ``jax.jit``.

    ``f`` may be a whole training step — ``opt.zero_grad()``, the loss,
    ``loss.backward()``, ``opt.step()`` — replayed as one function (forward, backward,
    ``.grad`` accumulation, the optimiser's update reading its ``lr`` and state afresh),
    with eager training's parameters bit for bit; its results come back without a graph.

    Raises:
        RuntimeError: at capture, when ``f``'s Python control flow depends on tensor values
            (``.item()``, ``float(t)``, ``bool(t)``, ``.tolist()``) — a replay would repeat
            the captured branch —, when ``f`` changes a tensor in place, runs a backward
            pass inside other than a training step's (``cr.grad``), or draws from a layer's
            own generator; and at
            ``backward(create_graph=True)`` on a result.

    >>> import chainrule as cr
    >>> w = cr.tensor([1.0, 2.0], requires_grad=True)
    >>> step = cr.compile(lambda x: (w * x).sum())
    >>> step(cr.tensor([3.0, 4.0])).backward(); step(cr.tensor([3.0, 4.0])).backward()
    >>> w.grad
    tensor([6., 8.])
    """
    return Compiled(f)
