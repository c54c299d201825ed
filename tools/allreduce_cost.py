"""What one data-parallel step costs in communication: measured here, modelled beyond.

    python tools/allreduce_cost.py            (make allreduce-cost)
    python tools/allreduce_cost.py --quick

1. Under ``mpirun -np 2`` and ``-np 4 --oversubscribe`` (this machine has 2 cores: 4 ranks
   share them, so those figures are labelled as such), every rank times one in-place
   ``Allreduce`` of a float32 buffer of 1e3–1e7 floats (the fastest of 9 rounds of the mean
   of a timed loop, the slowest rank counting; the fastest, as this machine is shared);
   the W2 gradients (MLP 784-256-256-10, 269,322 floats) as one flat buffer against one
   message per tensor, and a 4 KB buffer in mpi4py's buffer form against its pickling
   ``allreduce`` (each pair in alternating rounds); and
   ``cr.distributed.average_gradients`` on the W2 model; and W2 trained end to end by
   ``cr.fit(..., distributed=True)`` (samples per second, against one process).
2. In this process: one W2 training step (batch 128 per rank, forward, backward, Adam;
   float32, one thread), and NumPy's float32 add, the reduction's cost per byte.
3. An α-β model fitted to the 2-rank curve, T(n) = a + b n, and the cost of an all-reduce
   on N ranks over a network (reduce-scatter + all-gather, Rabenseifner's algorithm, which
   Open MPI and MPICH use for large messages):
   T(N, n) = 2 ceil(log2 N) α + 2 (N-1)/N n β + (N-1)/N n γ,
   predicting the parallel efficiency E = t_compute / (t_compute + t_arena + T) of a
   W2-sized model and of models 10x and 100x larger at 8, 16 and 64 ranks, for 10 GbE and
   InfiniBand HDR (α, β in NETWORKS below, with where they come from); and W2's with the
   ring algorithm (latency 2 (N-1) α), and with a fixed global batch (strong scaling).

Writes docs/img/allreduce_cost.png and prints the tables that docs/distributed.md shows.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # one core per rank, as on a cluster
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PICTURE = ROOT / "docs" / "img" / "allreduce_cost.png"
W2_SHAPES = [(256, 784), (256,), (256, 256), (256,), (10, 256), (10,)]
W2_FLOATS = sum(int(np.prod(s)) for s in W2_SHAPES)
#: per-link latency α (s) and inverse bandwidth β (s/byte) of two networks; not measured
#: here. β: the line rate (10 Gb/s = 1.25 GB/s; HDR InfiniBand 4x = 200 Gb/s = 25 GB/s).
#: α: typical half-round-trip MPI ping-pong latencies: ~25 µs through the kernel's TCP
#: stack on 10 GbE, ~1.5 µs over HDR InfiniBand with UCX (vendors quote ~0.6-1 µs for the
#: adapter alone).
NETWORKS = {"10 GbE": (25e-6, 1 / 1.25e9), "InfiniBand HDR": (1.5e-6, 1 / 25e9)}
RANKS = (8, 16, 64)
SCALES = (1, 10, 100)  # models 1x, 10x, 100x the size of W2 (compute scales alike)


# ---------------------------------------------------------------- on every rank
def _time_allreduce(comm: Any, mpi: Any, buffer: np.ndarray, budget: float) -> float:
    """Seconds per in-place Allreduce of ``buffer``: the fastest over rounds of the slowest
    rank's mean over a timed loop (the fastest, because this machine is shared: slower
    rounds measure the neighbours)."""
    for _ in range(3):
        comm.Allreduce(mpi.IN_PLACE, buffer)
    start = time.perf_counter()
    comm.Allreduce(mpi.IN_PLACE, buffer)
    once = comm.allreduce(time.perf_counter() - start, op=mpi.MAX)
    loops = max(1, min(1000, int(budget / 9 / max(once, 1e-7))))
    rounds = []
    for _ in range(9):
        comm.Barrier()
        start = time.perf_counter()
        for _ in range(loops):
            comm.Allreduce(mpi.IN_PLACE, buffer)
        rounds.append(comm.allreduce((time.perf_counter() - start) / loops, op=mpi.MAX))
    return float(min(rounds))


def _time_pair(comm: Any, mpi: Any, first: Any, second: Any, loops: int
               ) -> tuple[float, float]:
    """Seconds per call of ``first`` and of ``second``, timed in alternating rounds (so
    that a neighbour's burst hits both alike); the fastest round of each."""
    for _ in range(3):
        first()
        second()
    rounds: tuple[list[float], list[float]] = ([], [])
    for _ in range(9):
        for fn, times in zip((first, second), rounds):
            comm.Barrier()
            start = time.perf_counter()
            for _ in range(loops):
                fn()
            times.append(comm.allreduce((time.perf_counter() - start) / loops, op=mpi.MAX))
    return float(min(rounds[0])), float(min(rounds[1]))


def _layouts() -> dict[str, list[tuple[int, ...]]]:
    """Parameter shapes: W2's 6 tensors, and a small Transformer encoder's 24."""
    from chainrule import nn

    layer = nn.TransformerEncoderLayer(64, 4, 128, batch_first=True)
    encoder = nn.TransformerEncoder(layer, 2)
    return {"W2": W2_SHAPES,
            "Transformer encoder, 2 layers of width 64":
                [tuple(p.shape) for p in encoder.parameters()]}


def w2_fit_seconds(distributed: bool, steps: int = 20) -> float:
    """Seconds per step of ``cr.fit`` training W2 on 128 samples per rank (the second of two
    epochs; the slowest rank's)."""
    import chainrule as cr
    import chainrule.nn.functional as F
    from chainrule import nn, optim

    world = cr.distributed.world_size() if distributed else 1
    n = 128 * steps * world
    data = cr.data.TensorDataset(cr.randn(n, 784, seed=1), cr.tensor(np.arange(n) % 10))
    cr.manual_seed(0)
    model = nn.MLP([784, 256, 256, 10])
    opt = optim.Adam(model.parameters(), lr=1e-3)
    loader = cr.data.DataLoader(cr.distributed.shard(data) if distributed else data,
                                batch_size=128, shuffle=True, seed=0)
    history = cr.fit(model, F.cross_entropy, opt, loader, 2, progress=False,
                     distributed=distributed)
    seconds = history.history["time"][1] / steps
    return float(cr.distributed.all_reduce(np.array([seconds]), op="max")[0]) \
        if distributed else seconds


def rank_main(out: str, quick: bool) -> None:
    from mpi4py import MPI

    import chainrule as cr
    from chainrule import nn

    comm = MPI.COMM_WORLD
    sizes = np.unique(np.logspace(3, 7, 5 if quick else 9).astype(int))
    budget = 0.15 if quick else 0.6
    curve = [_time_allreduce(comm, MPI, np.ones(n, np.float32), budget) for n in sizes]
    loops = 20 if quick else 60
    layouts = {}
    for name, shapes in _layouts().items():
        tensors = [np.ones(s, np.float32) for s in shapes]
        flat = np.ones(sum(t.size for t in tensors), np.float32)
        layouts[name] = _time_pair(
            comm, MPI, lambda flat=flat: comm.Allreduce(MPI.IN_PLACE, flat),
            lambda tensors=tensors: [comm.Allreduce(MPI.IN_PLACE, t) for t in tensors], loops)
    one_buffer, per_tensor = layouts["W2"]
    small = np.ones(1024, np.float32)
    buffer_form, pickled = _time_pair(comm, MPI, lambda: comm.Allreduce(MPI.IN_PLACE, small),
                                      lambda: comm.allreduce(small), 300)
    cr.manual_seed(0)
    model = nn.MLP([784, 256, 256, 10])
    for p in model.parameters():
        p.grad = cr.zeros(p.shape)
    params = list(model.parameters())
    averaged, _ = _time_pair(comm, MPI, lambda: cr.distributed.average_gradients(params, 128),
                             lambda: None, loops)
    fit_step = w2_fit_seconds(True)
    if comm.Get_rank() == 0:
        Path(out).write_text(json.dumps({
            "ranks": comm.Get_size(), "sizes": sizes.tolist(), "seconds": curve,
            "w2_per_tensor": per_tensor, "w2_one_buffer": one_buffer,
            "small_buffer_form": buffer_form, "small_pickled": pickled,
            "w2_average_gradients": averaged, "layouts": layouts,
            "w2_fit_step": fit_step,
        }))


# ---------------------------------------------------------------- in this process
def _mpirun() -> str:
    beside = Path(sys.executable).with_name("mpirun")
    found = str(beside) if beside.exists() else shutil.which("mpirun")
    if found is None:
        raise SystemExit("allreduce_cost: mpirun not found; pip install \"chainrule[mpi]\"")
    return found


def measure_ranks(n: int, quick: bool) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "ranks.json"
        root = ["--allow-run-as-root"] if os.geteuid() == 0 else []
        command = [_mpirun(), *root, "--oversubscribe", "-np", str(n), sys.executable,
                   __file__, "--rank", str(out)] + (["--quick"] if quick else [])
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(
            [str(ROOT), os.environ.get("PYTHONPATH", "")]))
        subprocess.run(command, check=True, env=env, timeout=1200)
        return dict(json.loads(out.read_text()))


