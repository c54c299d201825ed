r"""What a convolutional network has learned: its kernels (:func:`plot_filters`) and what
each convolution and pooling layer makes of one input (:func:`plot_feature_maps`).

A Conv layer's weight has the shape (out_channels, in_channels / groups, *kernel_size):
output channel o sums, over its input channels i, the correlation of input channel i with
the kernel ``weight[o, i]``. A 2-d kernel is drawn as a small image, a 1-d one as a curve
over its taps. Blue is negative, red positive, white zero, on one symmetric scale per
figure (filters) or per layer (feature maps), so panels can be compared by eye.

Each function returns the viz Figure; pass ``path=`` to save it as PNG or SVG.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from chainrule._config import no_grad
from chainrule._optional import optional_import
from chainrule.nn import Module
from chainrule.nn.containers import Sequential
from chainrule.nn.conv import Conv1d, Conv2d
from chainrule.nn.pooling import AdaptiveAvgPool2d, AvgPool1d, AvgPool2d, MaxPool1d, MaxPool2d
from chainrule.tensor import as_tensor
from chainrule.viz.plots import new_figure, save_figure

# Blue below zero, white at zero, red above: the sign of a weight or activation at a glance.
CMAP = "RdBu_r"
# A 1-d kernel with more input channels than this is drawn as an (input channel × tap)
# image: that many overlaid curves would be unreadable.
MAX_CURVES = 8

_CONV = (Conv1d, Conv2d)
_POOL = (MaxPool1d, MaxPool2d, AvgPool1d, AvgPool2d, AdaptiveAvgPool2d)


def _scale(values: np.ndarray) -> float:
    """The half-width of a symmetric colour scale: the largest magnitude (1 when all zero)."""
    m = float(np.max(np.abs(values))) if values.size else 0.0
    return m if m > 0 and math.isfinite(m) else 1.0


def _describe(layer: Conv1d | Conv2d) -> str:
    """``Conv2d(1, 8, kernel 3×3)``: the layer in a short, title-sized form."""
    kernel = "×".join(map(str, layer.kernel_size))
    groups = f", groups={layer.groups}" if layer.groups != 1 else ""
    return (f"{type(layer).__name__}({layer.in_channels}, {layer.out_channels}, "
            f"kernel {kernel}{groups})")


def _image(ax: Any, values: np.ndarray, m: float) -> Any:
    im = ax.imshow(values, cmap=CMAP, vmin=-m, vmax=m, interpolation="nearest", aspect="auto")
    ax.set_xticks([])
    ax.set_yticks([])
    return im


def _grid(n: int) -> tuple[int, int]:
    cols = max(1, math.ceil(math.sqrt(n)))
    return math.ceil(n / cols), cols


# ---------------------------------------------------------------- filters


def plot_filters(layer: Conv1d | Conv2d, path: str | Path | None = None,
                 max_channels: int = 16) -> Any:
    r"""The kernels of an ``nn.Conv1d`` or ``nn.Conv2d``: ``weight[o, i]`` for every output
    channel o and input channel i (of o's group), on one symmetric scale.

    * 2-d, one input channel per group: a grid of small images, one per output channel.
    * 2-d, several input channels: one row per output channel, one column per input channel.
    * 1-d: one panel per output channel holding one curve per input channel over the taps
      (the y axis is the shared scale); with more than 8 input channels, an image
      (input channel × tap) per output channel instead.

    Images share a colour bar from −max|w| (blue) to +max|w| (red). The bias is not drawn.

    Args:
        layer: the convolution whose ``weight`` to draw.
        path: where to save the figure (``.png``/``.svg``), or ``None``.
        max_channels: draw at most this many output (and input) channels; the title says
            when some are left out.

    Returns:
        The Figure.

    Raises:
        TypeError: ``layer`` is not an ``nn.Conv1d`` or ``nn.Conv2d``.
    """
    if not isinstance(layer, _CONV):
        raise TypeError(f"plot_filters: expected an nn.Conv1d or nn.Conv2d, got "
                        f"{type(layer).__name__} (pass the layer itself, e.g. model[0])")
    if max_channels < 1:
        raise ValueError(f"plot_filters: max_channels must be at least 1, got {max_channels}")
    w = np.asarray(layer.weight.numpy(), dtype=np.float64)
    n_out, n_in = min(w.shape[0], max_channels), min(w.shape[1], max_channels)
    w = w[:n_out, :n_in]
    m = _scale(w)
    if layer._nd == 2:
        fig, image = _filters_2d(w, m)
    else:
        fig, image = _filters_1d(w, m)
    if image is not None:
        fig.colorbar(image, ax=fig.axes, label="weight (blue < 0 < red)", shrink=0.8,
                     fraction=0.05, aspect=30)
    shown = ""
    if (n_out, n_in) != tuple(layer.weight.shape[:2]):
        shown = (f"\n(first {n_out} of {layer.weight.shape[0]} output, {n_in} of "
                 f"{layer.weight.shape[1]} input channels shown)")
    fig.suptitle(f"Kernels of {_describe(layer)}: weight[out, in]{shown}")
    save_figure(fig, path)
    return fig


def _filters_2d(w: np.ndarray, m: float) -> tuple[Any, Any]:
    n_out, n_in = w.shape[:2]
    if n_in == 1:
        rows, cols = _grid(n_out)
        fig, axes = new_figure(rows, cols, size=(1.6 * cols + 1.4, 1.6 * rows + 0.9))
        for ax in axes.ravel()[n_out:]:
            ax.set_axis_off()
        for o, ax in enumerate(axes.ravel()[:n_out]):
            im = _image(ax, w[o, 0], m)
            ax.set_title(f"out {o}", fontsize=9)
        return fig, im
    fig, axes = new_figure(n_out, n_in, size=(1.3 * n_in + 1.6, 1.3 * n_out + 0.9))
    for o in range(n_out):
        for i in range(n_in):
            im = _image(axes[o, i], w[o, i], m)
        axes[o, 0].set_ylabel(f"out {o}", fontsize=9)
    for i in range(n_in):
        axes[0, i].set_title(f"in {i}", fontsize=9)
    return fig, im


def _filters_1d(w: np.ndarray, m: float) -> tuple[Any, Any]:
    n_out, n_in, taps = w.shape
    rows, cols = _grid(n_out)
    fig, axes = new_figure(rows, cols, size=(2.4 * cols + 1.4, 1.9 * rows + 0.9))
    for ax in axes.ravel()[n_out:]:
        ax.set_axis_off()
    im = None
    for o, ax in enumerate(axes.ravel()[:n_out]):
        ax.set_title(f"out {o}", fontsize=9)
        if n_in > MAX_CURVES:
            im = _image(ax, w[o], m)
            ax.set_ylabel("input channel", fontsize=8)
            ax.set_xlabel("tap", fontsize=8)
            continue
        for i in range(n_in):
            ax.plot(np.arange(taps), w[o, i], marker="o", markersize=3, label=f"in {i}")
        ax.axhline(0, color="grey", linewidth=0.6)
        ax.set_ylim(-1.1 * m, 1.1 * m)
        ax.set_xticks(np.arange(taps))
        ax.tick_params(labelsize=7)
        ax.set_xlabel("tap", fontsize=8)
        ax.set_ylabel("weight", fontsize=8)
        ax.grid(alpha=0.3)
    if im is None and n_in > 1:
        axes[0, 0].legend(fontsize=7, title="input channel", title_fontsize=7)
    return fig, im


# ---------------------------------------------------------------- feature maps


def _layers(model: Any) -> list[tuple[str, Callable[..., Any]]]:
    """(name, layer) in the order the model applies them."""
    if isinstance(model, Sequential):
        return [(name, child) for name, child in model.named_children()]
    if isinstance(model, (list, tuple)) and all(callable(layer) for layer in model):
        return [(str(i), layer) for i, layer in enumerate(model)]
    what = type(model).__name__
    hint = (" (only a Sequential runs its layers in a known order: for any other model pass "
            "its layers as a list, e.g. [model.conv1, nn.ReLU(), model.pool])"
            if isinstance(model, Module) else "")
    raise TypeError(f"plot_feature_maps: expected an nn.Sequential or a list of layers, "
                    f"got {what}{hint}")


def _feature_maps(layers: Sequence[tuple[str, Callable[..., Any]]],
                  x: Any) -> list[tuple[str, np.ndarray]]:
    """The input and the output of every conv and pooling layer, for the first example."""
    convs = [layer for _, layer in layers if isinstance(layer, _CONV)]
    if not convs and not any(isinstance(layer, _POOL) for _, layer in layers):
        names = ", ".join(type(layer).__name__ for _, layer in layers) or "none"
        raise ValueError(f"plot_feature_maps: the model has no convolution or pooling layer "
                         f"(layers: {names})")
    x = as_tensor(x, "plot_feature_maps")
    if convs and x.ndim == convs[0]._nd + 1:
        x = x.reshape((1, *x.shape))  # one example without its batch axis
    x = x[:1]
    maps = [("input", np.asarray(x.numpy()[0], dtype=np.float64))]
    with no_grad():
        for name, layer in layers:
            x = layer(x)
            if isinstance(layer, _CONV + _POOL):
                maps.append((f"{name}: {type(layer).__name__}",
                             np.asarray(x.numpy()[0], dtype=np.float64)))
    return maps


def plot_feature_maps(model: Any, x: Any, path: str | Path | None = None,
                      max_channels: int = 8) -> Any:
    r"""The activations of one input after each convolution and pooling layer, one row per
    layer (the input first), one panel per channel. Each row is labelled with the layer's
    position and type and the map's shape (channels × height × width, or channels × length).

    The layers are run one by one, in order: the children of an ``nn.Sequential``, or the
    callables of a list (for a model with its own ``forward``, list its layers). A 2-d map
    is drawn as an image, a 1-d map as a curve over its positions. Each row has its own
    symmetric scale (a colour bar for images), since layers differ in size.

    Args:
        model: an ``nn.Sequential`` or a list of layers (Modules or functions).
        x: a batch (only its first example is drawn) or one example without the batch axis.
        path: where to save the figure (``.png``/``.svg``), or ``None``.
        max_channels: draw at most this many channels per layer.

    Returns:
        The Figure.

    Raises:
        TypeError: ``model`` is neither an ``nn.Sequential`` nor a list of layers.
        ValueError: none of the layers is a convolution or a pooling layer.
    """
    if max_channels < 1:
        raise ValueError(f"plot_feature_maps: max_channels must be at least 1, "
                         f"got {max_channels}")
    MaxNLocator = optional_import(
        "matplotlib.ticker", "Matplotlib", "viz", "plot_feature_maps").MaxNLocator
    maps = _feature_maps(_layers(model), x)
    cols = min(max_channels, max(len(values) for _, values in maps))
    fig, axes = new_figure(len(maps), cols, size=(1.55 * cols + 1.6, 1.65 * len(maps) + 0.7))
    for row, (label, values) in zip(axes, maps):
        shown = values[:cols]
        m = _scale(shown)
        for ax in row[len(shown):]:
            ax.set_axis_off()
        im = None
        for c, ax in enumerate(row[:len(shown)]):
            if shown.ndim == 3:
                im = _image(ax, shown[c], m)
            else:
                ax.plot(shown[c], linewidth=1)
                ax.axhline(0, color="grey", linewidth=0.6)
                ax.set_ylim(-1.1 * m, 1.1 * m)
                ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # no position 2.5
                ax.tick_params(labelsize=6)
                ax.set_xlabel("position", fontsize=7)
            ax.set_title(f"channel {c}", fontsize=7)
        more = f"\n(first {cols} shown)" if len(values) > cols else ""
        size = "×".join(map(str, values.shape))
        row[0].set_ylabel(f"{label}\n{size}{more}", fontsize=8, rotation=0, ha="right",
                          va="center")
        if im is not None:
            fig.colorbar(im, ax=list(row), shrink=0.9, pad=0.01,
                         label="input value" if label == "input" else "activation")
    fig.suptitle("Feature maps of one input after each convolution and pooling layer")
    save_figure(fig, path)
    return fig
