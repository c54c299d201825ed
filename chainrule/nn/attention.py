r"""``nn.MultiheadAttention``: PyTorch's layer, parameter names and layouts, built on
:mod:`chainrule.nn.functional.attention`.

Each of the h heads projects the inputs to :math:`d = E/h` features and attends on its
own; the heads' outputs are laid side by side and mixed by ``out_proj``:

.. math:: \mathrm{head}_i = \mathrm{softmax}\!\left(\frac{(XW^Q_i)(YW^K_i)^\top}{\sqrt d}
          + B\right) ZW^V_i, \qquad
          \mathrm{out} = [\mathrm{head}_1, \dots, \mathrm{head}_h]\,W^{O\top} + b^O.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from chainrule import ops as _ops
from chainrule._config import get_default_dtype
from chainrule.errors import shape_str
from chainrule.nn import init
from chainrule.nn.functional import linear
from chainrule.nn.functional.attention import attend, causal_allowed, split_mask
from chainrule.nn.layers import Linear
from chainrule.nn.module import Module, Parameter
from chainrule.tensor import Tensor, as_tensor

__all__ = ["MultiheadAttention"]


def _size(who: str, name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"{who}: {name} must be a positive int, got {value!r}")
    return int(value)


def _join(allowed: list[np.ndarray | None], biases: list[Any]
          ) -> tuple[np.ndarray | None, Any]:
    """Both masks in one: a key takes part if both allow it; their biases add."""
    keep = [a for a in allowed if a is not None]
    add = [b for b in biases if b is not None]
    joined = None if not keep else keep[0] if len(keep) == 1 else keep[0] & keep[1]
    bias = None if not add else add[0] if len(add) == 1 else _ops.add(add[0], add[1])
    return joined, bias


def _pad_keys(allowed: np.ndarray | None, bias: Any, extra: int) -> tuple[Any, Any]:
    """The masks widened by ``extra`` keys that always take part (bias_k, the zero key)."""
    if allowed is not None:
        pad = [(0, 0)] * (allowed.ndim - 1) + [(0, extra)]
        allowed = np.pad(allowed, pad, constant_values=True)
    if bias is not None:
        zeros = np.zeros((*bias.shape[:-1], extra), dtype=bias.dtype)
        bias = _ops.concatenate(bias, zeros, axis=bias.ndim - 1)
    return allowed, bias


class MultiheadAttention(Module):
    r"""Multi-head attention, PyTorch's ``nn.MultiheadAttention`` (module docstring).

    Parameters, PyTorch's names and layouts: ``in_proj_weight`` ``(3E, E)`` (the rows of
    :math:`W^Q`, :math:`W^K`, :math:`W^V` stacked) and ``in_proj_bias`` ``(3E,)``; with
    ``kdim`` or ``vdim`` other than E, ``q_proj_weight`` ``(E, E)``, ``k_proj_weight``
    ``(E, kdim)`` and ``v_proj_weight`` ``(E, vdim)`` instead; ``out_proj``, a
    :class:`~chainrule.nn.Linear` ``(E, E)``; ``bias_k``, ``bias_v`` ``(1, 1, E)`` with
    ``add_bias_kv``. So ``state_dict()`` keys match PyTorch's.

    Initialisation (PyTorch's): the projection weights Xavier-uniform,
    :math:`\mathcal U(\pm\sqrt{6/(n_{in}+n_{out})})`; ``in_proj_bias`` and
    ``out_proj.bias`` zero; ``out_proj.weight`` as ``Linear``'s,
    :math:`\mathcal U(\pm 1/\sqrt E)`; ``bias_k``, ``bias_v`` Xavier-normal.

    Masks follow PyTorch's ``MultiheadAttention`` (the opposite of
    ``scaled_dot_product_attention``): a boolean ``True`` means "do not attend"; floats are
    added to the scores. A query row in which every key is masked gets zero weights and a
    zero output (PyTorch's ``scaled_dot_product_attention`` does the same; its
    ``need_weights=True`` path returns nan there).

    Args:
        embed_dim: E, the features of the query and of the output.
        num_heads: h; E must be divisible by h.
        dropout: probability of dropping an attention weight in training.
        bias: biases in the input and output projections.
        add_bias_kv: append a learned key and value (``bias_k``, ``bias_v``) to the
            sequence.
        add_zero_attn: append a key and value of zeros to every head.
        kdim, vdim: features of ``key`` and ``value`` (default E).
        batch_first: inputs and output are ``(N, L, E)`` rather than ``(L, N, E)``.
        dtype: floating dtype of the parameters (default: ``cr.get_default_dtype()``).
        generator: a ``numpy.random.Generator`` for the initial draws.

    Shape:
        - query ``(L, N, E)`` (``(N, L, E)`` with ``batch_first``, ``(L, E)`` unbatched);
          key ``(S, N, kdim)``, value ``(S, N, vdim)`` likewise.
        - key_padding_mask ``(N, S)`` (``(S,)`` unbatched); attn_mask ``(L, S)`` or
          ``(N·h, L, S)`` (``(h, L, S)`` unbatched).
        - output: like query; weights ``(N, L, S)`` averaged over the heads, else
          ``(N, h, L, S)`` (without N when unbatched).

    >>> import chainrule as cr
    >>> from chainrule import nn
    >>> _ = cr.manual_seed(0)
    >>> mha = nn.MultiheadAttention(8, 2, batch_first=True)
    >>> x = cr.randn(3, 5, 8)
    >>> out, weights = mha(x, x, x)
    >>> out.shape, weights.shape
    ((3, 5, 8), (3, 5, 5))
    """

    embed_dim: int
    num_heads: int
    head_dim: int
    kdim: int
    vdim: int
    dropout: float
    batch_first: bool
    add_zero_attn: bool
    in_proj_weight: Parameter | None
    in_proj_bias: Parameter | None
    q_proj_weight: Parameter | None
    k_proj_weight: Parameter | None
    v_proj_weight: Parameter | None
    bias_k: Parameter | None
    bias_v: Parameter | None
    out_proj: Linear

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 add_bias_kv: bool = False, add_zero_attn: bool = False,
                 kdim: int | None = None, vdim: int | None = None, batch_first: bool = False,
                 dtype: Any = None, generator: np.random.Generator | None = None) -> None:
        super().__init__()
        who = "MultiheadAttention"
        self.embed_dim = _size(who, "embed_dim", embed_dim)
        self.num_heads = _size(who, "num_heads", num_heads)
        if self.embed_dim % self.num_heads:
            raise ValueError(f"{who}: embed_dim {embed_dim} is not divisible by num_heads "
                             f"{num_heads} (each head gets embed_dim / num_heads features)")
        self.head_dim = self.embed_dim // self.num_heads
        self.kdim = self.embed_dim if kdim is None else _size(who, "kdim", kdim)
        self.vdim = self.embed_dim if vdim is None else _size(who, "vdim", vdim)
        self._qkv_same_embed_dim = self.kdim == self.embed_dim and self.vdim == self.embed_dim
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) \
                or not 0.0 <= dropout <= 1.0:
            raise ValueError(f"{who}: dropout must be a probability in [0, 1], got {dropout!r}")
        self.dropout = float(dropout)
        self.batch_first = bool(batch_first)
        self.add_zero_attn = bool(add_zero_attn)
        dtype = get_default_dtype() if dtype is None else np.dtype(dtype)
        if dtype.kind != "f":
            raise TypeError(f"{who}: dtype must be floating, got {dtype}")
        E = self.embed_dim

        def empty(*shape: int) -> Parameter:
            return Parameter(np.zeros(shape, dtype=dtype))

        if self._qkv_same_embed_dim:
            self.in_proj_weight = empty(3 * E, E)
            for name in ("q_proj_weight", "k_proj_weight", "v_proj_weight"):
                self.register_parameter(name, None)
        else:
            self.q_proj_weight = empty(E, E)
            self.k_proj_weight = empty(E, self.kdim)
            self.v_proj_weight = empty(E, self.vdim)
            self.register_parameter("in_proj_weight", None)
        if bias:
            self.in_proj_bias = empty(3 * E)
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = Linear(E, E, bias=bias, dtype=dtype, generator=generator)
        if add_bias_kv:
            self.bias_k = empty(1, 1, E)
            self.bias_v = empty(1, 1, E)
        else:
            self.register_parameter("bias_k", None)
            self.register_parameter("bias_v", None)
        self._reset_parameters(generator)

    def _reset_parameters(self, generator: np.random.Generator | None = None) -> None:
        """PyTorch's ``_reset_parameters`` (``out_proj.weight`` keeps Linear's draw)."""
        for w in (self.in_proj_weight, self.q_proj_weight, self.k_proj_weight,
                  self.v_proj_weight):
            if w is not None:
                init.xavier_uniform_(w, generator=generator)
        if self.in_proj_bias is not None:
            init.zeros_(self.in_proj_bias)
        if self.out_proj.bias is not None:
            init.zeros_(self.out_proj.bias)
        for b in (self.bias_k, self.bias_v):
            if b is not None:
                init.xavier_normal_(b, generator=generator)

    # ------------------------------------------------------------ forward
    def _who(self) -> str:
        return f"MultiheadAttention(embed_dim={self.embed_dim}, num_heads={self.num_heads})"

    def _batch_major(self, query: Tensor, key: Tensor, value: Tensor
                     ) -> tuple[Tensor, Tensor, Tensor, bool]:
        """The inputs as ``(N, length, features)``, checked; and whether they were batched."""
        who = self._who()
        batched = query.ndim == 3
        if query.ndim not in (2, 3) or key.ndim != query.ndim or value.ndim != query.ndim:
            raise ValueError(f"{who}: query, key and value must all be 3-D (batched) or all "
                             f"2-D (unbatched), got shapes {shape_str(query.shape)}, "
                             f"{shape_str(key.shape)} and {shape_str(value.shape)}")
        for name, t, want in (("query", query, self.embed_dim), ("key", key, self.kdim),
                              ("value", value, self.vdim)):
            if t.shape[-1] != want:
                raise ValueError(f"{who}: {name} of shape {shape_str(t.shape)} has "
                                 f"{t.shape[-1]} features, expected {want}")
        if not batched:
            query, key, value = (_ops.reshape(t, shape=(1, *t.shape))
                                 for t in (query, key, value))
        elif not self.batch_first:
            query, key, value = (_ops.swapaxes(t, 0, 1) for t in (query, key, value))
        if key.shape[:2] != value.shape[:2] or key.shape[0] != query.shape[0]:
            raise ValueError(f"{who}: query, key and value disagree in batch size or key "
                             f"length: shapes {shape_str(query.shape)}, "
                             f"{shape_str(key.shape)} and {shape_str(value.shape)} "
                             "(as (N, length, features))")
        return query, key, value, batched

    def _weights(self) -> tuple[Tensor, Tensor, Tensor]:
        if self.in_proj_weight is not None:
            E = self.embed_dim
            w = self.in_proj_weight
            return w[:E], w[E:2 * E], w[2 * E:]
        assert self.q_proj_weight is not None and self.k_proj_weight is not None
        assert self.v_proj_weight is not None
        return self.q_proj_weight, self.k_proj_weight, self.v_proj_weight

    def _masks(self, key_padding_mask: Any, attn_mask: Any, is_causal: bool, n: int,
               length: int, source: int, dtype: np.dtype, batched: bool
               ) -> tuple[np.ndarray | None, Any]:
        """(allowed, bias) for weights of shape (N, h, L, S), PyTorch's mask shapes."""
        who, h = self._who(), self.num_heads
        if attn_mask is None and is_causal:
            attn_mask = ~causal_allowed(length, source)
        parts = []
        if attn_mask is not None:
            mask = as_tensor(attn_mask, who)
            heads = (n * h, length, source) if batched else (h, length, source)
            if mask.shape not in ((length, source), heads):
                raise ValueError(f"{who}: attn_mask of shape {shape_str(mask.shape)} does not "
                                 f"fit query length {length} and key length {source} "
                                 f"(expected {shape_str((length, source))} or "
                                 f"{shape_str(heads)})")
            if mask.ndim == 3:
                mask = _ops.reshape(mask, shape=(n, h, length, source))
            parts.append(split_mask(who, "attn_mask", mask, (n, h, length, source), dtype,
                                    true_takes_part=False))
        if key_padding_mask is not None:
            mask = as_tensor(key_padding_mask, who)
            expected = (n, source) if batched else (source,)
            if mask.shape != expected:
                raise ValueError(f"{who}: key_padding_mask of shape {shape_str(mask.shape)} "
                                 f"does not fit key length {source}"
                                 f"{f' and batch size {n}' if batched else ''} (expected "
                                 f"{shape_str(expected)})")
            mask = _ops.reshape(mask, shape=(n, 1, 1, source))
            parts.append(split_mask(who, "key_padding_mask", mask, (n, h, length, source),
                                    dtype, true_takes_part=False))
        return _join([p[0] for p in parts], [p[1] for p in parts])

    def forward(self, query: Any, key: Any, value: Any, key_padding_mask: Any = None,
                need_weights: bool = True, attn_mask: Any = None,
                average_attn_weights: bool = True, is_causal: bool = False
                ) -> tuple[Tensor, Tensor | None]:
        r"""Attend from ``query`` to ``key``/``value``; returns ``(output, weights)``.

        ``is_causal=True`` with ``attn_mask`` is PyTorch's hint that the mask is causal
        (the mask is used); without one, the causal mask is built here (PyTorch raises).
        ``weights`` is None when ``need_weights`` is False.
        """
        who = self._who()
        x_q, x_k, x_v, batched = self._batch_major(
            *(as_tensor(t, who) for t in (query, key, value)))
        n, length, source = x_q.shape[0], x_q.shape[1], x_k.shape[1]
        E, h, d = self.embed_dim, self.num_heads, self.head_dim
        w_q, w_k, w_v = self._weights()
        b = self.in_proj_bias
        b_q, b_k, b_v = (None, None, None) if b is None else (b[:E], b[E:2 * E], b[2 * E:])
        # q/√d as x(W_q/√d)ᵀ + b_q/√d: scaling the (E, E) weight, not the (N, L, E) queries
        scale = 1.0 / math.sqrt(d)
        q = linear(x_q, _ops.mul(w_q, scale), None if b_q is None else _ops.mul(b_q, scale))
        k, v = linear(x_k, w_k, b_k), linear(x_v, w_v, b_v)
        allowed, bias = self._masks(key_padding_mask, attn_mask, is_causal, n, length, source,
                                    q.dtype, batched)
        if self.bias_k is not None and self.bias_v is not None:
            k = _ops.concatenate(k, _ops.expand(self.bias_k, shape=(n, 1, E)), axis=1)
            v = _ops.concatenate(v, _ops.expand(self.bias_v, shape=(n, 1, E)), axis=1)
            source += 1
            allowed, bias = _pad_keys(allowed, bias, 1)
        # heads: q (N, h, L, d), k as (N, h, d, S) for q @ k, v (N, h, S, d)
        q = _ops.transpose(_ops.reshape(q, shape=(n, length, h, d)), axes=(0, 2, 1, 3))
        k_t = _ops.transpose(_ops.reshape(k, shape=(n, source, h, d)), axes=(0, 2, 3, 1))
        v = _ops.transpose(_ops.reshape(v, shape=(n, source, h, d)), axes=(0, 2, 1, 3))
        if self.add_zero_attn:
            k_t = _ops.concatenate(k_t, np.zeros((n, h, d, 1), dtype=k_t.dtype), axis=3)
            v = _ops.concatenate(v, np.zeros((n, h, 1, d), dtype=v.dtype), axis=2)
            allowed, bias = _pad_keys(allowed, bias, 1)
        heads, weights = attend(q, k_t, v, allowed, bias, self.dropout, self.training)
        out = self.out_proj(
            _ops.reshape(_ops.transpose(heads, axes=(0, 2, 1, 3)), shape=(n, length, E)))
        if not batched:
            out = _ops.reshape(out, shape=out.shape[1:])
        elif not self.batch_first:
            out = _ops.swapaxes(out, 0, 1)
        if not need_weights:
            return out, None
        if average_attn_weights:
            weights = _ops.mean(weights, axis=1)
        if not batched:
            weights = _ops.reshape(weights, shape=weights.shape[1:])
        return out, weights

    def extra_repr(self) -> str:
        """``embed_dim=…, num_heads=…, batch_first=…``."""
        return (f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, "
                f"batch_first={self.batch_first}")