def measure_compute(quick: bool) -> dict[str, float]:
    """One W2 step (batch 128, forward + backward + Adam), the arena's scaling passes for its
    gradients, and NumPy's float32 add per byte."""
    import chainrule as cr
    import chainrule.nn.functional as F
    from chainrule import nn, optim

    cr.manual_seed(0)
    model = nn.MLP([784, 256, 256, 10])
    opt = optim.Adam(model.parameters(), lr=1e-3)
    X, y = cr.randn(128, 784, seed=1), cr.tensor(np.arange(128) % 10)

    def step() -> None:
        opt.zero_grad()
        F.cross_entropy(model(X), y).backward()
        opt.step()

    steps = []
    for i in range(15 if quick else 60):
        start = time.perf_counter()
        step()
        if i >= 5:
            steps.append(time.perf_counter() - start)
    for p in model.parameters():
        p.grad = cr.zeros(p.shape)
    params = list(model.parameters())
    arena = []
    for _ in range(30):  # in a world of one: the arena's passes alone, no message
        start = time.perf_counter()
        cr.distributed.average_gradients(params, 128)
        arena.append(time.perf_counter() - start)
    a, b = np.ones(10**7, np.float32), np.ones(10**7, np.float32)
    adds = []
    for _ in range(5):
        start = time.perf_counter()
        np.add(a, b, out=a)
        adds.append(time.perf_counter() - start)
    return {"w2_step": float(min(steps)), "w2_fit_step": w2_fit_seconds(False),
            "arena": float(np.median(arena[5:])), "gamma": float(min(adds)) / (4 * 10**7)}


