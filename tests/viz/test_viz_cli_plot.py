"""``chainrule plot``: each picture is written to --out and its path printed."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from viz_helpers import assert_image

from chainrule.cli import plot as plot_cli
from chainrule.cli.main import main

pytest.importorskip("matplotlib")

EXPECTED = {
    "activations": ["activations"],
    "descent": ["descent_linreg", "descent_rosenbrock"],
    "flow": ["flow_sigmoid", "flow_relu"],
    "gradcheck": ["gradcheck"],
}


@pytest.mark.parametrize("what", sorted(EXPECTED))
def test_plot_writes_each_picture_and_prints_its_path(what, tmp_path, capsys, monkeypatch):
    # The pictures' descent runs thousands of steps; a few dozen draw the same files.
    short = tuple(demo[:4] + (40,) + demo[5:] for demo in plot_cli._DESCENT_DEMOS)
    monkeypatch.setattr(plot_cli, "_DESCENT_DEMOS", short)
    out = tmp_path / "pics"
    assert main(["plot", what, "--out", str(out)]) == 0
    text = capsys.readouterr().out
    printed = [Path(line) for line in text.splitlines() if line.endswith(".png")]
    assert printed == [out / f"{stem}.png" for stem in EXPECTED[what]]
    for path in printed:
        assert_image(path)
    if what == "flow":  # both reports are printed; only the sigmoid net is flagged
        sigmoid, relu = text.split("relu MLP, 10 layers:")
        assert "vanishing gradients" in sigmoid
        assert "no vanishing or exploding detected" in relu


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
def test_plot_graph_renders_svg(tmp_path, capsys):
    assert main(["plot", "graph", "--out", str(tmp_path), "--format", "svg"]) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "graph.svg")
    svg = (tmp_path / "graph.svg").read_text(encoding="utf-8")
    assert "<svg" in svg and "0.weight" in svg and "relu" in svg


def test_plot_graph_without_dot_writes_dot_source(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    assert main(["plot", "graph", "--out", str(tmp_path)]) == 0
    captured = capsys.readouterr()
    assert captured.out.strip() == str(tmp_path / "graph.dot")
    assert "dot -Tpng" in captured.err
    assert (tmp_path / "graph.dot").read_text(encoding="utf-8").startswith("digraph")


def test_plot_user_errors_exit_2_with_one_line(tmp_path, capsys):
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    assert main(["plot", "activations", "--out", str(a_file)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "is not a folder" in err
    assert main(["plot", "nonsense", "--out", str(tmp_path)]) == 2
    assert main(["plot", "activations"]) == 2  # --out is required
