"""LambdaLR, OneCycleLR and ReduceLROnPlateau reproduce PyTorch's learning rates (and
OneCycleLR's momentum) over many steps, to 1e-12, and resume from a state dict saved with
cr.save."""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import pytest
import torch
from optim_problem import cr_params, run_cr, run_torch, torch_params

import chainrule as cr
from chainrule.optim import lr_scheduler


def _opt(kind: str, lib: Any) -> Any:
    """The same two-group optimiser in chainrule (lib=cr) or PyTorch (lib=torch)."""
    A, b = cr_params() if lib is cr else torch_params()
    groups = [{"params": [A]}, {"params": [b], "lr": 0.02}]
    extra: dict[str, Any] = {} if lib is cr else {"foreach": False}
    if kind == "sgd":
        return lib.optim.SGD(groups, lr=0.1, momentum=0.9, **extra)
    if kind == "sgd0":
        return lib.optim.SGD(groups, lr=0.1, **extra)
    if kind == "adam":
        return lib.optim.Adam(groups, lr=0.1, betas=(0.8, 0.99), **extra)
    if kind == "rmsprop":
        return lib.optim.RMSprop(groups, lr=0.1, momentum=0.5, **extra)
    return lib.optim.Adagrad(groups, lr=0.1, **extra)


def _momenta(opt: Any) -> list[float]:
    return [g["betas"][0] if "betas" in g else g.get("momentum", 0.0) for g in opt.param_groups]


def _run(opt: Any, sched: Any, steps: int, metrics: list[float] | None = None
         ) -> list[list[float]]:
    """The rates (and momenta) after construction and after each step."""
    rows = [list(sched.get_last_lr()) + _momenta(opt)]
    for i in range(steps):
        opt.step()  # no gradients: nothing moves, but torch checks the call order
        if metrics is None:
            sched.step()
        else:
            sched.step(metrics[i])
        rows.append(list(sched.get_last_lr()) + _momenta(opt))
        assert rows[-1][:2] == [group["lr"] for group in opt.param_groups]
    return rows


def _compare(kind: str, name: str, options: dict[str, Any], steps: int,
             metrics: list[float] | None = None) -> list[list[float]]:
    opt = _opt(kind, cr)
    ours = _run(opt, getattr(lr_scheduler, name)(opt, **options), steps, metrics)
    topt = _opt(kind, torch)
    theirs = _run(topt, getattr(torch.optim.lr_scheduler, name)(topt, **options), steps,
                  metrics)
    np.testing.assert_allclose(np.array(ours), np.array(theirs), rtol=1e-12, atol=1e-300)
    return ours


# ---------------------------------------------------------------- LambdaLR


class Warmup:
    """A callable object: its attributes go into the state dict."""

    def __init__(self, steps: int) -> None:
        self.steps = steps

    def __call__(self, t: int) -> float:
        return min(1.0, (t + 1) / self.steps) * 0.97**t


LAMBDAS = {
    "inverse": lambda t: 1.0 / (1.0 + 0.3 * t),
    "cosine": lambda t: 0.5 * (1 + math.cos(math.pi * t / 50)),
    "per-group": [lambda t: 0.95**t, lambda t: 1.0 + math.sin(t / 7)],
}


@pytest.mark.parametrize("name", list(LAMBDAS))
def test_lambda_lr_matches_torch_for_200_epochs(name: str) -> None:
    ours = _compare("sgd", "LambdaLR", {"lr_lambda": LAMBDAS[name]}, 200)
    assert len({tuple(row) for row in ours}) > 100


def test_lambda_lr_with_a_callable_object_matches_torch() -> None:
    _compare("adam", "LambdaLR", {"lr_lambda": Warmup(10)}, 100)


def test_lambda_lr_step_with_an_epoch_matches_torch() -> None:
    opt, topt = _opt("sgd", cr), _opt("sgd", torch)
    sched = lr_scheduler.LambdaLR(opt, LAMBDAS["inverse"])
    tsched = torch.optim.lr_scheduler.LambdaLR(topt, LAMBDAS["inverse"])
    for epoch in (7, 3, 20):
        opt.step()
        topt.step()
        sched.step(epoch)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            tsched.step(epoch)
        np.testing.assert_allclose(sched.get_last_lr(), tsched.get_last_lr(), rtol=1e-12)


