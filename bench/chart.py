r"""The bar chart of ratios: each framework's speed relative to PyTorch's, per workload.

Speed is :math:`t_{\mathrm{PyTorch}}/t` for the timed workloads and
:math:`\mathrm{throughput}/\mathrm{throughput}_{\mathrm{PyTorch}}` for W2, W4 and W8, so higher is
faster everywhere; chainrule's targets are marked, and each workload is named under its
bar group. The log axis is marked at 1, 2 and 5 times each power of ten, so a bar can be
read between the powers.

``python -m bench.chart`` redraws ``docs/benchmarks.png`` from the medians in
``docs/benchmarks.md`` (the last run's table) without running anything.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

from bench.frameworks import LABELS

# workload → (metric label, higher_is_better, chainrule's target as speed vs PyTorch)
SPEED = {
    "W1": ("W1 ms", False, 2.0),
    "W2": ("W2 samples/s", True, 1.0),
    "W3": ("W3 µs/op", False, 1 / 0.6),
    "W4": ("W4 GFLOP/s", True, None),
    "W5": ("W5 s", False, 2.0),
    "W6": ("W6 s", False, 1.0),
    "W7": ("W7 s", False, 1 / 0.8),
    "W8": ("W8 images/s", True, 0.5),
    "W9": ("W9 s", False, 1.0),
}
# What each workload is, in a few words (docs/benchmarks.md's method table has the rest).
WORKLOADS = {
    "W1": "linear regression,\nplain GD (time)",
    "W2": "MLP training\nsteps (samples/s)",
    "W3": "chain of small\nelementwise ops (time)",
    "W4": "large matrix\nproduct (GFLOP/s)",
    "W5": "digits MLP,\nfull training (time)",
    "W6": "very long scalar\nchain (time)",
    "W7": "MNIST-1D CNN,\n500 steps (time)",
    "W8": "Conv2d forward\n+ backward (images/s)",
    "W9": "MNIST-1D GRU,\none epoch (time)",
}
SPEED["W10"] = ("W10 ms", False, 1 / 1.5)
WORKLOADS["W10"] = "multi-head attention\nfwd + bwd (time)"
SPEED["W11"] = ("W11 ms", False, 1.0)
WORKLOADS["W11"] = "per-example gradients,\nvmap(grad) (time)"
COLOURS = {"chainrule": "#d62728", "torch": "#1f77b4", "numpy": "#7f7f7f",
           "autograd": "#2ca02c", "mygrad": "#9467bd"}
COLOURS["chainrule_compiled"] = "#ff9896"  # cr.compile's replays, beside chainrule's red
# cr.compile's targets, as speed relative to PyTorch (BENCHMARKS.md, its last line)
COMPILED_TARGETS = {"W1": 1 / 0.25, "W2": 1.2, "W3": 1 / 0.4, "W5": 1 / 0.35}


def speeds(table: dict, present: list[str]) -> dict[str, dict[str, float]]:
    r"""``{workload: {framework: speed relative to PyTorch}}`` for the measured cells."""
    out: dict[str, dict[str, float]] = {}
    for w, (label, higher, _) in SPEED.items():
        ref = table.get(("torch", label))
        if ref is None:
            continue
        for fw in present:
            cell = table.get((fw, label))
            if cell is None or cell["median"] == 0:
                continue
            r = cell["median"] / ref["median"]
            out.setdefault(w, {})[fw] = r if higher else 1 / r
    return out


def _w4_target(table: dict) -> float | None:
    raw = table.get(("chainrule", "raw A@B GFLOP/s"))
    ref = table.get(("torch", "W4 GFLOP/s"))
    return None if raw is None or ref is None else 0.9 * raw["median"] / ref["median"]


def draw(table: dict, present: list[str], path: Path, title: str) -> bool:
    r"""Write the chart to ``path`` (PNG, Matplotlib's Agg backend); False if there is
    nothing to draw (PyTorch not measured) or Matplotlib is missing."""
    if not speeds(table, present):
        return False
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    fig = figure(table, present, title)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def figure(table: dict, present: list[str], title: str) -> Any:
    r"""The chart as a Matplotlib figure (``table`` must hold PyTorch's medians)."""
    import matplotlib.pyplot as plt

    data = speeds(table, present)
    workloads = list(data)
    fws = [fw for fw in present if any(fw in data[w] for w in workloads)]
    width = 0.8 / len(fws)
    # wide enough that each group's two-line name fits under it
    fig, ax = plt.subplots(figsize=(max(10.0, 1.5 * len(workloads)), 5.2))
    for i, fw in enumerate(fws):
        xs = [k + (i - (len(fws) - 1) / 2) * width for k, w in enumerate(workloads)
              if fw in data[w]]
        ys = [data[w][fw] for w in workloads if fw in data[w]]
        ax.bar(xs, ys, width, label=LABELS[fw], color=COLOURS.get(fw))
    targets = {w: SPEED[w][2] for w in workloads}
    targets["W4"] = _w4_target(table)
    first = True
    for k, w in enumerate(workloads):
        goal = targets.get(w)
        if goal is not None and "chainrule" in fws:
            ax.hlines(goal, k - 0.45, k + 0.45, colors="black", linestyles="dashed",
                      label="chainrule's target" if first else None)
            first = False
    first = True
    for k, w in enumerate(workloads):
        goal = COMPILED_TARGETS.get(w)
        if goal is not None and "chainrule_compiled" in fws and "chainrule_compiled" in data[w]:
            ax.hlines(goal, k - 0.45, k + 0.45, colors=COLOURS["chainrule_compiled"],
                      linestyles="dotted", linewidth=2,
                      label="chainrule (compiled)'s target" if first else None)
            first = False
    ax.axhline(1.0, color="black", linewidth=0.6)
    _label_chainrule(ax, workloads, data, fws, width)
    _readable_log_axis(ax)
    ax.set_xticks(range(len(workloads)), [f"{w}\n{WORKLOADS.get(w, '')}" for w in workloads],
                  fontsize=7.5)
    ax.set_ylabel("speed relative to PyTorch (×, higher is faster)")
    ax.set_title(title)
    ax.legend(fontsize=8, ncol=6, loc="upper center", bbox_to_anchor=(0.5, -0.2))
    fig.tight_layout()
    return fig


def _label_chainrule(ax: Any, workloads: list[str], data: dict[str, dict[str, float]],
                     fws: list[str], width: float) -> None:
    """chainrule's own ratio written over its bar: the number the chart is about."""
    if "chainrule" not in fws:
        return
    i = fws.index("chainrule")
    for k, w in enumerate(workloads):
        if "chainrule" in data[w]:
            x = k + (i - (len(fws) - 1) / 2) * width
            ax.annotate(f"{data[w]['chainrule']:.2g}×", (x, data[w]["chainrule"]),
                        xytext=(0, 2), textcoords="offset points", ha="center",
                        va="bottom", fontsize=7, color=COLOURS["chainrule"])


def _readable_log_axis(ax: Any) -> None:
    """Log scale with labelled ticks at 1, 2 and 5 × 10ᵏ (0.2×, 0.5×, 1×, 2×, 5×, 10×…)."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    ax.set_yscale("log")
    ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}×"))
    ax.yaxis.set_minor_formatter(NullFormatter())
    ax.grid(axis="y", which="major", alpha=0.3)


# ---------------------------------------------------------------- redrawing from the page
_PROFILE = re.compile(r"profile `(?P<profile>\w+)`, (?P<reps>\d+) interleaved repetitions")


def _number(cell: str) -> float | None:
    try:
        return float(cell.replace(",", "").rstrip("×"))
    except ValueError:
        return None  # "–": not measured


def table_from_markdown(text: str) -> tuple[dict[tuple[str, str], dict[str, float]], list[str],
                                               str]:
    r"""The medians of ``docs/benchmarks.md``'s results table as :func:`draw` takes them:
    ``({(framework, column label): {"median": value}}, frameworks present, title)``."""
    section = text.split("## Results (medians)", 1)[1].lstrip("\n")
    rows = []
    for line in section.splitlines():  # the first table, up to its end
        if not line.startswith("|"):
            break
        rows.append(line.strip().strip("|").split("|"))
    header = [cell.strip() for cell in rows[0]]
    by_label = {label: fw for fw, label in LABELS.items()}
    table: dict[tuple[str, str], dict[str, float]] = {}
    present = []
    for row in rows[2:]:
        cells = [cell.strip() for cell in row]
        fw = by_label.get(cells[0])
        if fw is None:
            continue  # the ratio rows
        present.append(fw)
        for label, cell in zip(header[1:], cells[1:]):
            value = _number(cell)
            if value is not None:
                table[(fw, label)] = {"median": value}
    found = _PROFILE.search(text)
    title = ("chainrule vs peers" if found is None else
             f"chainrule vs peers ({found['profile']} profile, medians of {found['reps']})")
    return table, present, title


def main(argv: list[str] | None = None) -> int:
    """``python -m bench.chart [PAGE] [PNG]``: redraw the chart from a results page."""
    args = sys.argv[1:] if argv is None else argv
    root = Path(__file__).resolve().parent.parent
    page = Path(args[0]) if args else root / "docs" / "benchmarks.md"
    png = Path(args[1]) if len(args) > 1 else page.with_suffix(".png")
    table, present, title = table_from_markdown(page.read_text(encoding="utf-8"))
    if not draw(table, present, png, title):
        print(f"bench.chart: nothing to draw from {page} (no PyTorch column, or no "
              f"Matplotlib)", file=sys.stderr)
        return 1
    print(f"wrote {png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
