r"""Reverse-mode differentiation: the chain rule applied node by node, output to leaves.

For a scalar loss L and a node ``out = f(x₁, …, xₙ)``, every input receives

    ∂L/∂xᵢ = (∂L/∂out) · ∂out/∂xᵢ

and an input used by several nodes sums what it receives from each (fan-out in the
forward pass is fan-in here). Nodes are visited in an order where a node runs only after
every node that consumes its output, found without recursion (Kahn's algorithm), so a
chain of a million operations backpropagates like a chain of ten.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from chainrule._config import STATE
from chainrule.autodiff.node import Node, Traced

_FREED = (
    "backward: the graph was freed by an earlier backward(); "
    "pass retain_graph=True to the first backward() to backward through it twice"
)


def _consumer_counts(root: Node) -> dict[Node, int]:
    """For each node reachable from ``root``, how many reachable nodes consume it."""
    counts = {root: 0}
    stack = [root]
    while stack:
        node = stack.pop()
        inputs = node.inputs
        if inputs is None:
            raise RuntimeError(_FREED)
        for x, need in zip(inputs, node.needs):
            if not need:
                continue
            parent = x._node
            if parent is None:
                continue
            if parent in counts:
                counts[parent] += 1
            else:
                counts[parent] = 1
                stack.append(parent)
    return counts


def _accumulate_leaf(leaf: Traced, g: Any, create_graph: bool, fresh: bool = False) -> None:
    """Add ``g`` into ``leaf.grad`` (gradients accumulate across backward calls).

    ``fresh`` says that a rule of the op table computed ``g`` for this input alone (it is
    not the incoming gradient passed through); if it is also a base array of the leaf's
    dtype, nothing else can hold it, so it becomes ``.grad`` without a copy.
    """
    if create_graph:
        if not isinstance(g, Traced):
            g = type(leaf)._from_op(np.asarray(g), None)
        leaf.grad = g if leaf.grad is None else leaf.grad + g
        return
    if leaf.grad is None or leaf.grad.requires_grad:
        if fresh and type(g) is np.ndarray and g.base is None and g.dtype == leaf.data.dtype:
            data = g  # owned: no copy (W4 −2 full-size copies, W2 −1 per parameter)
        else:
            # A fresh array of the leaf's dtype: the rule may have returned a read-only view
            # (broadcast_to) or an array shared with another input (add passes g to both).
            data = np.array(g, dtype=leaf.data.dtype)
        leaf.grad = type(leaf)._from_op(data, None) if leaf.grad is None else leaf.grad + data
        return
    np.add(leaf.grad.data, g, out=leaf.grad.data, casting="unsafe")


def backward(
    root: Traced,
    gradient: Any,
    retain_graph: bool,
    create_graph: bool,
    targets: Sequence[Traced] | None = None,
) -> list | None:
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
    """
    results: list | None = None
    leaf_slots: dict[int, int] = {}
    node_slots: dict[Node, int] = {}
    if targets is not None:
        results = [None] * len(targets)
        for i, t in enumerate(targets):
            if t is root:
                results[i] = gradient
            elif t._node is None:
                leaf_slots[id(t)] = i
            else:
                node_slots[t._node] = i

    def deliver(leaf: Traced, g: Any, fresh: bool) -> None:
        if results is None:
            _accumulate_leaf(leaf, g, create_graph, fresh)
            return
        slot = leaf_slots.get(id(leaf))
        if slot is not None:
            results[slot] = g if results[slot] is None else results[slot] + g

    start = root._node
    if start is None:
        if root.requires_grad and results is None:
            _accumulate_leaf(root, gradient, create_graph)
        return results
    counts = _consumer_counts(start)
    grads: dict[Node, Any] = {start: gradient}
    ready = [start]
    previous_mode = STATE.grad_enabled
    STATE.grad_enabled = create_graph
    try:
        if create_graph or node_slots:
            _run_general(start, root, grads, counts, ready, deliver, retain_graph, create_graph,
                         node_slots, results)
        else:
            _run_arrays(grads, counts, ready, deliver, retain_graph)
    finally:
        STATE.grad_enabled = previous_mode
    return results


def _run_general(start: Node, root: Traced, grads: dict, counts: dict, ready: list,
                 deliver: Any, retain_graph: bool, create_graph: bool, node_slots: dict,
                 results: list | None) -> None:
    """The backward loop with every option: recorded rules (``create_graph``) and gradients
    collected for intermediate ``targets``."""
    while ready:
        node = ready.pop()
        g = grads.pop(node)
        if node_slots and node in node_slots and node is not start:
            results[node_slots[node]] = g  # type: ignore[index]
        if create_graph:
            _propagate(node, g, root, grads, counts, ready, deliver)
        else:
            _propagate_arrays(node, g, grads, counts, ready, deliver)
        if not retain_graph:
            node.inputs = node.arrays = node.out = node.saved = None  # node.free(), inlined


