"""Every loss, every reduction, against torch.nn.functional: values and gradients in
float64, stability at |logit| = 1e4, and the input checks."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from nn_oracle import compare_with_torch

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn

RNG = np.random.default_rng(99)
PRED = RNG.normal(size=(5, 4)) * 2
TARGET = RNG.normal(size=(5, 4))
PROBS = RNG.uniform(0.02, 0.98, size=(5, 4))
SOFT_LABELS = RNG.uniform(0, 1, size=(5, 4))
WEIGHT = RNG.uniform(0.5, 2.0, size=(4,))
POS_WEIGHT = RNG.uniform(0.5, 3.0, size=(4,))
CLASSES = np.array([0, 3, 1, 2, 3])
CLASSES_IGNORED = np.array([0, 3, -100, 2, 1])
CLASS_WEIGHT = np.array([1.0, 2.0, 0.5, 3.0])
REDUCTIONS = ["mean", "sum", "none"]
T = torch.tensor


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_mse_loss_matches_torch(reduction: str) -> None:
    compare_with_torch(lambda a, b: F.mse_loss(a, b, reduction=reduction),
                       lambda a, b: TF.mse_loss(a, b, reduction=reduction), [PRED, TARGET])


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_l1_loss_matches_torch(reduction: str) -> None:
    compare_with_torch(lambda a, b: F.l1_loss(a, b, reduction=reduction),
                       lambda a, b: TF.l1_loss(a, b, reduction=reduction), [PRED, TARGET])


@pytest.mark.parametrize("delta", [1.0, 0.3, 2.5])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_huber_loss_matches_torch(reduction: str, delta: float) -> None:
    pred = PRED.copy()
    pred[0, 0] = TARGET[0, 0] + delta  # exactly on the switch between the two pieces
    pred[0, 1] = TARGET[0, 1]  # zero residual
    compare_with_torch(lambda a, b: F.huber_loss(a, b, reduction=reduction, delta=delta),
                       lambda a, b: TF.huber_loss(a, b, reduction=reduction, delta=delta),
                       [pred, TARGET])


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_binary_cross_entropy_matches_torch(reduction: str, weighted: bool) -> None:
    w = WEIGHT if weighted else None
    compare_with_torch(
        lambda a, b: F.binary_cross_entropy(a, b, weight=w, reduction=reduction),
        lambda a, b: TF.binary_cross_entropy(a, b, weight=None if w is None else T(w),
                                             reduction=reduction),
        [PROBS, SOFT_LABELS])


def test_binary_cross_entropy_clamps_logs_at_minus_100_like_torch() -> None:
    p = np.array([0.0, 1.0, 0.0, 1.0, 1e-50, 1 - 1e-10])
    y = np.array([1.0, 0.0, 0.0, 1.0, 1.0, 0.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = F.binary_cross_entropy(cr.tensor(p, requires_grad=True), cr.tensor(y),
                                     reduction="none")
    expected = TF.binary_cross_entropy(T(p), T(y), reduction="none").numpy()
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12)
    assert out.numpy()[0] == 100.0 and out.numpy()[1] == 100.0


def test_binary_cross_entropy_gradient_is_finite_at_zero_and_one() -> None:
    p = cr.tensor([0.0, 1.0, 0.0, 1.0], dtype="float64", requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        F.binary_cross_entropy(p, cr.tensor([0.0, 1.0, 1.0, 0.0], dtype="float64")).backward()
    assert np.isfinite(p.grad.numpy()).all()


@pytest.mark.parametrize("bad", [1.5, -0.1])
def test_binary_cross_entropy_rejects_values_outside_unit_interval(bad: float) -> None:
    with pytest.raises(ValueError, match="binary_cross_entropy: all elements of input should "
                                         "be between 0 and 1"):
        F.binary_cross_entropy(cr.tensor([0.5, bad]), cr.tensor([1.0, 0.0]))
    with pytest.raises(ValueError, match="all elements of target should be between 0 and 1"):
        F.binary_cross_entropy(cr.tensor([0.5, 0.5]), cr.tensor([1.0, bad]))


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("pos_weighted", [False, True])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_with_logits_matches_torch(reduction: str, weighted: bool,
                                       pos_weighted: bool) -> None:
    w = WEIGHT if weighted else None
    pw = POS_WEIGHT if pos_weighted else None
    compare_with_torch(
        lambda a, b: F.binary_cross_entropy_with_logits(a, b, weight=w, reduction=reduction,
                                                        pos_weight=pw),
        lambda a, b: TF.binary_cross_entropy_with_logits(
            a, b, weight=None if w is None else T(w), reduction=reduction,
            pos_weight=None if pw is None else T(pw)),
        [PRED * 3, SOFT_LABELS])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_bce_with_logits_is_stable_at_1e4(dtype: str) -> None:
    x = np.array([-1e4, -1e4, 1e4, 1e4, 0.0]).astype(dtype)
    y = np.array([0.0, 1.0, 0.0, 1.0, 1.0]).astype(dtype)
    logits = cr.tensor(x, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = F.binary_cross_entropy_with_logits(logits, cr.tensor(y), reduction="none",
                                                 pos_weight=np.array([2.0], dtype=dtype))
        out.sum().backward()
    expected = TF.binary_cross_entropy_with_logits(T(x), T(y), reduction="none",
                                                   pos_weight=T(np.array([2.0], dtype=dtype)))
    np.testing.assert_allclose(out.numpy(), expected.numpy(), rtol=1e-6)
    assert np.isfinite(logits.grad.numpy()).all()


# ---------------------------------------------------------------- class-index losses


@pytest.mark.parametrize("smoothing", [0.0, 0.25])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("target", [CLASSES, CLASSES_IGNORED], ids=["plain", "ignored"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_matches_torch(reduction: str, target: np.ndarray, weighted: bool,
                                     smoothing: float) -> None:
    w = CLASS_WEIGHT if weighted else None
    compare_with_torch(
        lambda a: F.cross_entropy(a, cr.tensor(target), weight=w, reduction=reduction,
                                  label_smoothing=smoothing),
        lambda a: TF.cross_entropy(a, T(target), weight=None if w is None else T(w),
                                   reduction=reduction, label_smoothing=smoothing),
        [PRED])


def test_cross_entropy_of_one_sample_and_of_spatial_inputs_matches_torch() -> None:
    compare_with_torch(lambda a: F.cross_entropy(a, 2), lambda a: TF.cross_entropy(a, T(2)),
                       [PRED[0]])
    x = RNG.normal(size=(2, 3, 4, 2))
    y = RNG.integers(0, 3, size=(2, 4, 2))
    y[0, 0, 0] = 7
    for reduction in REDUCTIONS:
        compare_with_torch(
            lambda a: F.cross_entropy(a, y, ignore_index=7, reduction=reduction,
                                      label_smoothing=0.1, weight=[1.0, 2.0, 3.0]),
            lambda a: TF.cross_entropy(a, T(y), ignore_index=7, reduction=reduction,
                                       label_smoothing=0.1, weight=T(np.array([1.0, 2.0, 3.0]))),
            [x])


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_nll_loss_matches_torch(reduction: str, weighted: bool) -> None:
    w = CLASS_WEIGHT if weighted else None
    log_p = np.log(RNG.dirichlet(np.ones(4), size=5))
    compare_with_torch(
        lambda a: F.nll_loss(a, CLASSES_IGNORED, weight=w, reduction=reduction),
        lambda a: TF.nll_loss(a, T(CLASSES_IGNORED), weight=None if w is None else T(w),
                              reduction=reduction),
        [log_p])


def test_cross_entropy_gradient_is_softmax_minus_one_hot() -> None:
    logits = cr.tensor(PRED, requires_grad=True)
    F.cross_entropy(logits, CLASSES, reduction="sum").backward()
    probs = np.exp(PRED) / np.exp(PRED).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(logits.grad.numpy(), probs - np.eye(4)[CLASSES], rtol=1e-12)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_cross_entropy_is_stable_at_1e4(dtype: str) -> None:
    x = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 1e4]]).astype(dtype)
    logits = cr.tensor(x, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = F.cross_entropy(logits, [1, 0], label_smoothing=0.1)
        out.backward()
    expected = TF.cross_entropy(T(x), T([1, 0]), label_smoothing=0.1).item()
    np.testing.assert_allclose(out.item(), expected, rtol=1e-6)
    assert np.isfinite(logits.grad.numpy()).all()


def test_cross_entropy_with_every_target_ignored_is_nan_like_torch() -> None:
    out = F.cross_entropy(cr.tensor(PRED[:2]), [-100, -100])
    assert np.isnan(out.item())
    assert np.isnan(TF.cross_entropy(T(PRED[:2]), T([-100, -100])).item())


def test_cross_entropy_rejects_float_targets_with_a_remedy() -> None:
    with pytest.raises(TypeError, match=r"cross_entropy: target must hold integer class "
                                        r"indices, got dtype float32 .*astype\('int64'\)"):
        F.cross_entropy(cr.tensor(PRED), cr.tensor([0.0, 1.0, 2.0, 1.0, 0.0]))


@pytest.mark.parametrize("bad", [4, -1])
def test_cross_entropy_rejects_targets_out_of_range(bad: int) -> None:
    with pytest.raises(IndexError, match=rf"cross_entropy: target {bad} is out of bounds for "
                                         r"4 classes \(valid: 0 to 3"):
        F.cross_entropy(cr.tensor(PRED), [0, 1, bad, 2, 3])


def test_cross_entropy_rejects_a_target_of_the_wrong_shape() -> None:
    with pytest.raises(ValueError, match=r"cross_entropy: input of shape \(5, 4\) expects a "
                                         r"target of class indices of shape \(5,\), got \(5, 1\)"):
        F.cross_entropy(cr.tensor(PRED), CLASSES.reshape(5, 1))


def test_class_weight_of_the_wrong_length_is_rejected() -> None:
    with pytest.raises(ValueError, match=r"nll_loss: weight must have shape \(4,\)"):
        F.nll_loss(cr.tensor(PRED), CLASSES, weight=[1.0, 2.0])


# ---------------------------------------------------------------- shared checks


PAIR_LOSSES = {
    "mse_loss": F.mse_loss,
    "l1_loss": F.l1_loss,
    "huber_loss": F.huber_loss,
    "binary_cross_entropy": F.binary_cross_entropy,
    "binary_cross_entropy_with_logits": F.binary_cross_entropy_with_logits,
}


@pytest.mark.parametrize("name", PAIR_LOSSES)
def test_shape_mismatch_names_the_loss_and_both_shapes(name: str) -> None:
    with pytest.raises(ValueError, match=rf"{name}: input of shape \(4, 1\) and target of "
                                         r"shape \(4,\) differ"):
        PAIR_LOSSES[name](cr.full((4, 1), 0.5), cr.full((4,), 0.5))


@pytest.mark.parametrize("name", [*PAIR_LOSSES, "cross_entropy", "nll_loss"])
def test_unknown_reduction_is_rejected(name: str) -> None:
    f = getattr(F, name)
    target = [0, 1] if name in ("cross_entropy", "nll_loss") else cr.full((2, 2), 0.5)
    with pytest.raises(ValueError, match=rf"{name}: reduction must be 'mean', 'sum' or 'none'"):
        f(cr.full((2, 2), 0.5), target, reduction="avg")


def test_integer_target_takes_the_prediction_dtype() -> None:
    loss = F.mse_loss(cr.tensor([1.0, 2.0]), cr.tensor([1, 3]))
    assert loss.dtype == np.float32 and loss.item() == 0.5


def test_huber_rejects_non_positive_delta() -> None:
    with pytest.raises(ValueError, match="huber_loss: delta must be a positive number"):
        F.huber_loss(cr.ones(2), cr.ones(2), delta=0.0)


def test_textbook_cost_is_half_the_mse() -> None:
    h, y = cr.tensor([2.0, 4.0, 5.0, 9.0]), cr.tensor([2.0, 4.0, 6.0, 8.0])
    m = 4
    textbook = sum((a - b) ** 2 for a, b in zip(h.tolist(), y.tolist())) / (2 * m)
    assert (F.mse_loss(h, y) / 2).item() == pytest.approx(textbook)


# ---------------------------------------------------------------- modules


MODULE_CASES = [
    (nn.MSELoss(reduction="sum"), F.mse_loss, {"reduction": "sum"}, TARGET),
    (nn.L1Loss(), F.l1_loss, {}, TARGET),
    (nn.HuberLoss(delta=0.5), F.huber_loss, {"delta": 0.5}, TARGET),
    (nn.BCEWithLogitsLoss(pos_weight=POS_WEIGHT), F.binary_cross_entropy_with_logits,
     {"pos_weight": POS_WEIGHT}, SOFT_LABELS),
    (nn.CrossEntropyLoss(weight=CLASS_WEIGHT, label_smoothing=0.1), F.cross_entropy,
     {"weight": CLASS_WEIGHT, "label_smoothing": 0.1}, CLASSES),
    (nn.NLLLoss(ignore_index=3), F.nll_loss, {"ignore_index": 3}, CLASSES),
]


@pytest.mark.parametrize("case", range(len(MODULE_CASES)))
def test_loss_module_equals_its_function(case: int) -> None:
    module, f, kwargs, target = MODULE_CASES[case]
    x = cr.tensor(PRED)
    assert module(x, target).item() == f(x, target, **kwargs).item()


def test_bce_module_equals_function() -> None:
    p, y = cr.tensor(PROBS), cr.tensor(SOFT_LABELS)
    assert nn.BCELoss(weight=WEIGHT)(p, y).item() == F.binary_cross_entropy(p, y, WEIGHT).item()


def test_loss_module_rejects_bad_reduction_at_construction() -> None:
    with pytest.raises(ValueError, match="CrossEntropyLoss: reduction must be"):
        nn.CrossEntropyLoss(reduction="average")


def test_loss_modules_have_no_parameters_and_print_like_torch() -> None:
    loss = nn.CrossEntropyLoss(weight=CLASS_WEIGHT)
    assert list(loss.parameters()) == [] and repr(loss) == "CrossEntropyLoss()"


def test_fused_cross_entropy_rule_reuses_the_forward_softmax_bit_for_bit() -> None:
    # ops.softmax_cross_entropy saves e^(x−m) and its row sums for its first-order rule;
    # the gradient must equal the rule's recomputation exactly, stay the same on a second
    # backward (retain_graph: nothing saved was overwritten), and be freed with the node.
    from chainrule import ops
    from chainrule.ops.losses import _softmax_cross_entropy_vjp

    rng = np.random.default_rng(7)
    x = cr.tensor(rng.standard_normal((6, 4)).astype(np.float32) * 5, requires_grad=True)
    t = cr.tensor(rng.integers(0, 4, 6))
    loss = ops.softmax_cross_entropy(x, t)
    loss.backward(retain_graph=True)
    first = x.grad.data.copy()
    x.grad = None
    node = loss._node
    assert node.saved is not None
    loss.backward()
    recomputed = _softmax_cross_entropy_vjp(np.ones((), np.float32), None, x.data, t.data)
    np.testing.assert_array_equal(first, x.grad.data)
    np.testing.assert_array_equal(first, recomputed)
    assert node.saved is None
