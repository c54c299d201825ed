"""PyTorch expressions for every op in the table: the oracle for values and gradients.

Each entry takes the sample's inputs as float64 torch tensors and the sample's keyword
parameters (NumPy's words: ``axis``, ``keepdims``, ``shape``, ``index``), and computes
the same function with PyTorch. Ops with no direct PyTorch analogue (``sum_to``,
``scatter_add``) get an equivalent expression.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F


def _dims(x: torch.Tensor, axis: Any) -> tuple[int, ...]:
    """NumPy's ``axis`` as torch's ``dim`` (None means every axis)."""
    if axis is None:
        return tuple(range(x.ndim))
    return tuple(axis) if isinstance(axis, tuple) else (axis,)


def _index(index: Any) -> Any:
    """NumPy index parts (integer and boolean arrays, lists) as torch index parts."""
    if isinstance(index, tuple):
        return tuple(_index(part) for part in index)
    if isinstance(index, (np.ndarray, list)):
        return torch.as_tensor(np.asarray(index))
    return index


def _sum(x: torch.Tensor, axis: Any = None, keepdims: bool = False) -> torch.Tensor:
    return torch.sum(x, dim=_dims(x, axis), keepdim=keepdims) if x.ndim else x


def _amax(x: torch.Tensor, axis: Any = None, keepdims: bool = False) -> torch.Tensor:
    # amax (not max) because it splits the gradient evenly among ties, as chainrule does
    return torch.amax(x, dim=_dims(x, axis), keepdim=keepdims)


def _amin(x: torch.Tensor, axis: Any = None, keepdims: bool = False) -> torch.Tensor:
    return torch.amin(x, dim=_dims(x, axis), keepdim=keepdims)


def _mean(x: torch.Tensor, axis: Any = None, keepdims: bool = False) -> torch.Tensor:
    return torch.mean(x, dim=_dims(x, axis), keepdim=keepdims) if x.ndim else x


def _var(x: torch.Tensor, axis: Any = None, ddof: int = 0, keepdims: bool = False
         ) -> torch.Tensor:
    return torch.var(x, dim=_dims(x, axis), correction=ddof, keepdim=keepdims)


def _std(x: torch.Tensor, axis: Any = None, ddof: int = 0, keepdims: bool = False
         ) -> torch.Tensor:
    return torch.std(x, dim=_dims(x, axis), correction=ddof, keepdim=keepdims)


def _logsumexp(x: torch.Tensor, axis: Any = None, keepdims: bool = False) -> torch.Tensor:
    return torch.logsumexp(x, dim=_dims(x, axis), keepdim=keepdims) if x.ndim else x


def _scatter_add(g: torch.Tensor, shape: tuple[int, ...], index: Any, dtype: Any
                 ) -> torch.Tensor:
    """Zeros of ``shape`` with ``g`` added at ``index`` (repeats accumulate): ``index_add``
    at the flat positions the index selects."""
    flat_positions = np.arange(int(np.prod(shape)), dtype=np.int64).reshape(shape)[index]
    positions = torch.as_tensor(np.ascontiguousarray(flat_positions).reshape(-1))
    total = torch.zeros(int(np.prod(shape)), dtype=_torch_dtype(dtype))
    return total.index_add(0, positions, g.reshape(-1).to(total.dtype)).reshape(shape)


def _transpose(x: torch.Tensor, axes: tuple[int, ...]) -> torch.Tensor:
    return x.permute(axes or tuple(reversed(range(x.ndim))))


def _squeeze(x: torch.Tensor, axis: Any) -> torch.Tensor:
    return x.squeeze() if axis is None else x.squeeze(axis)


def _torch_dtype(dtype: Any) -> torch.dtype:
    return getattr(torch, np.dtype(dtype).name)


def _where(x: torch.Tensor, y: Any = None, cond: Any = None, c: Any = None) -> torch.Tensor:
    return torch.where(torch.as_tensor(cond), x, y if y is not None else c)


def _max_pool(x: torch.Tensor, kernel: Any, stride: Any, padding: Any, dilation: Any,
              ceil_mode: bool) -> torch.Tensor:
    pool = F.max_pool1d if len(kernel) == 1 else F.max_pool2d
    return pool(x, kernel, stride, padding, dilation, ceil_mode=ceil_mode)


def _pool_sum(x: torch.Tensor, kernel: Any, stride: Any, padding: Any, ceil_mode: bool
              ) -> torch.Tensor:
    """Window sums: avg_pool2d with divisor 1 (a 1-D pooling as a 2-D one of height 1)."""
    if len(kernel) == 2:
        return F.avg_pool2d(x, kernel, stride, padding, ceil_mode, divisor_override=1)
    out = F.avg_pool2d(x.unsqueeze(-2), (1, *kernel), (1, *stride), (0, *padding), ceil_mode,
                       divisor_override=1)
    return out.squeeze(-2)


def _pool_sum_transpose(g: torch.Tensor, shape: Any, **params: Any) -> torch.Tensor:
    """The adjoint of the window sum: its vector-Jacobian product with ``g`` (differentiable
    in ``g``)."""
    z = torch.zeros(shape, dtype=g.dtype, requires_grad=True)
    (vjp,) = torch.autograd.grad(_pool_sum(z, **params), z, grad_outputs=g, create_graph=True)
    return vjp


def _torch_pad(widths: Any) -> list[int]:
    """(before, after) pairs from the first axis as F.pad's flat list, last axis first."""
    return [w for pair in reversed(widths) for w in pair]


_CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}
_CONV_TRANSPOSE = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}
_CONV_WEIGHT = {1: torch.nn.grad.conv1d_weight, 2: torch.nn.grad.conv2d_weight,
                3: torch.nn.grad.conv3d_weight}


def _conv(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor | None = None, *, stride: Any,
          padding: Any, dilation: Any, groups: int) -> torch.Tensor:
    """Per-side padding as an explicit F.pad, then an unpadded convolution."""
    return _CONV[w.ndim - 2](F.pad(x, _torch_pad(padding)), w, b, stride=stride,
                             dilation=dilation, groups=groups)


def _conv_input_grad(gy: torch.Tensor, w: torch.Tensor, input_shape: Any, stride: Any,
                     padding: Any, dilation: Any, groups: int) -> torch.Tensor:
    """The transposed convolution onto the padded input (output_padding restores the rows
    a stride skipped), cropped to the input."""
    spatial = list(zip(input_shape[2:], w.shape[2:], stride, padding, dilation))
    skipped = [(n + lo + hi - d * (k - 1) - 1) % s for n, k, s, (lo, hi), d in spatial]
    full = _CONV_TRANSPOSE[w.ndim - 2](gy, w, stride=stride, output_padding=skipped,
                                       groups=groups, dilation=dilation)
    crop = tuple(slice(lo, lo + n) for n, _, _, (lo, _), _ in spatial)
    return full[(slice(None), slice(None), *crop)]


def _conv_weight_grad(x: torch.Tensor, gy: torch.Tensor, weight_shape: Any, stride: Any,
                      padding: Any, dilation: Any, groups: int) -> torch.Tensor:
    return _CONV_WEIGHT[len(weight_shape) - 2](F.pad(x, _torch_pad(padding)), weight_shape,
                                                gy, stride=stride, dilation=dilation,
                                                groups=groups)


