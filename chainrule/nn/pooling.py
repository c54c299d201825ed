r"""Pooling layers: ``MaxPool1d``, ``MaxPool2d``, ``AvgPool1d``, ``AvgPool2d`` and
``AdaptiveAvgPool2d``, PyTorch's arguments. They have no parameters; each ``forward``
calls :mod:`chainrule.nn.functional.pooling`, where the windows, output sizes and
derivatives are documented, with errors that name the layer.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from chainrule.nn.functional.pooling import _adaptive_avg, _pool_avg, _pool_max
from chainrule.nn.module import Module
from chainrule.tensor import Tensor, as_tensor

__all__ = ["AdaptiveAvgPool2d", "AvgPool1d", "AvgPool2d", "MaxPool1d", "MaxPool2d"]

IntOrTuple = int | Sequence[int]


def _single(value: Any) -> Any:
    """PyTorch's AvgPool1d keeps its sizes as 1-tuples."""
    return (value,) if isinstance(value, int) else tuple(value)


class _MaxPoolNd(Module):
    _nd: int

    def __init__(self, kernel_size: IntOrTuple, stride: IntOrTuple | None = None,
                 padding: IntOrTuple = 0, dilation: IntOrTuple = 1,
                 return_indices: bool = False, ceil_mode: bool = False) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.dilation = dilation
        self.return_indices = return_indices
        self.ceil_mode = ceil_mode

    def forward(self, x: Any) -> Any:
        who = f"{type(self).__name__}({self.extra_repr()})"
        return _pool_max(who, self._nd, x, self.kernel_size, self.stride, self.padding,
                         self.dilation, self.ceil_mode, self.return_indices)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class MaxPool1d(_MaxPoolNd):
    r"""Max pooling over the last axis (see :func:`chainrule.nn.functional.max_pool1d`):
    :math:`y_{n,c,o} = \max_{j<k} x_{n,c,\,os+jd-p}`; the gradient goes to each window's
    first maximum.

    Args:
        kernel_size: the window length k.
        stride: the step s between windows (default: ``kernel_size``).
        padding: −∞ on both ends, at most half the window.
        dilation: the spacing d between a window's elements.
        return_indices: return ``(values, indices)``, the indices (int64, shaped as the
            output) locating each maximum in its (N, C) row of the input, as PyTorch.
        ceil_mode: round the output length up.

    Shape:
        - Input: ``(N, C, L)`` or ``(C, L)``.
        - Output: ``(N, C, L_out)``, :math:`L_{out} = \lfloor (L + 2p - d(k-1) - 1)/s
          \rfloor + 1`.

    >>> import chainrule as cr
    >>> from chainrule import nn
    >>> nn.MaxPool1d(2)(cr.tensor([[[1.0, 3.0, 2.0, 5.0]]])).tolist()
    [[[3.0, 5.0]]]
    >>> nn.MaxPool1d(2, return_indices=True)(cr.tensor([[[1.0, 3.0, 2.0, 5.0]]]))[1].tolist()
    [[[1, 3]]]
    """

    _nd = 1


class MaxPool2d(_MaxPoolNd):
    r"""Max pooling over the last two axes (see
    :func:`chainrule.nn.functional.max_pool2d`); the gradient goes to each window's first
    maximum in row-major order.

    Args:
        kernel_size, stride, padding, dilation: an int or an ``(H, W)`` pair each;
            ``stride`` defaults to ``kernel_size``; padding (−∞) at most half the window.
        return_indices: return ``(values, indices)``, the indices (int64, shaped as the
            output) locating each maximum in its (N, C) plane of the input flattened
            (``row·W + column``), as PyTorch.
        ceil_mode: round the output size up.

    Shape:
        - Input: ``(N, C, H, W)`` or ``(C, H, W)``.
        - Output: ``(N, C, H_out, W_out)``, each size as for :class:`MaxPool1d`.

    >>> import chainrule as cr
    >>> from chainrule import nn
    >>> nn.MaxPool2d(2)(cr.ones(8, 3, 28, 28)).shape
    (8, 3, 14, 14)
    """

    _nd = 2


