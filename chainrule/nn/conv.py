r"""Convolution layers, ``Conv1d`` and ``Conv2d``: PyTorch's constructor arguments,
parameter names (``weight``, ``bias``), layouts and default initialisation. The maths, and
why its derivatives are convolutions too, is in :mod:`chainrule.nn.functional.convolution`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from chainrule._config import get_default_dtype
from chainrule.errors import shape_str
from chainrule.nn import functional as F
from chainrule.nn import init
from chainrule.nn.functional.convolution import (
    _check_input,
    _convolve,
    _ints,
    _is_int,
    _padding,
)
from chainrule.nn.module import Module
from chainrule.nn.parameter import Parameter
from chainrule.tensor import Tensor, as_tensor

__all__ = ["Conv1d", "Conv2d"]

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


class _ConvNd(Module):
    """What Conv1d and Conv2d share; ``_nd`` is the number of spatial axes."""

    _nd = 0
    in_channels: int
    out_channels: int
    kernel_size: tuple[int, ...]
    stride: tuple[int, ...]
    padding: tuple[int, ...] | str
    dilation: tuple[int, ...]
    groups: int
    padding_mode: str
    weight: Parameter
    bias: Parameter | None

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1,
                 padding: Any = 0, dilation: Any = 1, groups: int = 1, bias: bool = True,
                 padding_mode: str = "zeros", dtype: Any = None,
                 generator: np.random.Generator | None = None) -> None:
        super().__init__()
        name, nd = type(self).__name__, self._nd
        for arg, value, kind in (("in_channels", in_channels, "non-negative"),
                                 ("out_channels", out_channels, "non-negative"),
                                 ("groups", groups, "positive")):
            if not _is_int(value) or value < (kind == "positive"):
                raise ValueError(f"{name}: {arg} must be a {kind} int, got {value!r}")
        for arg, value in (("in_channels", in_channels), ("out_channels", out_channels)):
            if value % groups:
                raise ValueError(f"{name}: {arg}={value} is not divisible by groups={groups} "
                                 "(each group convolves its own share of the channels)")
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = _ints(name, "kernel_size", kernel_size, nd, 1)
        self.stride = _ints(name, "stride", stride, nd, 1)
        self.dilation = _ints(name, "dilation", dilation, nd, 1)
        # checked (and 'same' resolved) once, here; the layer keeps PyTorch's attribute
        self._pairs = _padding(name, padding, self.kernel_size, self.stride, self.dilation)
        self.padding = padding if isinstance(padding, str) else tuple(
            lo for lo, _ in self._pairs)
        if padding_mode not in _PADDING_MODES:
            raise ValueError(f"{name}: padding_mode must be one of "
                             f"{', '.join(map(repr, _PADDING_MODES))}, got {padding_mode!r}")
        self.padding_mode = padding_mode
        dtype = get_default_dtype() if dtype is None else np.dtype(dtype)
        if dtype.kind != "f":
            raise TypeError(f"{name}: dtype must be floating, got {dtype}")
        shape = (out_channels, in_channels // groups, *self.kernel_size)
        self.weight = Parameter(np.empty(shape, dtype=dtype))
        if bias:
            self.bias = Parameter(np.empty((out_channels,), dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters(generator)

    def reset_parameters(self, generator: np.random.Generator | None = None) -> None:
        r"""Redraw ``weight`` and ``bias`` from
        :math:`\mathcal U(-1/\sqrt{n_{in}}, 1/\sqrt{n_{in}})`,
        :math:`n_{in}` = ``in_channels / groups`` × the kernel's size."""
        fan_in = self.weight.shape[1] * math.prod(self.kernel_size)
        bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
        init.uniform_(self.weight, -bound, bound, generator)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound, generator)

    def _who(self) -> str:
        return (f"{type(self).__name__}(in_channels={self.in_channels}, out_channels="
                f"{self.out_channels}, kernel_size={self.kernel_size})")

    def forward(self, x: Any) -> Tensor:
        x = as_tensor(x, type(self).__name__)
        nd, who = self._nd, self._who()
        _check_input(who, nd, x)
        channels = x.shape[-nd - 1]
        if channels != self.in_channels:
            raise ValueError(f"{who}: input of shape {shape_str(x.shape)} has {channels} "
                             f"channel{'' if channels == 1 else 's'}, expected "
                             f"{self.in_channels}")
        pairs = self._pairs
        if self.padding_mode != "zeros" and any(lo or hi for lo, hi in pairs):
            flat = tuple(w for pair in reversed(pairs) for w in pair)
            x = F.pad(x, flat, mode=self.padding_mode)
            pairs = ((0, 0),) * nd
        return _convolve(who, nd, x, self.weight, self.bias, self.stride, pairs,
                         self.dilation, self.groups)

    def extra_repr(self) -> str:
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        if self.padding != (0,) * self._nd:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * self._nd:
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s


