"""Learning-rate schedules reproduce PyTorch's sequences (30 epochs, two parameter groups),
drive the optimiser they wrap, and resume from a state_dict."""

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

EPOCHS = 30
SCHEDULES = [
    ("StepLR", {"step_size": 3, "gamma": 0.5}),
    ("StepLR", {"step_size": 7}),
    ("ExponentialLR", {"gamma": 0.9}),
    ("CosineAnnealingLR", {"T_max": 10, "eta_min": 0.001}),  # passes T_max + 1 and 2·T_max + 1
    ("CosineAnnealingLR", {"T_max": 7}),
    ("CosineAnnealingLR", {"T_max": 40, "eta_min": 0.01}),
]
IDS = [f"{name}-{options}" for name, options in SCHEDULES]


def _groups_cr() -> cr.optim.Optimizer:
    A, b = cr_params()
    return cr.optim.SGD([{"params": [A]}, {"params": [b], "lr": 0.02}], lr=0.1)


def _groups_torch() -> torch.optim.Optimizer:
    A, b = torch_params()
    return torch.optim.SGD([{"params": [A]}, {"params": [b], "lr": 0.02}], lr=0.1)


def _lr_sequence(opt: Any, sched: Any, epochs: int) -> list[list[float]]:
    sequence = [list(sched.get_last_lr())]
    for _ in range(epochs):
        opt.step()  # no gradients: nothing moves, but torch checks the call order
        sched.step()
        sequence.append(list(sched.get_last_lr()))
        assert sequence[-1] == [group["lr"] for group in opt.param_groups]
    return sequence


@pytest.mark.parametrize("name,options", SCHEDULES, ids=IDS)
def test_learning_rates_match_torch_for_30_epochs(name: str, options: dict[str, Any]) -> None:
    opt = _groups_cr()
    ours = _lr_sequence(opt, getattr(lr_scheduler, name)(opt, **options), EPOCHS)
    topt = _groups_torch()
    theirs = _lr_sequence(topt, getattr(torch.optim.lr_scheduler, name)(topt, **options),
                          EPOCHS)
    np.testing.assert_allclose(np.array(ours), np.array(theirs), rtol=1e-12, atol=0)
    assert len(set(map(tuple, ours))) > 1  # the schedule did change the rate


def test_cosine_recursion_stays_on_the_closed_form_within_t_max() -> None:
    opt = _groups_cr()
    ours = _lr_sequence(opt, lr_scheduler.CosineAnnealingLR(opt, T_max=20, eta_min=0.001), 20)
    for t, (lr, _) in enumerate(ours):
        closed = 0.001 + 0.5 * (0.1 - 0.001) * (1 + math.cos(math.pi * t / 20))
        assert lr == pytest.approx(closed, rel=1e-12)


@pytest.mark.parametrize("name,options", SCHEDULES, ids=IDS)
def test_step_with_an_epoch_uses_torchs_closed_form(name: str, options: dict[str, Any]) -> None:
    opt = _groups_cr()
    sched = getattr(lr_scheduler, name)(opt, **options)
    topt = _groups_torch()
    tsched = getattr(torch.optim.lr_scheduler, name)(topt, **options)
    for epoch in (5, 11, 2, 23):
        opt.step()
        topt.step()
        sched.step(epoch)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # torch's deprecation notice
            tsched.step(epoch)
        assert sched.last_epoch == tsched.last_epoch == epoch
        np.testing.assert_allclose(sched.get_last_lr(), tsched.get_last_lr(), rtol=1e-12)


@pytest.mark.parametrize("name,options", SCHEDULES, ids=IDS)
def test_scheduler_state_dict_round_trip_continues_the_sequence(
        name: str, options: dict[str, Any]) -> None:
    opt = _groups_cr()
    sched = getattr(lr_scheduler, name)(opt, **options)
    straight = _lr_sequence(opt, sched, 25)

    opt = _groups_cr()
    sched = getattr(lr_scheduler, name)(opt, **options)
    _lr_sequence(opt, sched, 12)
    saved_opt = opt.state_dict()
    saved = {k: np.asarray(v) for k, v in sched.state_dict().items()}  # as .npz returns them
    new_opt = _groups_cr()
    new_opt.load_state_dict(saved_opt)
    new_sched = getattr(lr_scheduler, name)(new_opt, **options)
    new_sched.load_state_dict(saved)
    assert new_sched.last_epoch == 12
    resumed = _lr_sequence(new_opt, new_sched, 13)
    assert resumed == straight[12:]


def test_scheduled_sgd_follows_torchs_trajectory() -> None:
    params = cr_params()
    opt = cr.optim.SGD(params, lr=0.05, momentum=0.9)
    ours = run_cr(opt, params, 30, scheduler=lr_scheduler.CosineAnnealingLR(opt, T_max=30))
    tparams = torch_params()
    topt = torch.optim.SGD(tparams, lr=0.05, momentum=0.9, foreach=False)
    theirs = run_torch(topt, tparams, 30,
                       scheduler=torch.optim.lr_scheduler.CosineAnnealingLR(topt, T_max=30))
    np.testing.assert_allclose(np.array(ours), np.array(theirs), rtol=1e-10, atol=1e-13)


def test_scheduler_records_initial_lr_and_base_lrs() -> None:
    opt = _groups_cr()
    sched = lr_scheduler.ExponentialLR(opt, gamma=0.5)
    assert sched.base_lrs == [0.1, 0.02] and sched.last_epoch == 0
    assert [g["initial_lr"] for g in opt.param_groups] == [0.1, 0.02]
    assert sched.get_last_lr() == [0.1, 0.02]


def test_scheduler_state_dict_holds_only_numbers_and_lists() -> None:
    opt = _groups_cr()
    saved = lr_scheduler.CosineAnnealingLR(opt, T_max=5).state_dict()
    assert "optimizer" not in saved
    for value in saved.values():
        assert isinstance(value, (int, float, bool, list))


def test_scheduler_errors() -> None:
    opt = _groups_cr()
    with pytest.raises(TypeError, match="is not an Optimizer"):
        lr_scheduler.StepLR(object(), step_size=2)
    with pytest.raises(ValueError, match="step_size must be a positive int, got 0"):
        lr_scheduler.StepLR(opt, step_size=0)
    with pytest.raises(ValueError, match="T_max must be a positive int"):
        lr_scheduler.CosineAnnealingLR(opt, T_max=0)
    with pytest.raises(KeyError, match="initial_lr"):
        lr_scheduler.ExponentialLR(_groups_cr(), gamma=0.9, last_epoch=3)
    sched = lr_scheduler.ExponentialLR(opt, gamma=0.9)
    with pytest.raises(ValueError, match="unexpected keys \\['bogus'\\]"):
        sched.load_state_dict({"bogus": 1})
    with pytest.raises(ValueError, match="base_lrs has 1 entries, the optimizer has 2"):
        sched.load_state_dict({"base_lrs": [0.1]})
