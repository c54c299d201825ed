"""nn.MultiheadAttention against PyTorch with its state_dict copied by name, float64: the
output, the averaged and per-head weights, and the gradients of the inputs and of every
parameter, over masks (boolean and additive, attn_mask and key_padding_mask), is_causal,
both batch_first, bias=False, add_bias_kv/add_zero_attn, kdim/vdim, unbatched input;
PyTorch's parameter names and initialisation; errors naming the layer and the shapes."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule import nn

RTOL, ATOL = 1e-10, 1e-12
E, H = 8, 2


def _pair(**kwargs) -> tuple[nn.MultiheadAttention, torch.nn.MultiheadAttention]:
    torch.manual_seed(0)
    theirs = torch.nn.MultiheadAttention(E, H, **kwargs).double()
    with torch.no_grad():  # non-zero biases, so that a misplaced bias would show
        for p in theirs.parameters():
            p.add_(0.1 * torch.randn_like(p))
    ours = nn.MultiheadAttention(E, H, dtype="float64", **kwargs)
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    return ours, theirs


def _compare(kwargs: dict, call: dict, shapes: tuple, seed: int = 0) -> None:
    """Run both layers on the same inputs; compare output, weights and every gradient of
    L = ⟨g, out⟩ + ⟨g', weights⟩."""
    rng = np.random.default_rng(seed)
    ours, theirs = _pair(**kwargs)
    arrays = [rng.normal(size=s) for s in shapes]
    xs = [cr.tensor(a, requires_grad=True) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    t_call = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in call.items()}
    out, weights = ours(*xs, **call)
    t_out, t_weights = theirs(*ts, **t_call)
    np.testing.assert_allclose(out.numpy(), t_out.detach().numpy(), rtol=RTOL, atol=ATOL)
    loss = (out * cr.tensor(g := rng.normal(size=out.shape))).sum()
    t_loss = (t_out * torch.tensor(g)).sum()
    if call.get("need_weights", True):
        np.testing.assert_allclose(weights.numpy(), t_weights.detach().numpy(), rtol=RTOL,
                                   atol=ATOL)
        g2 = rng.normal(size=weights.shape)
        loss = loss + (weights * cr.tensor(g2)).sum()
        t_loss = t_loss + (t_weights * torch.tensor(g2)).sum()
    else:
        assert weights is None and t_weights is None
    loss.backward()
    t_loss.backward()
    for i, (x, t) in enumerate(zip(xs, ts)):
        np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=RTOL, atol=ATOL,
                                   err_msg=f"gradient of input {i}")
    t_params = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), t_params[name].grad.numpy(), rtol=RTOL,
                                   atol=ATOL, err_msg=f"gradient of {name}")


rng0 = np.random.default_rng(7)


def _allowed_somewhere(shape: tuple, p: float = 0.4) -> np.ndarray:
    """A boolean MHA mask (True = masked) that leaves key 0 to every query."""
    mask = rng0.random(shape) < p
    mask[..., 0] = False
    return mask


SEQ_FIRST = ((5, 3, E), (6, 3, E), (6, 3, E))  # L=5, N=3, S=6
BATCH_FIRST = ((3, 5, E), (3, 6, E), (3, 6, E))
SELF = ((4, 3, E),) * 3
CASES = {
    "plain": ({}, {}, SEQ_FIRST),
    "batch_first_per_head": ({"batch_first": True}, {"average_attn_weights": False},
                             BATCH_FIRST),
    "bool_attn_mask": ({}, {"attn_mask": _allowed_somewhere((5, 6))}, SEQ_FIRST),
    "bool_masks_both": ({"batch_first": True},
                        {"attn_mask": _allowed_somewhere((3 * H, 5, 6)),
                         "key_padding_mask": _allowed_somewhere((3, 6))}, BATCH_FIRST),
    "float_masks_both": ({}, {"attn_mask": rng0.normal(size=(5, 6)),
                              "key_padding_mask": rng0.normal(size=(3, 6))}, SEQ_FIRST),
    "causal_hint_with_mask": ({}, {"attn_mask": np.triu(np.ones((4, 4), bool), 1),
                                   "is_causal": True}, SELF),
    "no_bias": ({"bias": False}, {"key_padding_mask": _allowed_somewhere((3, 6))},
                SEQ_FIRST),
    "bias_kv_zero_attn": ({"add_bias_kv": True, "add_zero_attn": True},
                          {"attn_mask": _allowed_somewhere((5, 6)),
                           "key_padding_mask": _allowed_somewhere((3, 6))}, SEQ_FIRST),
    "kdim_vdim_equal_embed_dim": ({"kdim": E, "vdim": E}, {}, SEQ_FIRST),
    "kdim_vdim_other": ({"kdim": 3, "vdim": 5}, {}, ((5, 3, E), (6, 3, 3), (6, 3, 5))),
    "unbatched": ({}, {"key_padding_mask": _allowed_somewhere((6,))},
                  ((5, E), (6, E), (6, E))),
    "unbatched_per_head": ({}, {"attn_mask": _allowed_somewhere((H, 5, 6)),
                                "average_attn_weights": False}, ((5, E), (6, E), (6, E))),
    "no_weights": ({"batch_first": True}, {"need_weights": False}, BATCH_FIRST),
}


@pytest.mark.parametrize("case", list(CASES))
def test_multihead_attention_matches_torch(case: str) -> None:
    kwargs, call, shapes = CASES[case]
    _compare(kwargs, call, shapes)


