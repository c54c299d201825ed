r"""The driver: ``python -m bench [--quick]``.

Method (BENCHMARKS.md): each repetition runs every framework once, in an order rotated
by one each repetition; every framework runs in its own fresh worker process (so that one
library's thread pool cannot starve another's), W2 and W8 each in a worker of its own (so
that its peak RSS is the workload's); medians over the repetitions; ratios of medians
measured side by side in the same run. Every answer is cross-checked (:mod:`bench.checks`).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import common as C
from bench import markdown, report
from bench.chart import draw
from bench.checks import Record, cross_check
from bench.frameworks import FRAMEWORKS, REQUIRES

ROOT = Path(__file__).resolve().parents[1]
# OpenBLAS variables this workplace may set for old OpenBLAS builds; they slow a current
# NumPy, so workers run without them unless --keep-blas-env (what BLAS kernel then runs is
# recorded from threadpoolctl). Tests and CI never change them.
BLAS_ENV = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
SETTINGS = {
    "full": {"reps": 5, "timeout": 900, "long_timeout": 900},
    "quick": {"reps": 3, "timeout": 240, "long_timeout": 120},
    "tiny": {"reps": 1, "timeout": 120, "long_timeout": 60},
}


def available(frameworks: list[str]) -> tuple[list[str], list[str]]:
    r"""Split ``frameworks`` into (installed, missing)."""
    have, missing = [], []
    for fw in frameworks:
        (have if importlib.util.find_spec(REQUIRES[fw]) else missing).append(fw)
    return have, missing


#: Workloads whose peak RSS is a figure: each runs in a worker of its own.
SOLO = ("W2", "W8")


def plan(frameworks: list[str], workloads: list[str], reps: int
         ) -> list[tuple[int, str, list[str]]]:
    r"""The jobs ``(rep, framework, workloads)`` in run order: per repetition, a worker of
    its own for W2 (then W8) for each framework, then one for the other workloads,
    frameworks rotated."""
    groups = [[w] for w in workloads if w in SOLO] + [[w for w in workloads if w not in SOLO]]
    jobs = []
    for rep in range(reps):
        k = rep % len(frameworks)
        order = frameworks[k:] + frameworks[:k]
        for group in groups:
            if group:
                jobs.extend((rep, fw, group) for fw in order)
    return jobs


THREAD_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def _worker_env(keep_blas_env: bool, digits: str | None, threads: int | None = None,
                mnist1d: str | None = None) -> dict[str, str]:
    env = dict(os.environ)
    if threads is not None:
        # Every pool (OpenBLAS, MKL, OpenMP, so PyTorch's intra-op pool too) gets `threads`.
        env.update({k: str(threads) for k in THREAD_ENV})
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    if not keep_blas_env:
        for k in BLAS_ENV:
            env.pop(k, None)
    if digits:
        env[C.DIGITS_CACHE_ENV] = digits
    if mnist1d:
        env[C.MNIST1D_CACHE_ENV] = mnist1d
    return env


def run_worker(framework: str, workloads: list[str], profile: str, timeout: float,
               env: dict[str, str], w6_n: int | None = None) -> tuple[dict, dict, float]:
    r"""Run one worker; returns ``(meta, {workload: result}, seconds)``. A worker that
    times out or dies still reports the workloads it finished; the others get a status."""
    cmd = [sys.executable, "-m", "bench.worker", "--framework", framework,
           "--workloads", ",".join(workloads), "--profile", profile]
    if w6_n is not None:
        cmd += ["--w6-n", str(w6_n)]
    t = time.perf_counter()
    try:
        proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=timeout, check=False)
        stdout, status = proc.stdout, (None if proc.returncode == 0 else
                                       f"worker exited {proc.returncode}: "
                                       f"{proc.stderr.strip().splitlines()[-1:]}")
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout or ""
        stdout = out.decode() if isinstance(out, bytes) else out
        status = f"timeout ({timeout:.0f} s)"
    seconds = time.perf_counter() - t
    meta, results = {}, {}
    for line in stdout.splitlines():
        try:
            item = json.loads(line)
        except json.JSONDecodeError:
            continue
        if "meta" in item:
            meta = item["meta"]
        elif "workload" in item:
            results[item["workload"]] = item["result"]
    for w in workloads:
        results.setdefault(w, {"status": status or "no result"})
    return meta, results, seconds


def machine() -> dict[str, Any]:
    r"""CPU model, cores, memory, load average, OS, Python, the chainrule commit."""
    info: dict[str, Any] = {"cpu": "unknown", "cores": os.cpu_count(),
                            "python": sys.version.split()[0], "platform": sys.platform}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    info["cpu"] = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        import psutil

        info["memory_gib"] = round(psutil.virtual_memory().total / 2**30, 1)
    except ImportError:
        pass
    try:
        info["commit"] = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                                        capture_output=True, text=True).stdout.strip()
    except OSError:
        info["commit"] = "unknown"
    info["blas_env"] = {k: os.environ.get(k) for k in BLAS_ENV}
    return info


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _w9_cache(tmp: str, workloads: list[str], profile: str) -> dict[str, str]:
    r"""The environment that points W9's workers at MNIST-1D generated once, here."""
    if "W9" not in workloads or C.problem(profile)["w9_data"] != "mnist1d":
        return {}
    path = str(Path(tmp) / "w9_mnist1d.npz")
    try:
        C.save_w9_mnist1d(path)
    except ImportError as exc:  # the workers report W9's failure themselves
        _log(f"bench: W9 needs the mnist1d package ({exc})")
        return {}
    return {C.W9_MNIST1D_ENV: path}