class AvgPool1d(Module):
    r"""Average pooling over the last axis (see :func:`chainrule.nn.functional.avg_pool1d`):
    :math:`y_{n,c,o} = \frac1k\sum_{j<k} x_{n,c,\,os+j-p}`; each element of a window gets
    g/count.

    Args:
        kernel_size: the window length k.
        stride: the step s between windows (default: ``kernel_size``).
        padding: zeros on both ends, at most half the window.
        ceil_mode: round the output length up.
        count_include_pad: count the padding in each window's divisor.

    Shape:
        - Input: ``(N, C, L)`` or ``(C, L)``.
        - Output: ``(N, C, L_out)``, :math:`L_{out} = \lfloor (L + 2p - k)/s \rfloor + 1`.
    """

    def __init__(self, kernel_size: IntOrTuple, stride: IntOrTuple | None = None,
                 padding: IntOrTuple = 0, ceil_mode: bool = False,
                 count_include_pad: bool = True) -> None:
        super().__init__()
        self.kernel_size = _single(kernel_size)
        self.stride = _single(stride if stride is not None else kernel_size)
        self.padding = _single(padding)
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad

    def forward(self, x: Any) -> Tensor:
        return _pool_avg(f"AvgPool1d({self.extra_repr()})", 1, x, self.kernel_size,
                         self.stride, self.padding, self.ceil_mode, self.count_include_pad,
                         None)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool2d(Module):
    r"""Average pooling over the last two axes (see
    :func:`chainrule.nn.functional.avg_pool2d`).

    Args:
        kernel_size, stride, padding: an int or an ``(H, W)`` pair each; ``stride``
            defaults to ``kernel_size``; padding (zeros) at most half the window.
        ceil_mode: round the output size up.
        count_include_pad: count the padding in each window's divisor.
        divisor_override: divide each window sum by this instead.

    Shape:
        - Input: ``(N, C, H, W)`` or ``(C, H, W)``.
        - Output: ``(N, C, H_out, W_out)``, each size as for :class:`AvgPool1d`.
    """

    def __init__(self, kernel_size: IntOrTuple, stride: IntOrTuple | None = None,
                 padding: IntOrTuple = 0, ceil_mode: bool = False,
                 count_include_pad: bool = True, divisor_override: int | None = None) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad
        self.divisor_override = divisor_override

    def forward(self, x: Any) -> Tensor:
        return _pool_avg(f"AvgPool2d({self.extra_repr()})", 2, x, self.kernel_size,
                         self.stride, self.padding, self.ceil_mode, self.count_include_pad,
                         self.divisor_override)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AdaptiveAvgPool2d(Module):
    r"""Average pooling to a fixed output size, whatever the input's (see
    :func:`chainrule.nn.functional.adaptive_avg_pool2d`): output row i averages input rows
    :math:`\lfloor iH/H_{out}\rfloor` to :math:`\lceil (i+1)H/H_{out}\rceil - 1`, and
    likewise for columns.

    Args:
        output_size: ``(H_out, W_out)``, or an int for both; ``None`` keeps that size.

    Shape:
        - Input: ``(N, C, H, W)`` or ``(C, H, W)``.
        - Output: ``(N, C, H_out, W_out)``.

    >>> import chainrule as cr
    >>> from chainrule import nn
    >>> nn.AdaptiveAvgPool2d((2, 3))(cr.ones(4, 8, 7, 9)).shape
    (4, 8, 2, 3)
    """

    def __init__(self, output_size: int | Sequence[int | None]) -> None:
        super().__init__()
        self.output_size = output_size

    def forward(self, x: Any) -> Tensor:
        who = f"AdaptiveAvgPool2d({self.extra_repr()})"
        return _adaptive_avg(as_tensor(x, who), self.output_size, who)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"
