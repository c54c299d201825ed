"""nn.TransformerEncoderLayer and nn.TransformerEncoder against PyTorch with the state_dict
copied by name, float64, in eval mode: output and every gradient, post- and pre-norm, relu,
gelu and a callable, both batch_first, bias=False, masks; PyTorch's submodule names; the
encoder's layers are independent deep copies; errors naming the layer and the shapes."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn

RTOL, ATOL = 1e-10, 1e-12
D, NHEAD, FF = 8, 2, 16


def _perturbed(module: torch.nn.Module) -> torch.nn.Module:
    torch.manual_seed(1)
    with torch.no_grad():  # move the layer norms off γ = 1, β = 0
        for p in module.parameters():
            p.add_(0.1 * torch.randn_like(p))
    return module.eval()


def _check(ours: nn.Module, theirs: torch.nn.Module, x: np.ndarray, **call) -> None:
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    ours.eval()
    xc, xt = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    t_call = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in call.items()}
    out, t_out = ours(xc, **call), theirs(xt, **t_call)
    np.testing.assert_allclose(out.numpy(), t_out.detach().numpy(), rtol=RTOL, atol=ATOL)
    g = np.random.default_rng(0).normal(size=out.shape)
    (out * cr.tensor(g)).sum().backward()
    (t_out * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(xc.grad.numpy(), xt.grad.numpy(), rtol=RTOL, atol=ATOL)
    t_params = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), t_params[name].grad.numpy(), rtol=RTOL,
                                   atol=ATOL, err_msg=f"gradient of {name}")


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
@pytest.mark.parametrize("batch_first", [False, True])
def test_encoder_layer_matches_torch_in_eval_mode(norm_first, activation, batch_first) -> None:
    kwargs = dict(dim_feedforward=FF, activation=activation, batch_first=batch_first,
                  norm_first=norm_first)
    theirs = _perturbed(torch.nn.TransformerEncoderLayer(D, NHEAD, **kwargs).double())
    rng = np.random.default_rng(3)
    x = rng.normal(size=(3, 5, D) if batch_first else (5, 3, D))
    padding = rng.random((3, 5)) < 0.3
    padding[:, 0] = False
    _check(nn.TransformerEncoderLayer(D, NHEAD, dtype="float64", **kwargs), theirs, x,
           src_key_padding_mask=padding)


def test_encoder_layer_with_a_causal_mask_no_bias_and_a_callable_activation() -> None:
    kwargs = dict(dim_feedforward=FF, bias=False, layer_norm_eps=1e-3)
    theirs = _perturbed(torch.nn.TransformerEncoderLayer(D, NHEAD, activation=torch.tanh,
                                                         **kwargs).double())
    causal = np.triu(np.ones((5, 5), bool), 1)
    x = np.random.default_rng(4).normal(size=(5, 2, D))
    _check(nn.TransformerEncoderLayer(D, NHEAD, activation=F.tanh, dtype="float64", **kwargs),
           theirs, x, src_mask=causal, is_causal=True)


def test_encoder_of_two_layers_with_a_final_norm_matches_torch() -> None:
    layer = torch.nn.TransformerEncoderLayer(D, NHEAD, FF, batch_first=True).double()
    theirs = _perturbed(torch.nn.TransformerEncoder(
        layer, 2, norm=torch.nn.LayerNorm(D).double(), enable_nested_tensor=False))
    ours = nn.TransformerEncoder(
        nn.TransformerEncoderLayer(D, NHEAD, FF, batch_first=True, dtype="float64"), 2,
        norm=nn.LayerNorm(D, dtype="float64"))
    assert list(ours.state_dict()) == list(theirs.state_dict())
    x = np.random.default_rng(5).normal(size=(2, 6, D))
    _check(ours, theirs, x, mask=np.random.default_rng(6).normal(size=(6, 6)))


def test_encoder_layers_are_deep_copies_that_train_apart() -> None:
    layer = nn.TransformerEncoderLayer(D, NHEAD, FF)
    encoder = nn.TransformerEncoder(layer, 2)
    first, second = encoder.layers
    assert first is not layer and first.linear1.weight is not second.linear1.weight
    np.testing.assert_array_equal(first.linear1.weight.numpy(), layer.linear1.weight.numpy())
    with cr.no_grad():
        first.linear1.weight += 1.0
    assert not np.allclose(first.linear1.weight.numpy(), second.linear1.weight.numpy())
    assert encoder.norm is None and "norm" not in dict(encoder.named_children())


def test_submodule_names_are_torchs() -> None:
    ours = nn.TransformerEncoderLayer(D, NHEAD, FF)
    theirs = torch.nn.TransformerEncoderLayer(D, NHEAD, FF)
    assert [n for n, _ in ours.named_children()] == [n for n, _ in theirs.named_children()]
    assert list(ours.state_dict()) == list(theirs.state_dict())


def test_dropout_is_active_in_training_and_off_in_eval() -> None:
    _ = cr.manual_seed(0)
    layer = nn.TransformerEncoderLayer(D, NHEAD, FF, dropout=0.5)
    x = cr.randn(5, 3, D)
    assert not np.allclose(layer(x).numpy(), layer(x).numpy())  # a new mask each call
    layer.eval()
    np.testing.assert_array_equal(layer(x).numpy(), layer(x).numpy())


@pytest.mark.parametrize("call, exc, message", [
    (lambda: nn.TransformerEncoderLayer(10, 3), ValueError,
     r"^TransformerEncoderLayer: d_model 10 is not divisible by nhead 3"),
    (lambda: nn.TransformerEncoderLayer(D, NHEAD, FF)(cr.zeros(5, 3, 6)), ValueError,
     r"^TransformerEncoderLayer\(d_model=8, nhead=2\): src of shape \(5, 3, 6\) does not "
     r"fit: expected \(L, N, 8\), \(N, L, 8\) with batch_first, or \(L, 8\)$"),
    (lambda: nn.TransformerEncoderLayer(D, NHEAD, FF, activation="swish"), ValueError,
     r"^TransformerEncoderLayer: activation must be 'relu', 'gelu' or a callable, got "
     r"'swish'$"),
    (lambda: nn.TransformerEncoderLayer(D, NHEAD, FF)(cr.zeros(5, 3, D),
                                                      src_mask=cr.zeros(4, 4) > 0),
     ValueError, r"^MultiheadAttention\(embed_dim=8, num_heads=2\): attn_mask of shape "
     r"\(4, 4\) does not fit query length 5 and key length 5"),
    (lambda: nn.TransformerEncoder(nn.TransformerEncoderLayer(D, NHEAD, FF), 0), ValueError,
     r"^TransformerEncoder: num_layers must be a positive int, got 0$"),
])
def test_bad_input_raises_one_line_naming_the_layer(call, exc, message) -> None:
    with pytest.raises(exc, match=message):
        call()