def test_lambda_lr_state_dict_round_trips_through_save(tmp_path) -> None:
    opt = _opt("sgd", cr)
    straight = _run(opt, lr_scheduler.LambdaLR(opt, Warmup(8)), 30)

    opt = _opt("sgd", cr)
    sched = lr_scheduler.LambdaLR(opt, [Warmup(8), LAMBDAS["inverse"]])
    state = sched.state_dict()
    assert state["lr_lambdas"] == [{"steps": 8}, None]  # PyTorch's rule for functions
    sched = lr_scheduler.LambdaLR(opt, Warmup(8))
    _run(opt, sched, 12)
    cr.save({"opt": opt.state_dict(), "sched": sched.state_dict()}, tmp_path / "ckpt.npz")
    saved = cr.load(tmp_path / "ckpt.npz")
    new_opt = _opt("sgd", cr)
    new_opt.load_state_dict(saved["opt"])
    warmup = Warmup(1)
    new_sched = lr_scheduler.LambdaLR(new_opt, warmup)
    new_sched.load_state_dict(saved["sched"])
    assert warmup.steps == 8 and new_sched.last_epoch == 12
    assert _run(new_opt, new_sched, 18)[1:] == straight[13:]


def test_lambda_lr_errors() -> None:
    with pytest.raises(ValueError, match=r"LambdaLR: expected 2 lr_lambdas \(one per parameter "
                                         r"group\), got 1"):
        lr_scheduler.LambdaLR(_opt("sgd", cr), [lambda t: 1.0])
    with pytest.raises(TypeError, match="LambdaLR: lr_lambda must be a function of the epoch"):
        lr_scheduler.LambdaLR(_opt("sgd", cr), 0.5)


# ---------------------------------------------------------------- OneCycleLR

ONE_CYCLE = [
    ("sgd", {"max_lr": 1.0, "total_steps": 100}),
    ("sgd", {"max_lr": [1.0, 0.3], "total_steps": 257, "pct_start": 0.25}),
    ("sgd0", {"max_lr": 0.5, "total_steps": 60}),  # momentum 0 becomes 0.95, as in torch
    ("adam", {"max_lr": 0.01, "epochs": 7, "steps_per_epoch": 13}),
    ("adam", {"max_lr": 0.01, "total_steps": 120, "three_phase": True}),
    ("rmsprop", {"max_lr": 0.2, "total_steps": 90, "anneal_strategy": "linear"}),
    ("sgd", {"max_lr": 2.0, "total_steps": 150, "three_phase": True,
             "anneal_strategy": "linear", "div_factor": 10.0, "final_div_factor": 100.0,
             "base_momentum": [0.8, 0.7], "max_momentum": 0.99}),
    ("adagrad", {"max_lr": 0.3, "total_steps": 80, "cycle_momentum": False}),
    ("sgd", {"max_lr": 1.0, "total_steps": 50, "pct_start": 1.0}),
]


@pytest.mark.parametrize("kind,options", ONE_CYCLE, ids=[f"{k}-{o}" for k, o in ONE_CYCLE])
def test_one_cycle_matches_torch_over_the_whole_cycle(kind: str, options: dict[str, Any]
                                                      ) -> None:
    total = options.get("total_steps") or options["epochs"] * options["steps_per_epoch"]
    ours = _compare(kind, "OneCycleLR", options, total - 1)
    assert max(row[0] for row in ours) == pytest.approx(
        options["max_lr"][0] if isinstance(options["max_lr"], list) else options["max_lr"],
        rel=1e-3)


def test_one_cycle_sets_torchs_group_entries() -> None:
    opt, topt = _opt("adam", cr), _opt("adam", torch)
    lr_scheduler.OneCycleLR(opt, max_lr=0.01, total_steps=10)
    torch.optim.lr_scheduler.OneCycleLR(topt, max_lr=0.01, total_steps=10)
    for group, tgroup in zip(opt.param_groups, topt.param_groups):
        for key in ("lr", "initial_lr", "max_lr", "min_lr", "max_momentum", "base_momentum",
                    "betas"):
            assert group[key] == tgroup[key], key


