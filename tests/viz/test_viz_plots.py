"""viz plots: activations, loss curves, finite-difference error; each draws a real image."""

from __future__ import annotations

import math

import numpy as np
import pytest
from viz_helpers import assert_image, assert_labelled

import chainrule as cr
from chainrule import viz

pytest.importorskip("matplotlib")


# ---------------------------------------------------------------- activations


def test_plot_activations_draws_six_panels_with_autodiff_matching_closed_forms(tmp_path):
    fig = viz.plot_activations(path=tmp_path / "act.png")
    assert_image(tmp_path / "act.png")
    axes = fig.axes
    assert [ax.get_title() for ax in axes] == [
        "sigmoid", "tanh", "ReLU", "leaky ReLU (0.1)", "GELU", "softplus"]
    for ax in axes:
        assert_labelled(ax)
        texts = [t.get_text() for t in ax.get_legend().get_texts()]
        gap = [t for t in texts if "max gap" in t]
        # the autodiff derivative agrees with the textbook's closed form to float64 round-off
        assert gap and float(gap[0].split("max gap ")[1].rstrip(")")) < 1e-12, texts


def test_plot_activations_autodiff_curve_is_the_textbook_sigmoid_derivative():
    xs = np.linspace(-3, 3, 61)
    fig = viz.plot_activations(x=xs)
    sigmoid_ax = fig.axes[0]
    autodiff = [line for line in sigmoid_ax.get_lines() if line.get_label() == "f'(x) by autodiff"]
    s = 1 / (1 + np.exp(-xs))
    np.testing.assert_allclose(autodiff[0].get_ydata(), s * (1 - s), atol=1e-15)
    # saturation is shaded for sigmoid and tanh only; σ' ≤ 1/4 is marked
    labels = [t.get_text() for t in sigmoid_ax.get_legend().get_texts()]
    assert any(label.startswith("saturated") for label in labels)
    assert any(line.get_ydata()[0] == 0.25 for line in sigmoid_ax.get_lines()
               if len(line.get_ydata()) == 2)


def test_plots_save_svg_from_the_suffix_and_refuse_unknown_suffixes(tmp_path):
    viz.plot_gradcheck(lambda x: x.exp(), 0.0, hs=np.logspace(-8, -1, 8), path=tmp_path / "g.svg")
    assert_image(tmp_path / "g.svg")
    with pytest.raises(ValueError, match="cannot tell the image format"):
        viz.plot_loss({"loss": [1.0]}, path=tmp_path / "loss.jpeg2000")


# ---------------------------------------------------------------- loss curves


def test_plot_loss_from_history_draws_losses_and_metrics(tmp_path):
    X = cr.tensor([[1.0], [2.0], [3.0], [4.0]])
    y = cr.tensor([[2.0], [4.0], [6.0], [8.0]])
    cr.manual_seed(0)
    model = cr.nn.Linear(1, 1)
    loader = cr.data.DataLoader(cr.data.TensorDataset(X, y), batch_size=2)
    history = cr.fit(model, cr.nn.MSELoss(), cr.optim.SGD(model.parameters(), lr=0.02), loader,
                     epochs=5, val_loader=loader, metrics=("r2",), progress=False)
    fig = viz.plot_loss(history, path=tmp_path / "loss.png")
    assert_image(tmp_path / "loss.png")
    loss_ax, metric_ax = fig.axes
    assert_labelled(loss_ax)
    assert_labelled(metric_ax)
    assert {line.get_label() for line in loss_ax.get_lines()} == {"loss", "val_loss"}
    assert {line.get_label() for line in metric_ax.get_lines()} == {"r2", "val_r2"}  # Keras keys
    np.testing.assert_allclose(loss_ax.get_lines()[0].get_ydata(), history.history["loss"])
    assert list(loss_ax.get_lines()[0].get_xdata()) == [1, 2, 3, 4, 5]


def test_plot_loss_accepts_a_dict_and_a_log_axis():
    fig = viz.plot_loss({"loss": [1.0, 0.1, 0.01], "time": [0.1, 0.1, 0.1]}, log=True)
    (ax,) = fig.axes
    assert ax.get_yscale() == "log"
    assert [line.get_label() for line in ax.get_lines()] == ["loss"]  # time is not a curve


def test_plot_loss_rejects_empty_or_wrong_input():
    with pytest.raises(ValueError, match="plot_loss: the history holds no values"):
        viz.plot_loss({"loss": []})
    with pytest.raises(TypeError, match="plot_loss: expected a History or a dict"):
        viz.plot_loss([1.0, 2.0])


# ---------------------------------------------------------------- gradcheck