def fit_alpha_beta(sizes: list[int], seconds: list[float]) -> tuple[float, float]:
    """Least squares on T = a + b * bytes, each point weighted by 1/T (relative error)."""
    n = np.asarray(sizes, float) * 4
    t = np.asarray(seconds)
    design = np.stack([np.ones_like(n), n], axis=1) / t[:, None]
    (a, b), *_ = np.linalg.lstsq(design, np.ones_like(t), rcond=None)
    return float(a), float(b)


def allreduce_model(ranks: int, nbytes: float, alpha: float, beta: float,
                    gamma: float) -> float:
    """Rabenseifner's all-reduce: recursive halving reduce-scatter, then all-gather."""
    share = (ranks - 1) / ranks
    return 2 * math.ceil(math.log2(ranks)) * alpha + 2 * share * nbytes * beta \
        + share * nbytes * gamma


def ring_model(ranks: int, nbytes: float, alpha: float, beta: float, gamma: float) -> float:
    """The ring all-reduce: the same bandwidth term, 2 (N-1) messages of latency."""
    share = (ranks - 1) / ranks
    return 2 * (ranks - 1) * alpha + 2 * share * nbytes * beta + share * nbytes * gamma


def efficiencies(compute: dict[str, float], arena: float) -> dict[str, dict[str, list[float]]]:
    """E(N) per network and model scale (weak scaling: batch 128 per rank)."""
    table: dict[str, dict[str, list[float]]] = {}
    for network, (alpha, beta) in NETWORKS.items():
        for scale in SCALES:
            t_compute, nbytes = compute["w2_step"] * scale, W2_FLOATS * 4 * scale
            table.setdefault(network, {})[f"{scale}x"] = [
                t_compute / (t_compute + arena * scale
                             + allreduce_model(n, nbytes, alpha, beta, compute["gamma"]))
                for n in RANKS]
    return table


