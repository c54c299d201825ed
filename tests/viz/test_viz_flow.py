"""viz.gradient_flow: vanishing gradients through sigmoids, dead and saturated units."""

from __future__ import annotations

import numpy as np
import pytest
from viz_helpers import assert_image

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn, viz
from chainrule.nn import init

pytest.importorskip("sklearn")


@pytest.fixture(scope="module")
def digits_batch():
    from sklearn.datasets import load_digits

    digits = load_digits()
    rng = np.random.default_rng(0)
    index = rng.permutation(len(digits.target))[:256]
    x = digits.data[index].astype(np.float32)
    x = (x - x.mean(axis=0)) / (x.std(axis=0) + 1e-6)  # standardised pixels
    return cr.tensor(x), cr.tensor(digits.target[index])


def _deep_mlp(activation: str, seed: int = 0) -> nn.Module:
    cr.manual_seed(seed)
    model = nn.MLP([64] + [32] * 9 + [10], activation=activation)  # 10 Linear layers
    if activation == "relu":  # He initialisation: the healthy ReLU baseline
        for param in model.parameters():
            if param.ndim == 2:
                init.kaiming_normal_(param, nonlinearity="relu")
            else:
                init.zeros_(param)
    return model


def test_ten_layer_sigmoid_net_vanishes_and_relu_net_does_not(digits_batch):
    x, y = digits_batch
    sigmoid = viz.gradient_flow(_deep_mlp("sigmoid"), x, y)
    relu = viz.gradient_flow(_deep_mlp("relu"), x, y)
    assert len([p for p in sigmoid.params if len(p.shape) == 2]) == 10
    # σ' ≤ 1/4 at each of 9 sigmoids: the first layer's gradient is orders of magnitude
    # below the last's
    assert sigmoid.ratio > 1e4
    assert sigmoid.vanishing and not sigmoid.exploding
    assert sigmoid.params[0].flag == "vanishing" and sigmoid.params[-2].flag == ""
    assert any("vanishing gradients" in flag for flag in sigmoid.flags)
    assert relu.ratio < 100
    assert not relu.vanishing and not relu.exploding
    assert all(p.flag == "" for p in relu.params)


def test_ratio_is_last_over_first_weight_gradient_norm(digits_batch):
    x, y = digits_batch
    model = _deep_mlp("sigmoid")
    report = viz.gradient_flow(model, x, y)
    weights = [p for name, p in model.named_parameters() if p.ndim == 2]
    first, last = (float(np.linalg.norm(w.grad.numpy())) for w in (weights[0], weights[-1]))
    assert report.ratio == pytest.approx(last / first, rel=1e-6)
    # and the gradients are the cross-entropy loss's, as backward computes them
    model.zero_grad()
    F.cross_entropy(model(x), y).backward()
    np.testing.assert_allclose(report.params[0].norm, np.linalg.norm(weights[0].grad.numpy()),
                               rtol=1e-6)


def test_mean_local_derivative_of_sigmoid_layers_is_at_most_a_quarter(digits_batch):
    x, y = digits_batch
    report = viz.gradient_flow(_deep_mlp("sigmoid"), x, y)
    assert len(report.activations) == 9
    assert all(a.kind == "sigmoid" and 0 < a.mean_slope <= 0.25 for a in report.activations)
    assert report.activations[0].name == "1 Sigmoid"


def test_dead_relus_are_counted_per_unit():
    model = nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 1))
    with cr.no_grad():
        model[0].weight.data[...] = np.array([[1, 0], [0, 1], [-1, 0], [0, -1]], np.float32)
        model[0].bias.data[...] = np.array([0, 0, -10, -10], np.float32)  # units 2, 3 never fire
    x = cr.tensor(np.abs(np.random.default_rng(0).standard_normal((16, 2))).astype(np.float32))
    report = viz.gradient_flow(model, x, cr.zeros(16, 1))
    (relu,) = report.activations
    assert relu.kind == "relu" and relu.dead == 0.5
    assert relu.mean_slope == pytest.approx(0.5)


def test_saturated_tanh_units_are_counted_and_flagged():
    model = nn.Sequential(nn.Linear(3, 3), nn.Tanh(), nn.Linear(3, 1))
    with cr.no_grad():
        model[0].weight.data[...] = 50 * np.eye(3, dtype=np.float32)
        model[0].bias.data[...] = 0
    x = cr.tensor(np.ones((4, 3), np.float32))
    report = viz.gradient_flow(model, x, cr.zeros(4, 1))
    assert report.activations[0].saturated == 1.0
    assert any("saturated" in flag for flag in report.flags)


def test_existing_gradients_are_read_when_no_data_is_given():
    model = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 1))
    with pytest.raises(ValueError, match="gradient_flow: no parameter has a gradient"):
        viz.gradient_flow(model)
    for p in model.parameters():
        p.grad = cr.ones(*p.shape)
    model[0].weight.grad = cr.full((2, 2), 1e4)
    report = viz.gradient_flow(model)
    assert report.params[0].norm == pytest.approx(2e4)
    assert report.exploding and report.params[0].flag == "exploding"


def test_report_prints_a_table_and_plots_bars(digits_batch, tmp_path):
    x, y = digits_batch
    report = viz.gradient_flow(_deep_mlp("sigmoid"), x, y)
    text = str(report)
    lines = text.splitlines()
    assert lines[0].split()[:3] == ["parameter", "shape", "‖grad‖"]
    assert lines[1].startswith("0.weight") and "32×64" in lines[1] and "vanishing" in lines[1]
    assert "1 Sigmoid" in text and "vanishing gradients" in text
    fig = report.plot(path=tmp_path / "flow.png")
    assert_image(tmp_path / "flow.png")
    bars, activations = fig.axes[:2]
    assert bars.get_yscale() == "log" and bars.get_ylabel() and bars.get_xlabel()
    heights = [patch.get_height() for patch in bars.patches]
    np.testing.assert_allclose(heights, [p.norm for p in report.params])
    assert activations.get_legend() is not None


def test_x_without_y_is_an_error():
    with pytest.raises(ValueError, match="gradient_flow: pass the targets y"):
        viz.gradient_flow(nn.Linear(2, 1), cr.ones(3, 2))


@pytest.mark.parametrize("activation, shown, absent", [
    ("sigmoid", "saturated outputs (sigmoid)", "dead units"),
    ("relu", "dead units (ReLU)", "saturated"),
])
def test_activation_panel_shows_only_the_measures_of_the_net(activation, shown, absent):
    cr.manual_seed(0)
    model = nn.MLP([4, 6, 6, 2], activation=activation)
    x, y = cr.randn(16, 4), cr.tensor(np.arange(16) % 2)
    panel = viz.gradient_flow(model, x, y).plot().axes[1]
    legend = [t.get_text() for t in panel.get_legend().get_texts()]
    assert shown in legend and not any(absent in text for text in legend), legend
    assert absent not in panel.get_title()
    assert len(panel.patches) == 2  # one bar per activation layer, not two


def test_activation_panel_of_a_mixed_net_shows_both():
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 6), nn.Tanh(),
                          nn.Linear(6, 2))
    panel = viz.gradient_flow(model, cr.randn(8, 4), cr.tensor(np.arange(8) % 2)).plot().axes[1]
    legend = [t.get_text() for t in panel.get_legend().get_texts()]
    assert "dead units (ReLU)" in legend and "saturated outputs (tanh)" in legend
