r"""Reverse-mode differentiation: the chain rule applied node by node, output to leaves.

For a scalar loss L and a node ``out = f(x₁, …, xₙ)``, every input receives

    ∂L/∂xᵢ = (∂L/∂out) · ∂out/∂xᵢ

and an input used by several nodes sums what it receives from each (fan-out in the
forward pass is fan-in here). Nodes run in the order of :mod:`chainrule.autodiff.graph`:
a node only after every node that consumes its output.

One loop serves both kinds of pass. In a first-order pass the rules see the raw arrays
saved at record time and nothing is recorded; with ``create_graph`` they see Traced
values, so what they compute is itself recorded and can be differentiated again.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, overload

import numpy as np

from chainrule._config import STATE
from chainrule._quiet import quiet
from chainrule.autodiff.graph import consumer_counts
from chainrule.autodiff.node import Node, Traced, wrap_result
from chainrule.autodiff.saved import check_unchanged


@overload
def backward(root: Traced, gradient: Any, retain_graph: bool, create_graph: bool,
             targets: None = None) -> None: ...
@overload
def backward(root: Traced, gradient: Any, retain_graph: bool, create_graph: bool,
             targets: Sequence[Traced]) -> list[Any]: ...
def backward(
    root: Traced,
    gradient: Any,
    retain_graph: bool,
    create_graph: bool,
    targets: Sequence[Traced] | None = None,
) -> list[Any] | None:
    """Backpropagate ``gradient`` = ∂L/∂root through the graph below ``root``.

    Args:
        root: the output to differentiate.
        gradient: ∂L/∂root, same shape as ``root`` (an array, or a Traced when
            ``create_graph`` is set).
        retain_graph: keep the saved buffers so that backward can run again.
        create_graph: record the backward pass itself, making the gradients differentiable.
        targets: when given, return ∂L/∂target for each of these (``None`` where L does not
            depend on it) and leave every ``.grad`` untouched, like ``torch.autograd.grad``;
            when ``None``, accumulate into the ``.grad`` of every leaf that requires grad.

    Raises:
        RuntimeError: the graph was freed by an earlier ``backward()``.
    """
    if STATE.capture is not None:  # inside a function cr.compile captures: recorded there
        return STATE.capture.backward_inside(
            root, gradient, retain_graph, create_graph, targets)
    node = root._node
    if (node is not None and node.prim.owns_grads and node.prim.prepare_g is None
            and targets is None and not create_graph
            and node.inputs is not None and not isinstance(gradient, Traced)
            and all(x._node is None for x in node.inputs)):
        # a cr.compile result: one node whose inputs are leaves; its rule and the leaves'
        # gradients, without a pass's bookkeeping (the loop's steps for this one node)
        previous_mode = STATE.grad_enabled
        STATE.grad_enabled = False
        try:
            _leaf_node_quietly(node, gradient, retain_graph)
        finally:
            STATE.grad_enabled = previous_mode
        return None
    state = _Pass(root, gradient, create_graph, targets)
    if root._node is not None:
        previous_mode = STATE.grad_enabled
        STATE.grad_enabled = create_graph
        try:
            _run_quietly(state, retain_graph)
        finally:
            STATE.grad_enabled = previous_mode
    elif root.requires_grad:
        state.to_leaf(root, gradient, False)
    return state.results


class _Pass:
    """One backward pass: the gradients waiting at nodes, how many consumers of each node
    have yet to report, the nodes ready to run, and where leaf gradients go."""

    __slots__ = ("root", "create_graph", "grads", "counts", "ready", "results", "leaf_slots",
                 "node_slots")

    def __init__(self, root: Traced, gradient: Any, create_graph: bool,
                 targets: Sequence[Traced] | None) -> None:
        self.root = root
        self.create_graph = create_graph
        self.results: list[Any] | None = None
        self.leaf_slots: dict[int, int] = {}  # id(leaf) -> index in targets
        self.node_slots: dict[Node, int] = {}  # an intermediate target's node -> index
        if targets is not None:
            self.results = [None] * len(targets)
            for i, t in enumerate(targets):
                if t is root:
                    self.results[i] = gradient
                elif t._node is None:
                    self.leaf_slots[id(t)] = i
                else:
                    self.node_slots[t._node] = i
        start = root._node
        self.counts = {} if start is None else consumer_counts(start, "backward")
        self.grads: dict[Node, Any] = {} if start is None else {start: gradient}
        self.ready = [] if start is None else [start]

    def run(self, retain_graph: bool) -> None:
        """Run every node's rules once, from the root to the leaves."""
        grads, counts, ready, node_slots = self.grads, self.counts, self.ready, self.node_slots
        create_graph, like, to_leaf = self.create_graph, type(self.root), self.to_leaf
        start = ready[0]
        clock = STATE.inplace_clock
        inputs: Any  # the node's input arrays, or (create_graph) its Traced inputs
        out: Any
        rules: Any  # one rule per input, or the gradients a vjp_all rule computed
        # The rules, their broadcasting undone and their results handed on, inline rather
        # than through Primitive.input_grads: this loop runs for every node of every backward.
        while ready:
            node = ready.pop()
            g = grads.pop(node)
            if node_slots and node in node_slots and node is not start:
                self.results[node_slots[node]] = g  # type: ignore[index]  # set with slots
            if node.stamp != clock:  # something changed in place after this node was made
                check_unchanged(node)
            prim = node.prim
            params = node.params
            if create_graph:
                inputs = node.inputs
                out = wrap_result(like, node.out, node)
                if not isinstance(g, Traced):
                    g = wrap_result(like, g, None)
            else:
                inputs = node.arrays
                out = node.out
                if isinstance(g, Traced):  # a custom Function's backward returned a Tensor
                    g = g._data
                if prim.prepare_g is not None:
                    g = prim.prepare_g(g)  # once for all the rules of the node
                if prim.saves:
                    params = {**params, "saved": node.saved}
            if prim.vjp_all is None:
                rules, computed, owned = prim.vjps, False, True
            else:
                rules = prim.vjp_all(g, out, inputs, params, node.needs)
                computed, owned = True, prim.owns_grads
            sum_to = prim.sum_to
            for x, a, need, rule in zip(node.inputs, inputs, node.needs, rules):  # type: ignore[arg-type]
                if not need:
                    continue
                if computed:
                    gx = rule
                else:
                    # no **params for the common parameterless op: one dict copy less
                    gx = rule(g, out, *inputs, **params) if params else rule(g, out, *inputs)
                    if sum_to is not None and getattr(gx, "shape", ()) != getattr(a, "shape", ()):
                        gx = sum_to(gx, shape=getattr(a, "shape", ()))
                parent = x._node
                if parent is None:
                    to_leaf(x, gx, owned and gx is not g)
                    continue
                held = grads.get(parent)
                grads[parent] = gx if held is None else held + gx
                left = counts[parent] - 1
                counts[parent] = left
                if not left:
                    ready.append(parent)
            if not retain_graph:
                node.free()

    def to_leaf(self, leaf: Traced, g: Any, fresh: bool) -> None:
        """Hand a leaf its gradient: into the results when ``targets`` were given (an
        untargeted leaf gets nothing), else accumulated into ``leaf.grad``."""
        if self.results is None:
            _accumulate(leaf, g, self.create_graph, fresh)
            return
        slot = self.leaf_slots.get(id(leaf))
        if slot is not None:
            held = self.results[slot]
            self.results[slot] = g if held is None else held + g


