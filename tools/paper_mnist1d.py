"""The MNIST-1D paper's table (Greydanus & Kobak, github.com/greydanus/mnist1d), reproduced with
chainrule: ``make paper``.

Each of the paper's models is trained as ``chainrule train --dataset mnist1d --model M``
does (the paper's settings: Adam at lr 0.01, batches of 100 in the data's order, 6,000
steps on all 4,000 training sequences) and scored once on the 1,000 test sequences; the
table prints the test accuracy beside the paper's figure. With several ``--seeds`` it prints
the mean and the range over the seeds (the seed draws the initial weights), and draws the
table as a bar chart beside the paper's figures (``cr.viz.plot_paper_table``) to ``--out``.

    python tools/paper_mnist1d.py [--seeds 0,1,2] [--models linear,mlp] [--out PNG]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from chainrule.cli.train import MODELS, train_model

# model -> (the paper's name for it, its test accuracy in the paper's table)
PAPER = {"linear": ("logistic regression", 0.32), "mlp": ("MLP", 0.68), "cnn": ("CNN", 0.94),
         "gru": ("GRU", 0.91)}
# The paper's own notebook (notebooks/mnist1d-classification.ipynb), as last run and
# committed by its authors, ends at these test accuracies after 6,000 steps.
NOTEBOOK = {"linear": 0.315, "mlp": 0.651, "cnn": 0.923, "gru": 0.891}
TITLE = "MNIST-1D test accuracy: chainrule beside the paper (Greydanus & Kobak)"


def _ints(text: str) -> list[int]:
    try:
        values = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated seeds like 0,1,2, "
                                         f"got {text!r}") from None
    if any(v < 0 for v in values):
        raise argparse.ArgumentTypeError(f"seeds are whole numbers >= 0, got {text!r}")
    return values


def _models(text: str) -> list[str]:
    names = [part.strip() for part in text.split(",")]
    unknown = [name for name in names if name not in MODELS]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown model {unknown[0]!r} (choose from "
                                         f"{', '.join(MODELS)})")
    return names


def _percent(value: float) -> str:
    return f"{100 * value:.1f} %"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=_ints, default=[0],
                        help="seeds of the initial weights, e.g. 0,1,2 (default: 0)")
    parser.add_argument("--models", type=_models, default=list(MODELS),
                        help=f"the rows, from {', '.join(MODELS)} (default: all)")
    parser.add_argument("--out", type=Path, default=Path("out") / "mnist1d_paper.png",
                        help="where to draw the table as a bar chart (.png or .svg; default: "
                             "%(default)s); '' draws none")
    args = parser.parse_args(argv)

    print("MNIST-1D: the paper's models and settings (Adam, lr 0.01, batch 100, 6,000 steps; "
          "4,000 training and 1,000 test sequences)")
    seeds = ", ".join(map(str, args.seeds))
    print(f"test accuracy with chainrule (seed{'s' if len(args.seeds) > 1 else ''} {seeds}) "
          "beside the paper's table and its notebook's last run\n")
    header = f"{'model':<20}  {'chainrule':>22}  {'paper':>6}  {'notebook':>8}  {'time':>7}"
    print(header)
    print("-" * len(header))
    rows = []
    for model in args.models:
        start = time.perf_counter()
        scores = [train_model("mnist1d", model=model, seed=seed).score for seed in args.seeds]
        seconds = (time.perf_counter() - start) / len(scores)
        mean = sum(scores) / len(scores)
        ours = _percent(mean)
        if len(scores) > 1:
            ours += f" ({100 * min(scores):.1f}–{100 * max(scores):.1f})"
        name, paper = PAPER[model]
        print(f"{name:<20}  {ours:>22}  {100 * paper:>4.0f} %  {_percent(NOTEBOOK[model]):>8}"
              f"  {seconds:>5.1f} s", flush=True)
        rows.append((name, scores, paper))
    print("\ntime: seconds per training run of 6,000 steps on this machine")
    if len(args.seeds) > 1:
        print("per seed: " + "; ".join(
            f"{name} " + ", ".join(f"{score:.3f}" for score in scores)
            for name, scores, _ in rows))
    if str(args.out) not in ("", "."):
        _draw(rows, args.out)
    return 0


def _draw(rows: list[tuple[str, list[float], float]], out: Path) -> None:
    """The table as grouped bars beside the paper's figures (needs Matplotlib)."""
    try:
        from chainrule.viz import plot_paper_table

        out.parent.mkdir(parents=True, exist_ok=True)
        plot_paper_table(rows, path=out, title=TITLE)
    except ImportError as exc:  # the viz extra is not installed: the table is enough
        print(f"no chart drawn ({exc})")
        return
    print(f"chart: {out}")


if __name__ == "__main__":
    sys.exit(main())
