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


def test_plot_graph_without_dot_says_plainly_what_it_could_not_draw(tmp_path, capsys,
                                                                   monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    assert main(["plot", "graph", "--out", str(tmp_path)]) == 0
    err = capsys.readouterr().err
    assert err.startswith("chainrule plot graph: not drawn: Graphviz's dot program is not "
                          "installed")
    assert "apt-get install graphviz" in err and "brew install graphviz" in err
    assert len(err.splitlines()) == 2


def _fake_venv(venv: Path) -> None:
    """A VENV for the Makefile whose ``chainrule`` runs this checkout's ``plot graph`` and
    skips the slow commands; the install stamps are fresh, so make installs nothing."""
    import os
    import sys

    root = Path(__file__).resolve().parents[2]
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "activate").write_text("")
    shim = venv / "bin" / "chainrule"
    shim.write_text(f'#!/bin/sh\ncase "$1 $2" in\n  "plot graph") '
                    f'PYTHONPATH="{root}" exec "{sys.executable}" -m chainrule "$@";;\n'
                    f'  *) exit 0;;\nesac\n')
    shim.chmod(0o755)
    (venv / ".installed-demo").write_text("")
    newer = (root / "pyproject.toml").stat().st_mtime + 10
    os.utime(venv / ".installed-demo", (newer, newer))


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_demo_without_dot_names_the_picture_it_could_not_draw(tmp_path):
    import subprocess

    root = Path(__file__).resolve().parents[2]
    _fake_venv(tmp_path / "venv")
    # A PATH with make and sh but without Graphviz's dot.
    bin_dir = tmp_path / "path"
    bin_dir.mkdir()
    for tool in ("make", "sh", "echo"):
        found = shutil.which(tool)
        if found:
            (bin_dir / tool).symlink_to(found)
    # Run from tmp_path, so that out/pictures is written there; the Makefile's stamps
    # depend on ./pyproject.toml.
    (tmp_path / "pyproject.toml").symlink_to(root / "pyproject.toml")
    result = subprocess.run(
        ["make", "-s", "-f", str(root / "Makefile"), "demo", f"VENV={tmp_path / 'venv'}"],
        capture_output=True, text=True, env={"PATH": str(bin_dir), "HOME": str(tmp_path)},
        cwd=tmp_path, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "chainrule plot graph: not drawn: Graphviz's dot program is not installed" in (
        result.stderr)
    last = result.stdout.strip().splitlines()[-1]
    assert "all but the computation graph" in last and "Graphviz" in last
    assert (tmp_path / "out" / "pictures" / "graph.dot").is_file()


def test_readme_names_graphviz_as_an_optional_system_package():
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    setup = readme.split("## Set up and run")[1].split("## ")[0]
    commands = setup.split("```sh\n")[1].split("```")[0].splitlines()
    assert [line.split()[:2] for line in commands] == [["make", "demo"], ["make", "test"]]
    text = " ".join(setup.split())
    assert "Optional" in text and "Graphviz's `dot` program" in text
    for way in ("apt-get install graphviz", "brew install graphviz", "conda install"):
        assert way in text
