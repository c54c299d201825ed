r"""One framework's measurements, in its own process: ``python -m bench.worker``.

Runs the requested workloads for one framework and prints JSON lines on stdout: first
``{"meta": ...}`` (versions, BLAS, threads), then ``{"workload": W, "result": ...}`` as each
workload finishes. Each result holds the timing figure, the
answers (for the cross-check) and, for W6, a ``status`` ("ok" or the failure's name, e.g.
``RecursionError``: a framework that cannot do the workload is reported, not crashed).
Run W2 (and W8) alone in its worker for a meaningful peak RSS (it is per process).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import resource
import statistics
import sys
import time
import traceback
from typing import Any

from bench import common as C
from bench.frameworks import FRAMEWORKS

MODULES = {name: f"bench.frameworks.{name}_fw" for name in FRAMEWORKS}


def _module(framework: str) -> Any:
    if framework not in MODULES:
        raise ValueError(f"bench: unknown framework {framework!r} (choose from {FRAMEWORKS})")
    return importlib.import_module(MODULES[framework])


def _timed(fn: Any) -> tuple[float, Any]:
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def _rss_mb() -> float:
    r"""Current resident set size (MB), from /proc (Linux) or psutil."""
    try:
        import psutil

        return psutil.Process().memory_info().rss / 2**20
    except ImportError:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _peak_rss_mb() -> float:
    r"""Peak RSS of this process so far (MB).

    On Linux, ``VmHWM`` from ``/proc/self/status``: it belongs to the address space that
    ``exec`` created, whereas ``ru_maxrss`` survives ``execve`` and would report the
    driver's peak at ``fork`` time. Elsewhere ``ru_maxrss`` (KiB on Linux, bytes on macOS).
    """
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 2**10
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


# ---------------------------------------------------------------- workloads
def _median_time(run: Any, repeats: int) -> tuple[float, Any]:
    r"""Median wall time of ``repeats`` calls of ``run`` (after one untimed warm-up call)
    and the last call's answers. The median shrugs off a repeat that the shared machine's
    scheduler interrupted."""
    ans = run()
    times = []
    for _ in range(repeats):
        seconds, ans = _timed(run)
        times.append(seconds)
    return statistics.median(times), ans


def bench_w1(mod: Any, p: C.Problem) -> dict[str, Any]:
    seconds, ans = _median_time(mod.w1(p), p["w1_inner"])
    return {"ms": seconds * 1e3, "answers": ans}


def bench_w2(mod: Any, p: C.Problem) -> dict[str, Any]:
    r"""Throughput from the median step time of the timed steps (robust to a step that the
    scheduler interrupted), beside the plain total; peak RSS of the whole process."""
    base = _rss_mb()
    trainer = mod.w2(p)
    first_loss = trainer.step(0)
    grad_norm = trainer.grad_norm()             # ‖∇L‖ at the initial weights
    for i in range(1, p["w2_warmup"]):
        trainer.step(i)
    start = p["w2_warmup"]
    times = []
    for i in range(start, start + p["w2_steps"]):
        seconds, loss = _timed(lambda: trainer.step(i))
        times.append(seconds)
    return {
        "samples_per_s": p["w2_batch"] / statistics.median(times),
        "samples_per_s_total": p["w2_steps"] * p["w2_batch"] / sum(times),
        "peak_rss_mb": _peak_rss_mb(),
        "rss_before_mb": base,                  # after imports, before building the model
        "rss_growth_mb": _peak_rss_mb() - base,
        "answers": {"first_loss": float(first_loss), "grad_norm": float(grad_norm),
                    "final_loss": float(loss)},
    }


def bench_w3(mod: Any, p: C.Problem) -> dict[str, Any]:
    seconds, ans = _median_time(mod.w3(p), p["w3_inner"])
    return {"us_per_op": seconds / p["w3_ops"] * 1e6, "answers": ans}


def raw_gemm_gflops(p: C.Problem) -> float:
    r"""The limit for W4: plain NumPy ``A @ B`` in this process, :math:`2n^3` flops."""
    A, B = C.w4_data(p)
    seconds, _ = _median_time(lambda: A @ B, max(3, p["w4_inner"]))
    return 2 * p["w4_n"] ** 3 / seconds / 1e9


def bench_w4(mod: Any, p: C.Problem) -> dict[str, Any]:
    seconds, ans = _median_time(mod.w4(p), p["w4_inner"])
    return {"gflops": 6 * p["w4_n"] ** 3 / seconds / 1e9,
            "raw_gemm_gflops": raw_gemm_gflops(p), "answers": ans}


def bench_w5(mod: Any, p: C.Problem) -> dict[str, Any]:
    r"""One untimed epoch first: a library's one-time costs (PyTorch imports its compiler
    stack at the first ``optimizer.step()``, seconds) are not training time."""
    mod.w5(C.Problem(p.profile, dict(p.sizes, w5_epochs=1)))()
    seconds, ans = _timed(mod.w5(p))
    return {"s": seconds, "answers": ans}


def bench_w6(mod: Any, p: C.Problem, n: int | None = None) -> dict[str, Any]:
    n = p["w6_n"] if n is None else n
    try:
        mod.w6(p, 100)()                        # warm-up on a short chain
        seconds, ans = _timed(mod.w6(p, n))
    except RecursionError:
        return {"n": n, "status": "RecursionError"}
    except MemoryError:
        return {"n": n, "status": "MemoryError"}
    return {"n": n, "status": "ok", "s": seconds, "answers": ans}


def bench_w7(mod: Any, p: C.Problem) -> dict[str, Any]:
    r"""The whole training, after an untimed run of a few steps (one-time costs, as W5)."""
    mod.w7(C.Problem(p.profile, dict(p.sizes, w7_steps=min(C.W7_EARLY, p["w7_steps"]))))()
    seconds, ans = _timed(mod.w7(p))
    return {"s": seconds, "answers": ans}


def bench_w8(mod: Any, p: C.Problem) -> dict[str, Any]:
    r"""Images/s from the median forward + backward time after one untimed call; peak RSS
    of the whole process (run W8 in a worker of its own, as W2)."""
    base = _rss_mb()
    conv = mod.w8(p)
    conv.step()
    times = [_timed(conv.step)[0] for _ in range(p["w8_inner"])]
    return {"images_per_s": p["w8_batch"] / statistics.median(times),
            "peak_rss_mb": _peak_rss_mb(), "rss_growth_mb": _peak_rss_mb() - base,
            "answers": conv.answers()}


BENCHES = {"W1": bench_w1, "W2": bench_w2, "W3": bench_w3, "W4": bench_w4, "W5": bench_w5,
           "W6": bench_w6, "W7": bench_w7, "W8": bench_w8}
#: A framework without a builder for a workload (e.g. no convolution layer: HIPS autograd,
#: hand-written NumPy for W7/W8) reports this status instead of a measurement.
NOT_APPLICABLE = "not applicable"


def bench_w10(mod: Any, p: C.Problem) -> dict[str, Any]:
    r"""``MultiheadAttention(64, 4)`` self-attention forward + backward on (32, 64, 64): median
    of the repeats. A framework without the layer (autograd, MyGrad) reports so."""
    if not hasattr(mod, "w10"):
        return {"status": "not implemented"}
    seconds, ans = _median_time(mod.w10(p), p["w10_inner"])
    return {"ms": seconds * 1e3, "answers": ans}


BENCHES["W10"] = bench_w10


def bench_w9(mod: Any, p: C.Problem) -> dict[str, Any]:
    r"""One epoch of the MNIST-1D GRU, each repeat from the same initial weights: the median
    of the inner repeats after one untimed epoch (one-time costs). A library without a GRU
    layer (hand-written NumPy, HIPS autograd, MyGrad) reports "not applicable"."""
    if not hasattr(mod, "w9"):
        return {"status": "not applicable"}
    seconds, ans = _median_time(mod.w9(p), p["w9_inner"])
    return {"s": seconds, "answers": ans}


BENCHES["W9"] = bench_w9


def bench_w11(mod: Any, p: C.Problem) -> dict[str, Any]:
    r"""Per-example gradients of the digits MLP 64-128-10, batch 128, float32: median of the
    repeats after one untimed call. Only chainrule (``cr.vmap``) and PyTorch (``torch.func``)
    have a vectorising map; the others report so."""
    if not hasattr(mod, "w11"):
        return {"status": "not applicable"}
    seconds, ans = _median_time(mod.w11(p), p["w11_inner"])
    return {"ms": seconds * 1e3, "answers": ans}


BENCHES["W11"] = bench_w11


# ---------------------------------------------------------------- machine and libraries
def blas_info() -> list[dict[str, Any]]:
    r"""The BLAS / OpenMP pools loaded in this process (threadpoolctl), with the kernel."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return []
    keep = ("user_api", "internal_api", "version", "num_threads", "architecture", "prefix")
    return [{k: info.get(k) for k in keep} for info in threadpool_info()]