def test_plot_gradcheck_shows_the_u_curve_of_truncation_and_round_off(tmp_path):
    fig = viz.plot_gradcheck(lambda x: x.sin(), 1.0, path=tmp_path / "fd.png")
    assert_image(tmp_path / "fd.png")
    (ax,) = fig.axes
    assert_labelled(ax)
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    forward, central = ax.get_lines()[:2]
    hs = forward.get_xdata()
    fwd, cen = forward.get_ydata(), central.get_ydata()
    # Truncation at large h: forward ~ h/2·|f''|, central ~ h²/6·|f'''|
    i = int(np.argmin(np.abs(hs - 1e-3)))
    assert fwd[i] == pytest.approx(1e-3 / 2 * math.sin(1.0), rel=0.05)
    assert cen[i] == pytest.approx(1e-6 / 6 * math.cos(1.0), rel=0.05)
    # Round-off at tiny h, and the U: the best central step is far from both ends
    best = hs[int(np.argmin(cen))]
    assert 1e-8 < best < 1e-3
    assert cen[0] > 1e3 * cen.min() and cen[-1] > 1e3 * cen.min()
    assert fwd.min() > cen.min()  # central differences reach a smaller error


def test_plot_gradcheck_rejects_bad_steps():
    with pytest.raises(ValueError, match="plot_gradcheck: hs must be"):
        viz.plot_gradcheck(lambda x: x.exp(), 0.0, hs=[1e-3, -1e-3])


# ---------------------------------------------------------------- Jupyter


@pytest.mark.parametrize("draw", [
    lambda: viz.plot_activations(x=np.linspace(-2, 2, 41)),
    lambda: viz.plot_loss({"loss": [1.0, 0.5], "val_loss": [1.1, 0.7]}),
    lambda: viz.plot_gradcheck(lambda x: x.sin(), 1.0, hs=np.logspace(-8, -1, 8)),
    lambda: viz.plot_descent(viz.linreg_cost, [[0.0, 0.0], [0.5, 1.0]], resolution=20),
], ids=["activations", "loss", "gradcheck", "descent"])
def test_every_figure_shows_itself_as_png_in_jupyter(draw):
    # IPython displays an object with _repr_png_ as that picture; without it a fresh kernel
    # prints "<Figure size … with 6 Axes>" (the kernel test runs this for real).
    fig = draw()
    png = fig._repr_png_()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5_000
    assert repr(fig).startswith("<Figure size ")


# ---------------------------------------------------------------- what the pictures say


def test_plot_gradcheck_title_names_f():
    fig = viz.plot_gradcheck(lambda x: x.sin(), 1.0, hs=np.logspace(-8, -1, 8), name="sin x")
    assert "f(x) = sin x" in fig.axes[0].get_title()

    def cube(x):
        return x * x * x

    assert "f = cube" in viz.plot_gradcheck(cube, 1.0, hs=[1e-3]).axes[0].get_title()


def test_plot_loss_says_which_data_each_curve_is_and_names_the_metric():
    history = {"loss": [1.0, 0.5], "val_loss": [1.2, 0.6],
               "accuracy": [0.5, 0.7], "val_accuracy": [0.4, 0.6], "time": [0.1, 0.1]}
    loss_ax, metric_ax = viz.plot_loss(history).axes
    legend = [t.get_text() for t in metric_ax.get_legend().get_texts()]
    assert legend == ["accuracy (training)", "val_accuracy (validation)"]
    assert metric_ax.get_ylabel() == "accuracy" and "accuracy" in metric_ax.get_title()
    legend = [t.get_text() for t in loss_ax.get_legend().get_texts()]
    assert legend == ["loss (training)", "val_loss (validation)"]


def _drawn(fig):
    fig.draw_without_rendering()  # runs the constrained layout
    return fig.bbox


def test_plot_descent_keeps_a_long_title_inside_and_its_legend_off_the_contours():
    title = "J(θ₀, θ₁) of the textbook's linear regression: gradient descent, momentum, Adam"
    paths = {name: viz.descent_path(viz.linreg_cost, (0.0, 0.0), optimizer=name, lr=0.1,
                                    steps=10) for name in ("gd", "adam")}
    fig = viz.plot_descent(viz.linreg_cost, paths, minimum=(0, 2), title=title, resolution=30)
    page = _drawn(fig)
    ax = fig.axes[0]
    box = ax.title.get_window_extent()
    assert page.x0 <= box.x0 and box.x1 <= page.x1 and box.y1 <= page.y1  # the "J" shows
    legend = ax.get_legend().get_window_extent()
    assert not legend.overlaps(ax.get_window_extent())  # below the axes, over no data
    assert page.y0 <= legend.y0 and page.x0 <= legend.x0 and legend.x1 <= page.x1
    labels = [t.get_window_extent() for t in ax.get_xticklabels() if t.get_text()]
    assert not any(legend.overlaps(t) for t in labels + [ax.xaxis.label.get_window_extent()])
