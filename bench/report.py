r"""Medians, ratios and targets from the records; the printed table, ``docs/benchmarks.md``
and the chart ``docs/benchmarks.png``."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Any

from bench.checks import Record
from bench.frameworks import FRAMEWORKS, LABELS


@dataclass(frozen=True)
class Metric:
    r"""One column: ``workload``'s result key, its label and which way is better."""

    workload: str
    key: str
    label: str
    higher_is_better: bool
    fmt: str


METRICS = (
    Metric("W1", "ms", "W1 ms", False, "{:,.1f}"),
    Metric("W2", "samples_per_s", "W2 samples/s", True, "{:,.0f}"),
    Metric("W2", "peak_rss_mb", "W2 peak RSS MB", False, "{:,.0f}"),
    Metric("W2", "rss_growth_mb", "W2 RSS growth MB", False, "{:,.1f}"),
    Metric("W3", "us_per_op", "W3 µs/op", False, "{:,.1f}"),
    Metric("W4", "gflops", "W4 GFLOP/s", True, "{:,.1f}"),
    Metric("W4", "raw_gemm_gflops", "raw A@B GFLOP/s", True, "{:,.1f}"),
    Metric("W5", "s", "W5 s", False, "{:,.2f}"),
    Metric("W5", "accuracy", "W5 accuracy", True, "{:.4f}"),
    Metric("W6", "s", "W6 s", False, "{:,.2f}"),
    Metric("W7", "s", "W7 s", False, "{:,.2f}"),
    Metric("W7", "final_loss", "W7 final loss", False, "{:.4f}"),
    Metric("W8", "images_per_s", "W8 images/s", True, "{:,.0f}"),
    Metric("W8", "peak_rss_mb", "W8 peak RSS MB", False, "{:,.0f}"),
    Metric("W9", "s", "W9 s", False, "{:,.3f}"),
)
#: Answers shown in the table, not figures of speed: no ratio is printed for them.
NOT_RATIOS = ("accuracy", "final_loss")

METRICS += (Metric("W10", "ms", "W10 ms", False, "{:,.1f}"),)
METRICS += (Metric("W11", "ms", "W11 ms", False, "{:,.2f}"),)


def _value(result: dict[str, Any], key: str) -> float | None:
    if key in result:
        return float(result[key])
    answers = result.get("answers", {})
    return float(answers[key]) if key in answers else None


def medians(records: list[Record]) -> dict[tuple[str, str], dict[str, float]]:
    r"""``{(framework, metric label): {"median", "min", "max", "n"}}`` over repetitions."""
    out = {}
    for fw in FRAMEWORKS:
        for m in METRICS:
            values = [v for r in records
                      if r.framework == fw and r.workload == m.workload and r.rep >= 0
                      for v in [_value(r.result, m.key)] if v is not None]
            if values:
                out[(fw, m.label)] = {"median": statistics.median(values), "min": min(values),
                                      "max": max(values), "n": len(values)}
    return out


def failures(records: list[Record]) -> dict[tuple[str, str], str]:
    r"""``{(framework, workload): status}`` for results that are not a measurement."""
    out = {}
    for r in records:
        status = r.result.get("status", "ok")
        if status != "ok" and r.rep >= 0:
            out[(r.framework, r.workload)] = status.splitlines()[0][:60]
    return out


def _med(table: dict, fw: str, label: str) -> float | None:
    cell = table.get((fw, label))
    return None if cell is None else cell["median"]


def _ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None or b == 0 else a / b


def _best(table: dict, fw: str, label: str, op: str) -> float | None:
    """The best repetition: the fastest time (``op`` "<=") or the highest rate (">=")."""
    cell = table.get((fw, label))
    return None if cell is None else cell["min" if op == "<=" else "max"]


# W10 (the attention layers' workload)
TARGETS_W10 = [("W10 time ≤ 1.5× PyTorch's", ("chainrule", "W10 ms"), ("torch", "W10 ms"),
                "<=", 1.5)]