def _gru_cell(gi: torch.Tensor, gh: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    i_r, i_z, i_n = gi.chunk(3, -1)
    h_r, h_z, h_n = gh.chunk(3, -1)
    r = torch.sigmoid(i_r + h_r)
    z = torch.sigmoid(i_z + h_z)
    n = torch.tanh(i_n + r * h_n)
    return (1 - z) * n + z * h


def _lstm_c(gi: torch.Tensor, gh: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    i, f, g, _ = (gi + gh).chunk(4, -1)
    return torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)


def _lstm_h(gi: torch.Tensor, gh: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    o = (gi + gh).chunk(4, -1)[3]
    return torch.sigmoid(o) * torch.tanh(c)


TORCH_REFS: dict[str, Callable[..., torch.Tensor]] = {
    # arithmetic (samples with a Python or NumPy constant pass it as a parameter)
    "add": lambda x, y=None, c=None: x + y if y is not None else c + x,
    "sub": lambda x, y=None, c=None: x - y if y is not None else c - x,
    "mul": lambda x, y=None, c=None: x * y if y is not None else x * torch.as_tensor(c),
    "div": lambda x, y=None, c=None: x / y if y is not None else c / x,
    "neg": lambda x: -x,
    "pow": lambda x, y=None, exponent=None, base=None: (
        torch.pow(x, y) if y is not None
        else torch.pow(x, exponent) if exponent is not None
        else torch.pow(base, x)
    ),
    # unary functions
    "abs": torch.abs,
    "exp": torch.exp,
    "log": torch.log,
    "log1p": torch.log1p,
    "sqrt": torch.sqrt,
    "sin": torch.sin,
    "cos": torch.cos,
    "tanh": torch.tanh,
    "sigmoid": torch.sigmoid,
    "relu": torch.relu,
    "softplus": F.softplus,
    "erf": torch.erf,
    # selections
    "maximum": lambda x, y=None, c=None: torch.maximum(
        x, y if y is not None else torch.full_like(x, c)),
    "minimum": lambda x, y: torch.minimum(x, y),
    "where": _where,
    "clip": lambda x, lo, hi: torch.clamp(x, lo, hi),
    # reductions and composites built on them
    "sum": _sum,
    "max": _amax,
    "min": _amin,
    "mean": _mean,
    "var": _var,
    "std": _std,
    "logsumexp": _logsumexp,
    "softmax": lambda x, axis: torch.softmax(x, dim=axis),
    "log_softmax": lambda x, axis: torch.log_softmax(x, dim=axis),
    # linear algebra
    "matmul": torch.matmul,
    "linear": lambda x, w, b=None: F.linear(x, w, b),
    "stacked_linear": lambda x, w, b=None: torch.matmul(w, x.unsqueeze(-1)).squeeze(-1)
    + (0 if b is None else b),
    "softmax_cross_entropy": lambda x, target, reduction="mean": F.cross_entropy(
        x, torch.as_tensor(target), reduction=reduction),
    # convolution
    "conv": _conv,
    "conv_input_grad": _conv_input_grad,
    "conv_weight_grad": _conv_weight_grad,
    "pad": lambda x, widths, value: F.pad(x, _torch_pad(widths), value=value),
    # shapes
    "sum_to": lambda x, shape: x.sum_to_size(shape) if shape else x.sum(),
    "broadcast_to": lambda x, shape: torch.broadcast_to(x, shape),
    "expand": lambda x, shape: x.expand(*shape),
    "reshape": lambda x, shape: x.reshape(shape),
    "transpose": _transpose,
    "swapaxes": lambda x, axis1, axis2: torch.swapaxes(x, axis1, axis2),
    "squeeze": _squeeze,
    "unsqueeze": lambda x, axis: torch.unsqueeze(x, axis),
    "cast": lambda x, dtype: x.to(_torch_dtype(dtype)),
    "clone": lambda x: x.clone(),
    "getitem": lambda x, index: x[_index(index)],
    "scatter_add": _scatter_add,
    "concatenate": lambda *xs, axis: torch.cat(xs, dim=axis),
    "stack": lambda *xs, axis: torch.stack(xs, dim=axis),
    # recurrent cells (PyTorch's gate arithmetic, as its docs for nn.GRU and nn.LSTM write it)
    "gru_cell": _gru_cell,
    "lstm_c": _lstm_c,
    "lstm_h": _lstm_h,
    # pooling
    "max_pool": _max_pool,
    "pool_sum": _pool_sum,
    "pool_sum_transpose": _pool_sum_transpose,
}
