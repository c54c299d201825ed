"""F.scaled_dot_product_attention against PyTorch in float64: values and the gradients of
query, key, value (and of a float mask), on 3-D and 4-D inputs, with a scale, boolean and
additive masks that broadcast, is_causal, fully masked rows (zeros, as PyTorch 2.13), and
second order; errors that name the function and the shapes."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from nn_oracle import compare_with_torch

import chainrule as cr
import chainrule.nn.functional as F

rng = np.random.default_rng(13)


def _qkv(batch: tuple[int, ...], L: int = 3, S: int = 5, E: int = 4, Ev: int = 6
         ) -> list[np.ndarray]:
    return [rng.normal(size=(*batch, L, E)), rng.normal(size=(*batch, S, E)),
            rng.normal(size=(*batch, S, Ev))]


def _keep_rows(mask: np.ndarray) -> np.ndarray:
    """A boolean mask with at least one key per query row (no fully masked row)."""
    mask = mask.copy()
    mask[..., 0] = True
    return mask


CASES = {
    "3d": (_qkv((2,)), {}),
    "4d": (_qkv((2, 3)), {}),
    "4d_scale": (_qkv((2, 3)), {"scale": 0.3}),
    "unbatched": (_qkv(()), {}),
    "batch_broadcast": ([rng.normal(size=(2, 3, 3, 4)), rng.normal(size=(1, 3, 5, 4)),
                         rng.normal(size=(2, 1, 5, 6))], {}),
    "bool_mask_LS": (_qkv((2, 3)), {"attn_mask": _keep_rows(rng.random((3, 5)) > 0.5)}),
    "bool_mask_per_batch": (_qkv((2, 3)),
                            {"attn_mask": _keep_rows(rng.random((2, 1, 3, 5)) > 0.5)}),
    "float_mask": (_qkv((2,)), {"attn_mask": rng.normal(size=(2, 3, 5))}),
    "causal_square": (_qkv((2, 3), L=5), {"is_causal": True}),
    "causal_rectangular": (_qkv((2,), L=6, S=4), {"is_causal": True}),
}


def _torch_kwargs(kwargs: dict) -> dict:
    return {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}


@pytest.mark.parametrize("case", list(CASES))
def test_sdpa_matches_torch_values_and_gradients(case: str) -> None:
    arrays, kwargs = CASES[case]
    compare_with_torch(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, **kwargs),
                       lambda q, k, v: TF.scaled_dot_product_attention(
                           q, k, v, **_torch_kwargs(kwargs)),
                       arrays)


def test_sdpa_float_mask_receives_its_gradient_like_torch() -> None:
    mask = rng.normal(size=(2, 3, 5))
    compare_with_torch(lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, m),
                       lambda q, k, v, m: TF.scaled_dot_product_attention(q, k, v, m),
                       [*_qkv((2,)), mask])


@pytest.mark.parametrize("kind", ["bool", "float"])
def test_fully_masked_row_gives_zeros_and_zero_gradients_like_torch(kind: str) -> None:
    allowed = _keep_rows(rng.random((3, 5)) > 0.5)
    allowed[1] = False  # query 1 may look at nothing
    mask = allowed if kind == "bool" else np.where(allowed, 0.0, -np.inf)
    arrays = _qkv((2,))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no 0/0, no −∞ − (−∞)
        compare_with_torch(
            lambda q, k, v: F.scaled_dot_product_attention(q, k, v, mask),
            lambda q, k, v: TF.scaled_dot_product_attention(q, k, v, torch.tensor(mask)),
            arrays)
    out = F.scaled_dot_product_attention(*(cr.tensor(a) for a in arrays), mask)
    assert np.all(out.numpy()[:, 1] == 0.0)


def test_sdpa_second_order_matches_torch() -> None:
    q0, k0, v0 = _qkv((1,), L=2, S=3, E=2, Ev=2)
    mask = np.array([[True, False, True], [True, True, True]])
    direction = [rng.normal(size=a.shape) for a in (q0, k0, v0)]

    def loss(q, k, v):
        return (F.scaled_dot_product_attention(q, k, v, mask) ** 2).sum()

    def directional(q, k, v):  # ⟨∇L, d⟩: its gradient is the Hessian times d
        grads = cr.grad(loss, argnums=(0, 1, 2))(q, k, v)
        return sum((g * cr.tensor(d)).sum() for g, d in zip(grads, direction))

    ours = cr.grad(directional, argnums=(0, 1, 2))(*(cr.tensor(a) for a in (q0, k0, v0)))
    ts = [torch.tensor(a, requires_grad=True) for a in (q0, k0, v0)]
    t_loss = (TF.scaled_dot_product_attention(*ts, attn_mask=torch.tensor(mask)) ** 2).sum()
    t_grads = torch.autograd.grad(t_loss, ts, create_graph=True)
    t_dir = sum((g * torch.tensor(d)).sum() for g, d in zip(t_grads, direction))
    theirs = torch.autograd.grad(t_dir, ts)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-9, atol=1e-11)


def test_sdpa_gradcheck_with_a_causal_mask() -> None:
    q, k, v = (cr.tensor(a) for a in _qkv((2,), L=3, S=3, E=2, Ev=2))
    assert cr.gradcheck(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True),
                        (q, k, v))


def test_sdpa_dropout_is_keyword_only_and_seeded() -> None:
    q, k, v = (cr.tensor(a) for a in _qkv((2,)))
    _ = cr.manual_seed(0)
    a = F.scaled_dot_product_attention(q, k, v, dropout_p=0.5)
    _ = cr.manual_seed(0)
    b = F.scaled_dot_product_attention(q, k, v, dropout_p=0.5)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert not np.allclose(a.numpy(), F.scaled_dot_product_attention(q, k, v).numpy())
    with pytest.raises(TypeError, match="is_causal must be a bool, got 0.5 .*keyword-only"):
        F.scaled_dot_product_attention(q, k, v, None, 0.5)  # torch's positional dropout_p


@pytest.mark.parametrize("call, message", [
    (lambda q, k, v: F.scaled_dot_product_attention(q, k, v, cr.ones(4, 5) > 0),
     r"^scaled_dot_product_attention: attn_mask of shape \(4, 5\) does not broadcast to the "
     r"attention weights' shape \(2, 3, 5\)"),
    (lambda q, k, v: F.scaled_dot_product_attention(q, k[..., :3], v),
     r"^scaled_dot_product_attention: query of shape \(2, 3, 4\) and key of shape "
     r"\(2, 5, 3\) differ in their feature size \(4 != 3\)$"),
    (lambda q, k, v: F.scaled_dot_product_attention(q, k, v[:, :4]),
     r"^scaled_dot_product_attention: key of shape \(2, 5, 4\) and value of shape "
     r"\(2, 4, 6\) differ in length \(5 != 4\)$"),
    (lambda q, k, v: F.scaled_dot_product_attention(q, k, v, cr.ones(3, 5) > 0,
                                                    is_causal=True),
     r"^scaled_dot_product_attention: pass either attn_mask or is_causal=True, not both"),
    (lambda q, k, v: F.scaled_dot_product_attention(q[0, 0], k, v),
     r"^scaled_dot_product_attention: query must have at least 2 dimensions"),
])
def test_sdpa_bad_input_raises_one_line_naming_the_shapes(call, message) -> None:
    q, k, v = (cr.tensor(a) for a in _qkv((2,)))
    with pytest.raises(ValueError, match=message):
        call(q, k, v)


def test_sdpa_refuses_an_integer_mask() -> None:
    q, k, v = (cr.tensor(a) for a in _qkv((2,)))
    with pytest.raises(TypeError, match="attn_mask must be boolean or floating point, got "
                                        "dtype int64"):
        F.scaled_dot_product_attention(q, k, v, cr.ones(3, 5).astype("int64"))