def measure(frameworks: list[str], workloads: list[str], profile: str, reps: int,
            keep_blas_env: bool = False, threads: int | None = None
            ) -> tuple[list[Record], dict[str, dict]]:
    r"""Run every job of the plan, then chainrule's long W6; the records and the metas."""
    settings = SETTINGS[profile]
    records: list[Record] = []
    metas: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        digits = None
        if "W5" in workloads:
            digits = str(Path(tmp) / "digits.npz")
            C.save_digits(digits)
        mnist1d = None
        if "W7" in workloads and C.problem(profile)["w7_data"] == "mnist1d":
            mnist1d = str(Path(tmp) / "mnist1d.npz")
            try:
                C.save_mnist1d(mnist1d)
            except ImportError as exc:  # the workers report W7's failure themselves
                _log(f"bench: W7 needs the mnist1d package ({exc})")
                mnist1d = None
        env = _worker_env(keep_blas_env, digits, threads, mnist1d)
        env.update(_w9_cache(tmp, workloads, profile))
        jobs = plan(frameworks, workloads, reps)
        for i, (rep, fw, group) in enumerate(jobs):
            meta, results, seconds = run_worker(fw, group, profile, settings["timeout"], env)
            metas[fw] = meta or metas.get(fw, {})
            records += [Record(rep, fw, w, r) for w, r in results.items()]
            _log(f"[{i + 1}/{len(jobs)}] rep {rep + 1}/{reps} {fw:<9} {','.join(group):<14} "
                 f"{seconds:6.1f} s")
        if "W6" in workloads and "chainrule" in frameworks:
            n = C.problem(profile)["w6_long_n"]
            _, results, seconds = run_worker("chainrule", ["W6"], profile,
                                             settings["long_timeout"], env, w6_n=n)
            records.append(Record(-1, "chainrule", "W6", dict(results["W6"], n=n)))
            _log(f"chainrule W6 N = {n:,}: {results['W6'].get('status')} ({seconds:.1f} s)")
    return records, metas


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer repetitions, smaller sizes")
    parser.add_argument("--profile", choices=sorted(C.PROFILES), default=None,
                        help="sizes (default: full, or quick with --quick)")
    parser.add_argument("--reps", type=int, default=None, help="repetitions (default 5/3)")
    parser.add_argument("--frameworks", default=",".join(FRAMEWORKS))
    parser.add_argument("--workloads", default=",".join(C.WORKLOADS))
    parser.add_argument("--md", type=Path, default=ROOT / "docs" / "benchmarks.md")
    parser.add_argument("--png", type=Path, default=ROOT / "docs" / "benchmarks.png")
    parser.add_argument("--json", type=Path, default=None, help="also save the raw records")
    parser.add_argument("--no-write", action="store_true", help="print only")
    parser.add_argument("--threads", type=int, default=None,
                        help="threads for every library's pools (default: each library's "
                             "own default, as BENCHMARKS.md asks); 1 gives steadier ratios "
                             "on a busy machine")
    parser.add_argument("--keep-blas-env", action="store_true",
                        help="pass OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE on to the workers")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    profile = args.profile or ("quick" if args.quick else "full")
    reps = args.reps or SETTINGS[profile]["reps"]
    wanted = [f for f in args.frameworks.split(",") if f]
    workloads = [w for w in args.workloads.split(",") if w]
    for name, known, have in (("framework", FRAMEWORKS, wanted),
                              ("workload", C.WORKLOADS, workloads)):
        unknown = sorted(set(have) - set(known))
        if unknown:
            print(f"bench: unknown {name}(s) {unknown}; choose from {known}", file=sys.stderr)
            return 2
    frameworks, missing = available(wanted)
    if missing:
        _log(f"bench: not installed, skipped: {', '.join(missing)}")
    info = machine()
    info["load_before"] = os.getloadavg()
    t = time.perf_counter()
    records, metas = measure(frameworks, workloads, profile, reps, args.keep_blas_env,
                             args.threads)
    info["wall_s"] = time.perf_counter() - t
    info["load_after"] = os.getloadavg()
    mismatches = cross_check(records, profile)
    table = report.medians(records)
    fails = report.failures(records)
    goals = report.targets(table, records)
    print(report.text_table(table, fails, frameworks))
    print("\nchainrule's targets:\n" + report.targets_text(goals))
    if mismatches:
        print("\n" + "!" * 72 + "\nCROSS-CHECK FAILED: the frameworks' answers differ, so these "
              "timings measure nothing:\n" + "\n".join("  " + m for m in mismatches) +
              "\n" + "!" * 72)
    else:
        print(f"\ncross-check: all {len(records)} answers agree.")
    command = " ".join(["python -m bench"] + (sys.argv[1:] if argv is None else argv))
    run = {"command": command, "profile": profile, "reps": reps, "frameworks": frameworks,
           "missing": missing,
           "workloads": workloads, "machine": info, "metas": metas,
           "blas_env_kept": args.keep_blas_env, "threads": args.threads}
    if args.json:
        args.json.write_text(json.dumps({"run": run, "records": [r.__dict__ for r in records]},
                                        indent=1))
    if not args.no_write:
        has_png = draw(table, frameworks, args.png,
                       f"chainrule vs peers ({profile} profile, medians of {reps})")
        args.md.parent.mkdir(parents=True, exist_ok=True)
        page = markdown.render(run, table, fails, goals, mismatches, records,
                               args.png.name if has_png else None)
        previous = args.md.read_text(encoding="utf-8") if args.md.is_file() else ""
        args.md.write_text(markdown.with_hand_written(page, previous), encoding="utf-8")
        _log(f"wrote {args.md}" + (f" and {args.png}" if has_png else ""))
    return 1 if mismatches else 0
