r"""Walking a recorded graph: the one place that knows how nodes connect.

A node's *producers* are the nodes of its Traced inputs; a node must be visited only after
every node that consumes its output (reverse topological order), so that the gradient it
passes on is complete. :func:`consumer_counts` counts each node's consumers below a root;
Kahn's algorithm then releases a node when its count reaches zero. Both use an explicit
stack, never recursion, so a chain of a million operations is walked like a chain of ten.
``backward``, ``explain`` and ``draw_graph`` all walk graphs through this module.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from chainrule.autodiff.node import Node, Traced
from chainrule.errors import graph_freed


def producers(node: Node, every_input: bool = False) -> Iterator[Node]:
    """The nodes that produced ``node``'s inputs: those a gradient flows into, or with
    ``every_input`` all of them (a drawing shows inputs that need no gradient too)."""
    for x, need in zip(node.inputs or (), node.needs):
        if (need or every_input) and isinstance(x, Traced) and x._node is not None:
            yield x._node


def consumer_counts(root: Node, op: str, every_input: bool = False) -> dict[Node, int]:
    """For each node reachable from ``root``, how many reachable nodes consume it.

    Raises:
        RuntimeError: a node's buffers were freed by an earlier ``backward()`` (``op``
            names the caller in the message).
    """
    counts = {root: 0}
    stack = [root]
    while stack:
        node = stack.pop()
        inputs = node.inputs
        if inputs is None:
            raise graph_freed(op)
        # the body of producers(), inlined: this loop runs for every edge of every backward
        for x, need in zip(inputs, node.needs):
            if not need and not (every_input and isinstance(x, Traced)):
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


def topological_order(root: Node, op: str, every_input: bool = False) -> list[Node]:
    """The nodes below ``root``, each after every node that consumes it (Kahn's algorithm):
    ``root`` first, the nodes nearest the leaves last."""
    counts = consumer_counts(root, op, every_input)
    order = []
    ready = [root]
    while ready:
        node = ready.pop()
        order.append(node)
        for parent in producers(node, every_input):
            counts[parent] -= 1
            if not counts[parent]:
                ready.append(parent)
    return order


def reaches_leaf(root: Traced, exclude: Sequence[Traced]) -> bool:
    """Whether the graph below ``root`` reaches a leaf that requires grad, other than the
    ``exclude``d ones (a transform's result must then stay differentiable)."""
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
