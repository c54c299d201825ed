r"""``nn.TransformerEncoderLayer`` and ``nn.TransformerEncoder``: PyTorch's layers,
arguments and submodule names (so ``state_dict()`` keys match), built from
:class:`~chainrule.nn.MultiheadAttention`, ``Linear``, ``LayerNorm`` and ``Dropout``.

One layer is self-attention then a position-wise feed-forward network, each with a
residual connection and layer norm (Vaswani et al., 2017):

.. math:: x \leftarrow \mathrm{LN}_1(x + \mathrm{SA}(x)), \qquad
          x \leftarrow \mathrm{LN}_2(x + W_2\,\phi(W_1 x + b_1) + b_2)

(``norm_first=True`` normalises before each block instead:
:math:`x \leftarrow x + \mathrm{SA}(\mathrm{LN}_1(x))`, …). The residual path is why
deep stacks train: :math:`\partial x_{out}/\partial x_{in} = I + \partial\,\mathrm{block}/
\partial x_{in}` passes the gradient on even where the block's Jacobian is small.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import numpy as np

from chainrule import ops as _ops
from chainrule.errors import shape_str
from chainrule.nn import functional as F
from chainrule.nn.attention import MultiheadAttention
from chainrule.nn.containers import ModuleList
from chainrule.nn.layers import Dropout, Linear
from chainrule.nn.module import Module
from chainrule.nn.normalization import LayerNorm
from chainrule.tensor import Tensor, as_tensor

__all__ = ["TransformerEncoder", "TransformerEncoderLayer"]

_ACTIVATIONS: dict[str, Callable[[Any], Tensor]] = {"relu": F.relu, "gelu": F.gelu}


def _activation(who: str, activation: Any) -> Callable[[Any], Tensor]:
    if isinstance(activation, str):
        if activation not in _ACTIVATIONS:
            raise ValueError(f"{who}: activation must be 'relu', 'gelu' or a callable, got "
                             f"{activation!r}")
        return _ACTIVATIONS[activation]
    if not callable(activation):
        raise TypeError(f"{who}: activation must be 'relu', 'gelu' or a callable, got "
                        f"{type(activation).__name__}")
    return activation


class TransformerEncoderLayer(Module):
    r"""Self-attention and a feed-forward network, each with a residual connection and
    layer norm (module docstring); PyTorch's ``nn.TransformerEncoderLayer``.

    Submodules, PyTorch's names: ``self_attn`` (:class:`MultiheadAttention`), ``linear1``
    (d_model → dim_feedforward), ``dropout``, ``linear2`` (back to d_model), ``norm1``,
    ``norm2``, ``dropout1``, ``dropout2``; each initialised as that layer is.

    Args:
        d_model: E, the features of each position.
        nhead: attention heads (E must be divisible by it).
        dim_feedforward: hidden width of the feed-forward network.
        dropout: dropout probability, applied (in training) to the attention weights,
            to the attention's output, inside the feed-forward network and to its output.
        activation: ``"relu"``, ``"gelu"`` or a callable.
        layer_norm_eps: ε of both layer norms.
        batch_first: ``(N, L, E)`` rather than ``(L, N, E)``.
        norm_first: normalise before each block (pre-LN) rather than after it.
        bias: biases in the linear layers and the layer norms.
        dtype: floating dtype of the parameters.
        generator: a ``numpy.random.Generator`` for the initial draws.

    Shape:
        - src: ``(L, N, E)``, ``(N, L, E)`` with ``batch_first``, or ``(L, E)``.
        - output: the same shape.

    >>> import chainrule as cr
    >>> from chainrule import nn
    >>> _ = cr.manual_seed(0)
    >>> layer = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, batch_first=True)
    >>> layer(cr.randn(3, 5, 8)).shape
    (3, 5, 8)
    """

    d_model: int
    nhead: int
    activation: Callable[[Any], Tensor]
    self_attn: MultiheadAttention
    linear1: Linear
    dropout: Dropout
    linear2: Linear
    norm_first: bool
    norm1: LayerNorm
    norm2: LayerNorm
    dropout1: Dropout
    dropout2: Dropout
    batch_first: bool

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048,
                 dropout: float = 0.1, activation: str | Callable[[Any], Any] = "relu",
                 layer_norm_eps: float = 1e-5, batch_first: bool = False,
                 norm_first: bool = False, bias: bool = True, dtype: Any = None,
                 generator: np.random.Generator | None = None) -> None:
        super().__init__()
        who = "TransformerEncoderLayer"
        for name, value in (("d_model", d_model), ("nhead", nhead),
                            ("dim_feedforward", dim_feedforward)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{who}: {name} must be a positive int, got {value!r}")
        if d_model % nhead:
            raise ValueError(f"{who}: d_model {d_model} is not divisible by nhead {nhead} "
                             "(each head gets d_model / nhead features)")
        self.d_model, self.nhead = int(d_model), int(nhead)
        self.activation = _activation(who, activation)
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias,
                                            batch_first=batch_first, dtype=dtype,
                                            generator=generator)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, dtype=dtype,
                              generator=generator)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, dtype=dtype,
                              generator=generator)
        self.norm_first = bool(norm_first)
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        self.batch_first = bool(batch_first)

    def _sa_block(self, x: Tensor, attn_mask: Any, key_padding_mask: Any, is_causal: bool
                  ) -> Tensor:
        out, _ = self.self_attn(x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask,
                                need_weights=False, is_causal=is_causal)
        return self.dropout1(out)

    def _ff_block(self, x: Tensor) -> Tensor:
        return self.dropout2(self.linear2(self.dropout(self.activation(self.linear1(x)))))

    def forward(self, src: Any, src_mask: Any = None, src_key_padding_mask: Any = None,
                is_causal: bool = False) -> Tensor:
        r"""The layer on ``src``; the masks as :class:`MultiheadAttention`'s ``attn_mask``
        and ``key_padding_mask`` (boolean ``True`` = do not attend, floats added)."""
        who = f"TransformerEncoderLayer(d_model={self.d_model}, nhead={self.nhead})"
        x = as_tensor(src, who)
        if x.ndim not in (2, 3) or x.shape[-1] != self.d_model:
            raise ValueError(f"{who}: src of shape {shape_str(x.shape)} does not fit: expected "
                             f"(L, N, {self.d_model}), (N, L, {self.d_model}) with "
                             f"batch_first, or (L, {self.d_model})")
        if self.norm_first:
            x = _ops.add(x, self._sa_block(self.norm1(x), src_mask, src_key_padding_mask,
                                           is_causal))
            return _ops.add(x, self._ff_block(self.norm2(x)))
        x = self.norm1(_ops.add(x, self._sa_block(x, src_mask, src_key_padding_mask,
                                                  is_causal)))
        return self.norm2(_ops.add(x, self._ff_block(x)))


class TransformerEncoder(Module):
    r"""``num_layers`` copies of ``encoder_layer`` applied in turn, then ``norm`` if given;
    PyTorch's ``nn.TransformerEncoder``.

    The layers are deep copies (``layers.0``, ``layers.1``, …, as in PyTorch), so they start
    from the same weights and then train apart.

    Args:
        encoder_layer: a :class:`TransformerEncoderLayer` (any module taking
            ``(src, src_mask=…, src_key_padding_mask=…, is_causal=…)``).
        num_layers: how many copies.
        norm: a module applied to the last layer's output (e.g. a ``LayerNorm``), or None.
        enable_nested_tensor, mask_check: accepted for PyTorch's signature; they select
            PyTorch's fast paths and change no value here.

    Shape:
        - src and output as the layer's.
    """

    layers: ModuleList
    num_layers: int

    def __init__(self, encoder_layer: Module, num_layers: int, norm: Module | None = None,
                 enable_nested_tensor: bool = True, mask_check: bool = True) -> None:
        super().__init__()
        if not isinstance(encoder_layer, Module):
            raise TypeError(f"TransformerEncoder: encoder_layer must be an nn.Module, got "
                            f"{type(encoder_layer).__name__}")
        if isinstance(num_layers, bool) or not isinstance(num_layers, (int, np.integer)) \
                or num_layers < 1:
            raise ValueError(f"TransformerEncoder: num_layers must be a positive int, got "
                             f"{num_layers!r}")
        self.layers = ModuleList(copy.deepcopy(encoder_layer) for _ in range(int(num_layers)))
        self.num_layers = int(num_layers)
        self.add_module("norm", norm)  # None is kept as an empty slot, as in PyTorch

    def forward(self, src: Any, mask: Any = None, src_key_padding_mask: Any = None,
                is_causal: bool | None = None) -> Tensor:
        r"""Each layer on the previous one's output, with the same masks."""
        x = as_tensor(src, "TransformerEncoder")
        for layer in self.layers:
            x = layer(x, src_mask=mask, src_key_padding_mask=src_key_padding_mask,
                      is_causal=bool(is_causal))
        norm = self._modules["norm"]
        return x if norm is None else norm(x)
