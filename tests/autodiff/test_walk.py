"""The one graph walk (chainrule.autodiff.graph): consumer counts, topological order and
reachability, shared by backward, explain and draw_graph."""

from __future__ import annotations

import pytest

import chainrule as cr
from chainrule.autodiff import consumer_counts, reaches_leaf, topological_order


def _diamond():
    x = cr.tensor(2.0, requires_grad=True)
    a = x.sin()          # a and b both consume x
    b = x.exp()
    c = a * b            # c consumes a and b
    return x, a, b, c, (c + a).sum()  # a is consumed twice


def test_consumer_counts_count_every_consumer_below_the_root():
    x, a, b, c, out = _diamond()
    counts = consumer_counts(out._node, "test")
    assert counts[a._node] == 2 and counts[b._node] == 1 and counts[c._node] == 1
    assert counts[out._node] == 0


def test_topological_order_puts_every_consumer_before_its_producers():
    x, a, b, c, out = _diamond()
    order = topological_order(out._node, "test")
    assert order[0] is out._node and len(order) == len(set(order)) == 5
    position = {node: i for i, node in enumerate(order)}
    for node in order:
        for _, parent in node.parents():
            if parent._node is not None:
                assert position[node] < position[parent._node]


def test_every_input_also_follows_inputs_without_a_derivative_rule():
    from chainrule import ops

    w = cr.tensor([1.0, -1.0], requires_grad=True)
    mask = w * 1.0            # recorded, but where() has no rule for its condition
    y = ops.where(mask, w, 0.0)
    assert [n.prim.name for n in topological_order(y._node, "test")] == ["where"]
    drawn = topological_order(y._node, "test", every_input=True)
    assert [n.prim.name for n in drawn] == ["where", "mul"]


def test_a_freed_graph_raises_one_message_naming_the_caller():
    x, a, b, c, out = _diamond()
    out.backward()
    for op in ("backward", "explain", "draw_graph"):
        with pytest.raises(RuntimeError, match=rf"^{op}: the graph was freed by an earlier "
                                               r"backward\(\); pass retain_graph=True"):
            topological_order(out._node, op)


def test_reaches_leaf_sees_through_the_graph_and_honours_exclusions():
    x, a, b, c, out = _diamond()
    assert reaches_leaf(out, [])
    assert not reaches_leaf(out, [x])
    assert not reaches_leaf(cr.tensor(1.0) * 2.0, [])
