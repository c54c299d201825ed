r"""The bar chart of ratios: each framework's speed relative to PyTorch's, per workload.

Speed is :math:`t_{\mathrm{PyTorch}}/t` for the timed workloads and
:math:`\mathrm{throughput}/\mathrm{throughput}_{\mathrm{PyTorch}}` for W2 and W4, so higher is
faster everywhere; chainrule's targets are marked.
"""

from __future__ import annotations

from pathlib import Path

from bench.frameworks import LABELS

# workload → (metric label, higher_is_better, chainrule's target as speed vs PyTorch)
SPEED = {
    "W1": ("W1 ms", False, 2.0),
    "W2": ("W2 samples/s", True, 1.0),
    "W3": ("W3 µs/op", False, 1 / 0.6),
    "W4": ("W4 GFLOP/s", True, None),
    "W5": ("W5 s", False, 2.0),
    "W6": ("W6 s", False, 1.0),
}
COLOURS = {"chainrule": "#d62728", "torch": "#1f77b4", "numpy": "#7f7f7f",
           "autograd": "#2ca02c", "mygrad": "#9467bd"}


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
    data = speeds(table, present)
    if not data:
        return False
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    workloads = list(data)
    fws = [fw for fw in present if any(fw in data[w] for w in workloads)]
    width = 0.8 / len(fws)
    fig, ax = plt.subplots(figsize=(10, 4.8))
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
    ax.axhline(1.0, color="black", linewidth=0.6)
    ax.set_yscale("log")
    ax.set_xticks(range(len(workloads)), workloads)
    ax.set_ylabel("speed relative to PyTorch (×, higher is faster)")
    ax.set_title(title)
    ax.legend(fontsize=8, ncol=6, loc="upper center", bbox_to_anchor=(0.5, -0.08))
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True
