"""Optimiser bookkeeping: zero_grad, parameter groups, checkpoints (state_dict layout, copies,
``.npz`` round trips, bit-for-bit resumption), and hyper-parameter validation."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pytest
import torch
from optim_problem import cr_params, run_cr, run_torch, torch_params

import chainrule as cr

FULL_STATE = [  # options that switch on every piece of state each optimiser keeps
    ("SGD", {"lr": 0.01, "momentum": 0.9, "nesterov": True, "weight_decay": 0.1}),
    ("Adam", {"lr": 0.05, "amsgrad": True, "weight_decay": 0.1}),
    ("AdamW", {"lr": 0.05, "amsgrad": True}),
    ("Adagrad", {"lr": 0.1, "lr_decay": 0.01, "initial_accumulator_value": 0.1}),
    ("RMSprop", {"lr": 0.01, "momentum": 0.9, "centered": True, "weight_decay": 0.1}),
]
IDS = [name for name, _ in FULL_STATE]


def _make(name: str, options: dict[str, Any], params: list[cr.Tensor]) -> cr.optim.Optimizer:
    return getattr(cr.optim, name)(params, **options)


def _fresh_copy(params: list[cr.Tensor]) -> list[cr.Tensor]:
    return [cr.tensor(p.data.copy(), requires_grad=True) for p in params]


def _through_npz(state_dict: dict[str, Any]) -> dict[str, Any]:
    """Save to .npz and read back as a serializer would: flat '/'-joined keys, every leaf an
    array, integer keys turned into strings, lists of groups rebuilt from their indices."""
    flat: dict[str, np.ndarray] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(f"{prefix}/{k}", v)
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            for i, v in enumerate(value):
                walk(f"{prefix}/{i}", v)
        else:
            flat[prefix.lstrip("/")] = np.asarray(value)

    walk("", state_dict)
    buffer = io.BytesIO()
    np.savez(buffer, **flat)
    buffer.seek(0)
    loaded = np.load(buffer, allow_pickle=False)
    nested: dict[str, Any] = {}
    for key in loaded.files:
        *path, leaf = key.split("/")
        node = nested
        for part in path:
            node = node.setdefault(part, {})
        node[leaf] = loaded[key]
    groups = nested["param_groups"]
    nested["param_groups"] = [groups[str(i)] for i in range(len(groups))]
    nested.setdefault("state", {})
    return nested


# ------------------------------------------------------------------ zero_grad
def test_zero_grad_sets_every_grad_to_none() -> None:
    params = cr_params()
    opt = cr.optim.Adam(params)
    run_cr(opt, params, 1)
    assert all(p.grad is not None for p in params)
    opt.zero_grad()
    assert all(p.grad is None for p in params)


def test_zero_grad_without_set_to_none_leaves_zeros() -> None:
    params = cr_params()
    opt = cr.optim.SGD(params, lr=0.1)
    run_cr(opt, params, 1)
    opt.zero_grad(set_to_none=False)
    for p in params:
        assert np.array_equal(p.grad.data, np.zeros(p.shape)) and p.grad.dtype == p.dtype


# ------------------------------------------------------------------ checkpoints
@pytest.mark.parametrize("name,options", FULL_STATE, ids=IDS)
@pytest.mark.parametrize("via_npz", [False, True], ids=["dict", "npz"])
def test_state_dict_round_trip_resumes_bit_for_bit(name: str, options: dict[str, Any],
                                                   via_npz: bool) -> None:
    straight = cr_params()
    uninterrupted = run_cr(_make(name, options, straight), straight, 20)

    first = cr_params()
    opt = _make(name, options, first)
    run_cr(opt, first, 10)
    saved = opt.state_dict()
    if via_npz:
        saved = _through_npz(saved)
    second = _fresh_copy(first)
    resumed_opt = _make(name, {**options, "lr": 123.0}, second)  # lr comes from the checkpoint
    resumed_opt.load_state_dict(saved)
    resumed = run_cr(resumed_opt, second, 10)
    for a, b in zip(uninterrupted[10:], resumed):
        assert np.array_equal(a, b)


@pytest.mark.parametrize("name,options", FULL_STATE, ids=IDS)
def test_state_dict_layout_matches_torch(name: str, options: dict[str, Any]) -> None:
    params = cr_params()
    opt = _make(name, options, params)
    run_cr(opt, params, 3)
    tparams = torch_params()
    topt = getattr(torch.optim, name)(tparams, foreach=False, **options)
    run_torch(topt, tparams, 3)
    ours, theirs = opt.state_dict(), topt.state_dict()
    assert set(ours) == {"state", "param_groups"}
    assert set(ours["state"]) == set(theirs["state"]) == {0, 1}
    for index, entry in ours["state"].items():
        assert set(entry) == set(theirs["state"][index])
        for key, value in entry.items():
            np.testing.assert_allclose(value, theirs["state"][index][key].numpy(), rtol=1e-10)
    for group, tgroup in zip(ours["param_groups"], theirs["param_groups"]):
        assert group["params"] == tgroup["params"] == [0, 1]
        assert {k: tgroup[k] for k in group} == group


def _leaves_are_npz_friendly(value: Any) -> bool:
    if isinstance(value, dict):
        return all(isinstance(k, (str, int)) and _leaves_are_npz_friendly(v)
                   for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return all(isinstance(v, (int, float, dict)) and _leaves_are_npz_friendly(v)
                   for v in value)
    return value is None or isinstance(value, (np.ndarray, bool, int, float))


@pytest.mark.parametrize("name,options", FULL_STATE, ids=IDS)
def test_state_dict_holds_only_arrays_numbers_and_strings_keys(name: str,
                                                               options: dict[str, Any]) -> None:
    params = cr_params()
    opt = _make(name, options, params)
    run_cr(opt, params, 2)
    saved = opt.state_dict()
    assert _leaves_are_npz_friendly(saved)
    assert any(isinstance(v, np.ndarray) for entry in saved["state"].values()
               for v in entry.values())


def test_state_dict_is_a_copy_that_later_steps_do_not_change() -> None:
    params = cr_params()
    opt = cr.optim.Adam(params, lr=0.05)
    run_cr(opt, params, 3)
    saved = opt.state_dict()
    snapshot = {k: v.copy() for k, v in saved["state"][0].items() if isinstance(v, np.ndarray)}
    run_cr(opt, params, 3)
    opt.param_groups[0]["lr"] = 1.0
    for key, value in snapshot.items():
        assert np.array_equal(saved["state"][0][key], value)
    assert saved["state"][0]["step"] == 3 and saved["param_groups"][0]["lr"] == 0.05


def test_loaded_state_is_a_copy_of_the_dict() -> None:
    params = cr_params()
    opt = cr.optim.SGD(params, lr=0.01, momentum=0.9)
    run_cr(opt, params, 2)
    saved = opt.state_dict()
    other = cr.optim.SGD(_fresh_copy(params), lr=0.01, momentum=0.9)
    other.load_state_dict(saved)
    saved["state"][0]["momentum_buffer"][...] = 0.0
    assert np.any(other.state[other.param_groups[0]["params"][0]]["momentum_buffer"] != 0.0)


def test_load_state_dict_rejects_a_different_number_of_groups() -> None:
    A, b = cr_params()
    saved = cr.optim.SGD([A, b], lr=0.1).state_dict()
    other = cr.optim.SGD([{"params": [A]}, {"params": [b]}], lr=0.1)
    with pytest.raises(ValueError, match=r"different number of parameter groups \(1 saved, 2"):
        other.load_state_dict(saved)


def test_load_state_dict_rejects_a_group_of_another_size() -> None:
    A, b = cr_params()
    saved = cr.optim.SGD([A, b], lr=0.1).state_dict()
    with pytest.raises(ValueError, match=r"doesn't match the size.*2 saved parameters, 1 here"):
        cr.optim.SGD([A], lr=0.1).load_state_dict(saved)


def test_load_state_dict_rejects_state_of_the_wrong_shape_and_changes_nothing() -> None:
    params = cr_params()
    opt = cr.optim.Adam(params, lr=0.05)
    run_cr(opt, params, 2)
    saved = opt.state_dict()
    saved["state"][1]["exp_avg"] = np.zeros(5)
    saved["param_groups"][0]["lr"] = 9.0
    before = opt.state_dict()
    with pytest.raises(ValueError, match=r"'exp_avg' of parameter 1 has shape \(5,\).*\(2,\)"):
        opt.load_state_dict(saved)
    assert opt.param_groups[0]["lr"] == 0.05
    assert np.array_equal(opt.state_dict()["state"][1]["exp_avg"], before["state"][1]["exp_avg"])


def test_load_state_dict_rejects_something_that_is_not_a_state_dict() -> None:
    with pytest.raises(ValueError, match="'state' and 'param_groups'"):
        cr.optim.SGD(cr_params(), lr=0.1).load_state_dict({"weight": np.zeros(3)})


def test_adagrad_state_exists_before_the_first_step_like_torch() -> None:
    saved = cr.optim.Adagrad(cr_params(), initial_accumulator_value=0.25).state_dict()
    assert saved["state"][0]["step"] == 0
    assert np.array_equal(saved["state"][0]["sum"], np.full((3, 2), 0.25))


def test_adagrad_honours_a_groups_own_initial_accumulator_value() -> None:
    A, b = cr_params()
    opt = cr.optim.Adagrad([{"params": [A]}, {"params": [b], "initial_accumulator_value": 2.0}])
    assert np.array_equal(opt.state[b]["sum"], np.full(2, 2.0))
    assert np.array_equal(opt.state[A]["sum"], np.zeros((3, 2)))


# ------------------------------------------------------------------ groups
def test_add_param_group_fills_defaults_and_steps_the_new_group() -> None:
    A, b = cr_params()
    opt = cr.optim.SGD([A], lr=0.1, momentum=0.5)
    opt.add_param_group({"params": b, "lr": 0.01})
    assert opt.param_groups[1]["momentum"] == 0.5 and opt.param_groups[1]["lr"] == 0.01
    assert opt.param_groups[1]["params"][0] is b
    (b * b).sum().backward()
    before = b.data.copy()
    opt.step()
    assert np.array_equal(b.data, before - 0.01 * (2 * before))


def test_param_groups_is_a_list_of_dicts_in_pytorchs_shape() -> None:
    A, b = cr_params()
    opt = cr.optim.RMSprop([A, b])
    assert isinstance(opt.param_groups, list) and len(opt.param_groups) == 1
    group = opt.param_groups[0]
    assert group["params"][0] is A and group["params"][1] is b
    assert group["lr"] == 1e-2 and group["alpha"] == 0.99 and group["centered"] is False


# ------------------------------------------------------------------ validation
BAD_OPTIONS = [
    ("SGD", {"lr": -1.0}),
    ("SGD", {"lr": 0.1, "momentum": -0.5}),
    ("SGD", {"lr": 0.1, "weight_decay": -1e-3}),
    ("SGD", {"lr": 0.1, "nesterov": True}),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "dampening": 0.1, "nesterov": True}),
    ("Adam", {"lr": -1.0}),
    ("Adam", {"eps": -1e-8}),
    ("Adam", {"betas": (-0.1, 0.999)}),
    ("Adam", {"betas": (0.9, 1.2)}),
    ("Adam", {"weight_decay": -1.0}),
    ("AdamW", {"betas": (1.0, 0.999)}),
    ("Adagrad", {"lr": -0.5}),
    ("Adagrad", {"lr_decay": -1.0}),
    ("Adagrad", {"weight_decay": -1.0}),
    ("Adagrad", {"initial_accumulator_value": -1.0}),
    ("Adagrad", {"eps": -1.0}),
    ("RMSprop", {"lr": -0.01}),
    ("RMSprop", {"eps": -1.0}),
    ("RMSprop", {"momentum": -1.0}),
    ("RMSprop", {"weight_decay": -1.0}),
    ("RMSprop", {"alpha": -1.0}),
]


@pytest.mark.parametrize("name,options", BAD_OPTIONS,
                         ids=[f"{n}-{o}" for n, o in BAD_OPTIONS])
def test_invalid_hyper_parameter_raises_pytorchs_message(name: str,
                                                         options: dict[str, Any]) -> None:
    with pytest.raises(ValueError) as theirs:
        getattr(torch.optim, name)(torch_params(), **options)
    with pytest.raises(ValueError) as ours:
        getattr(cr.optim, name)(cr_params(), **options)
    assert str(theirs.value) in str(ours.value)
    assert str(ours.value).startswith(f"{name}: ")


def test_invalid_learning_rate_message_names_the_value() -> None:
    with pytest.raises(ValueError, match=r"^SGD: Invalid learning rate: -1\.0$"):
        cr.optim.SGD(cr_params(), lr=-1.0)
    with pytest.raises(ValueError, match=r"Invalid beta parameter at index 1: 1\.2"):
        cr.optim.Adam(cr_params(), betas=(0.9, 1.2))


def test_a_groups_own_invalid_option_is_rejected() -> None:
    A, b = cr_params()
    with pytest.raises(ValueError, match="Invalid learning rate: -0.5"):
        cr.optim.SGD([{"params": [A]}, {"params": [b], "lr": -0.5}], lr=0.1)


def test_non_numeric_learning_rate_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="lr must be a real number, got str"):
        cr.optim.SGD(cr_params(), lr="0.1")


def test_params_must_be_a_nonempty_iterable_of_leaf_tensors() -> None:
    A, b = cr_params()
    with pytest.raises(ValueError, match="empty parameter list"):
        cr.optim.SGD([], lr=0.1)
    with pytest.raises(TypeError, match="iterable of Tensors or dicts, but got a Tensor"):
        cr.optim.SGD(A, lr=0.1)
    with pytest.raises(TypeError, match="can only optimize Tensors, but one of the params is "
                                        "ndarray"):
        cr.optim.SGD([A, np.zeros(2)], lr=0.1)
    with pytest.raises(ValueError, match="non-leaf"):
        cr.optim.SGD([A * 2], lr=0.1)
    with pytest.raises(TypeError, match="ordered collections"):
        cr.optim.SGD({A, b}, lr=0.1)


def test_a_parameter_may_appear_only_once() -> None:
    A, b = cr_params()
    with pytest.raises(ValueError, match="more than one parameter group"):
        cr.optim.SGD([{"params": [A, b]}, {"params": [b]}], lr=0.1)
    with pytest.raises(ValueError, match="contains a parameter twice"):
        cr.optim.SGD([A, A], lr=0.1)
