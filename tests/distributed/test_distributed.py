"""cr.distributed in one process: the shard arithmetic (all ranks simulated, no MPI), a world
of one (every collective the identity, fit(distributed=True) equal to fit), and the
refusals. The runs on several ranks are in test_mpi.py."""

from __future__ import annotations

import sys

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn, optim
from chainrule.data.shard import Shard
from chainrule.distributed import _mpi
from chainrule.distributed.gradients import _arena

pytest.importorskip("mpi4py")


def _dataset(n: int = 1000) -> cr.data.TensorDataset:
    return cr.data.TensorDataset(cr.arange(n), cr.arange(n) * 2)


@pytest.mark.parametrize("world", [1, 2, 3, 4, 7])
def test_strided_shards_are_disjoint_cover_everything_and_differ_by_at_most_one(world):
    ds = _dataset()
    shards = [Shard(ds, r, world, seed=5) for r in range(world)]
    sizes = [len(s) for s in shards]
    assert sum(sizes) == 1000 and max(sizes) - min(sizes) <= 1
    loaders = [cr.data.DataLoader(s, batch_size=16, shuffle=True) for s in shards]
    for _ in range(2):  # two epochs: a new permutation, still a partition
        seen = np.concatenate([b[0].data for loader in loaders for b in loader])
        assert sorted(seen.tolist()) == list(range(1000))


@pytest.mark.parametrize("world,batch", [(3, 10), (3, 111), (4, 7), (2, 500)])
def test_the_ranks_kth_batches_together_are_one_process_kth_batch(world, batch):
    ds = _dataset()
    parts = [list(cr.data.DataLoader(Shard(ds, r, world, seed=9), batch_size=batch,
                                     shuffle=True)) for r in range(world)]
    whole = list(cr.data.DataLoader(ds, batch_size=batch * world, shuffle=True, seed=9))
    assert max(len(p) for p in parts) == len(whole)
    for k, union in enumerate(whole):
        pieces = [p[k][0].data for p in parts if k < len(p)]
        assert sorted(np.concatenate(pieces).tolist()) == sorted(union[0].data.tolist())


def test_a_loaders_own_seed_wins_over_the_shards():
    ds = _dataset(50)
    a = cr.data.DataLoader(Shard(ds, 0, 2, seed=1), batch_size=50, shuffle=True, seed=4)
    b = cr.data.DataLoader(ds, batch_size=50, shuffle=True, seed=4)
    assert next(iter(a))[0].tolist() == next(iter(b))[0].data[0::2].tolist()


def test_a_shard_indexed_on_its_own_is_the_strided_part():
    part = Shard(_dataset(10), rank=2, world_size=4)
    assert len(part) == 2 and part[0][0].item() == 2 and part[-1][0].item() == 6
    with pytest.raises(IndexError):
        part[2]
    with pytest.raises(ValueError, match="rank must be < world_size"):
        Shard(_dataset(10), rank=4, world_size=4)


def test_a_world_of_one():
    cr.distributed.init()
    assert (cr.distributed.rank(), cr.distributed.world_size()) == (0, 1)
    assert cr.distributed.is_main()
    x = np.array([1.0, 2.0])
    out = cr.distributed.all_reduce(x, op="mean")
    assert out.tolist() == [1.0, 2.0] and out is not x
    assert len(cr.distributed.shard(_dataset(7))) == 7
    with pytest.raises(ValueError, match="op must be one of"):
        cr.distributed.all_reduce(x, op="prod")
    with pytest.raises(ValueError, match="root must be a rank"):
        cr.distributed.broadcast_parameters(nn.Linear(2, 2), root=1)
    with pytest.raises(ValueError, match="counts must be an int"):
        cr.distributed.average_gradients([], -1)


def test_gradients_become_views_of_one_buffer_that_backward_adds_into():
    cr.manual_seed(0)
    model = nn.MLP([3, 4, 2])
    F.mse_loss(model(cr.randn(5, 3)), cr.randn(5, 2)).backward()
    before = [p.grad.data.copy() for p in model.parameters()]
    assert cr.distributed.average_gradients(model.parameters(), 5) == 5
    arena = _arena(model.parameters())  # the one average_gradients used
    (buffer,) = arena.buffers
    assert buffer.size == sum(p.size for p in model.parameters()) + 2  # + count, loss
    for p, want in zip(model.parameters(), before):
        assert np.shares_memory(p.grad.data, buffer)
        np.testing.assert_allclose(p.grad.data, want, rtol=1e-6)
    arena.zero()
    F.mse_loss(model(cr.randn(5, 3)), cr.randn(5, 2)).backward()
    assert all(np.shares_memory(p.grad.data, buffer) for p in model.parameters())
    assert np.abs(buffer[:-2]).sum() > 0


