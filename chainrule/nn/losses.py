r"""The loss modules, ``nn.MSELoss`` … ``nn.NLLLoss``: each stores its options and calls its
functional form in :mod:`chainrule.nn.functional`, where the formula and its derivative
are documented.

``reduction`` picks what is returned: ``"mean"`` (the default) averages the per-element
losses, ``"sum"`` adds them, ``"none"`` returns them unreduced.
"""

from __future__ import annotations

from typing import Any

from chainrule.nn import functional as F
from chainrule.nn.functional._checks import _check_reduction
from chainrule.nn.module import Module
from chainrule.tensor import Tensor, as_tensor

__all__ = [
    "BCELoss", "BCEWithLogitsLoss", "CrossEntropyLoss", "HuberLoss", "L1Loss", "MSELoss",
    "NLLLoss",
]


class _Loss(Module):
    """Base of the loss modules: stores ``reduction`` and checks it at construction."""

    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        _check_reduction(type(self).__name__, reduction)
        self.reduction = reduction


def _constant_attr(value: Any) -> Tensor | None:
    """A class weight kept as a plain (unregistered) tensor, like PyTorch's buffer."""
    return None if value is None else as_tensor(value)


class MSELoss(_Loss):
    r"""Module form of :func:`F.mse_loss`: :math:`\frac1n\sum_i(\hat y_i-y_i)^2`."""

    def forward(self, input: Any, target: Any) -> Tensor:
        return F.mse_loss(input, target, reduction=self.reduction)


class L1Loss(_Loss):
    r"""Module form of :func:`F.l1_loss`: :math:`\frac1n\sum_i|\hat y_i-y_i|`."""

    def forward(self, input: Any, target: Any) -> Tensor:
        return F.l1_loss(input, target, reduction=self.reduction)


class HuberLoss(_Loss):
    r"""Module form of :func:`F.huber_loss` with threshold ``delta``."""

    def __init__(self, reduction: str = "mean", delta: float = 1.0) -> None:
        super().__init__(reduction)
        self.delta = delta

    def forward(self, input: Any, target: Any) -> Tensor:
        return F.huber_loss(input, target, reduction=self.reduction, delta=self.delta)


class BCELoss(_Loss):
    r"""Module form of :func:`F.binary_cross_entropy` (probabilities in)."""

    def __init__(self, weight: Any = None, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.weight: Tensor | None = _constant_attr(weight)

    def forward(self, input: Any, target: Any) -> Tensor:
        return F.binary_cross_entropy(input, target, weight=self.weight,
                                      reduction=self.reduction)


class BCEWithLogitsLoss(_Loss):
    r"""Module form of :func:`F.binary_cross_entropy_with_logits` (logits in, stable)."""

    def __init__(self, weight: Any = None, reduction: str = "mean",
                 pos_weight: Any = None) -> None:
        super().__init__(reduction)
        self.weight: Tensor | None = _constant_attr(weight)
        self.pos_weight: Tensor | None = _constant_attr(pos_weight)

    def forward(self, input: Any, target: Any) -> Tensor:
        return F.binary_cross_entropy_with_logits(
            input, target, weight=self.weight, reduction=self.reduction,
            pos_weight=self.pos_weight,
        )


class CrossEntropyLoss(_Loss):
    r"""Module form of :func:`F.cross_entropy` (logits and integer class targets)."""

    def __init__(self, weight: Any = None, ignore_index: int = -100, reduction: str = "mean",
                 label_smoothing: float = 0.0) -> None:
        super().__init__(reduction)
        self.weight: Tensor | None = _constant_attr(weight)
        self.ignore_index = ignore_index
        self.label_smoothing = label_smoothing

    def forward(self, input: Any, target: Any) -> Tensor:
        return F.cross_entropy(input, target, weight=self.weight,
                               ignore_index=self.ignore_index, reduction=self.reduction,
                               label_smoothing=self.label_smoothing)


class NLLLoss(_Loss):
    r"""Module form of :func:`F.nll_loss` (log-probabilities and integer class targets)."""

    def __init__(self, weight: Any = None, ignore_index: int = -100,
                 reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.weight: Tensor | None = _constant_attr(weight)
        self.ignore_index = ignore_index

    def forward(self, input: Any, target: Any) -> Tensor:
        return F.nll_loss(input, target, weight=self.weight, ignore_index=self.ignore_index,
                          reduction=self.reduction)
