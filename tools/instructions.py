r"""Instruction counts of the benchmark loops W1, W3, W5 and W6 (valgrind's callgrind).

Wall time on a shared 2-core machine swings by tens of percent; the number of
instructions a loop executes barely moves, so it is the figure that shows whether a
change to the engine made it slower. ``python tools/instructions.py`` (``make
instructions``) counts, for each workload, the instructions of **one unit**:

* W1: one epoch of the linear-regression GD loop (float64), N = 200;
* W3: one 200-op elementwise chain (mul, add, tanh, sigmoid), forward + backward, N = 10;
* W5: one MLP 64-128-10 SGD-momentum step on digits, batch 32, float32, N = 20;
* W6: one 2,000-op scalar chain (1,000 times ``y ← y·1.0001 + 0.0001``), forward +
  backward, N = 5.

The code is bench's own: ``bench.frameworks.chainrule_fw`` builds each workload from
``bench.common``'s seeded inputs at the ``full`` profile's sizes, so what is counted is
exactly what ``make bench`` times. Only the repetition counts differ: W1 trains ``1 + N``
epochs instead of 1000, W5 trains on the first ``1 + N`` batches of bench's first-epoch
shuffle, W6 builds a chain of 1,000 steps instead of 10⁵.

Method. Each workload runs in two fresh processes under
``valgrind --tool=callgrind --cache-sim=no``: both import everything, build the inputs,
run one unit as a warm-up (first-call costs: lazy imports, caches, optimiser buffers),
then the workload with ``1 + n`` units, for ``n = N`` and ``n = 0``. Everything but the
``N`` extra units is the same in both, so

.. math:: \text{instructions per unit} = \frac{I(N) - I(0)}{N}.

Both run with ``PYTHONHASHSEED=0`` and one BLAS/OpenMP thread (``OPENBLAS_NUM_THREADS=1``
etc.: a pool's spinning threads would count too), after an untraced dry run that writes
the ``.pyc`` files (otherwise the first traced process would compile them and the second
would not). The checkout measured (its ``chainrule`` and its ``bench``) is the one this
file lives in, or ``--checkout DIR``: it goes first on the processes' ``PYTHONPATH``, and
the run stops if ``chainrule`` was imported from anywhere else.

Options: ``--json PATH`` writes the figures; ``--compare PATH`` prints a JSON written
earlier (e.g. before a refactor) beside today's figures with the change in percent, and
exits 1 if a workload grew by more than ``--tolerance`` percent (default 5). Positional
arguments pick workloads (default all four). Takes about 3 minutes.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any
from unittest import mock

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.append(str(ROOT))                  # last: a child's PYTHONPATH comes first

from bench import common as C  # noqa: E402  (needs ROOT on sys.path)

# workload: (unit, N)
WORKLOADS: dict[str, tuple[str, int]] = {
    "W1": ("epoch of linear-regression GD", 200),
    "W3": ("200-op chain, forward + backward", 10),
    "W5": ("MLP SGD step (batch 32)", 20),
    "W6": ("2,000-op scalar chain, forward + backward", 5),
}
W6_STEPS = 1000                     # two ops (mul, add) per step
THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


# ---------------------------------------------------------------- the child: one workload
def _builder(workload: str) -> Callable[[int], Callable[[], Any]]:
    r"""``build(k)``: a callable that runs ``k`` units of ``workload`` through bench's code
    (its set-up, e.g. building the model, happens in ``build`` or in the call, the same
    for every ``k``)."""
    from bench.frameworks import chainrule_fw as fw

    p = C.problem("full")

    def with_sizes(**sizes: Any) -> C.Problem:
        return C.Problem(p.profile, dict(p.sizes, **sizes))

    if workload == "W1":
        return lambda k: fw.w1(with_sizes(w1_epochs=k))
    if workload == "W3":
        def w3(k: int) -> Callable[[], Any]:
            run = fw.w3(p)
            return lambda: [run() for _ in range(k)][-1]
        return w3
    if workload == "W5":
        n_train = len(C.w5_data()[0])
        first_epoch = C.w5_batches(with_sizes(w5_epochs=1), n_train)[0]

        def w5(k: int) -> Callable[[], Any]:
            if k > len(first_epoch) - 1:     # the last batch is partial
                raise ValueError(f"W5: at most {len(first_epoch) - 1} full batches")
            with mock.patch.object(C, "w5_batches", lambda _p, _n: [first_epoch[:k]]):
                return fw.w5(p)
        return w5
    if workload == "W6":
        def w6(k: int) -> Callable[[], Any]:
            run = fw.w6(p, W6_STEPS)
            return lambda: [run() for _ in range(k)][-1]
        return w6
    raise ValueError(f"unknown workload {workload!r} (choose from {sorted(WORKLOADS)})")


def child(workload: str, n: int) -> None:
    r"""Warm-up unit, then ``1 + n`` units; prints the answers and where chainrule and
    bench were imported from."""
    import chainrule

    build = _builder(workload)
    build(1)()
    answers = build(1 + n)()
    print(json.dumps({"answers": answers, "chainrule": chainrule.__file__,
                      "bench": C.__file__}))


# ---------------------------------------------------------------- the parent: measure
def _env(checkout: Path, digits: str) -> dict[str, str]:
    env = dict(os.environ, PYTHONHASHSEED="0", **{k: "1" for k in THREAD_VARS})
    env["PYTHONPATH"] = os.pathsep.join([str(checkout)] + [q for q in
                                         env.get("PYTHONPATH", "").split(os.pathsep) if q])
    env[C.DIGITS_CACHE_ENV] = digits            # workers skip importing scikit-learn
    return env


def _child_cmd(workload: str, n: int) -> list[str]:
    return [sys.executable, str(Path(__file__).resolve()), "--child", workload, str(n)]


def _callgrind(workload: str, n: int, env: dict[str, str], tmp: str) -> int:
    r"""Total instructions of one child process under callgrind."""
    out = os.path.join(tmp, f"callgrind.{workload}.{n}")
    cmd = ["valgrind", "--tool=callgrind", "--cache-sim=no", f"--callgrind-out-file={out}",
           *_child_cmd(workload, n)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"{workload} (n = {n}) failed under valgrind:\n{proc.stderr[-2000:]}")
    with open(out) as f:
        match = re.search(r"^totals:\s+(\d+)", f.read(), re.MULTILINE)
    if match is None:
        sys.exit(f"{workload}: no totals line in {out}")
    return int(match.group(1))


def measure(workloads: list[str], checkout: Path) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        digits = os.path.join(tmp, "digits.npz")
        C.save_digits(digits)
        env = _env(checkout, digits)
        results: dict[str, Any] = {}
        for w in workloads:
            unit, n = WORKLOADS[w]
            dry = subprocess.run(_child_cmd(w, n), env=env, capture_output=True, text=True)
            if dry.returncode != 0:
                sys.exit(f"{w} failed:\n{dry.stderr[-2000:]}")
            info = json.loads(dry.stdout.splitlines()[-1])
            for lib in ("chainrule", "bench"):
                if not Path(info[lib]).resolve().is_relative_to(checkout):
                    sys.exit(f"{lib} was imported from {info[lib]}, not from {checkout}")
            total_n = _callgrind(w, n, env, tmp)
            total_0 = _callgrind(w, 0, env, tmp)
            results[w] = {"unit": unit, "n": n, "per_unit": (total_n - total_0) / n,
                          "total_n": total_n, "total_0": total_0,
                          "answers": info["answers"]}
            print(f"  {w}: {results[w]['per_unit']:,.0f} instructions per unit",
                  file=sys.stderr, flush=True)
    return {"checkout": str(checkout), "commit": _commit(checkout),
            "python": sys.version.split()[0],
            "numpy": _numpy_version(), "valgrind": _valgrind_version(),
            "workloads": results}


def _commit(checkout: Path) -> str:
    proc = subprocess.run(["git", "-C", str(checkout), "describe", "--always", "--dirty"],
                          capture_output=True, text=True)
    return proc.stdout.strip() or "unknown"


def _valgrind_version() -> str:
    return subprocess.run(["valgrind", "--version"], capture_output=True,
                          text=True).stdout.strip()


def _numpy_version() -> str:
    import numpy as np

    return np.__version__


# ---------------------------------------------------------------- reporting
def table(res: dict[str, Any]) -> str:
    lines = [f"checkout {res['checkout']} at {res['commit']}",
             f"{'workload':<9}{'unit':<44}{'N':>5}{'instructions/unit':>20}"]
    for w, r in res["workloads"].items():
        lines.append(f"{w:<9}{r['unit']:<44}{r['n']:>5}{r['per_unit']:>20,.0f}")
    return "\n".join(lines)


def compare(before: dict[str, Any], after: dict[str, Any], tolerance: float) -> bool:
    r"""Print before/after per workload; ``True`` if none grew by more than
    ``tolerance`` percent."""
    print(f"\nbefore: {before['commit']}   after: {after['commit']}")
    print(f"{'workload':<9}{'before':>14}{'after':>14}{'change':>10}")
    ok = True
    for w, r in after["workloads"].items():
        if w not in before["workloads"]:
            print(f"{w:<9}{'–':>14}{r['per_unit']:>14,.0f}")
            continue
        b = before["workloads"][w]["per_unit"]
        change = 100.0 * (r["per_unit"] - b) / b
        over = change > tolerance
        ok &= not over
        print(f"{w:<9}{b:>14,.0f}{r['per_unit']:>14,.0f}{change:>+9.1f}%"
              + (f"  over +{tolerance:g}%" if over else ""))
    return ok


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("workloads", nargs="*", default=list(WORKLOADS),
                    help="workloads to count (default: all)")
    ap.add_argument("--json", metavar="PATH", help="write the figures to PATH")
    ap.add_argument("--compare", metavar="PATH", help="compare with figures written earlier")
    ap.add_argument("--checkout", metavar="DIR", type=Path, default=ROOT,
                    help="the checkout to measure (default: the one holding this file)")
    ap.add_argument("--tolerance", type=float, default=5.0,
                    help="percent growth that --compare accepts (default 5)")
    ap.add_argument("--child", nargs=2, metavar=("W", "N"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        child(args.child[0], int(args.child[1]))
        return 0
    for w in args.workloads:
        if w not in WORKLOADS:
            ap.error(f"unknown workload {w!r} (choose from {', '.join(WORKLOADS)})")
    res = measure(args.workloads, args.checkout.resolve())
    print(table(res))
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=2) + "\n")
    if args.compare:
        before = json.loads(Path(args.compare).read_text())
        return 0 if compare(before, res, args.tolerance) else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