def _run_arrays(grads: dict, counts: dict, ready: list, deliver: Any,
                retain_graph: bool) -> None:
    """The first-order backward loop, the hot path of training: each node's rules run on
    the raw arrays saved at record time, nothing is recorded, and each result is passed
    on at once (the body of :func:`_propagate_arrays`, inlined: one call less per node)."""
    while ready:
        node = ready.pop()
        g = grads.pop(node)
        prim = node.prim
        if prim.vjp_all is not None or isinstance(g, Traced):
            _propagate_arrays(node, g, grads, counts, ready, deliver)
        else:
            if prim.prepare_g is not None:
                g = prim.prepare_g(g)  # once for all the rules (matmul: W4 −1 n×n copy)
            out, arrays, params, sum_to = node.out, node.arrays, node.params, prim.sum_to
            if prim.saves:
                params = {**params, "saved": node.saved}
            for x, a, need, rule in zip(node.inputs, arrays, node.needs, prim.vjps):
                if not need:
                    continue
                # no **params for the common parameterless op: one dict copy less per rule
                gx = rule(g, out, *arrays, **params) if params else rule(g, out, *arrays)
                if sum_to is not None and getattr(gx, "shape", ()) != getattr(a, "shape", ()):
                    gx = sum_to(gx, shape=getattr(a, "shape", ()))
                # _distribute's body, inlined (it runs once per edge of every graph)
                parent = x._node
                if parent is None:
                    deliver(x, gx, gx is not g)
                    continue
                held = grads.get(parent)
                grads[parent] = gx if held is None else held + gx
                left = counts[parent] - 1
                counts[parent] = left
                if not left:
                    ready.append(parent)
        if not retain_graph:
            node.inputs = node.arrays = node.out = node.saved = None  # node.free(), inlined


def _propagate(node: Node, g: Any, root: Traced, grads: dict, counts: dict, ready: list,
               deliver: Any) -> None:
    """Apply ``node``'s rules to ``g`` with ``create_graph``: the rules see Tensors, so what
    they compute is recorded and can be differentiated; each input's share is passed on."""
    prim = node.prim
    out = type(root)._from_op(node.out, node)
    if not isinstance(g, Traced):
        g = type(root)._from_op(np.asarray(g), None)
    args, needs = node.inputs, node.needs
    if prim.vjp_all is not None:
        input_grads = prim.vjp_all(g, out, args, node.params, needs)
    else:
        input_grads = prim.input_grads(g, out, args, node.params, needs)
    _distribute(node, g, input_grads, grads, counts, ready, deliver, prim.vjp_all is None)


def _distribute(node: Node, g: Any, input_grads: Any, grads: dict, counts: dict, ready: list,
                deliver: Any, owned: bool) -> None:
    """Hand each input its gradient: a leaf gets it delivered, a node sums it (fan-in) and
    becomes ready when its last consumer has reported. ``owned``: the rules are the op
    table's (custom ``vjp_all`` rules may return arrays they keep)."""
    for x, need, gx in zip(node.inputs, node.needs, input_grads):  # type: ignore[arg-type]
        if not need:
            continue
        parent = x._node
        if parent is None:
            deliver(x, gx, owned and gx is not g)
            continue
        held = grads.get(parent)
        grads[parent] = gx if held is None else held + gx
        left = counts[parent] - 1
        counts[parent] = left
        if not left:
            ready.append(parent)


def _propagate_arrays(node: Node, g: Any, grads: dict, counts: dict, ready: list,
                      deliver: Any) -> None:
    """Apply ``node``'s rules to ``g`` in a first-order pass: the same rules on the raw
    arrays saved at record time, nothing recorded."""
    prim = node.prim
    if isinstance(g, Traced):
        g = g.data
    if prim.vjp_all is not None:
        _distribute(node, g, prim.vjp_all(g, node.out, node.arrays, node.params, node.needs),
                    grads, counts, ready, deliver, False)
        return
    if prim.prepare_g is not None:
        g = prim.prepare_g(g)  # once for all the rules (matmul: W4 −1 n×n copy)
    input_grads = prim.input_grads(g, node.out, node.arrays, node.params, node.needs)
    _distribute(node, g, input_grads, grads, counts, ready, deliver, True)


def reaches_leaf(root: Traced, exclude: Sequence[Traced]) -> bool:
    """Whether the graph below ``root`` reaches a leaf that requires grad, other than the
    ``exclude``d ones (used to decide whether a transform's result must stay differentiable)."""
    skip = {id(t) for t in exclude}
    if root._node is None:
        return root.requires_grad and id(root) not in skip
    seen = {root._node}
    stack = [root._node]
    while stack:
        node = stack.pop()
        for x, need in zip(node.inputs or (), node.needs):
            if not need:
                continue
            parent = x._node
            if parent is None:
                if id(x) not in skip:
                    return True
            elif parent not in seen:
                seen.add(parent)
                stack.append(parent)
    return False
