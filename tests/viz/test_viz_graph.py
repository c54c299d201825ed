"""viz.draw_graph / save_graph: the graph drawn with each op's local derivative rule."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn, viz
from chainrule.ops import OP_TABLE

graphviz = pytest.importorskip("graphviz")
HAS_DOT = shutil.which("dot") is not None


def _mlp_loss(seed: int = 0):
    cr.manual_seed(seed)
    model = nn.MLP([4, 3, 2], activation="sigmoid")
    rng = np.random.default_rng(seed)
    x = cr.tensor(rng.standard_normal((5, 4)).astype(np.float32))
    y = cr.tensor(rng.integers(0, 2, size=5))
    return F.cross_entropy(model(x), y), model


def _escaped(text: str) -> str:
    # graphviz quotes labels: a double quote inside becomes \"
    return text.replace('"', '\\"')


def _ops_in_graph(out) -> set[str]:
    names, stack, seen = set(), [out._node], set()
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        names.add(node.prim.name)
        stack.extend(getattr(v, "_node", None) for v in node.inputs)
    return names


def test_mlp_graph_source_names_every_op_with_its_derivative_formula():
    loss, model = _mlp_loss()
    dot = viz.draw_graph(loss)
    assert isinstance(dot, graphviz.Digraph)
    source = dot.source
    ops = _ops_in_graph(loss)
    assert {"linear", "sigmoid", "softmax_cross_entropy"} <= ops  # the fused nodes
    for name in ops:
        assert f"{name} → " in source, name
        assert _escaped(OP_TABLE[name].formula) in source, name
    assert "σ'(z) = σ(z)(1−σ(z))" in source


def test_graph_shows_output_shapes_and_leaf_names_values_and_grads():
    loss, model = _mlp_loss()
    loss.backward(retain_graph=True)
    names = dict(model.named_parameters())
    source = viz.draw_graph(loss, names=names).source
    assert "linear → (5, 3)" in source and "sigmoid → (5, 3)" in source
    assert "softmax_cross_entropy → ()" in source  # the fused loss, the output
    for name, param in names.items():
        assert f"{name} {'(' + ', '.join(map(str, param.shape))}" in source
    # after backward(retain_graph=True) the leaves carry their gradient summary
    bias = names["2.bias"]
    assert "grad [" + ", ".join(f"{v:.4g}" for v in bias.grad.numpy()) + "]" in source


def test_each_composite_call_is_its_own_cluster_when_expanded():
    loss, _ = _mlp_loss()
    source = viz.draw_graph(loss).source
    for label in ("MLP", "0: Linear", "2: Linear", "1: Sigmoid", "cross_entropy"):
        assert f"label=\"{label}\"" in source or f"label={label} " in source, label
    assert source.count("label=linear ") == 2  # F.linear, once inside each Linear layer
    assert source.count("subgraph cluster_") >= 7


def test_collapsed_graph_draws_one_box_per_outermost_composite_call():
    loss, _ = _mlp_loss()
    collapsed = viz.draw_graph(loss, expand=False).source
    assert "subgraph cluster_" not in collapsed
    assert "MLP → (5, 2)" in collapsed and "cross_entropy → ()" in collapsed
    assert "σ'(z)" not in collapsed  # the sigmoid is inside the MLP box
    layers = viz.draw_graph(loss, depth=1).source
    assert "0: Linear → (5, 3)" in layers and "2: Linear → (5, 2)" in layers


def test_two_calls_of_the_same_composite_stay_apart_when_collapsed():
    x = cr.tensor([0.5, -1.0, 2.0], requires_grad=True)
    out = x.softmax().softmax().sum()
    source = viz.draw_graph(out, expand=False).source
    assert source.count("softmax → (3,)") == 2


def test_drawing_a_freed_graph_raises_a_clear_error():
    loss, _ = _mlp_loss()
    loss.backward()
    with pytest.raises(RuntimeError, match="draw_graph: the graph was freed.*retain_graph=True"):
        viz.draw_graph(loss)


def test_draw_graph_of_a_leaf_and_of_a_non_tensor():
    leaf = cr.tensor([1.0, 2.0], requires_grad=True)
    assert "parameter (2,) float32" in viz.draw_graph(leaf).source
    with pytest.raises(TypeError, match="draw_graph: expected a Tensor"):
        viz.draw_graph(np.ones(3))


def test_max_nodes_guards_huge_graphs():
    x = cr.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(50):
        y = y * 1.01
    with pytest.raises(ValueError, match="draw_graph: the graph has 50 operations"):
        viz.draw_graph(y, max_nodes=10)


@pytest.mark.skipif(not HAS_DOT, reason="Graphviz's dot is not installed")
def test_graph_renders_to_svg_with_dot(tmp_path):
    loss, _ = _mlp_loss()
    written = viz.save_graph(viz.draw_graph(loss), tmp_path / "mlp.svg")
    assert written == tmp_path / "mlp.svg"
    text = written.read_text(encoding="utf-8")
    assert text.lstrip().startswith("<?xml") and "<svg" in text
    assert "sigmoid" in text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mlp.svg"]  # no stray DOT file


def test_save_graph_without_dot_writes_the_source_and_a_hint(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    loss, _ = _mlp_loss()
    dot = viz.draw_graph(loss)
    written = viz.save_graph(dot, tmp_path / "mlp.png")
    assert written == tmp_path / "mlp.dot"
    assert written.read_text(encoding="utf-8") == dot.source
    hint = capsys.readouterr().err
    assert "dot -Tpng" in hint and hint.count("\n") == 1


def test_a_tensor_used_twice_gets_two_edges():
    x = cr.tensor(3.0, requires_grad=True)
    dot = viz.draw_graph(x * x)
    assert dot.source.count(f"l{id(x)} -> ") == 2  # d(x·x)/dx = x + x: two paths


# ---------------------------------------------------------------- without Graphviz's dot


def test_rendering_without_dot_raises_one_line_saying_how_to_install_it(tmp_path, monkeypatch):
    dot = viz.draw_graph(_mlp_loss()[0])
    monkeypatch.setenv("PATH", str(tmp_path))  # graphviz looks dot up on PATH when it runs
    for render in (lambda: dot.pipe(format="svg"), lambda: dot.render(tmp_path / "g"),
                   lambda: dot._repr_mimebundle_()):  # the last is Jupyter's display
        with pytest.raises(graphviz.ExecutableNotFound) as info:
            render()
        message = str(info.value)
        assert "\n" not in message
        assert message.startswith("draw_graph: cannot render the graph: Graphviz's dot program")
        for way in ("apt-get install graphviz", "brew install graphviz", "conda install"):
            assert way in message
        assert info.value.__cause__ is None and info.value.__suppress_context__
        # IPython shows _render_traceback_ instead of a traceback: that one line.
        assert info.value._render_traceback_() == [f"GraphvizNotInstalledError: {message}"]


def test_save_graph_hint_says_how_to_install_graphviz(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    viz.save_graph(viz.draw_graph(_mlp_loss()[0]), tmp_path / "mlp.svg")
    hint = capsys.readouterr().err
    assert "apt-get install graphviz" in hint and "dot -Tsvg" in hint
    assert hint.count("\n") == 1


def test_errors_doc_quotes_the_message(monkeypatch, tmp_path):
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "errors.md").read_text("utf-8")
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(RuntimeError) as info:
        viz.draw_graph(cr.tensor(1.0, requires_grad=True).exp()).pipe()
    assert f"GraphvizNotInstalledError: {info.value}" in " ".join(doc.split())
