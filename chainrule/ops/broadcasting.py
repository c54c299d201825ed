r"""Broadcasting's two primitives, each the other's adjoint: ``broadcast_to`` copies an
array along new or length-1 axes, ``sum_to`` sums those copies back.

Every op that broadcasts its inputs relies on ``sum_to``: the engine sums a rule's result
back to its input's shape (an input copied along an axis receives the sum of its copies'
gradients), so the rules themselves are written for same-shaped arguments.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule.autodiff import Primitive
from chainrule.errors import shape_str
from chainrule.ops._axes import shape_of
from chainrule.ops._batching import with_rank
from chainrule.ops._samples import Draw
from chainrule.ops._table import Exposure, primitive, sample

_draw = Draw("broadcasting")


def _sum_to(x: Any, shape: tuple[int, ...]) -> Any:
    xshape = x.shape if type(x) is np.ndarray else np.shape(x)
    if xshape == shape:
        return x
    lead = len(xshape) - len(shape)
    if lead > 0 and xshape[lead:] == shape:
        # only leading axes were added (a bias, a scalar): sum them away, no reshape
        return np.add.reduce(x, axis=0 if lead == 1 else tuple(range(lead)))
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and xshape[lead + i] != 1
    )
    if len(axes) > 1 and axes[0] == 0:
        # the leading axis alone first (whole rows added at once): NumPy's reduction over
        # several axes together, e.g. a conv bias's (0, 2, 3), runs a short inner loop 5×
        # slower
        x = np.add.reduce(x, axis=0, keepdims=True)
        axes = axes[1:]
    summed = np.add.reduce(x, axis=axes, keepdims=True)  # np.sum less its Python wrapper
    return summed.reshape(shape) if lead else summed


def _sum_to_batch(prim: Any, values: list[Any], bdims: list[Any], params: dict[str, Any]
                  ) -> tuple[Any, Any]:
    """sum_to on the batch: the example's leading axes that sum_to removes are kept as
    length-1 axes after the batch axis (so the batch axis is never summed), then dropped."""
    (x,) = values
    shape = tuple(params["shape"])
    xshape = shape_of(x)
    lead = len(xshape) - 1 - len(shape)
    summed = sum_to(x, shape=(xshape[0],) + (1,) * lead + shape)
    return (summed if not lead else summed.reshape((xshape[0],) + shape)), 0


def _broadcast_to_batch(prim: Any, values: list[Any], bdims: list[Any],
                        params: dict[str, Any]) -> tuple[Any, Any]:
    """broadcast_to on the batch: the example given its new leading axes after the batch
    axis, then broadcast to (B, *shape)."""
    (x,) = values
    shape = tuple(params["shape"])
    aligned = with_rank(x, 0, len(shape))
    return broadcast_to(aligned, shape=(shape_of(x)[0],) + shape), 0


def _check_sum_to(x: Any, shape: tuple[int, ...]) -> None:
    try:
        ok = np.broadcast_shapes(tuple(shape), np.shape(x)) == np.shape(x)
    except ValueError:
        ok = False
    if not ok:
        raise ValueError(
            f"sum_to: shape {shape_str(np.shape(x))} cannot be summed to {shape_str(shape)}"
        )


def _sum_to_sample(x: Any, shape: tuple[int, ...]) -> Any:
    return sum_to(x, shape=shape)


sum_to: Primitive = primitive(
    "sum_to", _sum_to,
    [lambda g, out, x, shape: broadcast_to(g, shape=np.shape(x))],
    formula="∂/∂x sum_to(x) = broadcast of the gradient back to x's shape",
    batch=_sum_to_batch,
    check=_check_sum_to,
    samples=[
        sample("(2,3,4)->(3,1)", _sum_to_sample, [_draw.normal(2, 3, 4)], shape=(3, 1)),
        sample("(2,3)->()", _sum_to_sample, [_draw.normal(2, 3)], shape=()),
        sample("(3,4)->(1,4)", _sum_to_sample, [_draw.normal(3, 4)], shape=(1, 4)),
    ],
    expose=Exposure(internal="the engine, to undo broadcasting in every backward"),
)


def _check_broadcast_to(x: Any, shape: tuple[int, ...]) -> None:
    try:
        ok = np.broadcast_shapes(np.shape(x), tuple(shape)) == tuple(shape)
    except ValueError:
        ok = False
    if not ok:
        raise ValueError(
            f"expand: cannot broadcast a tensor of shape {shape_str(np.shape(x))} "
            f"to shape {shape_str(shape)}"
        )


def _broadcast_to(x: Any, shape: tuple[int, ...]) -> Any:
    """A read-only broadcast view, as ``np.broadcast_to``; a contiguous array's view is
    built directly (stride 0 on the copied axes), skipping NumPy's slower general path:
    every reduction's gradient is one."""
    if type(x) is np.ndarray and x.flags.c_contiguous and len(shape) >= x.ndim:
        lead = len(shape) - x.ndim
        strides = [0] * lead
        for n, own, stride in zip(shape[lead:], x.shape, x.strides):
            if own == n:
                strides.append(stride)
            elif own == 1:
                strides.append(0)
            else:
                return np.broadcast_to(x, shape)  # not broadcastable: NumPy's error
        view = np.ndarray(shape, x.dtype, x, 0, tuple(strides))
        view.flags.writeable = False
        return view
    return np.broadcast_to(x, shape)


def _broadcast_to_sample(x: Any, shape: tuple[int, ...]) -> Any:
    return broadcast_to(x, shape=shape)


broadcast_to: Primitive = primitive(
    "broadcast_to", _broadcast_to,
    [lambda g, out, x, shape: sum_to(g, shape=shape_of(x))],
    formula="∂/∂x broadcast_to(x) = sum of the gradient over the copied axes",
    batch=_broadcast_to_batch,
    check=_check_broadcast_to,
    samples=[
        sample("(3,1)->(2,3,4)", _broadcast_to_sample, [_draw.normal(3, 1)], shape=(2, 3, 4)),
        sample("()->(2,)", _broadcast_to_sample, [_draw.normal()], shape=(2,)),
        sample("(4,)->(3,4)", _broadcast_to_sample, [_draw.normal(4)], shape=(3, 4)),
    ],
    expose=Exposure(internal="Tensor.expand and the gradients of reductions"),
)
