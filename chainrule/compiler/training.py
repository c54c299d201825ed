r"""A whole training step inside a compiled function: ``backward()`` and the optimiser.

``cr.compile(step)`` where ``step`` calls ``optimizer.zero_grad()``, computes a loss
:math:`L`, calls ``L.backward()`` and ``optimizer.step()``: the capture records

* the backward pass as the rule calls of :mod:`.walk` (the engine's walk, step for step),
  seeded with :math:`\partial L/\partial L = 1`, appended to the forward's tape;
* one *effect* step per gradient leaving the function: the engine's own accumulation into
  the parameter's ``.grad`` (:func:`chainrule.autodiff.backward._accumulate`), with the
  same arguments the engine would pass, in the engine's order;
* ``zero_grad()`` and ``step()`` as effect steps calling the optimiser's own code, so its
  hyper-parameters (a scheduler's ``lr``), its state (momentum buffers, Adam's moments and
  step count, hence the bias correction :math:`1-\beta^t`) are read afresh on every replay.

The replay is one generated function: forward, backward, accumulations, optimiser — no
Tensor for the intermediate values, no Node, no graph walk. The capture call itself is an
eager step (the engine's backward and the optimiser run for real). What a replay could
not repeat is refused at capture: ``backward()`` on a value the function did not compute,
with ``gradient=``, ``create_graph``, ``inputs``, or reaching an argument (or a tensor
with a graph of its own); reading a ``.grad`` the backward set; computing with tensors
after ``optimizer.step()``; ``step(closure)``. The function's results are returned as
values without a graph (their backward already ran).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule._config import STATE
from chainrule.autodiff import Traced, backward
from chainrule.autodiff.backward import _accumulate
from chainrule.compiler.capture import Recorder, Step
from chainrule.compiler.walk import capture_backward


def record_backward(recorder: Recorder, root: Traced, gradient: Any, retain_graph: bool,
                    create_graph: bool, targets: Any) -> None:
    """``root.backward()`` inside the captured function: record its rule calls and the
    ``.grad`` accumulations, then run it for real (the capture is an eager step)."""
    recorder.after_step()
    node = root._node
    if node is None or id(node) not in recorder.node_steps:
        raise recorder.refuse("it calls backward() on a tensor it did not compute", step=True)
    if (type(gradient) is not np.ndarray or gradient.shape != root._data.shape
            or id(gradient) in recorder.slot_of or not np.all(gradient == 1)):
        raise recorder.refuse("it calls backward(gradient=...); only a scalar loss's "
                              "backward() can be compiled with the step", step=True)
    ext_index = {slot: k for k, slot in enumerate(recorder.external_slots)}
    STATE.capture = None
    try:
        tape = capture_backward(recorder, root, recorder.n_slots)
    finally:
        STATE.capture = recorder
    leaves = []
    for sink_ref, _ in tape.sinks:
        k = ext_index.get(sink_ref[1]) if sink_ref[0] == "s" else None
        leaf = recorder.externals[k] if k is not None else None
        if leaf is None or leaf._node is not None:
            raise recorder.refuse("its backward() reaches an argument, or a tensor with a "
                                  "graph of its own, that requires grad; only parameters "
                                  "(leaves it closes over) can take gradients in a step",
                                  step=True)
        leaves.append(leaf)
    seed = np.ones(root._data.shape, root._data.dtype)  # ∂L/∂L, the same on every replay:
    seed.flags.writeable = False  # one constant (a leaf takes a copy, as eager's does)
    recorder.steps.append(Step(_same, [("c", seed)], {}, [tape.seed], False,
                               "backward: seed"))
    recorder.steps.extend(tape.steps)
    recorder.n_slots = tape.n_slots
    for leaf, (_, slot), fresh in zip(leaves, tape.sinks, tape.fresh):
        recorder.steps.append(Step(_accumulate, [("c", leaf), ("s", slot), ("c", False),
                                                 ("c", fresh)], {}, [recorder._new_slot()],
                                   False, "backward: .grad", effect=True))
    recorder.effects = True
    STATE.capture = None
    try:
        backward(root, gradient, retain_graph, False)
    finally:
        STATE.capture = recorder
    for leaf in leaves:
        recorder.gradients.add(id(leaf.grad))
        recorder.keep.append(leaf.grad)


def _same(value: Any) -> Any:
    return value


def record_optimizer(recorder: Recorder, optimizer: Any, method: str, argument: Any) -> Any:
    """``optimizer.zero_grad(set_to_none)`` or ``optimizer.step()`` inside the captured
    function: one effect step calling the optimiser's own code, run for real now."""
    if method == "step":
        if argument is not None:
            raise recorder.refuse("it calls optimizer.step(closure); call the closure's "
                                  "body in the function and step() without one", step=True)
        call: Any = optimizer._update_all
        args: list[Any] = []
        recorder.stepped = recorder.effects = True
    else:  # idempotent: a replay whose guard fails after it may capture (and run it) again
        call = optimizer.zero_grad
        args = [argument]
    STATE.capture = None
    try:
        call(*args)
    finally:
        STATE.capture = recorder
    if method == "step":  # written out for the state the step just left (buffers started)
        call = optimizer._replay_update()
    recorder.steps.append(Step(call, [("c", a) for a in args], {}, [recorder._new_slot()],
                               False, f"{type(optimizer).__name__}.{method}", effect=True))
    return None
