"""Run by every rank of ``mpirun -np N python mpi_worker.py SCENARIO OUT``; the tests in
test_mpi.py launch it and read what rank 0 writes to OUT (JSON).

Scenarios:
  equivalence  N-rank training (cr.fit(distributed=True), and a hand-written loop with
               average_gradients) against one process on the union batches, for SGD with
               momentum and Adam in float64 and float32, with uneven shards; every rank's
               parameters hashed and compared after every step; the collectives' basics.
  raise        the last rank raises inside training at step 20.
  kill         the last rank SIGKILLs itself inside training at step 20.
  abort        the last rank calls cr.distributed.abort(3, ...) at step 20.
  exit         the last rank calls sys.exit(3) at step 20 (run with python -m mpi4py).
For the failures, the failing rank writes the time of failure to OUT first.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import signal
import sys
import time
from typing import Any

N_SAMPLES = 1000
STEPS = 200


def _data(np: Any, dtype: Any) -> tuple[Any, Any]:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(N_SAMPLES, 8))
    y = (X[:, 0] + X[:, 1] * X[:, 2] > 0).astype(np.int64) + 2 * (X[:, 3] > 0.5)
    return X.astype(dtype), y


class _Checked:
    """An optimizer that, after each step, all-gathers a hash of this rank's parameters
    and counts the steps at which every rank held the same bytes."""

    def __init__(self, opt: Any, comm: Any, on_step: Any = None) -> None:
        self.opt, self.comm, self.on_step = opt, comm, on_step
        self.param_groups = opt.param_groups
        self.steps = self.equal = 0

    def zero_grad(self) -> None:
        self.opt.zero_grad()

    def step(self) -> None:
        self.opt.step()
        self.steps += 1
        digest = hashlib.sha256()
        for group in self.param_groups:
            for p in group["params"]:
                digest.update(p.data.tobytes())
        hashes = self.comm.allgather(digest.hexdigest())
        self.equal += len(set(hashes)) == 1
        if self.on_step is not None:
            self.on_step(self.steps)


def _train(cr: Any, np: Any, comm: Any, dtype: Any, optimizer: str, batch: int,
           world: int, seed_offset: int, distributed: bool, on_step: Any = None
           ) -> tuple[list[Any], Any]:
    from chainrule import nn, optim
    from chainrule.nn import functional as F

    cr.set_default_dtype(dtype)
    X, y = _data(np, dtype)
    cr.manual_seed(1 + seed_offset)  # ranks > 0 start elsewhere: fit must copy rank 0's
    model = nn.MLP([8, 32, 4], activation="tanh")
    params = list(model.parameters())
    opt = (optim.SGD(params, lr=0.05, momentum=0.9) if optimizer == "sgd"
           else optim.Adam(params, lr=3e-3))
    dataset = cr.data.TensorDataset(X, y)
    steps_per_epoch = math.ceil(N_SAMPLES / (batch * world))
    epochs = math.ceil(STEPS / steps_per_epoch)
    if distributed:
        checked = _Checked(opt, comm, on_step)
        loader = cr.data.DataLoader(cr.distributed.shard(dataset), batch_size=batch,
                                    shuffle=True, seed=7)
        history = cr.fit(model, F.cross_entropy, checked, loader, epochs,
                         metrics=["accuracy"], progress=False, distributed=True)
        return [p.data.copy() for p in params], (history.history, checked.steps,
                                                 checked.equal)
    loader = cr.data.DataLoader(dataset, batch_size=batch * world, shuffle=True, seed=7)
    history = cr.fit(model, F.cross_entropy, opt, loader, epochs, metrics=["accuracy"],
                     progress=False)
    return [p.data.copy() for p in params], history.history


def _hand_loop(cr: Any, np: Any, world: int, rank: int, distributed: bool) -> list[Any]:
    """A hand-written loop, PyTorch-DDP style, with average_gradients (plain SGD)."""
    from chainrule import nn, optim
    from chainrule.nn import functional as F

    cr.set_default_dtype(np.float64)
    X, y = _data(np, np.float64)
    cr.manual_seed(5)
    model = nn.MLP([8, 16, 4])
    if distributed:
        cr.distributed.broadcast_parameters(model)
    opt = optim.SGD(model.parameters(), lr=0.1)
    dataset = cr.data.TensorDataset(X, y)
    data = cr.distributed.shard(dataset, seed=3) if distributed else dataset
    # over a shard the loader draws from the shard's seed; one process passes it itself
    loader = (cr.data.DataLoader(data, batch_size=20, shuffle=True) if distributed else
              cr.data.DataLoader(data, batch_size=20 * world, shuffle=True, seed=3))
    for xb, yb in loader:  # one epoch; every rank has the same number of batches here
        opt.zero_grad()
        F.cross_entropy(model(xb), yb).backward()
        if distributed:
            cr.distributed.average_gradients(model.parameters(), len(yb))
        opt.step()
    return [p.data.copy() for p in model.parameters()]


def _compare(np: Any, got: list[Any], want: list[Any]) -> dict[str, float]:
    abs_err = max(float(np.abs(a - b).max()) for a, b in zip(got, want))
    rel_err = max(float(np.abs(a - b).max() / np.abs(b).max()) for a, b in zip(got, want))
    return {"abs": abs_err, "rel": rel_err}


def _collectives(cr: Any, np: Any, comm: Any, world: int, rank: int) -> dict[str, Any]:
    from chainrule import nn

    summed = cr.distributed.all_reduce(np.array([rank, 1.0]))
    biggest = cr.distributed.all_reduce(cr.tensor([float(rank)]), op="max")
    cr.manual_seed(100 + rank)
    model = nn.Linear(3, 2)
    cr.distributed.broadcast_parameters(model)
    weights = comm.allgather(model.weight.data.tobytes())
    part = cr.distributed.shard(cr.data.TensorDataset(cr.arange(N_SAMPLES)))
    loader = cr.data.DataLoader(part, batch_size=64, shuffle=True)
    epochs = [np.concatenate([b[0].data for b in loader]) for _ in range(2)]
    gathered = [comm.allgather(e.tolist()) for e in epochs]
    # fit copies rank 0's frozen parameters too, not only those it trains
    from chainrule import optim
    from chainrule.nn import functional as F

    cr.manual_seed(200 + rank)
    net = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))
    net[0].requires_grad_(False)
    data = cr.data.TensorDataset(cr.randn(12, 3, seed=0), cr.zeros(12, 2))
    cr.fit(net, F.mse_loss, optim.SGD(net[1].parameters(), lr=0.1),
           cr.data.DataLoader(cr.distributed.shard(data), batch_size=4), 1, progress=False,
           distributed=True)
    frozen = comm.allgather(net[0].weight.data.tobytes() + net[1].weight.data.tobytes())
    return {
        "sum": summed.tolist(), "max": biggest.tolist(),
        "broadcast_equal": len(set(weights)) == 1, "frozen_equal": len(set(frozen)) == 1,
        "sizes": [len(g) for g in gathered[0]],
        "cover": [sorted(i for g in parts for i in g) == list(range(N_SAMPLES))
                  for parts in gathered],
        "epochs_differ": gathered[0] != gathered[1],
    }


def equivalence(out: str) -> None:
    import numpy as np

    import chainrule as cr

    comm = cr.distributed._mpi._comm()
    world, rank = cr.distributed.world_size(), cr.distributed.rank()
    result: dict[str, Any] = {"world": world, "collectives": _collectives(cr, np, comm,
                                                                           world, rank)}
    runs = {}
    for dtype in (np.float64, np.float32):
        for optimizer in ("sgd", "adam"):
            for batch in (10, 111):  # 111: on 3 ranks, rank 0 has one batch more
                if batch == 111 and dtype == np.float32:
                    continue
                got, (history, steps, equal) = _train(cr, np, comm, dtype, optimizer, batch,
                                                      world, rank, True)
                runs[f"{np.dtype(dtype).name}-{optimizer}-{batch}"] = (got, history, steps,
                                                                      equal)
    hand = _hand_loop(cr, np, world, rank, True)
    if rank == 0:
        for key, (got, history, steps, equal) in runs.items():
            dtype, optimizer, batch = key.split("-")
            want, want_history = _train(cr, np, None, np.dtype(dtype).type, optimizer,
                                        int(batch), world, 0, False)
            result[key] = {**_compare(np, got, want), "steps": steps, "equal_steps": equal,
                           "loss": history["loss"], "want_loss": want_history["loss"],
                           "accuracy": history["accuracy"],
                           "want_accuracy": want_history["accuracy"]}
        result["hand"] = _compare(np, hand, _hand_loop(cr, np, world, rank, False))
        with open(out, "w") as file:
            json.dump(result, file)


def failure(kind: str, out: str) -> None:
    import numpy as np

    import chainrule as cr

    comm = cr.distributed._mpi._comm()
    world, rank = cr.distributed.world_size(), cr.distributed.rank()

    def fail(step: int) -> None:
        if rank != world - 1 or step != 20:
            return
        with open(out, "w") as file:
            json.dump({"failed_at": time.time(), "rank": rank}, file)
        if kind == "raise":
            raise RuntimeError("a deliberate failure on the last rank")
        if kind == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        if kind == "exit":  # run under `python -m mpi4py`, whose runner aborts the job
            sys.exit(3)
        cr.distributed.abort(3, "giving up on purpose")

    _train(cr, np, comm, np.float64, "sgd", 10, world, 0, True, on_step=fail)
    time.sleep(60)  # never reached by the failing rank; the others must be ended


if __name__ == "__main__":
    scenario, target = sys.argv[1], sys.argv[2]
    if scenario == "equivalence":
        equivalence(target)
    else:
        failure(scenario, target)
