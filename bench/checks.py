r"""The cross-check: every framework must give the same answers, or the timings measure
nothing.

Where the answer is known exactly it is the reference (W1's θ from the textbook, W4's
gradient sums :math:`n\sum B` and :math:`n\sum A`, W6's :math:`dy/dx = 1.0001^N`); elsewhere
the hand-written NumPy version is (or the first framework present: PyTorch for W7 and W8,
which hand-written NumPy does not run). Tolerances suit the dtype: float64 workloads (W1,
W6) agree to ~1e-9, float32 ones to ~1e-5 on a forward value, looser after many optimiser
steps, and W5's accuracy within one percentage point.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from bench import common as C

# (answer key, kind, tolerance): "rel" relative, "abs" absolute difference.
TOLERANCES: dict[str, list[tuple[str, str, float]]] = {
    "W1": [("theta", "rel", 1e-9)],
    "W2": [("first_loss", "rel", 1e-5), ("grad_norm", "rel", 1e-4),
           ("final_loss", "rel", 1e-3)],
    "W3": [("out_sum", "rel", 1e-5), ("grad_sum", "rel", 1e-4)],
    "W4": [("y", "rel", 1e-5), ("gradA_sum", "rel", 1e-5), ("gradB_sum", "rel", 1e-5)],
    "W5": [("accuracy", "abs", 0.01)],
    "W6": [("y", "rel", 1e-8), ("grad", "rel", 1e-8)],
    # float32 round-off compounds through Adam: the losses of the first steps agree to
    # ~1e-7, the final loss (the last 40 steps' mean) after 500 steps only to ~10 %
    # (BENCHMARKS.md), so it and the test accuracy are checked loosely
    "W7": [("first_loss", "rel", 1e-5), ("early_loss", "rel", 1e-4),
           ("final_loss", "rel", 0.15), ("accuracy", "abs", 0.03)],
    "W8": [("y", "rel", 1e-5), ("gradx_sum", "rel", 1e-4), ("gradw_sum", "rel", 1e-4),
           ("gradb_sum", "rel", 1e-5)],
    # float32: the first step agrees to round-off; 40 Adam steps later the loss still to ~1e-3
    "W9": [("first_loss", "rel", 1e-5), ("first_grad_norm", "rel", 1e-4),
           ("final_loss", "rel", 1e-3)],
}
# float32 attention: a 64-term dot product and a softmax per weight, summed over 131,072
# outputs; the norms agree to ~1e-6 across frameworks
TOLERANCES["W10"] = [("out_norm", "rel", 1e-4), ("grad_x_norm", "rel", 1e-4),
                     ("grad_in_proj_norm", "rel", 1e-4)]
REFERENCE_ORDER = ("numpy", "torch", "chainrule", "autograd", "mygrad")


@dataclass(frozen=True)
class Record:
    r"""One measurement: a framework's result for a workload in one repetition
    (``rep = -1`` for the single long W6 run)."""

    rep: int
    framework: str
    workload: str
    result: dict[str, Any]


def exact_answers(workload: str, p: C.Problem, n: int | None = None) -> dict[str, Any]:
    r"""The answers known in closed form (float64), or ``{}``."""
    if workload == "W1":
        return {"theta": list(C.W1_THETA)}
    if workload == "W4":
        A, B = C.w4_data(p)
        A64 = A.astype(np.float64)
        B64 = B.astype(np.float64)
        size = p["w4_n"]
        # Σ(AB) = Σ_k (Σ_i A_ik)(Σ_j B_kj); ∂y/∂A = 1 Bᵀ sums to n ΣB, likewise n ΣA.
        return {"y": float(A64.sum(axis=0) @ B64.sum(axis=1)),
                "gradA_sum": float(size * B64.sum()), "gradB_sum": float(size * A64.sum())}
    if workload == "W6":
        n = p["w6_n"] if n is None else n
        # y_N = 1.0001 y_{N-1} + 0.0001 has fixed point -1: y_N + 1 = 1.0001^N (x + 1).
        return {"y": (C.W6_X + 1) * C.W6_A ** n - 1, "grad": C.w6_grad(n)}
    return {}


def _differs(value: Any, ref: Any, kind: str, tol: float) -> float | None:
    r"""The largest difference (relative or absolute) if it exceeds ``tol``, else None."""
    v = np.atleast_1d(np.asarray(value, dtype=np.float64))
    r = np.atleast_1d(np.asarray(ref, dtype=np.float64))
    if v.shape != r.shape or not np.all(np.isfinite(v)):
        return float("inf")
    diff = np.abs(v - r)
    if kind == "rel":
        diff = diff / np.maximum(np.abs(r), 1e-300)
    worst = float(diff.max())
    return worst if worst > tol else None


def _reference(workload: str, records: list[Record], exact: dict[str, Any]
               ) -> tuple[str, dict[str, Any]]:
    r"""The reference answers for ``workload`` and who gave them."""
    if exact:
        return "the exact value", exact
    for name in REFERENCE_ORDER:
        for rec in records:
            if rec.framework == name and "answers" in rec.result:
                return f"{name} (rep {rec.rep})", rec.result["answers"]
    return "nobody", {}


def cross_check(records: list[Record], profile: str) -> list[str]:
    r"""Compare every record's answers with the reference; one message per mismatch.

    A workload that failed (no answers, e.g. a ``RecursionError`` in W6) is not a
    mismatch: it is reported as that failure in the table.
    """
    p = C.problem(profile)
    problems = []
    for workload, checks in TOLERANCES.items():
        mine = [r for r in records if r.workload == workload and "answers" in r.result]
        for rec in mine:
            n = rec.result.get("n")
            exact = exact_answers(workload, p, n)
            ref_name, ref = _reference(workload, mine, exact)
            for key, kind, tol in checks:
                if key not in ref:
                    continue
                got = rec.result["answers"].get(key)
                worst = _differs(got, ref[key], kind, tol) if got is not None else float("inf")
                if worst is not None:
                    problems.append(
                        f"{workload} {rec.framework} (rep {rec.rep}): {key} = {got} but "
                        f"{ref_name} gives {ref[key]} ({kind}. difference {worst:.2e} > {tol:g})")
    return problems
# float32 per-example gradients of a two-layer MLP: each a product of a few float32 dots;
# the norms agree to ~1e-6 across frameworks
TOLERANCES["W11"] = [("grad_w1_norm", "rel", 1e-4), ("grad_b1_norm", "rel", 1e-4),
                     ("grad_w2_norm", "rel", 1e-4), ("grad_b2_norm", "rel", 1e-4),
                     ("first_w1_norm", "rel", 1e-4)]
