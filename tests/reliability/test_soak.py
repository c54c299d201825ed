"""Memory soak, short version (``make soak`` runs 5,000 steps): with the garbage collector
off, no step's graph outlives the step and memory stays flat. Also what ``total_loss +=
loss`` does (docs/errors.md, "Accumulating the loss"), and that ``fit`` is immune."""

from __future__ import annotations

import gc
import sys
import tracemalloc
import weakref
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn, optim

TOOLS = Path(__file__).resolve().parents[2] / "tools"
if str(TOOLS) not in sys.path:
    sys.path.insert(0, str(TOOLS))

import soak  # noqa: E402


@pytest.fixture
def gc_off():
    was = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def test_300_training_steps_leave_no_graph_and_flat_memory():
    result = soak.soak(steps=300, warmup=100, node_every=50)
    assert result.leaked_steps == []
    assert result.max_live_nodes == 0
    # resident memory after warm-up (a looser bound than make soak's 5 MB over 5,000 steps;
    # a retained graph per step would add >= 16 KB x 200 steps)
    assert result.rss_growth < 2 * soak.MB, result.rss_growth
    assert result.final_loss < 0.5  # and it did train


def test_soak_notices_a_loop_that_keeps_its_graphs(monkeypatch):
    kept = []
    real_step = soak._step

    def leaky_step(model, opt, x, y):
        refs, value = real_step(model, opt, x, y)
        kept.append(model(x).sum())  # a graph per step, never backpropagated
        return refs, value

    monkeypatch.setattr(soak, "_step", leaky_step)
    result = soak.soak(steps=20, warmup=5, node_every=10)
    assert result.max_live_nodes >= 20


def _batches(n):
    batches = soak._batches(0)
    return [next(batches) for _ in range(n)]


def test_accumulating_the_loss_tensor_keeps_only_a_small_chain(gc_off):
    # the classic `total_loss += loss`: like PyTorch it keeps every step's loss reachable,
    # but backward() already released the buffers, so each step costs ~1 KB (2 nodes),
    # and the activations (logits) die with the step.
    cr.manual_seed(0)
    model = nn.MLP([64, 128, 10])
    opt = optim.Adam(model.parameters())
    total = 0.0
    data = _batches(250)
    tracemalloc.start()
    try:
        for i, (x, y) in enumerate(data):
            logits = model(x)
            loss = F.cross_entropy(logits, y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss
            logits_ref = weakref.ref(logits)
            del logits
            assert logits_ref() is None, f"step {i}: the logits outlived the step"
            if i == 50:
                before, nodes_before = tracemalloc.get_traced_memory()[0], soak.live_nodes()
        per_step = (tracemalloc.get_traced_memory()[0] - before) / 199
        nodes_per_step = (soak.live_nodes() - nodes_before) / 199
    finally:
        tracemalloc.stop()
    assert per_step < 2048, per_step  # a retained graph would be >= 16 KB (32x128 floats)
    assert nodes_per_step == 2.0
    # and the sum cannot be backpropagated: its steps' graphs were freed
    with pytest.raises(RuntimeError, match=r"^backward: the graph was freed"):
        total.backward()


def test_accumulating_loss_item_keeps_nothing(gc_off):
    cr.manual_seed(0)
    model = nn.MLP([64, 128, 10])
    opt = optim.Adam(model.parameters())
    total = 0.0
    for x, y in _batches(20):
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        total += loss.item()
    del loss
    assert isinstance(total, float)
    assert soak.live_nodes() == 0


def test_fit_keeps_no_graph_between_steps_or_after(gc_off):
    cr.manual_seed(0)
    (X, y), (Xt, yt) = cr.data.load_dataset("iris")
    model = nn.MLP([4, 16, 3])
    seen = []

    class Probe:
        def on_epoch_end(self, epoch, logs):
            seen.append(soak.live_nodes())

    history = cr.fit(model, F.cross_entropy, optim.Adam(model.parameters(), lr=1e-2),
                     cr.data.DataLoader(cr.data.TensorDataset(X, y), batch_size=16),
                     epochs=5, val_loader=cr.data.DataLoader(cr.data.TensorDataset(Xt, yt)),
                     metrics=("accuracy",), callbacks=[Probe()], progress=False)
    assert seen == [0] * 5
    assert soak.live_nodes() == 0
    for key in ("loss", "val_loss", "accuracy"):
        assert all(type(v) is float for v in history.history[key]), key
    assert np.isfinite(history.history["loss"]).all()