_ARGS = r"""
    Args:
        in_channels: channels of the input, :math:`C_{in}`.
        out_channels: channels of the output (one kernel each), :math:`C_{out}`.
        kernel_size: an int or a tuple, one per spatial axis.
        stride: step between windows, ≥ 1.
        padding: an int or a tuple (zeros on both sides), ``"valid"`` (none) or ``"same"``
            (output size = input size; stride 1 only).
        dilation: spacing between kernel taps, ≥ 1.
        groups: independent channel groups; must divide both channel counts.
        bias: learn an additive bias per output channel (default True).
        padding_mode: ``"zeros"``, ``"reflect"``, ``"replicate"`` or ``"circular"``.
        dtype: floating dtype of the parameters (default: ``cr.get_default_dtype()``).
        generator: a ``numpy.random.Generator`` for the initial draw (weight first, then
            bias); default: the library's generator (``cr.manual_seed``).
"""


class Conv1d(_ConvNd):
    __doc__ = r"""1-d convolution over sequences,
    :math:`y[n, o] = b_o + \sum_{c} w[o, c] \star x[n, c]` (PyTorch's cross-correlation;
    see :func:`chainrule.nn.functional.conv1d` for the formula and its gradients).

    Initialisation (PyTorch's default): ``weight`` and ``bias`` from
    :math:`\mathcal U(-1/\sqrt{n_{in}},\ 1/\sqrt{n_{in}})`,
    :math:`n_{in} = (C_{in}/\text{groups})\cdot k` (``kaiming_uniform_(a=√5)`` in PyTorch's
    words).
""" + _ARGS + r"""
    Shape:
        - Input: ``(N, C_in, L)`` or ``(C_in, L)``.
        - Output: ``(N, C_out, L_out)``,
          :math:`L_{out} = \lfloor (L + 2p - d(k-1) - 1)/s \rfloor + 1`.
        - ``weight``: ``(C_out, C_in/groups, k)``; ``bias``: ``(C_out,)``.

    >>> import chainrule as cr
    >>> from chainrule import nn
    >>> _ = cr.manual_seed(0)
    >>> layer = nn.Conv1d(1, 25, 5, stride=2, padding=1)
    >>> layer
    Conv1d(1, 25, kernel_size=(5,), stride=(2,), padding=(1,))
    >>> layer(cr.ones(100, 1, 40)).shape
    (100, 25, 19)
    """

    _nd = 1


class Conv2d(_ConvNd):
    __doc__ = r"""2-d convolution over images,
    :math:`y[n, o] = b_o + \sum_{c} w[o, c] \star x[n, c]` (PyTorch's cross-correlation;
    see :func:`chainrule.nn.functional.conv2d` for the formula and its gradients).

    Initialisation (PyTorch's default): ``weight`` and ``bias`` from
    :math:`\mathcal U(-1/\sqrt{n_{in}},\ 1/\sqrt{n_{in}})`,
    :math:`n_{in} = (C_{in}/\text{groups})\cdot k_H k_W` (``kaiming_uniform_(a=√5)`` in
    PyTorch's words).
""" + _ARGS + r"""
    Shape:
        - Input: ``(N, C_in, H, W)`` or ``(C_in, H, W)``.
        - Output: ``(N, C_out, H_out, W_out)``,
          :math:`H_{out} = \lfloor (H + 2p - d(k-1) - 1)/s \rfloor + 1` (likewise W).
        - ``weight``: ``(C_out, C_in/groups, kH, kW)``; ``bias``: ``(C_out,)``.

    >>> import chainrule as cr
    >>> from chainrule import nn
    >>> _ = cr.manual_seed(0)
    >>> layer = nn.Conv2d(3, 16, 3, padding=1)
    >>> layer
    Conv2d(3, 16, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))
    >>> layer(cr.ones(8, 3, 28, 28)).shape
    (8, 16, 28, 28)
    """

    _nd = 2
