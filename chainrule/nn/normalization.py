r"""Normalisation layers: ``BatchNorm1d``, ``BatchNorm2d`` and ``LayerNorm``, PyTorch's
arguments, parameter and buffer names and initialisation. The maths (and why batch
norm's gradient couples the examples of a batch) is in
:mod:`chainrule.nn.functional.normalization`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from chainrule._config import get_default_dtype, no_grad
from chainrule.errors import shape_str
from chainrule.nn import init
from chainrule.nn.functional.normalization import _batch_norm, _layer_norm, _shape_tuple
from chainrule.nn.module import Module
from chainrule.nn.parameter import Parameter
from chainrule.tensor import Tensor, as_tensor, wrap

__all__ = ["BatchNorm1d", "BatchNorm2d", "LayerNorm"]


def _floating(who: str, dtype: Any) -> np.dtype:
    dtype = get_default_dtype() if dtype is None else np.dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(f"{who}: dtype must be floating, got {dtype}")
    return dtype


class _BatchNorm(Module):
    _layouts: dict[int, str]

    num_features: int
    weight: Parameter | None
    bias: Parameter | None

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True, dtype: Any = None,
                 *, bias: bool = True) -> None:
        super().__init__()
        name = type(self).__name__
        if isinstance(num_features, bool) or not isinstance(num_features, (int, np.integer)) \
                or num_features < 1:
            raise ValueError(f"{name}: num_features must be a positive int, got "
                             f"{num_features!r}")
        if momentum is not None and not 0.0 <= momentum <= 1.0:
            raise ValueError(f"{name}: momentum must be in [0, 1] or None, got {momentum!r}")
        self.num_features = int(num_features)
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        dtype = _floating(name, dtype)
        if affine:
            self.weight = Parameter(np.ones(self.num_features, dtype=dtype))
            if bias:
                self.bias = Parameter(np.zeros(self.num_features, dtype=dtype))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", wrap(np.zeros(self.num_features, dtype)))
            self.register_buffer("running_var", wrap(np.ones(self.num_features, dtype)))
            self.register_buffer("num_batches_tracked", wrap(np.array(0, dtype=np.int64)))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def reset_running_stats(self) -> None:
        """Running mean 0, running variance 1, no batches seen."""
        if self.track_running_stats:
            with no_grad():
                self.running_mean.zero_()
                self.running_var.fill_(1.0)
                self.num_batches_tracked.zero_()

    def reset_parameters(self) -> None:
        """The running statistics reset, γ = 1 and β = 0."""
        self.reset_running_stats()
        if self.weight is not None:
            init.ones_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)

    def _check_input(self, x: Tensor) -> None:
        who = f"{type(self).__name__}({self.num_features})"
        if x.ndim not in self._layouts:
            layouts = " or ".join(self._layouts.values())
            raise ValueError(f"{who}: expected a {layouts} input, got shape "
                             f"{shape_str(x.shape)}")
        channels = x.shape[1]
        if channels != self.num_features:
            plural = "channel" if channels == 1 else "channels"
            raise ValueError(f"{who}: input of shape {shape_str(x.shape)} has {channels} "
                             f"{plural}, expected {self.num_features}")

    def forward(self, x: Any) -> Tensor:
        who = f"{type(self).__name__}({self.num_features})"
        x = as_tensor(x, who)
        self._check_input(x)
        # PyTorch's module logic: momentum None averages every batch so far equally
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            with no_grad():
                self.num_batches_tracked += 1
            if self.momentum is None:
                factor = 1.0 / self.num_batches_tracked.item()
        # eval uses the running statistics, unless none are tracked
        use_batch = self.training or (self.running_mean is None and self.running_var is None)
        track = not self.training or self.track_running_stats
        return _batch_norm(who, x, self.running_mean if track else None,
                           self.running_var if track else None, self.weight, self.bias,
                           use_batch, factor, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, bias={self.bias is not None}, "
                f"track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    r"""Batch normalisation of ``(N, C)`` or ``(N, C, L)`` inputs, per channel:
    :math:`y = \gamma (x - \mu)/\sqrt{\sigma^2 + \epsilon} + \beta`.

    In training μ and σ² are the batch's (over N, and L), and the buffers ``running_mean``
    and ``running_var`` follow them: :math:`\hat\mu \leftarrow (1-m)\hat\mu + m\mu` (σ²
    unbiased there), m = ``momentum``; ``momentum=None`` averages all batches so far
    equally (m = 1/``num_batches_tracked``). In evaluation (``model.eval()``) the running
    statistics are used instead, so one example's output no longer depends on the others.

    Initialisation (PyTorch's): ``weight`` (γ) ones, ``bias`` (β) zeros, running mean 0,
    running variance 1.

    Args:
        num_features: C.
        eps: ε, added to the variance.
        momentum: m, or None for the cumulative average.
        affine: learn γ and β.
        track_running_stats: keep running statistics (else batch statistics always).
        dtype: floating dtype of parameters and running statistics (default:
            ``cr.get_default_dtype()``).
        bias: learn β (with ``affine``).

    Shape:
        - Input: ``(N, C)`` or ``(N, C, L)``. Output: the same shape.

    >>> import chainrule as cr
    >>> from chainrule import nn
    >>> bn = nn.BatchNorm1d(2, momentum=0.5)
    >>> y = bn(cr.tensor([[1.0, 10.0], [3.0, 30.0]]))
    >>> [round(v, 3) for v in y[:, 0].tolist()], bn.running_mean.tolist()
    ([-1.0, 1.0], [1.0, 10.0])
    """

    _layouts = {2: "2-D (N, C)", 3: "3-D (N, C, L)"}


class BatchNorm2d(_BatchNorm):
    r"""Batch normalisation of ``(N, C, H, W)`` images, per channel over N, H and W (see
    :class:`BatchNorm1d` for the statistics, the buffers and the initialisation).

    Shape:
        - Input: ``(N, C, H, W)``. Output: the same shape.

    >>> import chainrule as cr
    >>> from chainrule import nn
    >>> nn.BatchNorm2d(16)
    BatchNorm2d(16, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True)
    """

    _layouts = {4: "4-D (N, C, H, W)"}


class LayerNorm(Module):
    r"""Layer normalisation over the last axes of each example,
    :math:`y = \gamma (x - \mu)/\sqrt{\sigma^2 + \epsilon} + \beta`, μ and biased σ² over
    ``normalized_shape``; the same in training and evaluation.

    Initialisation (PyTorch's): ``weight`` (γ) ones and ``bias`` (β) zeros, both of shape
    ``normalized_shape``.

    Args:
        normalized_shape: the trailing shape to normalise over (an int for one axis).
        eps: ε, added to the variance.
        elementwise_affine: learn γ (and β).
        bias: learn β (with ``elementwise_affine``).
        dtype: floating dtype of γ and β (default: ``cr.get_default_dtype()``).

    Shape:
        - Input: ``(*, *normalized_shape)``. Output: the same shape.

    >>> import chainrule as cr
    >>> from chainrule import nn
    >>> nn.LayerNorm(2, eps=0.0)(cr.tensor([[1.0, 3.0]])).tolist()
    [[-1.0, 1.0]]
    """

    weight: Parameter | None
    bias: Parameter | None

    def __init__(self, normalized_shape: int | Sequence[int], eps: float = 1e-5,
                 elementwise_affine: bool = True, bias: bool = True, dtype: Any = None
                 ) -> None:
        super().__init__()
        self.normalized_shape = _shape_tuple("LayerNorm", normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        dtype = _floating("LayerNorm", dtype)
        if elementwise_affine:
            self.weight = Parameter(np.ones(self.normalized_shape, dtype=dtype))
            if bias:
                self.bias = Parameter(np.zeros(self.normalized_shape, dtype=dtype))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def reset_parameters(self) -> None:
        """γ = 1 and β = 0."""
        if self.weight is not None:
            init.ones_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)

    def forward(self, x: Any) -> Tensor:
        who = f"LayerNorm({self.normalized_shape})"
        return _layer_norm(who, as_tensor(x, who), self.normalized_shape, self.weight,
                           self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}, bias={self.bias is not None}")
