"""Every optimiser, under every combination of its options, follows PyTorch's trajectory
(torch's single-tensor path) for 50 steps from the same float64 start, to 1e-10 relative."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest
import torch
from optim_problem import (
    cr_params,
    objective_cr,
    objective_torch,
    run_cr,
    run_torch,
    torch_params,
)

import chainrule as cr

STEPS = 50
RTOL, ATOL = 1e-10, 1e-13  # parameters are O(1): the absolute floor only matters near 0


def _cases() -> list[tuple[str, float, dict[str, Any]]]:
    cases = []
    for momentum, dampening, nesterov, weight_decay, maximize in itertools.product(
            [0, 0.9], [0, 0.1], [False, True], [0, 0.1], [False, True]):
        if nesterov and (momentum == 0 or dampening != 0):
            continue
        cases.append(("SGD", 0.01, dict(momentum=momentum, dampening=dampening,
                                        nesterov=nesterov, weight_decay=weight_decay,
                                        maximize=maximize)))
    for name in ("Adam", "AdamW"):
        for weight_decay, amsgrad, maximize, betas in itertools.product(
                [0, 0.1], [False, True], [False, True], [(0.9, 0.999), (0.3, 0.8)]):
            cases.append((name, 0.05, dict(weight_decay=weight_decay, amsgrad=amsgrad,
                                           maximize=maximize, betas=betas)))
    for weight_decay, amsgrad in itertools.product([0, 0.1], [False, True]):
        cases.append(("Adam", 0.05, dict(weight_decay=weight_decay, amsgrad=amsgrad,
                                         decoupled_weight_decay=True)))
    for lr_decay, weight_decay, initial, maximize in itertools.product(
            [0, 0.01], [0, 0.1], [0, 0.1], [False, True]):
        cases.append(("Adagrad", 0.1, dict(lr_decay=lr_decay, weight_decay=weight_decay,
                                           initial_accumulator_value=initial,
                                           maximize=maximize)))
    for momentum, centered, weight_decay, maximize, alpha in itertools.product(
            [0, 0.9], [False, True], [0, 0.1], [False, True], [0.99, 0.3]):
        cases.append(("RMSprop", 0.01, dict(momentum=momentum, centered=centered,
                                            weight_decay=weight_decay, maximize=maximize,
                                            alpha=alpha)))
    return cases


CASES = _cases()


def _id(case: tuple[str, float, dict[str, Any]]) -> str:
    name, _, options = case
    return name + "-" + ",".join(f"{k}={v}" for k, v in options.items())


@pytest.mark.parametrize("case", CASES, ids=[_id(c) for c in CASES])
def test_trajectory_matches_torch(case: tuple[str, float, dict[str, Any]]) -> None:
    name, lr, options = case
    # With maximize, ascend -J: the same well-behaved path, reached only if the sign flips.
    sign = -1.0 if options.get("maximize") else 1.0
    params = cr_params()
    ours = run_cr(getattr(cr.optim, name)(params, lr=lr, **options), params, STEPS, sign)
    tparams = torch_params()
    theirs = run_torch(getattr(torch.optim, name)(tparams, lr=lr, foreach=False, **options),
                       tparams, STEPS, sign)
    np.testing.assert_allclose(np.array(ours), np.array(theirs), rtol=RTOL, atol=ATOL)


GROUP_CASES = [
    ("SGD", {"momentum": 0.9}, {"lr": 0.03, "nesterov": True}),
    ("Adam", {"amsgrad": True}, {"lr": 0.01, "betas": (0.5, 0.9)}),
    ("AdamW", {}, {"lr": 0.01, "weight_decay": 0.3}),
    ("Adagrad", {"lr_decay": 0.01}, {"lr": 0.3, "eps": 1e-3, "weight_decay": 0.1}),
    ("RMSprop", {"centered": True}, {"lr": 0.003, "momentum": 0.5}),
]


@pytest.mark.parametrize("name,defaults,override", GROUP_CASES,
                         ids=[c[0] for c in GROUP_CASES])
def test_param_groups_with_own_options_match_torch(name: str, defaults: dict[str, Any],
                                                  override: dict[str, Any]) -> None:
    params = cr_params()
    opt = getattr(cr.optim, name)([{"params": [params[0]]}, {"params": [params[1]], **override}],
                                  lr=0.05, **defaults)
    assert opt.param_groups[1]["lr"] == override["lr"] and opt.param_groups[0]["lr"] == 0.05
    ours = run_cr(opt, params, STEPS)
    tparams = torch_params()
    topt = getattr(torch.optim, name)([{"params": [tparams[0]]},
                                       {"params": [tparams[1]], **override}],
                                      lr=0.05, foreach=False, **defaults)
    theirs = run_torch(topt, tparams, STEPS)
    np.testing.assert_allclose(np.array(ours), np.array(theirs), rtol=RTOL, atol=ATOL)


OPTIMISERS = [("SGD", {"lr": 0.01, "momentum": 0.9}), ("Adam", {"lr": 0.05, "amsgrad": True}),
              ("AdamW", {"lr": 0.05}), ("Adagrad", {"lr": 0.1}),
              ("RMSprop", {"lr": 0.01, "centered": True, "momentum": 0.5})]


@pytest.mark.parametrize("name,options", OPTIMISERS, ids=[o[0] for o in OPTIMISERS])
def test_float32_parameters_and_state_stay_float32_and_track_torch(
        name: str, options: dict[str, Any]) -> None:
    params = cr_params(np.float32)
    opt = getattr(cr.optim, name)(params, **options)
    ours = run_cr(opt, params, 20)
    assert all(p.dtype == np.float32 for p in params)
    for state in opt.state.values():
        for key, value in state.items():
            if isinstance(value, np.ndarray):
                assert value.dtype == np.float32, key
    tparams = torch_params(torch.float32)
    theirs = run_torch(getattr(torch.optim, name)(tparams, foreach=False, **options), tparams,
                       20)
    np.testing.assert_allclose(np.array(ours), np.array(theirs), rtol=1e-4, atol=1e-5)


def test_plain_sgd_is_exactly_theta_minus_alpha_grad() -> None:
    params = cr_params()
    opt = cr.optim.SGD(params, lr=0.01)
    for _ in range(5):
        before = [p.data.copy() for p in params]
        opt.zero_grad()
        objective_cr(*params).backward()
        grads = [p.grad.data.copy() for p in params]
        opt.step()
        for p, theta, g in zip(params, before, grads):
            assert np.array_equal(p.data, theta - 0.01 * g)


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "Adagrad", "RMSprop"])
def test_defaults_are_pytorchs(name: str) -> None:
    ours = getattr(cr.optim, name)(cr_params()).defaults
    theirs = getattr(torch.optim, name)(torch_params()).defaults
    assert set(ours) <= set(theirs)
    assert {k: theirs[k] for k in ours} == ours


def test_adamw_default_weight_decay_is_0_01_and_adam_0() -> None:
    assert cr.optim.AdamW(cr_params()).param_groups[0]["weight_decay"] == 0.01
    assert cr.optim.Adam(cr_params()).param_groups[0]["weight_decay"] == 0


@pytest.mark.parametrize("name", ["SGD", "Adam", "Adagrad", "RMSprop"])
def test_parameter_without_grad_is_skipped(name: str) -> None:
    A, b = cr_params()
    opt = getattr(cr.optim, name)([A, b], lr=0.1, momentum=0.9) if name in ("SGD", "RMSprop") \
        else getattr(cr.optim, name)([A, b], lr=0.1)
    before = b.data.copy()
    state_before = {k: np.copy(v) for k, v in opt.state[b].items()}
    (A * A).sum().backward()  # b takes no part: b.grad stays None
    opt.step()
    assert b.grad is None and np.array_equal(b.data, before)
    assert set(opt.state[b]) == set(state_before)
    assert not np.array_equal(A.data, cr_params()[0].data)


def test_step_runs_the_closure_with_grad_enabled_and_returns_its_loss() -> None:
    params = cr_params()
    opt = cr.optim.SGD(params, lr=0.01)

    def closure() -> cr.Tensor:
        opt.zero_grad()
        loss = objective_cr(*params)
        loss.backward()  # would fail if step() left grad mode off
        return loss

    with cr.no_grad():
        loss = opt.step(closure)
    tparams = torch_params()
    with torch.no_grad():
        expected = objective_torch(*tparams).item()
    assert loss.item() == pytest.approx(expected, rel=1e-12)
    after_one_torch_step = run_torch(torch.optim.SGD(tparams, lr=0.01), tparams, 1)[0]
    np.testing.assert_allclose(np.concatenate([p.data.ravel() for p in params]),
                               after_one_torch_step, rtol=RTOL)