def strong_scaling(compute: dict[str, float], batch: int = 1024
                   ) -> dict[str, list[float]]:
    """E(N) for W2 with a fixed global batch split over N ranks (compute taken as linear in
    the per-rank batch, from the measured step at 128)."""
    table = {}
    for network, (alpha, beta) in NETWORKS.items():
        table[network] = []
        for n in RANKS:
            t_compute = compute["w2_step"] * (batch / n) / 128
            comm = compute["arena"] + allreduce_model(n, W2_FLOATS * 4, alpha, beta,
                                                      compute["gamma"])
            table[network].append(t_compute / (t_compute + comm))
    return table


def draw(runs: list[dict[str, Any]], compute: dict[str, float], fit: tuple[float, float],
         path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 4.8))
    for run, style in zip(runs, ("o-", "s--")):
        label = (f"{run['ranks']} ranks" if run["ranks"] <= 2 else
                 f"{run['ranks']} ranks (oversubscribed: 2 cores)")
        ax.loglog(np.asarray(run["sizes"]), np.asarray(run["seconds"]) * 1e6, style,
                  label=f"Allreduce, {label}")
    n = np.logspace(3, 7, 50)
    ax.loglog(n, (fit[0] + fit[1] * 4 * n) * 1e6, ":", color="gray",
              label=f"α-β fit, 2 ranks: {fit[0] * 1e6:.1f} µs + n·{fit[1] * 1e9:.2f} ns/B")
    ax.axhline(compute["w2_step"] * 1e6, color="tab:red", lw=1)
    ax.text(1.1e3, compute["w2_step"] * 1e6 * 1.15,
            f"one W2 training step, batch 128, one core: {compute['w2_step'] * 1e3:.1f} ms",
            color="tab:red", fontsize=8)
    ax.axvline(W2_FLOATS, color="tab:green", lw=1)
    ax.text(W2_FLOATS * 1.08, 2, "W2's gradients\n(269,322 floats)", color="tab:green",
            fontsize=8)
    ax.set_xlabel("payload (float32 values)")
    ax.set_ylabel("time per all-reduce (µs)")
    ax.set_title("Gradient all-reduce on one machine (shared memory), Open MPI 5")
    ax.legend(fontsize=8, loc="upper left")
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def report(runs: list[dict[str, Any]], compute: dict[str, float], fit: tuple[float, float],
           table: dict[str, dict[str, list[float]]]) -> None:
    print("| floats | " + " | ".join(f"{r['ranks']} ranks (µs)" for r in runs) + " |")
    print("|---:|" + "---:|" * len(runs))
    for i, size in enumerate(runs[0]["sizes"]):
        print(f"| {size:,} | " + " | ".join(f"{r['seconds'][i] * 1e6:,.1f}" for r in runs)
              + " |")
    for r in runs:
        for name, (one, each) in r["layouts"].items():
            floats = sum(int(np.prod(s)) for s in _layouts()[name])
            print(f"\n{r['ranks']} ranks, {name} ({len(_layouts()[name])} tensors, "
                  f"{floats:,} floats): one buffer {one * 1e6:.0f} µs, one per tensor "
                  f"{each * 1e6:.0f} µs ({1 - one / each:.0%} faster)")
    for r in runs:
        print(f"\n{r['ranks']} ranks: W2 one buffer {r['w2_one_buffer'] * 1e6:.0f} µs, one "
              f"per tensor {r['w2_per_tensor'] * 1e6:.0f} µs "
              f"({1 - r['w2_one_buffer'] / r['w2_per_tensor']:.0%} faster); "
              f"average_gradients {r['w2_average_gradients'] * 1e6:.0f} µs; 4 KB Allreduce "
              f"{r['small_buffer_form'] * 1e6:.1f} µs, pickled allreduce "
              f"{r['small_pickled'] * 1e6:.1f} µs "
              f"({r['small_pickled'] / r['small_buffer_form']:.0f}x)")
    one = 128 / compute["w2_fit_step"]
    print(f"\nW2 trained by fit, 128 samples per rank and step: 1 process {one:,.0f} "
          "samples/s; " + "; ".join(
              f"{r['ranks']} ranks {128 * r['ranks'] / r['w2_fit_step']:,.0f} samples/s "
              f"({128 * r['ranks'] / r['w2_fit_step'] / one:.2f}x)" for r in runs))
    print(f"\nW2 step (batch 128, one core): {compute['w2_step'] * 1e3:.2f} ms; arena passes "
          f"(average_gradients in a world of one): {compute['arena'] * 1e6:.0f} µs; "
          f"float32 add: {compute['gamma'] * 1e9:.3f} ns/B")
    print(f"fit, 2 ranks: a = {fit[0] * 1e6:.2f} µs, b = {fit[1] * 1e9:.3f} ns/B "
          f"({1 / fit[1] / 1e9:.1f} GB/s)")
    print("\nweak scaling, 128 samples per rank:")
    print("\n| network | model | " + " | ".join(f"{n} ranks" for n in RANKS) + " |")
    print("|---|---|" + "---:|" * len(RANKS))
    for network, rows in table.items():
        for scale, row in rows.items():
            print(f"| {network} | W2 × {scale[:-1]} | "
                  + " | ".join(f"{e:.0%}" for e in row) + " |")
    print("\nW2, weak scaling, with the ring algorithm instead:")
    for network, (alpha, beta) in NETWORKS.items():
        row = [compute["w2_step"] / (compute["w2_step"] + compute["arena"] + ring_model(
            n, W2_FLOATS * 4, alpha, beta, compute["gamma"])) for n in RANKS]
        print(f"| {network} | " + " | ".join(f"{e:.0%}" for e in row) + " |")
    print("\nstrong scaling, W2, a global batch of 1024 split over the ranks:")
    print("\n| network | " + " | ".join(f"{n} ranks" for n in RANKS) + " |")
    print("|---|" + "---:|" * len(RANKS))
    for network, row in strong_scaling(compute).items():
        print(f"| {network} | " + " | ".join(f"{e:.0%} ({e * n:.1f}×)"
                                            for e, n in zip(row, RANKS)) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer sizes and repeats")
    parser.add_argument("--rank", metavar="OUT", help=argparse.SUPPRESS)
    parser.add_argument("--json", metavar="PATH", help="also write the figures here")
    args = parser.parse_args()
    if args.rank:
        rank_main(args.rank, args.quick)
        return
    runs = [measure_ranks(n, args.quick) for n in (2, 4)]
    compute = measure_compute(args.quick)
    fit = fit_alpha_beta(runs[0]["sizes"], runs[0]["seconds"])
    table = efficiencies(compute, compute["arena"])
    draw(runs, compute, fit, PICTURE)
    report(runs, compute, fit, table)
    print(f"\nwrote {PICTURE.relative_to(ROOT)}")
    if args.json:
        Path(args.json).write_text(json.dumps({"runs": runs, "compute": compute, "fit": fit,
                                               "table": table}, indent=1))


if __name__ == "__main__":
    main()
