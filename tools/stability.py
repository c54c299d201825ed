r"""Numerical-stability sweep: every activation, loss and reduction over a grid of inputs
from −1e4 to 1e4 with ±0, subnormals and the dtype's extremes, in float32 and float64.

For each case, dtype and grid point the sweep decides, with an exact-enough reference
(NumPy ``longdouble``: 64-bit mantissa, exponent range to 1e4932), whether the *maths* is
finite in that dtype: the value and the gradient of ``sum(out · w)`` fit below
``finfo(dtype).max``. Where it is, chainrule must

* run with no floating-point warning (``np.errstate`` raises on overflow, 0/0, log 0;
  underflow to 0 is a correct answer and allowed),
* return finite values and finite gradients of the input's dtype,
* agree with PyTorch in float64 on the same inputs (rtol ≈ 32 ε of the dtype, atol scaled
  by the row's largest input);

where it is not (e.g. ``mse_loss(1e308, -1e308)``), chainrule must not raise and must give
the same ``inf``/``nan`` pattern as PyTorch; NumPy's warnings there are allowed.
Non-finite *inputs* (``nan``, ``±inf``) are swept the same way: no exception, no hang,
``nan`` and ``inf`` propagate as in PyTorch (docs/errors.md, "nan and inf").

Run ``python tools/stability.py`` (``make stability``); it prints one line per case and a
summary, and exits 1 if anything failed. ``tests/reliability/test_stability_sweep.py``
runs the same checks on a coarser grid.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as TF

import chainrule as cr
import chainrule.nn.functional as F

LD = np.longdouble
DTYPES = (np.float32, np.float64)


# ---------------------------------------------------------------- the grid
def grid(dtype: Any, coarse: bool = False) -> np.ndarray:
    r"""Sorted distinct points: ±0, subnormals, tiny, the dtype's max, and a log-spaced
    ladder of magnitudes up to 1e4 (with the exp/overflow edges 88.7 and 709.8)."""
    fi = np.finfo(dtype)
    ladder = [1e-30, 1e-8, 1e-3, 0.1, 0.5, 1.0, 2.0, 3.0, 10.0, 20.0, 50.0, 88.7, 100.0,
              709.8, 1e3, 1e4]
    if not coarse:
        ladder += list(np.geomspace(1e-6, 1e4, 25)) + [0.25, 0.75, 1.5, 5.0, 30.0, 89.0, 710.0]
    extremes = [float(fi.smallest_subnormal), float(fi.tiny) / 2, float(fi.tiny),
                float(fi.max)]
    positive = np.unique(np.array(ladder + extremes, dtype=dtype))
    # np.unique would merge 0.0 and −0.0 (they compare equal): both are listed explicitly
    zeros = np.array([-0.0, 0.0], dtype=dtype)
    return np.concatenate([-positive[::-1], zeros, positive]).astype(dtype)


def probabilities(dtype: Any) -> np.ndarray:
    """Points of [0, 1] for binary_cross_entropy, including both ends and their neighbours."""
    fi = np.finfo(dtype)
    inner = [float(fi.smallest_subnormal), float(fi.tiny), 1e-30, 1e-8, 1e-3, 0.25, 0.5,
             0.75, 1 - 1e-3]
    near_one = [1 - float(fi.epsneg), float(np.nextafter(dtype(1), dtype(0)))]
    return np.unique(np.array([0.0, 1.0, *inner, *near_one], dtype=dtype))


NON_FINITE = (float("nan"), float("inf"), float("-inf"))


# ---------------------------------------------------------------- cases
@dataclass
class Case:
    r"""One function under test.

    ``make(dtype, coarse)`` returns the inputs, a list of rows. Each backend function
    receives the rows stacked (an ``(n, k)`` array, or ``(n,)`` when ``k`` is 1) plus the
    constants (targets…), and returns one value per row (shape ``(n,)`` or ``(n, m)``).
    ``reference`` computes the same in ``longdouble`` NumPy (exactly enough to serve as a
    third oracle when ``exact``), ``grad`` the gradient of ``sum(out · w)`` (``None``: the
    maths is finite wherever the value is) and ``limits`` intermediates that the
    documented contract needs to fit in the dtype (the sum inside a mean).
    """

    name: str
    make: Callable[[Any, bool], tuple[np.ndarray, dict[str, np.ndarray]]]
    chainrule: Callable[..., Any]
    torch: Callable[..., Any]
    reference: Callable[..., np.ndarray]
    grad: Callable[..., np.ndarray] | None = None
    differentiable: bool = True
    note: str = ""
    limits: Callable[..., np.ndarray] | None = None
    exact: bool = True


def _elementwise(dtype: Any, coarse: bool) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    return grid(dtype, coarse), {}


def _pairs(dtype: Any, coarse: bool) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    g = grid(dtype, coarse)
    return np.array(list(itertools.product(g, g)), dtype=dtype), {}


def _with_targets(targets: list[float]) -> Callable[..., tuple[np.ndarray, dict[str, Any]]]:
    def make(dtype: Any, coarse: bool) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        g = grid(dtype, coarse)
        rows = np.array(list(itertools.product(g, targets)), dtype=dtype)
        return rows[:, 0], {"target": rows[:, 1]}
    return make


def _pair_targets(dtype: Any, coarse: bool) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    g = grid(dtype, coarse)
    sub = g[:: 3] if coarse else g[:: 2]
    rows = np.array(list(itertools.product(g, sub)), dtype=dtype)
    return rows[:, 0], {"target": rows[:, 1]}


def _probabilities(dtype: Any, coarse: bool) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    p = probabilities(dtype)
    rows = np.array(list(itertools.product(p, [0.0, 0.25, 1.0])), dtype=dtype)
    return rows[:, 0], {"target": rows[:, 1]}


def _class_rows(dtype: Any, coarse: bool) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    rows, _ = _pairs(dtype, coarse)
    target = np.arange(len(rows)) % 2
    return rows, {"target": target.astype(np.int64)}


def _ld_logsumexp(x: np.ndarray) -> np.ndarray:
    m = x.max(axis=1, keepdims=True)
    return (m + np.log(np.exp(x - m).sum(axis=1, keepdims=True)))[:, 0]


def _ld_softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _ld_sigmoid(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


def _onehot(target: np.ndarray, k: int) -> np.ndarray:
    return np.eye(k, dtype=LD)[target]


def _ld_bce(p: np.ndarray, target: np.ndarray) -> np.ndarray:
    y = target
    with np.errstate(divide="ignore"):
        log_p = np.maximum(np.log(p), -100)
        log_1mp = np.maximum(np.log1p(-p), -100)
    return -(y * log_p + (1 - y) * log_1mp)


def _ld_huber(d: np.ndarray) -> np.ndarray:
    a = np.abs(d)
    return np.where(a < 1, d * d / 2, a - LD(0.5))


def _row_reduction(name: str, cr_fn: Callable[..., Any], torch_fn: Callable[..., Any],
                   reference: Callable[..., np.ndarray],
                   grad: Callable[..., np.ndarray] | None = None,
                   limits: Callable[..., np.ndarray] | None = None) -> Case:
    return Case(name, _pairs, cr_fn, torch_fn, reference, grad,
                note=SUMS if limits is not None else "", limits=limits)


# mean, var and std are computed from sums, as in NumPy and PyTorch: where the sum (or the
# sum of squared deviations) exceeds the dtype's max, the result is ±inf even though the
# mean itself would fit (mean(max, max) = max). The sweep holds them to that contract.
SUMS = "the sum must fit"


def _ld_sum(x: np.ndarray) -> np.ndarray:
    return x.sum(1)


def _ld_sum_of_squares(x: np.ndarray) -> np.ndarray:
    deviation = x - x.sum(1, keepdims=True) / x.shape[1]
    return np.stack([x.sum(1), (deviation * deviation).sum(1)], axis=1)


def _ld_std_grad(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    centred = x - x.mean(1, keepdims=True)
    std = np.sqrt((centred * centred).mean(1, keepdims=True))
    safe = np.where(std > 0, std, 1)
    return np.where(std > 0, centred / (x.shape[1] * safe), 0) * w[:, None]


def _always_finite(x: np.ndarray, **_: Any) -> np.ndarray:
    return np.zeros(x.shape[:1], dtype=LD)


CASES: list[Case] = [
    # ---- activations (the methods and F), elementwise over the whole grid
    Case("sigmoid", _elementwise, lambda x: x.sigmoid(), torch.sigmoid, _ld_sigmoid),
    Case("F.sigmoid", _elementwise, F.sigmoid, torch.sigmoid, _ld_sigmoid),
    Case("tanh", _elementwise, lambda x: x.tanh(), torch.tanh, np.tanh),
    Case("F.tanh", _elementwise, F.tanh, torch.tanh, np.tanh),
    Case("relu", _elementwise, lambda x: x.relu(), torch.relu, lambda x: np.maximum(x, 0)),
    Case("F.relu", _elementwise, F.relu, torch.relu, lambda x: np.maximum(x, 0)),
    Case("F.leaky_relu", _elementwise, F.leaky_relu, TF.leaky_relu,
         lambda x: np.where(x > 0, x, x * LD(0.01))),
    Case("F.softplus", _elementwise, F.softplus, TF.softplus,
         lambda x: np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))),
    # |gelu(x)| <= |x| and |gelu'(x)| < 1.13: finite wherever x is
    Case("F.gelu", _elementwise, F.gelu, TF.gelu, _always_finite, exact=False),
    Case("F.gelu(tanh)", _elementwise, lambda x: F.gelu(x, approximate="tanh"),
         lambda x: TF.gelu(x, approximate="tanh"), _always_finite, exact=False),
    Case("softmax", _pairs, lambda x: x.softmax(axis=-1), lambda x: torch.softmax(x, -1),
         _ld_softmax),
    Case("F.softmax", _pairs, lambda x: F.softmax(x, axis=1), lambda x: torch.softmax(x, 1),
         _ld_softmax),
    Case("log_softmax", _pairs, lambda x: x.log_softmax(axis=-1),
         lambda x: torch.log_softmax(x, -1),
         lambda x: x - _ld_logsumexp(x)[:, None]),
    Case("F.log_softmax", _pairs, lambda x: F.log_softmax(x, axis=1),
         lambda x: torch.log_softmax(x, 1), lambda x: x - _ld_logsumexp(x)[:, None]),
    # ---- reductions over each row of two grid points
    _row_reduction("sum", lambda x: x.sum(axis=1), lambda x: x.sum(1), lambda x: x.sum(1)),
    _row_reduction("mean", lambda x: x.mean(axis=-1), lambda x: x.mean(1),
                   lambda x: x.mean(1), limits=_ld_sum),
    _row_reduction("var", lambda x: x.var(axis=1), lambda x: x.var(1, correction=0),
                   lambda x: x.var(1),
                   lambda x, w: 2 * (x - x.mean(1, keepdims=True)) / 2 * w[:, None],
                   limits=_ld_sum_of_squares),
    # std scales the spread to a power of two first: only the sum must fit
    _row_reduction("std", lambda x: x.std(axis=1), lambda x: x.std(1, correction=0),
                   lambda x: x.std(1), _ld_std_grad, limits=_ld_sum),
    _row_reduction("max", lambda x: x.max(axis=1), lambda x: x.amax(1), lambda x: x.max(1)),
    _row_reduction("min", lambda x: x.min(axis=1), lambda x: x.amin(1), lambda x: x.min(1)),
    _row_reduction("logsumexp", lambda x: x.logsumexp(axis=1),
                   lambda x: torch.logsumexp(x, 1), _ld_logsumexp),
    # ---- losses, reduction="none" (one value per row)
    Case("mse_loss", _pair_targets,
         lambda x, target: F.mse_loss(x, target, reduction="none"),
         lambda x, target: TF.mse_loss(x, target, reduction="none"),
         lambda x, target: (x - target) ** 2,
         lambda x, w, target: 2 * (x - target) * w),
    Case("l1_loss", _pair_targets,
         lambda x, target: F.l1_loss(x, target, reduction="none"),
         lambda x, target: TF.l1_loss(x, target, reduction="none"),
         lambda x, target: np.abs(x - target)),
    Case("huber_loss", _pair_targets,
         lambda x, target: F.huber_loss(x, target, reduction="none"),
         lambda x, target: TF.huber_loss(x, target, reduction="none"),
         lambda x, target: _ld_huber(x - target),
         lambda x, w, target: np.clip(x - target, -1, 1) * w),
    Case("binary_cross_entropy", _probabilities,
         lambda x, target: F.binary_cross_entropy(x, target, reduction="none"),
         lambda x, target: TF.binary_cross_entropy(x, target, reduction="none"),
         _ld_bce, lambda x, w, target: x * 0, differentiable=False),
    Case("binary_cross_entropy_with_logits", _with_targets([0.0, 0.5, 1.0]),
         lambda x, target: F.binary_cross_entropy_with_logits(x, target, reduction="none"),
         lambda x, target: TF.binary_cross_entropy_with_logits(x, target, reduction="none"),
         lambda x, target: np.maximum(x, 0) - x * target + np.log1p(np.exp(-np.abs(x)))),
    Case("cross_entropy", _class_rows,
         lambda x, target: F.cross_entropy(x, target, reduction="none"),
         lambda x, target: TF.cross_entropy(x, target, reduction="none"),
         lambda x, target: _ld_logsumexp(x) - x[np.arange(len(x)), target]),
    Case("nll_loss", _class_rows,
         lambda x, target: F.nll_loss(x, target, reduction="none"),
         lambda x, target: TF.nll_loss(x, target, reduction="none"),
         lambda x, target: -x[np.arange(len(x)), target]),
]


# ---------------------------------------------------------------- running one case
@dataclass
class Report:
    case: str
    dtype: str
    points: int = 0  # rows checked
    in_range: int = 0  # rows where the maths is finite
    non_finite_inputs: int = 0
    failures: list[str] = field(default_factory=list)


@dataclass
class Exact:
    """The longdouble answers, and which rows they put in range."""

    value: np.ndarray
    grad: np.ndarray | None
    in_range: np.ndarray  # value, gradient and limits fit in the dtype
    precise: np.ndarray  # ... and no value is subnormal (those have lost digits anyway)


def _fits(array: np.ndarray, n: int, dtype: Any) -> np.ndarray:
    big = LD(np.finfo(dtype).max)
    return (np.isfinite(array) & (np.abs(array) <= big)).reshape(n, -1).all(axis=1)


def exact(case: Case, x: np.ndarray, consts: dict[str, np.ndarray], dtype: Any,
          weights: np.ndarray) -> Exact:
    """Evaluate the longdouble reference: rows whose exact value (and gradient and limits,
    when given) fit in ``dtype``."""
    xl = x.astype(LD)
    cl = {k: v.astype(LD) if v.dtype.kind == "f" else v for k, v in consts.items()}
    n, tiny = len(x), LD(np.finfo(dtype).tiny)
    with np.errstate(all="ignore"):
        value = np.asarray(case.reference(xl, **cl), dtype=LD)
        ok = _fits(value, n, dtype)
        grad = None
        if case.grad is not None:
            grad = np.asarray(case.grad(xl, weights.astype(LD), **cl), dtype=LD)
            ok &= _fits(grad, n, dtype)
        if case.limits is not None:
            ok &= _fits(np.asarray(case.limits(xl, **cl), dtype=LD), n, dtype)
        subnormal = ((value != 0) & (np.abs(value) < tiny)).reshape(n, -1).any(axis=1)
    return Exact(value, grad, ok, ok & ~subnormal)


def _run_chainrule(case: Case, x: np.ndarray, consts: dict[str, np.ndarray],
                   weights: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    xt = cr.tensor(x, requires_grad=case.differentiable)
    out = case.chainrule(xt, **{k: cr.tensor(v) for k, v in consts.items()})
    if not case.differentiable:
        return out.numpy(), None
    # backward(gradient=w), not (out * w).sum(): that sum could overflow by itself
    out.backward(weights.reshape(out.shape))
    return out.numpy(), xt.grad.numpy()


def _run_torch(case: Case, x: np.ndarray, consts: dict[str, np.ndarray],
               weights: np.ndarray, dtype: Any = np.float64
               ) -> tuple[np.ndarray, np.ndarray | None]:
    xt = torch.tensor(x.astype(dtype), requires_grad=case.differentiable)
    tc = {k: torch.tensor(v.astype(dtype) if v.dtype.kind == "f" else v)
          for k, v in consts.items()}
    out = case.torch(xt, **tc)
    if not case.differentiable:
        return out.detach().numpy(), None
    out.backward(torch.tensor(weights.astype(dtype)).reshape(out.shape))
    return out.detach().numpy(), xt.grad.numpy()


def _differs(mine: np.ndarray, theirs: np.ndarray, x: np.ndarray, dtype: Any) -> np.ndarray:
    eps = float(np.finfo(dtype).eps)
    scale = 1.0 + np.abs(x.astype(np.float64)).reshape(len(x), -1).max(axis=1)
    scale = scale.reshape((-1,) + (1,) * (mine.ndim - 1))
    with np.errstate(over="ignore", invalid="ignore"):  # the tolerance near max may be inf
        error = np.abs(mine.astype(LD) - theirs.astype(LD))
        return ~(error <= 32 * eps * (np.abs(theirs.astype(LD)) + scale))


def _compare(report: Report, what: str, mine: np.ndarray, x: np.ndarray, dtype: Any,
             *oracles: np.ndarray | None) -> None:
    """Agreement with one of the oracles: PyTorch in float64, PyTorch in ``dtype``, the
    longdouble reference (PyTorch's float64 std of [0, −finfo.max] is inf, its gradient
    at a spread of finfo.tiny is 0: the exact answer is neither)."""
    theirs = oracles[0]
    agree = np.zeros(mine.shape, dtype=bool)
    judged = np.zeros(mine.shape, dtype=bool)
    for oracle in oracles:
        if oracle is not None:
            oracle = oracle.reshape(mine.shape)
            # an oracle that is itself nan/inf here (PyTorch's float64 gelu'(−max)) has
            # no say; our finiteness was checked before
            finite = np.isfinite(oracle)
            judged |= finite
            agree |= finite & ~_differs(mine, oracle, x, dtype)
    bad = judged & ~agree
    if bad.any():
        i = np.argwhere(bad)[0]
        row = i[0]
        report.failures.append(
            f"{what} differs from PyTorch at input {x[row].tolist()}: "
            f"{mine[tuple(i)]!r} vs {theirs[tuple(i)]!r}")


def _select(consts: dict[str, np.ndarray], rows: np.ndarray) -> dict[str, np.ndarray]:
    return {k: v[rows] for k, v in consts.items()}


def check_finite_region(case: Case, dtype: Any, report: Report, x: np.ndarray,
                        consts: dict[str, np.ndarray], weights: np.ndarray,
                        ref: Exact) -> None:
    """Where the maths is finite: no warning, finite values and gradients, = PyTorch."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            with np.errstate(over="raise", divide="raise", invalid="raise", under="ignore"):
                value, grad = _run_chainrule(case, x, consts, weights)
    except (FloatingPointError, RuntimeWarning) as exc:
        report.failures.append(f"floating-point warning: {exc}")
        return
    if value.dtype != dtype or (grad is not None and grad.dtype != dtype):
        report.failures.append(f"dtype changed to {value.dtype}")
    for what, array in (("value", value), ("gradient", grad)):
        if array is not None and not np.isfinite(array).all():
            i = np.argwhere(~np.isfinite(array))[0]
            report.failures.append(f"{what} is {array[tuple(i)]} at input {x[i[0]].tolist()}")
            return
    # values and gradients are compared where no exact value is subnormal
    x, value, precise = x[ref.precise], value[ref.precise], ref.precise
    grad = grad[precise] if grad is not None else None
    t_value, t_grad = _run_torch(case, x, _select(consts, precise), weights[precise])
    s_value, s_grad = _run_torch(case, x, _select(consts, precise), weights[precise], dtype)
    e_value = ref.value[precise] if case.exact else None
    _compare(report, "value", value, x, dtype, t_value, s_value, e_value)
    if grad is not None:
        e_grad = ref.grad[precise] if ref.grad is not None and case.exact else None
        _compare(report, "gradient", grad, x, dtype, t_grad, s_grad, e_grad)