def test_is_causal_alone_builds_the_causal_mask() -> None:
    # PyTorch requires attn_mask with the is_causal hint; here the hint alone is enough,
    # and it means what PyTorch's causal mask means
    ours, theirs = _pair(batch_first=True)
    x = np.random.default_rng(1).normal(size=(2, 4, E))
    out, weights = ours(*(cr.tensor(x),) * 3, is_causal=True)
    causal = torch.triu(torch.ones(4, 4, dtype=torch.bool), 1)
    t_out, t_weights = theirs(*(torch.tensor(x),) * 3, attn_mask=causal)
    np.testing.assert_allclose(out.numpy(), t_out.detach().numpy(), rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(weights.numpy(), t_weights.detach().numpy(), rtol=RTOL,
                               atol=ATOL)
    assert np.all(np.triu(weights.numpy(), 1) == 0)


def test_fully_masked_query_row_gives_zeros_as_torchs_sdpa_path() -> None:
    ours, theirs = _pair(batch_first=True)
    x = np.random.default_rng(2).normal(size=(2, 4, E))
    mask = np.zeros((4, 4), bool)
    mask[2] = True  # query 2 may look at nothing
    out, weights = ours(*(cr.tensor(x),) * 3, attn_mask=mask)
    # PyTorch's need_weights=False path (scaled_dot_product_attention) zeroes the row; its
    # need_weights=True path returns nan there
    t_out, _ = theirs(*(torch.tensor(x),) * 3, attn_mask=torch.tensor(mask),
                      need_weights=False)
    np.testing.assert_allclose(out.numpy(), t_out.detach().numpy(), rtol=RTOL, atol=ATOL)
    assert np.all(weights.numpy()[:, 2] == 0) and np.isfinite(out.numpy()).all()


@pytest.mark.parametrize("kwargs", [{}, {"bias": False}, {"add_bias_kv": True},
                                    {"kdim": 3, "vdim": 5}])
def test_parameter_names_and_shapes_are_torchs(kwargs) -> None:
    ours, theirs = _pair(**kwargs)
    assert [(k, tuple(v.shape)) for k, v in ours.state_dict().items()] == \
        [(k, tuple(v.shape)) for k, v in theirs.state_dict().items()]
    assert [k for k, _ in ours.named_parameters()] == [k for k, _ in theirs.named_parameters()]


def test_default_initialisation_is_torchs() -> None:
    _ = cr.manual_seed(0)
    m = nn.MultiheadAttention(64, 4, add_bias_kv=True)
    w = m.in_proj_weight.numpy()
    bound = math.sqrt(6 / (64 + 3 * 64))  # Xavier-uniform on (3E, E)
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.95 * bound
    assert abs(w.std() - bound / math.sqrt(3)) < 0.05 * bound
    assert np.all(m.in_proj_bias.numpy() == 0) and np.all(m.out_proj.bias.numpy() == 0)
    assert np.abs(m.out_proj.weight.numpy()).max() <= 1 / math.sqrt(64)
    assert m.bias_k.shape == (1, 1, 64) and m.bias_k.numpy().std() > 0


def test_dropout_acts_on_the_weights_in_training_only() -> None:
    _ = cr.manual_seed(0)
    m = nn.MultiheadAttention(E, H, dropout=0.5, batch_first=True)
    x = cr.randn(2, 5, E)
    _, dropped = m(x, x, x, average_attn_weights=False)
    kept = dropped.numpy()[dropped.numpy() > 0]
    assert (dropped.numpy() == 0).mean() > 0.3 and kept.size
    m.eval()
    _, weights = m(x, x, x)
    np.testing.assert_allclose(weights.numpy().sum(axis=-1), 1.0, rtol=1e-6)


def _mha() -> nn.MultiheadAttention:
    return nn.MultiheadAttention(E, H)


@pytest.mark.parametrize("call, message", [
    (lambda: nn.MultiheadAttention(10, 3), r"^MultiheadAttention: embed_dim 10 is not "
     r"divisible by num_heads 3 \(each head gets embed_dim / num_heads features\)$"),
    (lambda: _mha()(cr.zeros(5, 3, 6), cr.zeros(5, 3, E), cr.zeros(5, 3, E)),
     r"^MultiheadAttention\(embed_dim=8, num_heads=2\): query of shape \(5, 3, 6\) has 6 "
     r"features, expected 8$"),
    (lambda: _mha()(cr.zeros(5, 3, E), cr.zeros(6, 3, E), cr.zeros(6, 3, E),
                    attn_mask=cr.zeros(5, 5) > 0),
     r"^MultiheadAttention\(embed_dim=8, num_heads=2\): attn_mask of shape \(5, 5\) does "
     r"not fit query length 5 and key length 6 \(expected \(5, 6\) or \(6, 5, 6\)\)$"),
    (lambda: _mha()(cr.zeros(5, 3, E), cr.zeros(6, 3, E), cr.zeros(6, 3, E),
                    key_padding_mask=cr.zeros(6, 3) > 0),
     r"^MultiheadAttention\(embed_dim=8, num_heads=2\): key_padding_mask of shape \(6, 3\) "
     r"does not fit key length 6 and batch size 3 \(expected \(3, 6\)\)$"),
    (lambda: _mha()(cr.zeros(5, 3, E), cr.zeros(6, 2, E), cr.zeros(6, 2, E)),
     r"^MultiheadAttention\(embed_dim=8, num_heads=2\): query, key and value disagree in "
     r"batch size or key length"),
    (lambda: _mha()(cr.zeros(5, 3, E), cr.zeros(6, E), cr.zeros(6, E)),
     r"^MultiheadAttention\(embed_dim=8, num_heads=2\): query, key and value must all be "
     r"3-D \(batched\) or all 2-D \(unbatched\), got shapes \(5, 3, 8\), \(6, 8\) and "
     r"\(6, 8\)$"),
])
def test_bad_input_raises_one_line_naming_layer_and_shapes(call, message) -> None:
    with pytest.raises(ValueError, match=message):
        call()
