r"""Scaled dot-product attention, built from primitives (matmul, where, softmax), so its
derivatives of every order come from the chain rule through them.

.. math:: \mathrm{Attention}(Q, K, V) = \mathrm{softmax}\!\left(s\,QK^\top + B\right)V,
          \qquad s = 1/\sqrt{E}\ \text{by default},

B the mask's bias (0 where a key takes part, −∞ where it does not, or any added floats).
With :math:`A = \mathrm{softmax}(S)` row by row and :math:`G = \partial L/\partial O`:
:math:`\partial L/\partial V = A^\top G`, :math:`\partial L/\partial A = G V^\top`, and
the softmax's Jacobian :math:`\partial A_{ij}/\partial S_{ik} = A_{ij}(\delta_{jk} -
A_{ik})` gives :math:`\partial L/\partial S_{ik} = A_{ik}\big((GV^\top)_{ik} -
\sum_j A_{ij}(GV^\top)_{ij}\big)`; then :math:`\partial L/\partial Q = s\,(\partial
L/\partial S)K` and :math:`\partial L/\partial K = s\,(\partial L/\partial S)^\top Q`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from chainrule import ops as _ops
from chainrule.autodiff import composite, raw
from chainrule.errors import shape_str
from chainrule.nn.functional._checks import _check_number
from chainrule.nn.functional.linear_dropout import dropout
from chainrule.tensor import Tensor, as_tensor

__all__ = ["scaled_dot_product_attention"]


def attention_softmax(scores: Tensor, allowed: np.ndarray | None = None,
                      bias: Any = None) -> Tensor:
    r"""Softmax over the last axis (the keys) of ``scores + bias``, keeping only the
    entries where ``allowed`` holds (a boolean array that broadcasts to ``scores``).

    A row in which no key takes part (every entry masked, or −∞) gets weights 0, as
    PyTorch 2.13's ``scaled_dot_product_attention`` defines it: the plain softmax would be
    0/0 = nan there. Its gradient is 0 as well.
    """
    if bias is not None:
        scores = _ops.add(scores, bias)
    if allowed is not None:
        scores = _ops.where(allowed, scores, -np.inf)
    if allowed is None and bias is None:
        return _ops.softmax(scores, axis=-1)
    dead = np.all(np.isneginf(raw(scores)), axis=-1, keepdims=True)
    if not dead.any():
        return _ops.softmax(scores, axis=-1)
    # A dead row is given finite scores (any will do) and its weights are then zeroed: no
    # −∞ − (−∞) anywhere, so no nan in the value or in any derivative.
    weights = _ops.softmax(_ops.where(dead, 0.0, scores), axis=-1)
    return _ops.where(dead, 0.0, weights)


def attend(q: Tensor, k_t: Tensor, v: Tensor, allowed: np.ndarray | None, bias: Any,
           dropout_p: float = 0.0, training: bool = False) -> tuple[Tensor, Tensor]:
    r"""``(softmax(q @ k_t + bias)·drop @ v, weights)`` for an already scaled ``q`` and a
    key already transposed to ``(…, E, S)`` (the layers lay their heads out that way).
    The weights are returned after dropout, as PyTorch's ``MultiheadAttention`` does."""
    weights = attention_softmax(_ops.matmul(q, k_t), allowed, bias)
    if training and dropout_p > 0.0:
        weights = dropout(weights, dropout_p, training=True)
    return _ops.matmul(weights, v), weights


def _check_qkv(who: str, q: Tensor, k: Tensor, v: Tensor) -> None:
    for name, t in (("query", q), ("key", k), ("value", v)):
        if t.ndim < 2:
            raise ValueError(f"{who}: {name} must have at least 2 dimensions (…, length, "
                             f"features), got shape {shape_str(t.shape)}")
        if t.dtype.kind != "f":
            raise TypeError(f"{who}: {name} must be floating point, got dtype {t.dtype}")
    if q.shape[-1] != k.shape[-1]:
        raise ValueError(f"{who}: query of shape {shape_str(q.shape)} and key of shape "
                         f"{shape_str(k.shape)} differ in their feature size "
                         f"({q.shape[-1]} != {k.shape[-1]})")
    if k.shape[-2] != v.shape[-2]:
        raise ValueError(f"{who}: key of shape {shape_str(k.shape)} and value of shape "
                         f"{shape_str(v.shape)} differ in length ({k.shape[-2]} != "
                         f"{v.shape[-2]})")
    try:
        np.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2])
    except ValueError:
        raise ValueError(f"{who}: the leading (batch) axes of query {shape_str(q.shape)}, key "
                         f"{shape_str(k.shape)} and value {shape_str(v.shape)} do not "
                         "broadcast") from None