def meta(framework: str, mod: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "versions": mod.versions(),
        "python": platform.python_version(),
        "blas": blas_info(),
        "env": {k: os.environ.get(k) for k in
                ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OMP_NUM_THREADS",
                 "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")},
    }
    if framework == "torch":
        import torch

        out["torch_threads"] = torch.get_num_threads()
        out["torch_blas"] = torch.backends.mkl.is_available() and "MKL" or "other"
    return out


def run_workloads(framework: str, workloads: list[str], profile: str,
                  w6_n: int | None = None, emit: Any = None) -> dict[str, Any]:
    r"""Measure ``workloads`` for ``framework`` in this process.

    Returns ``{"framework", "profile", "meta", "results": {W: result}}``; ``emit(line)``,
    if given, receives each piece as soon as it exists (the worker streams them, so that a
    run cut short by the driver's timeout still reports what it finished).
    """
    mod = _module(framework)
    p = C.problem(profile)
    for w in workloads:
        if w not in BENCHES:
            raise ValueError(f"bench: unknown workload {w!r} (choose from {C.WORKLOADS})")
    out = {"framework": framework, "profile": profile, "meta": meta(framework, mod),
           "results": {}}
    if emit:
        emit({"meta": out["meta"]})
    for w in workloads:
        if not hasattr(mod, w.lower()):
            out["results"][w] = {"status": NOT_APPLICABLE}
            if emit:
                emit({"workload": w, "result": out["results"][w]})
            continue
        try:
            result = bench_w6(mod, p, w6_n) if w == "W6" else BENCHES[w](mod, p)
        except Exception as exc:  # noqa: BLE001 - a peer's failure is a result, not a crash
            result = {"status": f"{type(exc).__name__}: {exc}",
                      "traceback": traceback.format_exc(limit=4)}
        out["results"][w] = result
        if emit:
            emit({"workload": w, "result": result})
    return out


def _emit(line: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(line) + "\n")
    sys.stdout.flush()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.worker", description=__doc__)
    parser.add_argument("--framework", required=True, choices=FRAMEWORKS)
    parser.add_argument("--workloads", default=",".join(C.WORKLOADS),
                        help="comma-separated, e.g. W1,W3 (default: all)")
    parser.add_argument("--profile", default="full", choices=sorted(C.PROFILES))
    parser.add_argument("--w6-n", type=int, default=None, help="override W6's chain length")
    args = parser.parse_args(argv)
    run_workloads(args.framework, args.workloads.split(","), args.profile, args.w6_n, _emit)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