def test_one_cycle_refuses_a_step_past_the_end_like_torch() -> None:
    opt, topt = _opt("sgd", cr), _opt("sgd", torch)
    sched = lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=5)
    tsched = torch.optim.lr_scheduler.OneCycleLR(topt, max_lr=1.0, total_steps=5)
    for _ in range(5):
        opt.step()
        topt.step()
        sched.step()
        tsched.step()  # torch too allows step total_steps (it lands on min_lr again)
    np.testing.assert_allclose(sched.get_last_lr(), tsched.get_last_lr(), rtol=1e-12)
    with pytest.raises(ValueError, match=r"OneCycleLR: tried to step 6 times; the schedule "
                                         r"has total_steps=5"):
        sched.step()
    with pytest.raises(ValueError, match="Tried to step 6 times"):
        tsched.step()


def test_one_cycle_state_dict_round_trips_through_save(tmp_path) -> None:
    options = {"max_lr": 0.05, "total_steps": 40, "three_phase": True}
    opt = _opt("adam", cr)
    straight = _run(opt, lr_scheduler.OneCycleLR(opt, **options), 39)

    opt = _opt("adam", cr)
    sched = lr_scheduler.OneCycleLR(opt, **options)
    _run(opt, sched, 17)
    cr.save({"opt": opt.state_dict(), "sched": sched.state_dict()}, tmp_path / "ckpt.npz")
    saved = cr.load(tmp_path / "ckpt.npz")
    new_opt = _opt("adam", cr)
    new_sched = lr_scheduler.OneCycleLR(new_opt, **options)
    new_opt.load_state_dict(saved["opt"])
    new_sched.load_state_dict(saved["sched"])
    assert _run(new_opt, new_sched, 22)[1:] == straight[18:]


