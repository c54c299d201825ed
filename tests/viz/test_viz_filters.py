"""viz.plot_filters and viz.plot_feature_maps: a conv layer's kernels and a CNN's activations,
drawn from the real numbers on one symmetric scale."""

from __future__ import annotations

import numpy as np
import pytest
from viz_helpers import assert_image

import chainrule as cr
from chainrule import nn, viz

pytest.importorskip("matplotlib")


def _images(fig):
    return [im for ax in fig.axes for im in ax.get_images()]


def _colorbars(fig):
    return [ax for ax in fig.axes if ax.get_label() == "<colorbar>"]


def _panels(fig):
    return [ax for ax in fig.axes if ax.get_label() != "<colorbar>" and ax.axison]


# ---------------------------------------------------------------- filters


def test_plot_filters_conv2d_one_image_per_output_channel_on_a_symmetric_scale(tmp_path):
    cr.manual_seed(0)
    conv = nn.Conv2d(1, 6, 3)
    fig = viz.plot_filters(conv, path=tmp_path / "filters.png")
    assert_image(tmp_path / "filters.png")
    images = _images(fig)
    assert len(images) == 6
    w = conv.weight.numpy()
    m = np.abs(w).max()
    for o, im in enumerate(images):
        np.testing.assert_array_equal(im.get_array(), w[o, 0])  # the kernel, untransformed
        assert im.get_clim() == (-m, m)
    assert [ax.get_title() for ax in _panels(fig)] == [f"out {o}" for o in range(6)]
    (bar,) = _colorbars(fig)
    assert "weight" in bar.get_ylabel()
    assert "Conv2d(1, 6, kernel 3×3)" in fig.get_suptitle()


def test_plot_filters_conv2d_several_inputs_a_row_per_output_a_column_per_input(tmp_path):
    conv = nn.Conv2d(3, 4, (2, 3))
    fig = viz.plot_filters(conv, path=tmp_path / "filters.svg")
    assert_image(tmp_path / "filters.svg")
    images = _images(fig)
    assert len(images) == 12
    np.testing.assert_array_equal(images[1 * 3 + 2].get_array(), conv.weight.numpy()[1, 2])
    panels = _panels(fig)
    assert [ax.get_title() for ax in panels[:3]] == ["in 0", "in 1", "in 2"]
    assert [panels[3 * o].get_ylabel() for o in range(4)] == [f"out {o}" for o in range(4)]


def test_plot_filters_caps_the_channels_and_says_so():
    conv = nn.Conv2d(20, 30, 3)
    fig = viz.plot_filters(conv, max_channels=4)
    assert len(_images(fig)) == 16
    assert "first 4 of 30 output, 4 of 20 input channels shown" in fig.get_suptitle()


def test_plot_filters_conv1d_draws_one_curve_per_input_channel(tmp_path):
    conv = nn.Conv1d(2, 3, 5)
    fig = viz.plot_filters(conv, path=tmp_path / "filters1d.png")
    assert_image(tmp_path / "filters1d.png")
    panels = _panels(fig)
    assert len(panels) == 3
    w = conv.weight.numpy()
    m = np.abs(w).max()
    for o, ax in enumerate(panels):
        curves = [line for line in ax.get_lines() if line.get_label().startswith("in ")]
        assert len(curves) == 2
        np.testing.assert_array_equal(curves[1].get_ydata(), w[o, 1])
        assert ax.get_ylim() == pytest.approx((-1.1 * m, 1.1 * m))  # one shared scale
        assert ax.get_xlabel() == "tap" and ax.get_ylabel() == "weight"
    assert panels[0].get_legend() is not None


def test_plot_filters_conv1d_with_many_inputs_draws_channel_by_tap_images():
    conv = nn.Conv1d(12, 2, 3)
    fig = viz.plot_filters(conv)
    images = _images(fig)
    assert len(images) == 2
    np.testing.assert_array_equal(images[1].get_array(), conv.weight.numpy()[1])
    assert len(_colorbars(fig)) == 1


