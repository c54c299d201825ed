"""cr.compile of a whole training step: zero_grad, forward, backward and the optimiser's
update in one replayed tape, bit for bit equal to eager training."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn, optim
from chainrule.optim.lr_scheduler import CosineAnnealingLR

RNG = np.random.default_rng(7)
BATCHES = [(cr.tensor(RNG.standard_normal((6, 5))), cr.tensor(RNG.integers(0, 3, 6)))
           for _ in range(4)]


def _model() -> nn.Module:
    cr.manual_seed(3)
    return nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 3))


def _trainer(make_opt: Callable[[Any], Any], zero: str = "none") -> tuple[Any, Any, Any]:
    model = _model()
    opt = make_opt(model.parameters())

    def train_step(X: cr.Tensor, y: cr.Tensor) -> cr.Tensor:
        if zero == "none":
            opt.zero_grad()
        elif zero == "zeros":
            opt.zero_grad(set_to_none=False)
        loss = F.cross_entropy(model(X), y)
        loss.backward()
        opt.step()
        return loss

    return model, opt, train_step


@pytest.mark.parametrize("make_opt", [
    lambda p: optim.SGD(p, lr=0.1),
    lambda p: optim.SGD(p, lr=0.05, momentum=0.9),
    lambda p: optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-3),
    lambda p: optim.Adam(p, lr=0.01),
    lambda p: optim.AdamW(p, lr=0.01, amsgrad=True),
], ids=["sgd", "sgd-momentum", "sgd-nesterov", "adam", "adamw-amsgrad"])
def test_a_compiled_step_trains_as_eager_does_bit_for_bit(make_opt: Any) -> None:
    eager_model, eager_opt, eager_step = _trainer(make_opt)
    model, opt, step = _trainer(make_opt)
    compiled = cr.compile(step)
    schedules = [CosineAnnealingLR(o, T_max=50) for o in (eager_opt, opt)]
    for i in range(300):
        X, y = BATCHES[i % len(BATCHES)]
        expected, got = eager_step(X, y), compiled(X, y)
        assert np.array_equal(expected.data, got.data), i
        if i % 10 == 9:  # the scheduler changes lr between steps: read afresh
            for s in schedules:
                s.step()
    assert compiled.captures == 1
    for p, q in zip(eager_model.parameters(), model.parameters()):
        assert np.array_equal(p.data, q.data)
        assert np.array_equal(p.grad.data, q.grad.data)
    assert not got.requires_grad and got._node is None  # its backward already ran


@pytest.mark.parametrize("zero", ["zeros", "keep"])
def test_gradients_accumulate_as_eager_without_zero_grad(zero: str) -> None:
    eager = _trainer(lambda p: optim.SGD(p, lr=0.01, momentum=0.5), zero)
    mine = _trainer(lambda p: optim.SGD(p, lr=0.01, momentum=0.5), zero)
    compiled = cr.compile(mine[2])
    for i in range(40):
        X, y = BATCHES[i % len(BATCHES)]
        assert np.array_equal(eager[2](X, y).data, compiled(X, y).data)
    for p, q in zip(eager[0].parameters(), mine[0].parameters()):
        assert np.array_equal(p.data, q.data)
        assert np.array_equal(p.grad.data, q.grad.data)


@pytest.mark.parametrize(("dtype", "momentum"), [
    ("float64", 0.0), ("float64", 0.9), ("float32", 0.9)])
def test_the_textbook_linear_regression_step(dtype: str, momentum: float) -> None:
    # scalar float64 parameters take the update's Python-float form, the others ufuncs
    x = cr.tensor(np.linspace(0.0, 1.0, 9).astype(dtype))
    y = 2 * x

    def fit(compiled: bool) -> tuple[float, float]:
        t0 = cr.tensor(np.zeros((), dtype), requires_grad=True)
        t1 = cr.tensor(np.full((), 0.5, dtype), requires_grad=True)
        opt = optim.SGD([t0, t1], lr=0.1, momentum=momentum)

        def step(x: cr.Tensor, y: cr.Tensor) -> cr.Tensor:
            opt.zero_grad()
            cost = ((t0 + t1 * x - y) ** 2).sum() / (2 * 9)
            cost.backward()
            opt.step()
            return cost

        run = cr.compile(step) if compiled else step
        for _ in range(200):
            run(x, y)
        return t0.item(), t1.item()

    assert fit(True) == fit(False)


def _refused(step: Callable[..., Any], match: str, *args: Any) -> None:
    with pytest.raises(RuntimeError, match=f"compile: cannot capture .*{match}"):
        cr.compile(step)(*args)


def test_what_a_replay_could_not_repeat_is_refused() -> None:
    X, y = BATCHES[0]
    model = _model()
    opt = optim.SGD(model.parameters(), lr=0.1)

    def reads_a_gradient(X: cr.Tensor, y: cr.Tensor) -> cr.Tensor:
        loss = F.cross_entropy(model(X), y)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        return loss

    def computes_after_the_step(X: cr.Tensor, y: cr.Tensor) -> cr.Tensor:
        F.cross_entropy(model(X), y).backward()
        opt.step()
        return F.cross_entropy(model(X), y)

    def seeds_the_backward(X: cr.Tensor, y: cr.Tensor) -> cr.Tensor:
        out = model(X)
        out.backward(cr.ones(out.shape))
        return out

    def steps_with_a_closure(X: cr.Tensor, y: cr.Tensor) -> Any:
        return opt.step(lambda: F.cross_entropy(model(X), y))

    _refused(reads_a_gradient, "reads a .grad", X, y)
    _refused(computes_after_the_step, "after optimizer.step", X, y)
    _refused(seeds_the_backward, r"backward\(gradient=", X, y)
    _refused(steps_with_a_closure, "closure", X, y)
    w = cr.tensor(np.ones(5), requires_grad=True)
    _refused(lambda X: (X * 2.0).sum().backward() or X, "reaches an argument", w)
    v = cr.tensor(1.0, requires_grad=True)
    _refused(lambda X: v.backward() or X * 2.0, "did not compute", cr.tensor(1.0))


def test_new_signatures_and_dropout_capture_as_eager_steps_never_twice() -> None:
    def trainer() -> tuple[Any, Any]:
        cr.manual_seed(5)
        model = nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Dropout(0.3), nn.Linear(8, 3))
        opt = optim.Adam(model.parameters(), lr=0.01)

        def step(X: cr.Tensor, y: cr.Tensor) -> cr.Tensor:
            opt.zero_grad()
            loss = F.cross_entropy(model(X), y)
            loss.backward()
            opt.step()
            return loss

        return model, step

    (eager_model, eager_step), (model, step) = trainer(), trainer()
    compiled = cr.compile(step)
    sizes = [6, 6, 4, 6, 4, 4, 6]  # a short last batch: a second tape, then both replayed
    for i, n in enumerate(sizes * 3):
        X, y = BATCHES[i % len(BATCHES)]
        cr.manual_seed(100 + i)
        expected = eager_step(X[:n], y[:n])
        cr.manual_seed(100 + i)
        assert np.array_equal(expected.data, compiled(X[:n], y[:n]).data), i
    assert compiled.captures == 2
    for p, q in zip(eager_model.parameters(), model.parameters()):
        assert np.array_equal(p.data, q.data)


@pytest.mark.parametrize("returns", ["nothing", "detached", "tuple"])
def test_whatever_the_step_returns_it_runs_once_per_call(returns: str) -> None:
    X, y = BATCHES[0]
    results, weights = [], []
    for compiled in (False, True):
        model = _model()
        opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)

        def step(X: cr.Tensor, y: cr.Tensor) -> Any:
            opt.zero_grad()
            logits = model(X)
            loss = F.cross_entropy(logits, y)
            loss.backward()
            opt.step()
            return {"nothing": None, "detached": loss.detach(), "tuple": (loss, logits)}[returns]

        run = cr.compile(step) if compiled else step
        results.append([run(X, y) for _ in range(5)][-1])
        weights.append([p.data.copy() for p in model.parameters()])
    assert all(np.array_equal(a, b) for a, b in zip(*weights))
    if returns == "nothing":
        assert results == [None, None]
    elif returns == "detached":
        assert np.array_equal(results[0].data, results[1].data)
    else:
        assert all(np.array_equal(a.data, b.data) for a, b in zip(*results))


def test_a_modules_zero_grad_is_replayed_and_a_schedulers_step_refused() -> None:
    X, y = BATCHES[1]
    weights = []
    for compiled in (False, True):
        model = _model()
        opt = optim.SGD(model.parameters(), lr=0.1)

        def step(X: cr.Tensor, y: cr.Tensor) -> cr.Tensor:
            model.zero_grad()  # a replay must forget the gradients too
            loss = F.cross_entropy(model(X), y)
            loss.backward()
            opt.step()
            return loss

        run = cr.compile(step) if compiled else step
        for _ in range(6):
            run(X, y)
        weights.append([p.data.copy() for p in model.parameters()])
    assert all(np.array_equal(a, b) for a, b in zip(*weights))
    schedule = CosineAnnealingLR(opt, T_max=10)
    _refused(lambda X: schedule.step() or X * 2.0, r"CosineAnnealingLR\.step\(\)", X)


def test_micro_batches_accumulate_in_one_step_unless_a_guard_follows_a_backward() -> None:
    X = BATCHES[0][0]
    target = cr.tensor(RNG.standard_normal((6, 3)))
    weights = []
    for compiled in (False, True):
        model = _model()
        opt = optim.Adam(model.parameters(), lr=0.05)

        def step(X: cr.Tensor, y: cr.Tensor) -> None:
            opt.zero_grad()
            for k in range(2):  # two halves, their gradients summed in .grad
                F.mse_loss(model(X[3 * k:3 * k + 3]), y[3 * k:3 * k + 3]).backward()
            opt.step()

        run = cr.compile(step) if compiled else step
        for _ in range(8):
            run(X, target)
        weights.append([p.data.copy() for p in model.parameters()])
    assert all(np.array_equal(a, b) for a, b in zip(*weights))

    model = _model()

    def guarded(X: cr.Tensor, y: cr.Tensor) -> None:  # cross_entropy checks its targets
        for k in range(2):
            F.cross_entropy(model(X[3 * k:3 * k + 3]), y[3 * k:3 * k + 3]).backward()

    _refused(guarded, "after backward", X, BATCHES[0][1])


def test_the_replayed_sgd_update_follows_every_change_of_the_optimiser() -> None:
    """SGD's update is written out for the state it had at capture (its buffers, its
    groups); every change after that — momentum switched off and on, weight decay, a
    state loaded from a checkpoint (new buffers), a parameter left without a gradient —
    must give eager's parameters bit for bit, by the generic rule where needed."""
    make = lambda p: optim.SGD(p, lr=0.05, momentum=0.9)  # noqa: E731
    eager_model, eager_opt, eager_step = _trainer(make)
    model, opt, step = _trainer(make)
    compiled = cr.compile(step)
    checkpoint = None
    for i in range(60):
        X, y = BATCHES[i % len(BATCHES)]
        assert np.array_equal(eager_step(X, y).data, compiled(X, y).data), i
        for o in (eager_opt, opt):
            group = o.param_groups[0]
            if i == 10:
                checkpoint = eager_opt.state_dict()
                group["momentum"] = 0
            elif i == 20:
                group["momentum"], group["weight_decay"] = 0.5, 1e-2
            elif i == 30:
                group["weight_decay"] = 0
            elif i == 40:
                o.load_state_dict(checkpoint)  # the state replaced: other buffers
            elif i == 50:
                group["lr"] = 0.01
        for p, q in zip(eager_model.parameters(), model.parameters()):
            assert np.array_equal(p.data, q.data), i
    assert compiled.captures == 1


def test_sgds_written_out_update_is_its_rule() -> None:
    w = cr.tensor(np.array([1.0, -2.0]), requires_grad=True)
    frozen = cr.tensor(np.array([3.0]), requires_grad=True)
    opt = optim.SGD([w, frozen], lr=0.5, momentum=0.9)
    update = opt._replay_update()
    w.grad = cr.tensor(np.array([2.0, 4.0]))
    update()  # no buffer yet: the generic rule starts it at g; θ = θ − 0.5·g
    assert np.array_equal(w.data, [0.0, -4.0]) and frozen.grad is None
    update = opt._replay_update()  # now written out with w's buffer
    assert "add(B0_0, g, out=B0_0)" in update.source
    update()  # b = 0.9·[2, 4] + [2, 4] = [3.8, 7.6]; θ = θ − 0.5·b
    assert np.allclose(w.data, [-1.9, -7.8]) and np.array_equal(frozen.data, [3.0])
