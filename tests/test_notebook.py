"""chainrule in a real Jupyter kernel: every ``cr.viz`` figure and graph displays as a
picture, ``fit`` shows its progress bar, and without Graphviz's ``dot`` a graph says in one
line how to install it.

The notebook is built here with nbformat and executed by nbclient in a fresh ipykernel
(the ``python3`` kernel spec, which jupyter_client runs with this interpreter), from a clean
environment: no ``MPLBACKEND``, so the kernel starts with Matplotlib's inline backend, as
Jupyter does, and pyplot is never imported by the notebook.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

pytest.importorskip("matplotlib")
pytest.importorskip("graphviz")
pytest.importorskip("tqdm")
nbformat = pytest.importorskip("nbformat", reason="the notebook test needs chainrule[dev]")
nbclient = pytest.importorskip("nbclient", reason="the notebook test needs chainrule[dev]")
pytest.importorskip("ipykernel", reason="the notebook test needs chainrule[dev]")

ROOT = Path(__file__).resolve().parent.parent
PNG = "image/png"
SVG = "image/svg+xml"
WIDGET = "application/vnd.jupyter.widget-view+json"
HAS_DOT = shutil.which("dot") is not None

SETUP = """\
import os, tempfile
import numpy as np
import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn, optim, viz
cr.manual_seed(0)
X = cr.randn(64, 3)
y = X @ cr.tensor([[1.0], [-2.0], [0.5]])
loader = cr.data.DataLoader(cr.data.TensorDataset(X, y), batch_size=16)
model = nn.MLP([3, 8, 1], activation="sigmoid")
"""

# name -> code; each cell's last expression is what Jupyter displays.
CELLS = {
    "where": "import sys\nprint(sys.executable)\nprint(cr.__file__)",
    "activations": "cr.viz.plot_activations()",
    "gradcheck": "viz.plot_gradcheck(lambda x: x.sin(), 1.0)",
    "descent": "viz.plot_descent(viz.linreg_cost,\n"
               "                 viz.descent_path(viz.linreg_cost, (0.0, 0.0), lr=0.1, steps=20))",
    "flow": "viz.gradient_flow(model, X, y).plot()",
    "fit": "history = cr.fit(model, F.mse_loss, optim.Adam(model.parameters(), lr=0.05), "
           "loader, epochs=3, val_loader=loader)",
    "loss": "viz.plot_loss(history)",
    "graph": "graph = viz.draw_graph(F.mse_loss(model(X), y))",
    "display_graph": "graph",
    # Graphviz's dot is looked up on PATH when a graph is rendered: hide it.
    "hide_dot": "saved_path = os.environ['PATH']\nos.environ['PATH'] = tempfile.mkdtemp()",
    "display_without_dot": "graph",
    "render_without_dot": "graph.pipe(format='svg')",
    "restore_path": "os.environ['PATH'] = saved_path",
}
FIGURES = ("activations", "gradcheck", "descent", "flow", "loss")


def _kernel_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
    # The kernel imports this checkout's chainrule (it also starts in ROOT).
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


@pytest.fixture(scope="module")
def executed() -> dict[str, list[dict]]:
    """Run the notebook once; ``{cell name: its outputs}``."""
    notebook = nbformat.v4.new_notebook()
    notebook.cells.append(nbformat.v4.new_code_cell(SETUP))
    for name, code in CELLS.items():
        cell = nbformat.v4.new_code_cell(code, metadata={"name": name})
        if name.endswith("_without_dot") or (name == "display_graph" and not HAS_DOT):
            cell.metadata["tags"] = ["raises-exception"]
        notebook.cells.append(cell)
    client = nbclient.NotebookClient(notebook, timeout=120, kernel_name="python3",
                                     resources={"metadata": {"path": str(ROOT)}})
    try:
        client.execute(env=_kernel_env())
    except nbclient.exceptions.CellExecutionError as error:  # the cell's traceback, shown
        pytest.fail(f"a notebook cell failed:\n{error}")
    outputs = {cell.metadata["name"]: cell.outputs for cell in notebook.cells[1:]}
    outputs["__widgets__"] = [notebook.metadata.get("widgets", {})]
    return outputs


def _data(outputs: list[dict]) -> dict[str, object]:
    merged: dict[str, object] = {}
    for output in outputs:
        merged.update(output.get("data", {}))
    return merged


def _errors(outputs: list[dict]) -> list[dict]:
    return [output for output in outputs if output["output_type"] == "error"]


@pytest.mark.parametrize("name", FIGURES)
def test_each_figure_displays_as_a_png(executed, name):
    outputs = executed[name]
    assert not _errors(outputs), _errors(outputs)
    data = _data(outputs)
    assert PNG in data, f"{name}: the kernel showed only {data.get('text/plain')!r}"
    import base64

    assert base64.b64decode(data[PNG])[:8] == b"\x89PNG\r\n\x1a\n"


def test_figures_display_once(executed):
    # A figure shows as the cell's result only: nothing else draws it a second time.
    for name in FIGURES:
        pictures = [o for o in executed[name] if PNG in o.get("data", {})]
        assert len(pictures) == 1, name


def test_fit_shows_a_progress_bar(executed):
    outputs = executed["fit"]
    assert not _errors(outputs), _errors(outputs)
    widgets = [o for o in outputs if WIDGET in o.get("data", {})]
    text = "".join(o.get("text", "") for o in outputs if o["output_type"] == "stream")
    assert widgets or "3/3" in text, outputs
    if widgets:  # tqdm's widget: its text part reads like the terminal bar
        state = str(executed["__widgets__"][0])
        assert "3/3" in state and "val_loss=" in state


@pytest.mark.skipif(not HAS_DOT, reason="Graphviz's dot is not installed")
def test_graph_displays_as_svg_with_dot(executed):
    outputs = executed["display_graph"]
    assert not _errors(outputs), _errors(outputs)
    svg = _data(outputs).get(SVG)
    assert isinstance(svg, str) and "<svg" in svg and "mse_loss" in svg


def _one_line_install_error(outputs: list[dict]) -> str:
    errors = _errors(outputs)
    assert len(errors) == 1, outputs
    traceback = errors[0]["traceback"]
    assert len(traceback) == 1 and "\n" not in traceback[0], traceback
    assert "apt-get install graphviz" in traceback[0] and "brew install graphviz" in traceback[0]
    return traceback[0]


def test_graph_without_dot_says_in_one_line_how_to_install_it(executed):
    if not HAS_DOT:  # really without it
        _one_line_install_error(executed["display_graph"])
    _one_line_install_error(executed["display_without_dot"])
    assert SVG not in _data(executed["display_without_dot"])
    line = _one_line_install_error(executed["render_without_dot"])
    assert "conda install" in line


def test_the_kernel_runs_this_interpreter_and_this_checkout(executed):
    # jupyter_client runs the "python3" spec with sys.executable; a stray spec elsewhere
    # would test another environment.
    printed = "".join(o.get("text", "") for o in executed["where"]).splitlines()
    assert Path(printed[0]).resolve() == Path(sys.executable).resolve()
    assert Path(printed[1]).resolve().is_relative_to(ROOT)
