r"""``chainrule plot``: draw the pictures of :mod:`chainrule.viz` into a folder.

``chainrule plot WHAT --out DIR [--format png|svg]`` where ``WHAT`` is one of

* ``activations`` — the activation functions and their autodiff derivatives beside the
  textbook's closed forms (σ' = σ(1−σ), tanh' = 1 − tanh², ReLU' a step);
* ``descent`` — gradient descent, momentum and Adam on the textbook's linear-regression
  cost J(θ₀, θ₁) and on the Rosenbrock function;
* ``flow`` — per-layer gradient norms of a 10-layer sigmoid MLP and of the same net with
  ReLU, on a batch of the digits data set (the vanishing gradient, seen);
* ``graph`` — the computation graph of a small MLP's loss, each node with its local
  derivative rule (SVG or PNG when Graphviz's ``dot`` program is installed; without it,
  the DOT text, and a note on standard error saying so and how to install Graphviz);
* ``gradcheck`` — finite-difference error against the analytic derivative of sin at 1, over
  step sizes.

The module's contract with ``chainrule.cli.main``: :func:`register` adds the subparser and
:func:`run` draws the files, prints their paths and returns the exit status. User errors
raise ``ValueError``/``FileNotFoundError`` with a one-line message.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

from chainrule.cli._args import Subparsers, one_of

WHAT = ("activations", "descent", "flow", "graph", "gradcheck")
FORMATS = ("png", "svg")

# --help is plain text: the module docstring's reStructuredText would show its markup.
_DESCRIPTION = (
    "Draw the pictures of chainrule.viz into a folder and print each file's path. "
    "WHAT is one of: activations (the activation functions and their autodiff derivatives "
    "beside the textbook's closed forms); descent (gradient descent, momentum and Adam on "
    "the linear-regression cost and on the Rosenbrock function); flow (per-layer gradient "
    "norms of a 10-layer sigmoid MLP and of the same net with ReLU: the vanishing "
    "gradient); graph (the computation graph of a small MLP's loss, each node with its "
    "local derivative); gradcheck (the error of finite differences against the autodiff "
    "derivative over step sizes)."
)


def register(subparsers: Subparsers) -> None:
    """Add the ``plot`` subcommand to ``subparsers`` (from ``ArgumentParser.add_subparsers``)."""
    parser = subparsers.add_parser(
        "plot",
        help="draw the calculus: activations, descent paths, gradient flow, graphs",
        description=_DESCRIPTION,
    )
    parser.add_argument("what", metavar="WHAT", type=one_of("picture", WHAT), choices=WHAT,
                        help=f"which picture to draw: {', '.join(WHAT)}")
    parser.add_argument("--out", required=True, metavar="DIR",
                        help="folder to write the files into (made if missing)")
    parser.add_argument(
        "--format", type=one_of("format", FORMATS), choices=FORMATS, default="png",
        help="image format: png or svg (default: png)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed for weights and data")
    parser.set_defaults(handler=run)


# (file stem, title, cost function in viz, start, steps, {optimizer: learning rate}, window,
# minimum). The rates are each optimiser's good-but-not-tuned-to-death choice for the cost.
_DESCENT_DEMOS = (
    ("linreg", "J(θ₀, θ₁) of the textbook's linear regression", "linreg_cost", (0.0, 0.0), 200,
     {"gd": 0.1, "momentum": 0.01, "adam": 0.1}, ((-1.0, 2.0), (-0.5, 3.0)), (0.0, 2.0)),
    ("rosenbrock", "Rosenbrock (1−θ₀)² + 100(θ₁−θ₀²)²", "rosenbrock", (-1.2, 1.0), 1500,
     {"gd": 1.5e-3, "momentum": 3e-4, "adam": 0.05}, ((-1.5, 1.5), (-0.5, 1.5)), (1.0, 1.0)),
)


def _out_dir(out: str) -> Path:
    path = Path(out)
    if path.exists() and not path.is_dir():
        raise ValueError(f"plot: --out {out!r} exists and is not a folder")
    path.mkdir(parents=True, exist_ok=True)
    return path


def _activations(out: Path, fmt: str, seed: int) -> list[Path]:
    from chainrule import viz

    path = out / f"activations.{fmt}"
    viz.plot_activations(path=path)
    return [path]


def _descent(out: Path, fmt: str, seed: int) -> list[Path]:
    from chainrule import viz

    written: list[Path] = []
    for name, title, cost_name, start, steps, lrs, (xlim, ylim), minimum in _DESCENT_DEMOS:
        cost = getattr(viz, cost_name)
        paths = {
            label: viz.descent_path(cost, start, optimizer=label, lr=lr, steps=steps)
            for label, lr in lrs.items()
        }
        path = out / f"descent_{name}.{fmt}"
        viz.plot_descent(cost, paths, xlim=xlim, ylim=ylim, minimum=minimum,
                         title=f"{title}: gradient descent, momentum, Adam", save=path)
        written.append(path)
    return written


def _flow(out: Path, fmt: str, seed: int) -> list[Path]:
    from chainrule import viz
    from chainrule.viz._demos import deep_mlp, digits_batch

    x, y = digits_batch(seed=seed)
    written: list[Path] = []
    for activation in ("sigmoid", "relu"):
        model = deep_mlp(activation, depth=10, seed=seed)
        report = viz.gradient_flow(model, x, y)
        print(f"{activation} MLP, 10 layers:\n{report}\n")
        path = out / f"flow_{activation}.{fmt}"
        report.plot(path=path, title=f"gradient flow: 10-layer {activation} MLP")
        written.append(path)
    return written


def _graph(out: Path, fmt: str, seed: int) -> list[Path]:
    from chainrule import viz
    from chainrule.viz._demos import example_loss

    loss, names = example_loss(seed=seed)
    # Keep the graph through backward so the drawing shows each parameter's gradient too.
    loss.backward(retain_graph=True)
    graph = viz.draw_graph(loss, names=names)
    if shutil.which("dot") is not None:
        return [viz.save_graph(graph, out / f"graph.{fmt}")]
    from chainrule.viz._graphviz import INSTALL_GRAPHVIZ

    source = viz.save_graph(graph, out / "graph.dot")
    picture = out / f"graph.{fmt}"
    # Said plainly, since a demo that promises pictures would otherwise leave a text file.
    print(f"chainrule plot graph: not drawn: Graphviz's dot program is not installed, so "
          f"{source} holds the graph as DOT text instead of a picture.\n"
          f"  To draw it, install Graphviz (a system package: {INSTALL_GRAPHVIZ}) and run "
          f"this again, or run: dot -T{fmt} {source} -o {picture}", file=sys.stderr)
    return [source]


def _gradcheck(out: Path, fmt: str, seed: int) -> list[Path]:
    from chainrule import viz

    path = out / f"gradcheck.{fmt}"
    viz.plot_gradcheck(lambda x: x.sin(), 1.0, name="sin x", path=path)
    return [path]


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
    # The figures are made without pyplot, so no window opens and no display is needed.
    out = _out_dir(args.out)
    for path in _DRAW[args.what](out, fmt, getattr(args, "seed", 0)):
        print(path)
    return 0