# W11 (cr.vmap's workload): per-example gradients against torch.func.vmap(torch.func.grad)
TARGETS_W11 = [("W11 time ≤ 1.0× torch.func's", ("chainrule", "W11 ms"), ("torch", "W11 ms"),
                "<=", 1.0)]


# cr.compile's targets: the compiled replays against PyTorch (the benchmark brief's last line)
TARGETS_COMPILED = [
    ("compiled W1 time ≤ 0.25× PyTorch's", ("chainrule_compiled", "W1 ms"), ("torch", "W1 ms"),
     "<=", 0.25),
    ("compiled W2 samples/s ≥ 1.2× PyTorch's", ("chainrule_compiled", "W2 samples/s"),
     ("torch", "W2 samples/s"), ">=", 1.2),
    ("compiled W3 µs/op ≤ 0.4× PyTorch's", ("chainrule_compiled", "W3 µs/op"),
     ("torch", "W3 µs/op"), "<=", 0.4),
    ("compiled W5 time ≤ 0.35× PyTorch's", ("chainrule_compiled", "W5 s"), ("torch", "W5 s"),
     "<=", 0.35),
]


def targets(table: dict, records: list[Record]) -> list[dict[str, Any]]:
    r"""chainrule's benchmark targets (why each: docs/benchmarks.md, "Why these targets"),
    each with its measured ratio (of medians, the verdict's) and the ratio of the best
    repetitions (the figure least disturbed by other load on a shared machine, shown
    beside it)."""
    rows = [  # (target, (framework, metric) ÷ (framework, metric), better, goal)
        ("W1 time ≤ 0.5× PyTorch's", ("chainrule", "W1 ms"), ("torch", "W1 ms"), "<=", 0.5),
        ("W2 samples/s ≥ 1.0× PyTorch's", ("chainrule", "W2 samples/s"),
         ("torch", "W2 samples/s"), ">=", 1.0),
        ("W2 peak RSS ≤ 1.3× hand-written NumPy's", ("chainrule", "W2 peak RSS MB"),
         ("numpy", "W2 peak RSS MB"), "<=", 1.3),
        ("W3 µs/op ≤ 0.6× PyTorch's", ("chainrule", "W3 µs/op"), ("torch", "W3 µs/op"),
         "<=", 0.6),
        ("W4 GFLOP/s ≥ 0.9× raw NumPy A@B (same process)", ("chainrule", "W4 GFLOP/s"),
         ("chainrule", "raw A@B GFLOP/s"), ">=", 0.9),
        ("W5 time ≤ 0.5× PyTorch's", ("chainrule", "W5 s"), ("torch", "W5 s"), "<=", 0.5),
        ("W6 time ≤ 1.0× PyTorch's", ("chainrule", "W6 s"), ("torch", "W6 s"), "<=", 1.0),
        ("W7 time ≤ 0.8× PyTorch's", ("chainrule", "W7 s"), ("torch", "W7 s"), "<=", 0.8),
        ("W8 images/s ≥ 0.5× PyTorch's", ("chainrule", "W8 images/s"),
         ("torch", "W8 images/s"), ">=", 0.5),
        ("W8 peak RSS ≤ 2× PyTorch's", ("chainrule", "W8 peak RSS MB"),
         ("torch", "W8 peak RSS MB"), "<=", 2.0),
        ("W9 time ≤ 1.0× PyTorch's", ("chainrule", "W9 s"), ("torch", "W9 s"), "<=", 1.0),
    ]
    rows += TARGETS_W10
    rows += TARGETS_W11
    rows += TARGETS_COMPILED
    out = []
    for name, mine, theirs, op, goal in rows:
        ratio = _ratio(_med(table, *mine), _med(table, *theirs))
        best = _ratio(_best(table, *mine, op), _best(table, *theirs, op))
        met = None if ratio is None else (ratio <= goal if op == "<=" else ratio >= goal)
        out.append({"target": name, "measured": None if ratio is None else f"{ratio:.2f}×",
                    "best": None if best is None else f"{best:.2f}×", "met": met})
    cr = lambda label: _med(table, "chainrule", label)
    pt = lambda label: _med(table, "torch", label)
    acc_cr, acc_pt = cr("W5 accuracy"), pt("W5 accuracy")
    if acc_cr is not None and acc_pt is not None:
        out.append({"target": "W5 same accuracy as PyTorch (±1 point)",
                    "measured": f"{acc_cr:.4f} vs {acc_pt:.4f}",
                    "met": abs(acc_cr - acc_pt) <= 0.01})
    acc_cc = _med(table, "chainrule_compiled", "W5 accuracy")
    if acc_cc is not None and acc_pt is not None:
        out.append({"target": "compiled W5 same accuracy as PyTorch (±1 point)",
                    "measured": f"{acc_cc:.4f} vs {acc_pt:.4f}",
                    "met": abs(acc_cc - acc_pt) <= 0.01})
    long = [r for r in records if r.rep < 0 and r.framework == "chainrule"]
    if long:
        res = long[0].result
        ok = res.get("status") == "ok"
        seen = f"{res['s']:.1f} s" if ok else res.get("status", "?").splitlines()[0][:40]
        out.append({"target": f"W6 N = {res.get('n', 0):,} completes",
                    "measured": seen, "met": ok})
    return out


