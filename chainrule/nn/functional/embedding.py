r"""``embedding``: rows of a weight matrix picked by integer indices (a lookup table)."""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule import batching
from chainrule import ops as _ops
from chainrule.autodiff import Traced, composite
from chainrule.errors import shape_str
from chainrule.tensor import Tensor, as_tensor


def _indices(who: str, input: Any, rows: int) -> np.ndarray:
    """The indices as an integer array, each in [0, rows)."""
    index = input.data if isinstance(input, Traced) else np.asarray(input)
    if index.dtype.kind not in "iu":
        raise TypeError(f"{who}: indices must be integers, got dtype {index.dtype} (convert "
                        "them with .astype('int64'))")
    if index.size:
        low, high = int(index.min()), int(index.max())
        if low < 0 or high >= rows:
            bad = low if low < 0 else high
            raise IndexError(f"{who}: index {bad} is out of range for {rows} embeddings "
                             f"(valid: 0 to {rows - 1})")
    return index


def _padding_row(who: str, padding_idx: Any, rows: int) -> int | None:
    """``padding_idx`` as a row number (negative counts from the end), or None."""
    if padding_idx is None:
        return None
    if isinstance(padding_idx, bool) or not isinstance(padding_idx, (int, np.integer)):
        raise TypeError(f"{who}: padding_idx must be an int or None, got {padding_idx!r}")
    if not -rows <= padding_idx < rows:
        raise ValueError(f"{who}: padding_idx {padding_idx} is out of range for {rows} "
                         f"embeddings (valid: {-rows} to {rows - 1})")
    return int(padding_idx) % rows


@composite("embedding")
def embedding(input: Any, weight: Any, padding_idx: int | None = None) -> Tensor:
    r"""Look up rows of ``weight``: :math:`y_{\dots,:} = W_{i_{\dots},:}`.

    Derivative: :math:`\partial L/\partial W_r = \sum_{\text{positions with } i = r} g`
    (an index that repeats accumulates its gradients); the row ``padding_idx`` receives
    none, although its value is looked up like any other.

    Args:
        input: integer indices, any shape (a Tensor, array or list).
        weight: ``(num_embeddings, embedding_dim)``.
        padding_idx: a row that gets no gradient (negative counts from the end).

    Returns:
        ``(*input.shape, embedding_dim)``.

    Raises:
        TypeError: the indices are not integers.
        IndexError: an index outside ``[0, num_embeddings)``.

    >>> import chainrule as cr
    >>> import chainrule.nn.functional as F
    >>> w = cr.tensor([[0.0, 0.0], [1.0, 2.0], [3.0, 4.0]])
    >>> F.embedding(cr.tensor([2, 1, 2]), w).tolist()
    [[3.0, 4.0], [1.0, 2.0], [3.0, 4.0]]
    """
    return _embedding("embedding", input, weight, padding_idx)


def _embedding(who: str, input: Any, weight: Any, padding_idx: int | None) -> Tensor:
    """:func:`embedding`, its errors naming ``who`` (the function or a layer)."""
    w = as_tensor(weight, who)
    if w.ndim != 2:
        raise ValueError(f"{who}: weight must be 2-D (num_embeddings, embedding_dim), got "
                         f"shape {shape_str(w.shape)}")
    rows = w.shape[0]
    if batching.is_batched(input):  # under vmap: each example's indices (a gather)
        _indices(who, batching.values_for_checks(input), rows)
        if padding_idx is not None:
            _padding_row(who, padding_idx, rows)
        return w[input]
    index = _indices(who, input, rows)
    pad = _padding_row(who, padding_idx, rows)
    out = _ops.getitem(w, index=index)
    if pad is None:
        return out
    looked_up = index[..., None] != pad
    if looked_up.all():
        return out
    # the padding row's value, as a constant: the gradient of those positions stops here
    return _ops.where(looked_up, out, w.data[index])