def test_fit_distributed_in_a_world_of_one_is_fit():
    X, y = cr.randn(64, 4, seed=0), cr.tensor(np.arange(64) % 3)
    results = []
    for distributed in (False, True):
        cr.manual_seed(3)
        model = nn.MLP([4, 8, 3])
        opt = optim.Adam(model.parameters(), lr=1e-2)
        data = cr.data.TensorDataset(X, y)
        loader = cr.data.DataLoader(cr.distributed.shard(data, seed=2) if distributed
                                    else data, batch_size=10, shuffle=True, seed=2)
        history = cr.fit(model, F.cross_entropy, opt, loader, 3, metrics=["accuracy"],
                         progress=False, distributed=distributed)
        results.append(([p.data.copy() for p in model.parameters()], history.history))
    (p0, h0), (p1, h1) = results
    for a, b in zip(p0, p1):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(h0["loss"], h1["loss"], rtol=1e-6)
    assert h0["accuracy"] == h1["accuracy"]


def test_a_nan_loss_stops_distributed_fit_before_the_step():
    model = nn.Linear(1, 1)
    before = model.weight.data.copy()
    X = cr.tensor([[1.0], [float("nan")]])
    loader = cr.data.DataLoader(cr.data.TensorDataset(X, cr.tensor([[1.0], [2.0]])),
                                batch_size=2)
    with pytest.raises(FloatingPointError, match="step 1 of epoch 1/1"):
        cr.fit(model, F.mse_loss, optim.SGD(model.parameters(), lr=0.1), loader, 1,
               progress=False, distributed=True)
    assert model.weight.data.tolist() == before.tolist()


def test_slurm_tasks_seen_as_worlds_of_one_are_refused(monkeypatch):
    monkeypatch.setenv("SLURM_PROCID", "0")
    monkeypatch.setenv("SLURM_STEP_NUM_TASKS", "4")
    with pytest.raises(RuntimeError, match=r"srun --mpi=pmix"):
        _mpi._refuse_singletons(1)
    _mpi._refuse_singletons(4)  # a real world of 4 is fine
    monkeypatch.delenv("SLURM_PROCID")
    _mpi._refuse_singletons(1)  # not started by srun: a plain single process


def test_without_mpi4py_the_hint_names_the_extra(monkeypatch):
    for name in [m for m in sys.modules if m == "mpi4py" or m.startswith("mpi4py.")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "mpi4py", None)
    with pytest.raises(ModuleNotFoundError, match=r'pip install "chainrule\[mpi\]"'):
        _mpi._mpi()


def _simulated_ranks(world: int, batch: int, weighted: bool, steps: int = 200) -> list:
    """SGD with momentum on ``world`` simulated ranks (their shards in one process), the
    gradients averaged by sample count or, as DDP does, as the mean of the ranks' means."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(1000, 8))
    y = (X[:, 0] + X[:, 1] * X[:, 2] > 0).astype(np.int64)
    data = cr.data.TensorDataset(X, y)
    cr.manual_seed(1)
    model = nn.MLP([8, 16, 2], activation="tanh").double()
    params = list(model.parameters())
    opt = optim.SGD(params, lr=0.05, momentum=0.9)
    loaders = [cr.data.DataLoader(Shard(data, r, world, 0), batch_size=batch, shuffle=True,
                                  seed=7) for r in range(world)]
    done = 0
    while done < steps:
        for batches in zip(*[list(loader) for loader in loaders]):  # ragged ends: see below
            grads, counts = [], []
            for xb, yb in batches:
                opt.zero_grad()
                F.cross_entropy(model(xb), yb).backward()
                grads.append([p.grad.data.copy() for p in params])
                counts.append(len(yb))
            for i, p in enumerate(params):
                p.grad = cr.tensor(sum(n * g[i] for n, g in zip(counts, grads)) / sum(counts)
                                   if weighted else sum(g[i] for g in grads) / len(grads))
            opt.step()
            done += 1
            if done == steps:
                break
    return [p.data.copy() for p in params]


def test_averaging_by_sample_count_is_one_process_and_the_mean_of_means_drifts():
    # 1,000 samples on 3 ranks, 10 per batch: every epoch ends with batches of 4, 3, 3, the
    # one step where the weighting matters (each rank has the same number of batches here)
    one = _simulated_ranks(1, 30, True)
    weighted = _simulated_ranks(3, 10, True)
    mean_of_means = _simulated_ranks(3, 10, False)
    assert max(np.abs(a - b).max() for a, b in zip(weighted, one)) < 1e-12
    assert max(np.abs(a - b).max() for a, b in zip(mean_of_means, one)) > 1e-5


def test_chainrule_train_distributed_without_mpi4py_is_one_line_with_the_hint(monkeypatch,
                                                                              capsys):
    from chainrule.cli.main import main

    monkeypatch.setitem(_mpi._STATE, "comm", None)  # as in a process that never started MPI
    for name in [m for m in sys.modules if m == "mpi4py" or m.startswith("mpi4py.")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "mpi4py", None)
    assert main(["train", "--dataset", "iris", "--distributed"]) == 2
    err = capsys.readouterr().err
    assert err == ('chainrule: error: chainrule.distributed needs mpi4py; install it with: '
                   'pip install "chainrule[mpi]"\n')