def test_plot_filters_refuses_what_is_not_a_convolution():
    with pytest.raises(TypeError, match=r"plot_filters: expected an nn.Conv1d or nn.Conv2d, "
                                        r"got Linear"):
        viz.plot_filters(nn.Linear(2, 3))
    with pytest.raises(ValueError, match="max_channels must be at least 1"):
        viz.plot_filters(nn.Conv1d(1, 1, 2), max_channels=0)


# ---------------------------------------------------------------- feature maps


def _cnn():
    cr.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(4, 10, 3, padding=1), nn.ReLU(), nn.Flatten(),
                         nn.Linear(160, 2))


def test_plot_feature_maps_one_row_per_conv_and_pool_layer_with_the_real_activations(tmp_path):
    model = _cnn()
    x = cr.randn(3, 1, 8, 8)
    fig = viz.plot_feature_maps(model, x, path=tmp_path / "maps.png")
    assert_image(tmp_path / "maps.png")
    rows = [ax.get_ylabel() for ax in _panels(fig) if ax.get_ylabel()]
    assert rows == ["input\n1×8×8", "0: Conv2d\n4×8×8", "2: MaxPool2d\n4×4×4",
                    "3: Conv2d\n10×4×4\n(first 8 shown)"]
    assert [bar.get_ylabel() for bar in _colorbars(fig)] == ["input value"] + ["activation"] * 3
    with cr.no_grad():
        after_conv = model[0](x[:1]).numpy()[0]
        after_pool = model[2](model[1](model[0](x[:1]))).numpy()[0]
    images = _images(fig)
    assert len(images) == 1 + 4 + 4 + 8
    np.testing.assert_array_equal(images[0].get_array(), x.numpy()[0, 0])
    np.testing.assert_allclose(images[1 + 2].get_array(), after_conv[2])
    np.testing.assert_allclose(images[5 + 3].get_array(), after_pool[3])
    m = np.abs(after_conv).max()
    assert images[1].get_clim() == pytest.approx((-m, m))


def test_plot_feature_maps_takes_a_list_of_layers_and_one_example_without_batch_axis():
    model = _cnn()
    x = cr.randn(1, 8, 8)
    a = viz.plot_feature_maps([model[0], model[1], model[2]], x)
    b = viz.plot_feature_maps(model, x.reshape((1, 1, 8, 8)))
    np.testing.assert_array_equal(_images(a)[3].get_array(), _images(b)[3].get_array())
    assert len(_images(a)) == 1 + 4 + 4


def test_plot_feature_maps_1d_draws_curves_over_positions(tmp_path):
    cr.manual_seed(0)
    model = nn.Sequential(nn.Conv1d(1, 3, 5, stride=2, padding=1), nn.ReLU(), nn.MaxPool1d(2))
    x = cr.randn(2, 1, 40)
    fig = viz.plot_feature_maps(model, x, path=tmp_path / "maps1d.png")
    assert_image(tmp_path / "maps1d.png")
    with cr.no_grad():
        out = model[0](x[:1]).numpy()[0]
    assert [ax.get_ylabel() for ax in _panels(fig) if ax.get_ylabel()] == [
        "input\n1×40", "0: Conv1d\n3×19", "2: MaxPool1d\n3×9"]
    conv_row = _panels(fig)[1:4]  # the input row shows one channel, its other panels are off
    np.testing.assert_allclose(conv_row[1].get_lines()[0].get_ydata(), out[1])
    assert all(ax.get_xlabel() == "position" for ax in conv_row)
    assert not _colorbars(fig)


def test_plot_feature_maps_refuses_a_custom_model_and_a_model_without_convolutions():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(1, 2, 3)

        def forward(self, x):
            return self.conv(x)

    with pytest.raises(TypeError, match=r"expected an nn.Sequential or a list of layers, "
                                        r"got Net \(only a Sequential runs its layers in a "
                                        r"known order"):
        viz.plot_feature_maps(Net(), cr.randn(1, 1, 5, 5))
    with pytest.raises(ValueError, match=r"no convolution or pooling layer \(layers: Linear, "
                                         r"ReLU\)"):
        viz.plot_feature_maps(nn.Sequential(nn.Linear(2, 2), nn.ReLU()), cr.randn(1, 2))