def split_mask(who: str, name: str, mask: Any, shape: tuple[int, ...], dtype: np.dtype,
               true_takes_part: bool = True) -> tuple[np.ndarray | None, Any]:
    r"""A mask as ``(allowed, bias)``: a boolean mask gives the array of entries that take
    part (``mask`` itself, or its negation when ``true_takes_part`` is False, as in
    ``MultiheadAttention``), a floating one an additive bias (a Tensor, so it may carry a
    gradient). Raises unless it broadcasts to ``shape``, the attention weights' shape."""
    if mask is None:
        return None, None
    m = as_tensor(mask, who)
    try:
        fits = np.broadcast_shapes(m.shape, shape) == tuple(shape)
    except ValueError:
        fits = False
    if not fits:
        raise ValueError(f"{who}: {name} of shape {shape_str(m.shape)} does not broadcast to "
                         f"the attention weights' shape {shape_str(shape)} (…, query length, "
                         "key length)")
    if m.dtype == np.bool_:
        allowed = np.asarray(m.data)
        return (allowed if true_takes_part else ~allowed), None
    if m.dtype.kind != "f":
        raise TypeError(f"{who}: {name} must be boolean or floating point, got dtype {m.dtype}")
    return None, (m if m.dtype == dtype else m.astype(dtype))


def causal_allowed(length: int, source_length: int) -> np.ndarray:
    r"""Query i may look at keys j ≤ i (PyTorch's upper-left-aligned lower triangle, also
    for a non-square L × S)."""
    return np.tril(np.ones((length, source_length), dtype=bool))


@composite("scaled_dot_product_attention")
def scaled_dot_product_attention(query: Any, key: Any, value: Any, attn_mask: Any = None,
                                 is_causal: bool = False, scale: float | None = None,
                                 *, dropout_p: float = 0.0) -> Tensor:
    r"""Attention :math:`\mathrm{softmax}(s\,QK^\top + B)\,V`, PyTorch's
    ``F.scaled_dot_product_attention``; the gradients are in the module docstring.

    Args:
        query: ``(…, L, E)``.
        key: ``(…, S, E)``.
        value: ``(…, S, Ev)``; the leading axes of the three broadcast together.
        attn_mask: a boolean mask, ``True`` where a query may look at a key (the opposite
            of ``MultiheadAttention``'s masks), or a floating mask added to the scores;
            either broadcasts to ``(…, L, S)``.
        is_causal: query i looks only at keys j ≤ i (not together with ``attn_mask``).
        scale: s, by default :math:`1/\sqrt E`.
        dropout_p: (keyword only) probability of dropping an attention weight.

    Returns:
        ``(…, L, Ev)``. A query row in which no key takes part is all zeros (PyTorch's
        definition), with zero gradient: no nan.

    Raises:
        ValueError: shapes that do not fit, or both ``attn_mask`` and ``is_causal``.
        TypeError: non-floating inputs, or a mask that is neither boolean nor floating.

    >>> import chainrule as cr
    >>> import chainrule.nn.functional as F
    >>> q = cr.tensor([[1.0, 0.0]]); k = cr.tensor([[1.0, 0.0], [0.0, 1.0]])
    >>> v = cr.tensor([[1.0], [3.0]])
    >>> F.scaled_dot_product_attention(q, k, v, scale=0.0).tolist()  # equal weights
    [[2.0]]
    """
    who = "scaled_dot_product_attention"
    q, k, v = (as_tensor(t, who) for t in (query, key, value))
    _check_qkv(who, q, k, v)
    if not isinstance(is_causal, (bool, np.bool_)):
        raise TypeError(f"{who}: is_causal must be a bool, got {is_causal!r} (dropout_p is "
                        "keyword-only here: dropout_p=…)")
    _check_number(who, "dropout_p", dropout_p)
    if not 0.0 <= dropout_p <= 1.0:
        raise ValueError(f"{who}: dropout_p must be in [0, 1], got {dropout_p}")
    length, source_length = q.shape[-2], k.shape[-2]
    batch = np.broadcast_shapes(q.shape[:-2], k.shape[:-2])
    allowed, bias = split_mask(who, "attn_mask", attn_mask, (*batch, length, source_length),
                               q.dtype)
    if is_causal:
        if attn_mask is not None:
            raise ValueError(f"{who}: pass either attn_mask or is_causal=True, not both "
                             "(put the causal mask into attn_mask)")
        allowed = causal_allowed(length, source_length)
    if scale is None:
        scale = 1.0 / math.sqrt(q.shape[-1]) if q.shape[-1] else 1.0
    _check_number(who, "scale", scale)
    # scaling the query (L×E numbers) costs less than scaling the scores (L×S)
    q_scaled = _ops.mul(q, float(scale))
    out, _ = attend(q_scaled, _ops.swapaxes(k, -1, -2), v, allowed, bias, dropout_p,
                    training=dropout_p > 0.0)
    return out