def _cell(table: dict, fails: dict, fw: str, m: Metric) -> str:
    value = _med(table, fw, m.label)
    if value is not None:
        return m.fmt.format(value)
    return fails.get((fw, m.workload), "–")


def table_rows(table: dict, fails: dict, present: list[str]) -> list[list[str]]:
    header = ["framework"] + [m.label for m in METRICS]
    rows = [header]
    for fw in present:
        rows.append([LABELS[fw]] + [_cell(table, fails, fw, m) for m in METRICS])
    for ref in ("torch", "numpy"):
        if "chainrule" in present and ref in present:
            cells = []
            for m in METRICS:
                r = _ratio(_med(table, "chainrule", m.label), _med(table, ref, m.label))
                cells.append("–" if r is None or m.key in NOT_RATIOS else f"{r:.2f}×")
            rows.append([f"chainrule ÷ {LABELS[ref]}"] + cells)
    return rows


def text_table(table: dict, fails: dict, present: list[str]) -> str:
    r"""The framework × workload table as aligned plain text."""
    rows = table_rows(table, fails, present)
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in
                       enumerate(zip(r, widths))) for r in rows]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def md_table(rows: list[list[str]]) -> str:
    out = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
    out += ["| " + " | ".join(r) + " |" for r in rows[1:]]
    return "\n".join(out)


def targets_text(rows: list[dict[str, Any]]) -> str:
    verdict = {True: "met", False: "MISSED", None: "not measured"}
    lines = [f"  {'':<50} {'medians':>18}  {'best reps':>9}"]
    lines += [f"  {r['target']:<50} {r['measured'] or '–':>18}  {r.get('best') or '':>9}  "
              f"{verdict[r['met']]}" for r in rows]
    return "\n".join(lines)


def targets_md(rows: list[dict[str, Any]]) -> str:
    verdict = {True: "met", False: "**missed**", None: "not measured"}
    return md_table([["target", "chainrule measured (medians)",
                      "best repetitions", "verdict (medians)"]] +
                    [[r["target"], r["measured"] or "–", r.get("best") or "–",
                      verdict[r["met"]]] for r in rows])


def spread_md(table: dict, present: list[str]) -> str:
    r"""Min–max over repetitions, to show how noisy each median is."""
    rows = [["framework"] + [m.label for m in METRICS]]
    for fw in present:
        cells = []
        for m in METRICS:
            c = table.get((fw, m.label))
            cells.append("–" if c is None else
                         f"{m.fmt.format(c['min'])}–{m.fmt.format(c['max'])} (n={c['n']})")
        rows.append([LABELS[fw]] + cells)
    return md_table(rows)