def check_overflow_region(case: Case, dtype: Any, report: Report, x: np.ndarray,
                          consts: dict[str, np.ndarray], weights: np.ndarray,
                          what: str) -> None:
    """Where the maths overflows or the input is nan/inf: no exception, and a row's value
    is non-finite exactly where PyTorch's (same dtype) is. Which of nan, inf or −inf
    appears may differ: both are "no number" (e.g. softmax([inf, 0]) is [nan, 0] here and
    [nan, nan] in PyTorch)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with np.errstate(all="ignore"):
                value, _ = _run_chainrule(case, x, consts, weights)
    except Exception as exc:  # the point of the check: nothing may raise
        report.failures.append(f"{what}: raised {type(exc).__name__}: {exc}")
        return
    with np.errstate(all="ignore"):
        t_value, _ = _run_torch(case, x, consts, weights, dtype)
    mine = ~np.isfinite(value.reshape(len(x), -1)).all(axis=1)
    theirs = ~np.isfinite(t_value.reshape(len(x), -1)).all(axis=1)
    differ = mine != theirs
    if case.note == SUMS and what != "nan/inf input":
        differ = theirs & ~mine  # PyTorch's Welford var can stay finite where our sum is not
    if differ.any():
        i = int(np.argwhere(differ)[0, 0])
        report.failures.append(
            f"{what}: at input {x[i].tolist()} the value is {value[i].tolist()}, "
            f"PyTorch's {t_value[i].tolist()}")


def _non_finite_inputs(case: Case, dtype: Any, x: np.ndarray, consts: dict[str, np.ndarray]
                       ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Rows of ``x`` with one entry replaced by nan, inf or −inf (targets kept)."""
    rows, picks = [], []
    for bad in NON_FINITE:
        for i in range(0, len(x), max(1, len(x) // 8)):
            row = np.array(x[i], dtype=dtype)
            row.reshape(-1)[0] = bad
            rows.append(row)
            picks.append(i)
    if case.name == "binary_cross_entropy":
        return np.empty((0,), dtype), {}  # its input check refuses nan (documented)
    return np.array(rows, dtype=dtype), _select(consts, np.array(picks))


def sweep_case(case: Case, dtype: Any, coarse: bool = False) -> Report:
    report = Report(case.name, np.dtype(dtype).name)
    x, consts = case.make(dtype, coarse)
    report.points = len(x)
    out_shape = (len(x),) + ((x.shape[1],) if case.name.endswith("softmax") else ())
    weights = np.random.default_rng(0).uniform(0.5, 1.5, out_shape).astype(dtype)
    ref = exact(case, x, consts, dtype, weights)
    ok = ref.in_range
    report.in_range = int(ok.sum())
    inside = Exact(ref.value[ok], None if ref.grad is None else ref.grad[ok], ok[ok],
                   ref.precise[ok])
    check_finite_region(case, dtype, report, x[ok], _select(consts, ok), weights[ok], inside)
    if (~ok).any():
        check_overflow_region(case, dtype, report, x[~ok], _select(consts, ~ok),
                              weights[~ok], "beyond the dtype's range")
    bad_x, bad_consts = _non_finite_inputs(case, dtype, x, consts)
    report.non_finite_inputs = len(bad_x)
    if len(bad_x):
        check_overflow_region(case, dtype, report, bad_x, bad_consts,
                              np.ones((len(bad_x),) + out_shape[1:], dtype), "nan/inf input")
    return report


def sweep(coarse: bool = False, cases: list[Case] | None = None) -> list[Report]:
    return [sweep_case(case, dtype, coarse) for case in (cases or CASES) for dtype in DTYPES]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--coarse", action="store_true", help="the test suite's smaller grid")
    args = parser.parse_args(argv)
    reports = sweep(coarse=args.coarse)
    for r in reports:
        status = "ok" if not r.failures else "FAIL"
        note = next(c.note for c in CASES if c.name == r.case)
        print(f"{r.case:34s} {r.dtype:8s} {r.points:6d} points, {r.in_range:6d} finite maths, "
              f"{r.non_finite_inputs:4d} nan/inf inputs: {status}{f' ({note})' if note else ''}")
        for failure in r.failures:
            print(f"    {failure}")
    points = sum(r.points + r.non_finite_inputs for r in reports)
    failed = [r for r in reports if r.failures]
    print(f"\n{len(CASES)} functions x {len(DTYPES)} dtypes, {points} input rows "
          f"(grid of {len(grid(np.float32, args.coarse))} float32 / "
          f"{len(grid(np.float64, args.coarse))} float64 points): {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
