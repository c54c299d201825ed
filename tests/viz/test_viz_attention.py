"""viz.plot_attention: an attention matrix as a heatmap with the queries' and keys' labels,
axis names "query"/"key", a colour bar, heads side by side, drawn from the real numbers."""

from __future__ import annotations

import numpy as np
import pytest
from viz_helpers import assert_image

import chainrule as cr
from chainrule import nn, viz

pytest.importorskip("matplotlib")


def _colorbars(fig):
    return [ax for ax in fig.axes if ax.get_label() == "<colorbar>"]


def _panels(fig):
    return [ax for ax in fig.axes if ax.get_label() != "<colorbar>" and ax.axison]


def test_self_attention_weights_drawn_with_token_labels_and_a_colour_bar(tmp_path):
    cr.manual_seed(0)
    mha = nn.MultiheadAttention(8, 2, batch_first=True)
    x = cr.randn(1, 4, 8)
    _, weights = mha(x, x, x)
    tokens = ["the", "cat", "sat", "down"]
    fig = viz.plot_attention(weights[0], tokens, path=tmp_path / "attention.png",
                             title="one layer")
    assert_image(tmp_path / "attention.png", min_bytes=5_000)
    (ax,) = _panels(fig)
    assert (ax.get_xlabel(), ax.get_ylabel(), ax.get_title()) == ("key", "query", "one layer")
    assert [t.get_text() for t in ax.get_xticklabels()] == tokens
    assert [t.get_text() for t in ax.get_yticklabels()] == tokens
    np.testing.assert_allclose(ax.get_images()[0].get_array(), weights.numpy()[0])
    (bar,) = _colorbars(fig)
    assert bar.get_ylabel() == "attention weight"


def test_cross_attention_takes_separate_key_labels():
    weights = np.full((2, 3), 1 / 3)
    fig = viz.plot_attention(weights, ["x", "y"], ["a", "b", "c"], colorbar=False)
    (ax,) = _panels(fig)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b", "c"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["x", "y"]
    assert not _colorbars(fig)


def test_heads_are_drawn_side_by_side_on_one_scale():
    w = np.random.default_rng(0).dirichlet(np.ones(5), size=(3, 5))  # 3 heads, rows sum to 1
    fig = viz.plot_attention(w, title="three heads")
    panels = _panels(fig)
    assert [ax.get_title() for ax in panels] == ["head 0", "head 1", "head 2"]
    assert {ax.get_images()[0].get_clim() for ax in panels} == {(0.0, w.max())}
    assert fig.get_suptitle() == "three heads" and len(_colorbars(fig)) == 1


def test_draws_into_a_given_axes():
    from chainrule.viz.plots import new_figure

    fig, axes = new_figure(1, 2)
    got = viz.plot_attention(np.eye(3), ax=axes[0, 1])
    assert got is fig and axes[0, 1].get_images() and not axes[0, 0].get_images()


@pytest.mark.parametrize("call, exc, message", [
    (lambda: viz.plot_attention(np.ones(4)), ValueError,
     r"^plot_attention: expected weights of shape \(L, S\) or \(heads, L, S\), got shape "
     r"\(4,\)"),
    (lambda: viz.plot_attention(np.eye(3), ["a", "b"]), ValueError,
     r"^plot_attention: 2 tokens for 3 queries$"),
    (lambda: viz.plot_attention(np.ones((2, 3)), ["a", "b"]), ValueError,
     r"^plot_attention: 2 queries but 3 keys: pass key_tokens"),
    (lambda: viz.plot_attention(np.eye(3), "abc"), TypeError,
     r"^plot_attention: tokens must be a sequence of labels"),
    (lambda: viz.plot_attention(np.full((2, 2), np.nan)), ValueError,
     r"^plot_attention: the weights hold nan or inf$"),
])
def test_bad_input_raises_one_line(call, exc, message):
    with pytest.raises(exc, match=message):
        call()
