r"""Drawing the computation graph: every operation with its local derivative rule.

Backpropagation is the chain rule applied along this graph, output to leaves:
:math:`\partial L/\partial x = \sum_{\text{paths}} \prod \text{(local derivatives)}`.
:func:`draw_graph` shows each factor of that product — the ``formula`` of each primitive,
read from the same op table the engine differentiates with.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from chainrule.autodiff import Node, Traced, topological_order

_OP_STYLE = {"shape": "box", "style": "rounded,filled", "fillcolor": "#dbe9f6"}
_GROUP_STYLE = {"shape": "box3d", "style": "filled", "fillcolor": "#fde9c9"}
_PARAM_STYLE = {"shape": "box", "style": "filled", "fillcolor": "#d5f0d5"}
_INPUT_STYLE = {"shape": "box", "style": "filled", "fillcolor": "#eeeeee"}
_CONST_STYLE = {"shape": "plaintext", "fontcolor": "#666666"}


def _fmt(value: float) -> str:
    return f"{value:.4g}"


def summarize(array: np.ndarray, max_items: int = 4) -> str:
    """A short text for an array: its values if few, else mean, std and norm."""
    array = np.asarray(array)
    if array.size <= max_items:
        if array.ndim == 0:
            return _fmt(float(array))
        return "[" + ", ".join(_fmt(float(v)) for v in array.ravel()) + "]"
    as_float = array.astype(np.float64)
    return (f"mean {_fmt(as_float.mean())}, std {_fmt(as_float.std())}, "
            f"‖·‖ {_fmt(float(np.linalg.norm(as_float)))}")


def _shape(shape: tuple[int, ...]) -> str:
    return "(" + ", ".join(str(n) for n in shape) + ("," if len(shape) == 1 else "") + ")"


def _params_text(params: dict[str, Any]) -> str:
    parts = []
    for key, value in params.items():
        text = repr(value.tolist() if isinstance(value, np.ndarray) else value)
        if len(text) <= 30:
            parts.append(f"{key}={text}")
    return ", ".join(parts)


class _Graph:
    """The graph below one output: op nodes, leaves, constants and edges, in order."""

    def __init__(self, root: Traced) -> None:
        self.nodes: list[Node] = []
        self.leaves: dict[int, Traced] = {}
        # (producer, consumer node id); the producer is a node id, or the drawn name of a
        # leaf ("l…") or a constant ("c…").
        self.edges: list[tuple[int | str, int]] = []
        self.constants: dict[str, Any] = {}
        self._walk(root)

    def _walk(self, root: Traced) -> None:
        if root._node is None:
            self.leaves[id(root)] = root
            return
        for node in topological_order(root._node, "draw_graph", every_input=True):
            self.nodes.append(node)
            for i, value in enumerate(node.inputs or ()):
                if isinstance(value, Traced) and value._node is not None:
                    self.edges.append((id(value._node), id(node)))
                elif isinstance(value, Traced):
                    self.leaves[id(value)] = value
                    self.edges.append((f"l{id(value)}", id(node)))
                elif value is not None:
                    key = f"c{id(node)}_{i}"
                    self.constants[key] = value
                    self.edges.append((key, id(node)))


def _leaf_label(leaf: Traced, name: str | None) -> str:
    kind = "parameter" if leaf.requires_grad else "input"
    lines = [f"{name or kind} {_shape(leaf.data.shape)} {leaf.data.dtype}"]
    lines.append("value " + summarize(leaf.data))
    grad = getattr(leaf, "grad", None)
    if grad is not None:
        lines.append("grad " + summarize(grad.data if isinstance(grad, Traced) else grad))
    elif leaf.requires_grad:
        lines.append("grad None")
    return "\\n".join(lines)


def _op_label(node: Node) -> str:
    head = f"{node.prim.name} → {_shape(node.out.shape) if node.out is not None else '?'}"
    params = _params_text(node.params)
    lines = [head + (f"  [{params}]" if params else "")]
    if node.prim.formula:
        lines.append(node.prim.formula)
    return "\\n".join(lines)


def _const_label(value: Any) -> str:
    array = np.asarray(value)
    if array.size <= 4:
        return "const " + summarize(array)
    return f"const {_shape(array.shape)}"


def _scope_key(scope: tuple[str, ...], depth: int) -> tuple[int, ...]:
    # One ScopeName object per composite call: identities tell two calls apart.
    return tuple(id(s) for s in scope[:depth])


class _Layout:
    """Where each op goes: its own box, or one box per collapsed composite call, inside
    the clusters of its enclosing composites."""

    def __init__(self, graph: _Graph, depth: float) -> None:
        self.display: dict[int, str] = {}  # op node id -> displayed node name
        self.groups: dict[str, list[Node]] = {}
        self.group_title: dict[str, str] = {}
        self.cluster_of: dict[str, tuple[int, ...]] = {}
        self.cluster_names: dict[tuple[int, ...], str] = {(): ""}
        for node in graph.nodes:
            scope = node.scope
            if len(scope) > depth:
                level = int(depth)
                name = "g" + "_".join(str(k) for k in _scope_key(scope, level + 1))
                self.groups.setdefault(name, []).append(node)
                self.group_title[name] = str(scope[level])
                self.display[id(node)] = name
                self._place(name, scope, level)
            else:
                name = f"n{id(node)}"
                self.display[id(node)] = name
                self._place(name, scope, len(scope))

    def _place(self, name: str, scope: tuple[str, ...], level: int) -> None:
        key = _scope_key(scope, level)
        self.cluster_of[name] = key
        for k in range(1, level + 1):
            self.cluster_names.setdefault(_scope_key(scope, k), str(scope[k - 1]))


def _group_label(title: str, nodes: list[Node], graph_edges: list[tuple[int | str, int]],
                 display: dict[int, str], name: str, root: Node | None) -> str:
    ops: dict[str, int] = {}
    for node in nodes:
        ops[node.prim.name] = ops.get(node.prim.name, 0) + 1
    members = {id(n) for n in nodes}
    consumed_outside = {p for p, c in graph_edges if p in members and display.get(c) != name}
    outs = [n for n in nodes if id(n) in consumed_outside or n is root]
    shapes = ", ".join(_shape(n.out.shape) for n in outs if n.out is not None)
    op_list = ", ".join(f"{op}×{k}" if k > 1 else op for op, k in ops.items())
    return f"{title} → {shapes}\\n{len(nodes)} ops: {op_list}"


def draw_graph(tensor: Traced, expand: bool = True, depth: int | None = None,
               names: Mapping[str, Traced] | None = None, max_nodes: int = 2000) -> Any:
    r"""A Graphviz diagram of the computation that produced ``tensor``.

    Each operation is a box labelled with its name, output shape, parameters and its
    local derivative rule (the primitive's ``formula`` from the op table, e.g.
    ``σ'(z) = σ(z)(1−σ(z))``); leaves show name, shape, dtype, a value summary and their
    ``.grad`` (so drawing after ``backward(retain_graph=True)`` shows the gradients).
    Edges follow the data forward; backpropagation walks them in reverse, multiplying
    the local derivatives (the chain rule).

    Composites (``softmax``, a loss, each ``nn.Module`` call) are drawn as labelled
    clusters around their operations, or collapsed to one box per call.

    Args:
        tensor: the output whose graph to draw.
        expand: ``True`` draws every primitive; ``False`` collapses each outermost
            composite call into a single box (same as ``depth=0``).
        depth: how many levels of composites to show as clusters before collapsing the
            next level into boxes (``depth=1`` on a model shows one box per layer).
        names: ``{name: tensor}`` for labelling leaves, e.g.
            ``dict(model.named_parameters())``.
        max_nodes: refuse to draw more operations than this (Graphviz would take ages).

    Returns:
        A ``graphviz.Digraph``; ``.source`` is the DOT text. Rendering it (``.render()``,
        ``.pipe()``, or showing it in Jupyter, where it displays as SVG) runs Graphviz's
        ``dot`` program; without it, rendering raises one line saying how to install it.
        :func:`save_graph` writes it to a file, and falls back to the DOT text.

    Raises:
        TypeError: ``tensor`` is not a Tensor.
        RuntimeError: the graph was freed by ``backward()`` without ``retain_graph=True``.
        ValueError: more than ``max_nodes`` operations (collapse with ``expand=False``).

    >>> import chainrule as cr
    >>> z = cr.tensor([0.5, -1.0], requires_grad=True)
    >>> dot = cr.viz.draw_graph(z.sigmoid())
    >>> "sigmoid → (2,)" in dot.source, "σ'(z) = σ(z)(1−σ(z))" in dot.source
    (True, True)
    """
    from chainrule.viz._graphviz import Digraph

    if not isinstance(tensor, Traced):
        raise TypeError(f"draw_graph: expected a Tensor, got {type(tensor).__name__}")
    graph = _Graph(tensor)
    level = float("inf") if expand and depth is None else (0 if depth is None else depth)
    layout = _Layout(graph, level)
    shown = len(set(layout.display.values()))
    if shown > max_nodes:
        raise ValueError(
            f"draw_graph: the graph has {shown} operations to draw (max_nodes={max_nodes}); "
            f"pass expand=False (or a small depth) to collapse composites, or raise max_nodes"
        )
    leaf_names = {id(t): name for name, t in (names or {}).items()}
    dot = Digraph("chainrule", graph_attr={"rankdir": "TB", "fontname": "Helvetica"},
                           node_attr={"fontname": "Helvetica", "fontsize": "11"})
    bodies: dict[tuple[int, ...], list[tuple[str, str, dict[str, str]]]] = {}
    root = tensor._node
    emitted: set[str] = set()
    for node in graph.nodes:
        name = layout.display[id(node)]
        if name in emitted:
            continue
        emitted.add(name)
        if name in layout.groups:
            label = _group_label(layout.group_title[name], layout.groups[name], graph.edges,
                                 layout.display, name, root)
            style = dict(_GROUP_STYLE)
        else:
            label, style = _op_label(node), dict(_OP_STYLE)
        if node is root:
            style["penwidth"] = "2.5"
        bodies.setdefault(layout.cluster_of[name], []).append((name, label, style))
    _emit_clusters(dot, (), bodies, layout.cluster_names)
    _emit_leaves(dot, graph, leaf_names, tensor)
    drawn = set()
    for producer, consumer in graph.edges:
        tail = producer if isinstance(producer, str) else layout.display[producer]
        head = layout.display[consumer]
        if tail == head:
            continue  # inside one collapsed box
        # Between two ops every use is its own edge (x·x has two: the gradients add up);
        # into or out of a collapsed box, one edge per pair is enough.
        grouped = tail in layout.groups or head in layout.groups
        if not (grouped and (tail, head) in drawn):
            drawn.add((tail, head))
            dot.edge(tail, head)
    return dot


def _emit_clusters(dot: Any, key: tuple[int, ...],
                   bodies: dict[tuple[int, ...], list[tuple[str, str, dict[str, str]]]],
                   cluster_names: dict[tuple[int, ...], str]) -> None:
    for name, label, style in bodies.get(key, []):
        dot.node(name, label, **style)
    children = [k for k in cluster_names if len(k) == len(key) + 1 and k[: len(key)] == key]
    for child in children:
        with dot.subgraph(name="cluster_" + "_".join(str(k) for k in child)) as sub:
            sub.attr(label=cluster_names[child], style="dashed,rounded", color="#888888",
                     fontname="Helvetica")
            _emit_clusters(sub, child, bodies, cluster_names)


def _emit_leaves(dot: Any, graph: _Graph, leaf_names: dict[int, str], root: Traced) -> None:
    for key, leaf in graph.leaves.items():
        style = dict(_PARAM_STYLE if leaf.requires_grad else _INPUT_STYLE)
        if leaf is root:
            style["penwidth"] = "2.5"
        dot.node(f"l{key}", _leaf_label(leaf, leaf_names.get(key)), **style)
    for name, value in graph.constants.items():
        dot.node(name, _const_label(value), **_CONST_STYLE)


def save_graph(digraph: Any, path: str | Path) -> Path:
    """Write ``digraph`` to ``path``, rendered in the format its suffix names (``.svg``,
    ``.png``, ``.pdf``) when Graphviz's ``dot`` program is installed.

    Without ``dot`` (or for a ``.dot``/``.gv`` path) the DOT source is written instead, to
    ``path`` with the suffix ``.dot``, and one line on how to install Graphviz and render
    it goes to standard error.

    Returns:
        The path of the file written.
    """
    path = Path(path)
    fmt = path.suffix.lstrip(".").lower()
    if fmt in ("dot", "gv"):
        path.write_text(digraph.source, encoding="utf-8")
        return path
    if not fmt:
        raise ValueError(f"save_graph: {str(path)!r} has no suffix to name a format (e.g. .svg)")
    if shutil.which("dot") is None:
        from chainrule.viz._graphviz import INSTALL_GRAPHVIZ

        source = path.with_suffix(".dot")
        source.write_text(digraph.source, encoding="utf-8")
        print(f"save_graph: Graphviz's dot program is not installed, so wrote the DOT source "
              f"to {source} instead of drawing {path.name} (install Graphviz: "
              f"{INSTALL_GRAPHVIZ}; then draw it with: dot -T{fmt} {source} -o {path})",
              file=sys.stderr)
        return source
    digraph.render(outfile=str(path), format=fmt, cleanup=True)
    return path
