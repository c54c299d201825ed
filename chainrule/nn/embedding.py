r"""``Embedding``: a learned lookup table from integer indices to vectors."""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule._config import get_default_dtype, no_grad
from chainrule.nn import init
from chainrule.nn.functional.embedding import _embedding, _padding_row
from chainrule.nn.module import Module
from chainrule.nn.parameter import Parameter
from chainrule.tensor import Tensor

__all__ = ["Embedding"]


def _positive(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"Embedding: {name} must be a positive int, got {value!r}")
    return int(value)


class Embedding(Module):
    r"""A table of ``num_embeddings`` vectors of size ``embedding_dim``; index i picks
    row i of ``weight`` (:func:`chainrule.nn.functional.embedding`).

    Derivative: row r of ``weight`` receives the sum of the gradients at every position
    whose index is r; the row ``padding_idx`` receives none (and starts at zero).

    Initialisation (PyTorch's): ``weight`` from :math:`\mathcal N(0, 1)`, the
    ``padding_idx`` row then set to zero; the draw comes from ``generator`` or the
    library's generator (``cr.manual_seed``).

    Args:
        num_embeddings: the number of rows (valid indices are 0 … num_embeddings − 1).
        embedding_dim: the size of each vector.
        padding_idx: a row kept out of training (negative counts from the end).
        dtype: floating dtype of ``weight`` (default: ``cr.get_default_dtype()``).
        generator: a ``numpy.random.Generator`` for the initial draw.

    Shape:
        - Input: integer indices of any shape ``(*)``.
        - Output: ``(*, embedding_dim)``; ``weight``: ``(num_embeddings, embedding_dim)``.

    >>> import chainrule as cr
    >>> from chainrule import nn
    >>> _ = cr.manual_seed(0)
    >>> emb = nn.Embedding(10, 3, padding_idx=0)
    >>> emb(cr.tensor([[0, 4, 4]])).shape, emb.weight[0].tolist()
    ((1, 3, 3), [0.0, 0.0, 0.0])
    """

    weight: Parameter

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None,
                 dtype: Any = None, generator: np.random.Generator | None = None) -> None:
        super().__init__()
        self.num_embeddings = _positive("num_embeddings", num_embeddings)
        self.embedding_dim = _positive("embedding_dim", embedding_dim)
        self.padding_idx = _padding_row("Embedding", padding_idx, self.num_embeddings)
        dtype = get_default_dtype() if dtype is None else np.dtype(dtype)
        if dtype.kind != "f":
            raise TypeError(f"Embedding: dtype must be floating, got {dtype}")
        self.weight = Parameter(np.empty((self.num_embeddings, self.embedding_dim), dtype))
        self.reset_parameters(generator)

    def reset_parameters(self, generator: np.random.Generator | None = None) -> None:
        r"""Redraw ``weight`` from :math:`\mathcal N(0, 1)` and zero the padding row."""
        init.normal_(self.weight, 0.0, 1.0, generator)
        if self.padding_idx is not None:
            with no_grad():
                self.weight[self.padding_idx] = 0.0

    def forward(self, input: Any) -> Tensor:
        return _embedding(f"Embedding({self.extra_repr()})", input, self.weight,
                          self.padding_idx)

    def extra_repr(self) -> str:
        padding = "" if self.padding_idx is None else f", padding_idx={self.padding_idx}"
        return f"{self.num_embeddings}, {self.embedding_dim}{padding}"