def _leaf_node(node: Node, g: Any, retain_graph: bool) -> None:
    """:meth:`_Pass.run` for a root node with an ``owns_grads`` rule whose inputs are all
    leaves: the same rule call and the same ``.grad`` accumulations, in the same order."""
    if node.stamp != STATE.inplace_clock:
        check_unchanged(node)
    prim = node.prim
    params = {**node.params, "saved": node.saved} if prim.saves else node.params
    grads = prim.vjp_all(g, node.out, node.arrays, params, node.needs)  # type: ignore[misc]
    for x, need, gx in zip(node.inputs, node.needs, grads):  # type: ignore[arg-type]
        if need:
            _accumulate(x, gx, False, gx is not g)
    if not retain_graph:
        node.free()


# Rules and the fan-in sums run NumPy arithmetic on raw arrays: a gradient that overflows
# is ±inf (and inf − inf nan), IEEE's answer, given silently as the forward ops give theirs.
_run_quietly = quiet(_Pass.run)
_leaf_node_quietly = quiet(_leaf_node)


def _accumulate(leaf: Traced, g: Any, create_graph: bool, fresh: bool) -> None:
    """Add ``g`` into ``leaf.grad`` (gradients accumulate across backward calls).

    ``fresh`` says that a rule of the op table computed ``g`` for this input alone (it is
    not the incoming gradient passed through); if it is also a base array of the leaf's
    dtype, nothing else can hold it, so it becomes ``.grad`` without a copy.
    """
    if create_graph:
        if not isinstance(g, Traced):
            g = wrap_result(type(leaf), np.asarray(g), None)
        leaf.grad = g if leaf.grad is None else leaf.grad + g
        return
    if leaf.grad is None or leaf.grad.requires_grad:
        if fresh and type(g) is np.ndarray and g.base is None and g.dtype == leaf._data.dtype:
            data = g  # owned by nobody else: no copy
        else:
            # A fresh array of the leaf's dtype: the rule may have returned a read-only view
            # (broadcast_to) or an array shared with another input (add passes g to both).
            data = np.array(g, dtype=leaf._data.dtype)
        leaf.grad = wrap_result(type(leaf), data, None) if leaf.grad is None else leaf.grad + data
        return
    np.add(leaf.grad._data, g, out=leaf.grad._data, casting="unsafe")
