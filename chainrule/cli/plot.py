r"""``chainrule plot``: draw the pictures of :mod:`chainrule.viz` into a folder.

``chainrule plot WHAT --out DIR [--format png|svg]`` where ``WHAT`` is one of

* ``activations`` — the activation functions and their autodiff derivatives beside the
  textbook's closed forms (σ' = σ(1−σ), tanh' = 1 − tanh², ReLU' a step);
* ``descent`` — gradient descent, momentum and Adam on the textbook's linear-regression
  cost J(θ₀, θ₁) and on the Rosenbrock function;
* ``flow`` — per-layer gradient norms of a 10-layer sigmoid MLP and of the same net with
  ReLU, on a batch of the digits data set (the vanishing gradient, seen);
* ``graph`` — the computation graph of a small MLP's loss, each node with its local
  derivative rule (SVG or PNG when Graphviz's ``dot`` is installed, else the DOT source);
* ``gradcheck`` — finite-difference error against the analytic derivative over step sizes.

The module's contract with ``chainrule.cli.main``: :func:`register` adds the subparser and
:func:`run` draws the files, prints their paths and returns the exit status. User errors
raise ``ValueError``/``FileNotFoundError`` with a one-line message.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

WHAT = ("activations", "descent", "flow", "graph", "gradcheck")
FORMATS = ("png", "svg")


def register(subparsers: Any) -> None:
    """Add the ``plot`` subcommand to ``subparsers`` (from ``ArgumentParser.add_subparsers``)."""
    parser = subparsers.add_parser(
        "plot",
        help="draw the calculus: activations, descent paths, gradient flow, graphs",
        description=__doc__.split("\n\n")[0].replace("``", "") if __doc__ else None,
    )
    parser.add_argument("what", choices=WHAT, help="which picture to draw")
    parser.add_argument("--out", required=True, help="folder to write the files into")
    parser.add_argument(
        "--format", choices=FORMATS, default="png", help="image format (default: png)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed for weights and data")
    parser.set_defaults(handler=run)


def _out_dir(out: str) -> Path:
    path = Path(out)
    if path.exists() and not path.is_dir():
        raise ValueError(f"plot: --out {out!r} exists and is not a folder")
    path.mkdir(parents=True, exist_ok=True)
    return path


def _activations(out: Path, fmt: str, seed: int) -> list[Path]:
    from chainrule import viz

    path = out / f"activations.{fmt}"
    _close(viz.plot_activations(path=path))
    return [path]


def _descent(out: Path, fmt: str, seed: int) -> list[Path]:
    from chainrule import viz

    written = []
    for name, cost, start, steps, lrs in (
        ("linreg", viz.linreg_cost, (0.0, 0.0), 300, {"gd": 0.05, "momentum": 0.02, "adam": 0.1}),
        ("rosenbrock", viz.rosenbrock, (-1.5, 2.0), 400,
         {"gd": 1e-3, "momentum": 2e-4, "adam": 0.05}),
    ):
        paths = {
            label: viz.descent_path(cost, start, optimizer=label, lr=lr, steps=steps)
            for label, lr in lrs.items()
        }
        path = out / f"descent_{name}.{fmt}"
        _close(viz.plot_descent(cost, paths, title=f"descent on {name}", path=path))
        written.append(path)
    return written


def _flow(out: Path, fmt: str, seed: int) -> list[Path]:
    from chainrule import viz

    x, y = viz.digits_batch(seed=seed)
    written = []
    for activation in ("sigmoid", "relu"):
        model = viz.deep_mlp(activation, depth=10, seed=seed)
        report = viz.gradient_flow(model, x, y)
        print(f"{activation} MLP, 10 layers:\n{report}\n")
        path = out / f"flow_{activation}.{fmt}"
        _close(report.plot(path=path, title=f"gradient flow: 10-layer {activation} MLP"))
        written.append(path)
    return written


def _graph(out: Path, fmt: str, seed: int) -> list[Path]:
    from chainrule import viz

    loss = viz.example_loss(seed=seed)
    return [viz.save_graph(viz.draw_graph(loss), out / f"graph.{fmt}")]


def _gradcheck(out: Path, fmt: str, seed: int) -> list[Path]:
    from chainrule import viz

    path = out / f"gradcheck.{fmt}"
    _close(viz.plot_gradcheck(lambda x: x.sin(), 1.0, path=path))
    return [path]


def _close(fig: Any) -> None:
    import matplotlib.pyplot as plt

    plt.close(fig)


_DRAW: dict[str, Callable[[Path, str, int], list[Path]]] = {
    "activations": _activations,
    "descent": _descent,
    "flow": _flow,
    "graph": _graph,
    "gradcheck": _gradcheck,
}


def run(args: argparse.Namespace) -> int:
    """Draw ``args.what`` into ``args.out`` and print each file's path; return 0."""
    if args.what not in _DRAW:
        raise ValueError(f"plot: unknown picture {args.what!r} (choose from {', '.join(WHAT)})")
    fmt = getattr(args, "format", "png")
    if fmt not in FORMATS:
        raise ValueError(f"plot: unknown --format {fmt!r} (choose png or svg)")
    import matplotlib

    # Files only, never a window: the Agg backend needs no display.
    matplotlib.use("Agg")
    out = _out_dir(args.out)
    for path in _DRAW[args.what](out, fmt, getattr(args, "seed", 0)):
        print(path)
    return 0