def test_one_cycle_trains_like_torch() -> None:
    params = cr_params()
    opt = cr.optim.SGD(params, lr=0.01, momentum=0.9)
    ours = run_cr(opt, params, 40,
                  scheduler=lr_scheduler.OneCycleLR(opt, max_lr=0.05, total_steps=40))
    tparams = torch_params()
    topt = torch.optim.SGD(tparams, lr=0.01, momentum=0.9, foreach=False)
    theirs = run_torch(topt, tparams, 40, scheduler=torch.optim.lr_scheduler.OneCycleLR(
        topt, max_lr=0.05, total_steps=40))
    np.testing.assert_allclose(np.array(ours), np.array(theirs), rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("options,error,pattern", [
    ({"max_lr": 1.0}, ValueError, "give either total_steps or both epochs and steps_per_epoch"),
    ({"max_lr": 1.0, "total_steps": 0}, ValueError, "total_steps must be a positive int, got 0"),
    ({"max_lr": 1.0, "epochs": 2, "steps_per_epoch": 2.5}, ValueError,
     "steps_per_epoch must be a positive int"),
    ({"max_lr": 1.0, "total_steps": 10, "pct_start": 1.5}, ValueError,
     r"pct_start must be a number in \[0, 1\], got 1.5"),
    ({"max_lr": 1.0, "total_steps": 10, "anneal_strategy": "exp"}, ValueError,
     "anneal_strategy must be 'cos' or 'linear', got 'exp'"),
    ({"max_lr": [1.0], "total_steps": 10}, ValueError,
     r"max_lr must have one value per parameter group \(2\), got 1"),
])
def test_one_cycle_argument_errors(options, error, pattern) -> None:
    with pytest.raises(error, match=pattern):
        lr_scheduler.OneCycleLR(_opt("sgd", cr), **options)


def test_one_cycle_needs_momentum_to_cycle() -> None:
    with pytest.raises(ValueError, match="OneCycleLR: Adagrad has neither momentum nor betas "
                                         "to cycle; pass cycle_momentum=False"):
        lr_scheduler.OneCycleLR(_opt("adagrad", cr), max_lr=0.1, total_steps=10)


# ---------------------------------------------------------------- ReduceLROnPlateau


def _losses(n: int, seed: int) -> list[float]:
    """A noisy loss that falls, stalls for long stretches and wobbles."""
    rng = np.random.default_rng(seed)
    trend = np.concatenate([np.linspace(5.0, 1.0, n // 4), np.full(n - n // 4, 1.0)])
    steps = np.repeat(rng.normal(scale=0.02, size=n // 10 + 1), 10)[:n]
    return (trend + np.cumsum(steps) * 0.1 + rng.normal(scale=1e-5, size=n)).tolist()


PLATEAU = [
    {},
    {"patience": 3, "factor": 0.5},
    {"patience": 2, "factor": 0.3, "cooldown": 4, "threshold": 1e-3},
    {"patience": 1, "threshold_mode": "abs", "threshold": 0.01, "min_lr": 1e-4},
    {"patience": 0, "factor": 0.7, "min_lr": [1e-3, 5e-3], "eps": 1e-3},
    {"mode": "max", "patience": 2, "factor": 0.5},
    {"mode": "max", "patience": 4, "threshold_mode": "abs", "threshold": 0.05, "cooldown": 2},
]


@pytest.mark.parametrize("options", PLATEAU, ids=[str(o) for o in PLATEAU])
@pytest.mark.parametrize("seed", [0, 1])
def test_plateau_matches_torch_for_300_epochs(options: dict[str, Any], seed: int) -> None:
    metrics = _losses(300, seed)
    if options.get("mode") == "max":
        metrics = [-m for m in metrics]
    ours = _compare("sgd", "ReduceLROnPlateau", options, 300, metrics)
    assert len({tuple(row) for row in ours}) > 1  # it did reduce


def test_plateau_state_matches_torch_and_round_trips_through_save(tmp_path) -> None:
    metrics = _losses(120, 3)
    options = {"patience": 2, "cooldown": 3, "factor": 0.5}
    opt, topt = _opt("sgd", cr), _opt("sgd", torch)
    sched = lr_scheduler.ReduceLROnPlateau(opt, **options)
    tsched = torch.optim.lr_scheduler.ReduceLROnPlateau(topt, **options)
    assert sched.best == tsched.best == math.inf  # infinite before the first step
    cr.save(sched.state_dict(), tmp_path / "fresh.npz")
    _run(opt, sched, 60, metrics)
    _run(topt, tsched, 60, metrics)
    for key in ("best", "num_bad_epochs", "cooldown_counter", "last_epoch", "min_lrs"):
        assert getattr(sched, key) == getattr(tsched, key), key
    straight = _run(opt, sched, 60, metrics[60:])

    opt = _opt("sgd", cr)
    sched = lr_scheduler.ReduceLROnPlateau(opt, **options)
    sched.load_state_dict(cr.load(tmp_path / "fresh.npz"))
    _run(opt, sched, 60, metrics)
    cr.save({"opt": opt.state_dict(), "sched": sched.state_dict()}, tmp_path / "ckpt.npz")
    saved = cr.load(tmp_path / "ckpt.npz")
    new_opt = _opt("sgd", cr)
    new_opt.load_state_dict(saved["opt"])
    new_sched = lr_scheduler.ReduceLROnPlateau(new_opt, **options)
    new_sched.load_state_dict(saved["sched"])
    assert _run(new_opt, new_sched, 60, metrics[60:]) == straight


def test_plateau_takes_a_tensor_metric() -> None:
    opt = _opt("sgd", cr)
    sched = lr_scheduler.ReduceLROnPlateau(opt, patience=0)
    sched.step(cr.tensor(1.0))
    sched.step(cr.tensor([2.0]))
    assert sched.get_last_lr() == pytest.approx([0.01, 0.002], rel=1e-12)


def test_plateau_errors() -> None:
    opt = _opt("sgd", cr)
    with pytest.raises(ValueError, match=r"ReduceLROnPlateau: factor should be < 1\.0, got 1\.5"):
        lr_scheduler.ReduceLROnPlateau(opt, factor=1.5)
    with pytest.raises(ValueError, match="mode must be 'min' or 'max', got 'lowest'"):
        lr_scheduler.ReduceLROnPlateau(opt, mode="lowest")
    with pytest.raises(ValueError, match="threshold_mode must be 'rel' or 'abs', got 'pct'"):
        lr_scheduler.ReduceLROnPlateau(opt, threshold_mode="pct")
    with pytest.raises(ValueError, match=r"expected 2 min_lrs \(one per parameter group\), "
                                         r"got 3"):
        lr_scheduler.ReduceLROnPlateau(opt, min_lr=[0.0, 0.0, 0.0])
    with pytest.raises(TypeError, match=r"ReduceLROnPlateau.step: pass the monitored value, "
                                        r"e.g. scheduler.step\(val_loss\)"):
        lr_scheduler.ReduceLROnPlateau(opt).step()
