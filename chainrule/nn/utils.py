r"""Gradient clipping, PyTorch's ``torch.nn.utils``: ``clip_grad_norm_`` and
``clip_grad_value_``. Call them between ``loss.backward()`` and ``optimizer.step()``.

Clipping by norm rescales all the gradients together, so their direction is kept:

.. math::
    \|g\|_p = \Big\| \big(\|g_1\|_p, \dots, \|g_k\|_p\big) \Big\|_p, \qquad
    g_i \leftarrow g_i \cdot \min\Big(1,\ \frac{\text{max\_norm}}{\|g\|_p + 10^{-6}}\Big),

the norm of the gradients viewed as one long vector (:math:`p = \infty`: the largest
:math:`|g|`). Clipping by value clamps every entry to ``[-clip_value, clip_value]``.
"""

from __future__ import annotations

import types
import warnings
from collections.abc import Iterable
from typing import Any

import numpy as np

from chainrule._config import get_default_dtype, no_grad
from chainrule.tensor import Tensor, wrap

__all__ = ["clip_grad_norm_", "clip_grad_value_"]


def _tensors(parameters: Any, op: str) -> list[Tensor]:
    """``parameters`` (a Tensor or an iterable of them) as a list, PyTorch's rule."""
    if isinstance(parameters, Tensor):
        return [parameters]
    if not isinstance(parameters, Iterable):
        raise TypeError(
            f"{op}: parameters must be a Tensor or an iterable of Tensors (e.g. "
            f"model.parameters()), got {type(parameters).__name__}"
        )
    is_generator = isinstance(parameters, types.GeneratorType)
    tensors = list(parameters)
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"{op}: parameters[{i}] is a {type(t).__name__}, not a Tensor")
    if is_generator and not tensors:
        # the classic slip: a model.parameters() generator already used up by the optimiser
        warnings.warn(f"{op}: `parameters` is an empty generator, no gradient clipping "
                      "will occur.", UserWarning, stacklevel=3)
    return tensors


def _number(value: Any, op: str, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{op}: {name} must be a number, got {value!r}")
    return float(value)


def _norm_order(norm_type: Any) -> float:
    if isinstance(norm_type, str):
        try:
            return float(norm_type)  # 'inf', as PyTorch allows
        except ValueError:
            pass
        raise ValueError(f"clip_grad_norm_: norm_type must be a number or 'inf', "
                         f"got {norm_type!r}")
    return _number(norm_type, "clip_grad_norm_", "norm_type")


def _vector_norm(array: np.ndarray, p: float) -> np.ndarray:
    """The p-norm of ``array`` viewed as one vector (0 for an empty one), in its dtype."""
    if array.size == 0:
        return np.zeros((), dtype=array.dtype)
    return np.asarray(np.linalg.norm(array.ravel(), ord=p), dtype=array.dtype)


def clip_grad_norm_(parameters: Tensor | Iterable[Tensor], max_norm: float,
                    norm_type: float | str = 2.0, error_if_nonfinite: bool = False) -> Tensor:
    r"""Rescale the gradients in place so that their total ``norm_type``-norm is at most
    ``max_norm``; returns the total norm *before* clipping.

    The total norm is the norm of the per-parameter norms (as if every gradient were
    concatenated into one vector); every gradient is multiplied by
    :math:`\min(1, \text{max\_norm}/(\text{total} + 10^{-6}))`. Parameters whose
    ``.grad`` is ``None`` are skipped.

    Args:
        parameters: a Tensor or an iterable of Tensors (``model.parameters()``).
        max_norm: the largest total norm allowed.
        norm_type: :math:`p` of the p-norm; ``float("inf")`` or ``"inf"`` for the largest
            absolute entry.
        error_if_nonfinite: raise when the total norm is ``nan`` or ``inf`` instead of
            scaling the gradients by it.

    Returns:
        The total norm, a 0-d Tensor of the gradients' dtype (``tensor(0.)`` when no
        parameter has a gradient).

    Raises:
        RuntimeError: ``error_if_nonfinite`` and the total norm is ``nan`` or ``inf``.

    >>> import chainrule as cr
    >>> w = cr.tensor([3.0, 4.0], requires_grad=True)
    >>> w.grad = cr.tensor([3.0, 4.0])
    >>> cr.nn.utils.clip_grad_norm_([w], max_norm=1.0)
    tensor(5.)
    >>> round(float((w.grad * w.grad).sum().sqrt().item()), 5)
    1.0
    """
    tensors = _tensors(parameters, "clip_grad_norm_")
    max_norm = _number(max_norm, "clip_grad_norm_", "max_norm")
    p = _norm_order(norm_type)
    grads = [t.grad for t in tensors if t.grad is not None]
    if not grads:
        return wrap(np.zeros((), dtype=get_default_dtype()))
    dtype = np.result_type(*[g.dtype for g in grads])
    norms = np.stack([_vector_norm(g.data, p).astype(dtype) for g in grads])
    total = _vector_norm(norms, p)
    if error_if_nonfinite and not np.isfinite(total):
        raise RuntimeError(
            f"clip_grad_norm_: the total norm of order {p} of the gradients is {total}, so "
            "they cannot be clipped (pass error_if_nonfinite=False to scale them by it "
            "anyway)"
        )
    # computed in the norm's dtype, as PyTorch does, then applied to each gradient
    coef = np.minimum(max_norm / (total + dtype.type(1e-6)), dtype.type(1.0))
    with no_grad():
        for g in grads:
            g.mul_(coef.item())
    return wrap(total)


def clip_grad_value_(parameters: Tensor | Iterable[Tensor], clip_value: float) -> None:
    r"""Clamp every gradient entry to ``[-clip_value, clip_value]``, in place.

    Args:
        parameters: a Tensor or an iterable of Tensors (``model.parameters()``); those
            whose ``.grad`` is ``None`` are skipped.
        clip_value: the largest absolute value allowed.

    >>> import chainrule as cr
    >>> w = cr.tensor([1.0, 1.0, 1.0], requires_grad=True)
    >>> w.grad = cr.tensor([-3.0, 0.5, 2.0])
    >>> cr.nn.utils.clip_grad_value_([w], clip_value=1.0)
    >>> w.grad.tolist()
    [-1.0, 0.5, 1.0]
    """
    tensors = _tensors(parameters, "clip_grad_value_")
    clip_value = _number(clip_value, "clip_grad_value_", "clip_value")
    with no_grad():
        for t in tensors:
            if t.grad is not None:
                t.grad.clip_(-clip_value, clip_value)
