r"""In-place updates with PyTorch's rules: ``+= -= *= /=``, ``add_``, ``sub_``, ``mul_``,
``div_``, ``clip_``, ``zero_``, ``fill_``, ``copy_``.

The tensor itself changes (the same object, its dtype and shape kept):

* with grad mode off (``cr.no_grad()``), or when nothing involved requires grad, the new
  values are written into its buffer — so ``with cr.no_grad(): w -= lr * w.grad`` is a
  gradient-descent step that keeps ``w`` a leaf that requires grad;
* with grad mode on, a leaf that requires grad refuses (its ``.grad`` would no longer be
  the derivative with respect to the values it holds): do it under ``cr.no_grad()``;
* otherwise (a non-leaf, or a value that requires grad written into a plain tensor) the
  update is recorded like its out-of-place form: the tensor's graph node becomes the
  update's, whose derivative flows to the old value and to the other operand.

Either way the old values are marked as changed (:func:`chainrule.autodiff.mark_changed`),
so a graph that saved them for its derivatives refuses to backpropagate, naming the op —
never a silently wrong gradient.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from chainrule import ops as _ops
from chainrule._config import STATE
from chainrule._convert import index_parts, operand
from chainrule.autodiff import Traced, mark_changed, wrap_result
from chainrule.errors import shape_str


class InPlaceCastError(TypeError, RuntimeError):
    """The result of an in-place op does not fit the tensor's dtype: a TypeError (NumPy's
    kind of mistake) that is also a RuntimeError (what PyTorch raises)."""


class InPlaceShapeError(ValueError, RuntimeError):
    """The result of an in-place op does not fit the tensor's shape: a ValueError (NumPy's
    kind of mistake) that is also a RuntimeError (what PyTorch raises)."""


def update(t: Any, op: str, compute: Callable[[Any], Any]) -> Any:
    """Change ``t`` in place to ``compute(current value)`` under the rules above."""
    if STATE.grad_enabled:
        if t.requires_grad and t._node is None:
            raise RuntimeError(
                f"{op}: cannot change a leaf tensor that requires grad in place while "
                "gradients are being recorded; do it under cr.no_grad() "
                "(e.g. with cr.no_grad(): w -= lr * w.grad)"
            )
        # A tick first: the update's own nodes are recorded after the change, while every
        # node recorded before it that saved the old values must refuse to backpropagate.
        STATE.inplace_clock += 1
        tick = STATE.inplace_clock
        old = wrap_result(type(t), t._data, t._node)  # the value as the graph knows it
        old.requires_grad = t.requires_grad
        new = compute(old)
        if new.requires_grad:
            # recorded: t takes the result's buffer and node; the old buffer is kept intact
            # for the update's own derivative, and marked changed, as PyTorch would have
            # overwritten it
            new = _fitted(op, new, t)
            mark_changed(t._data, op, tick)
            t._data, t._node, t.requires_grad = new._data, new._node, True
            return t
        value = new._data
    else:
        value = compute(t)._data
    _write(op, t, value)
    return t


def _fitted(op: str, new: Any, t: Any) -> Any:
    """A recorded result with ``t``'s shape and dtype (cast back, differentiably)."""
    _check_fits(op, new._data, t._data)
    if new._data.dtype != t._data.dtype:
        new = _ops.cast(new, dtype=t._data.dtype)
    return new


def _check_fits(op: str, value: np.ndarray, target: np.ndarray) -> None:
    if value.shape != target.shape:
        raise InPlaceShapeError(
            f"{op}: the result has shape {shape_str(value.shape)}, which does not fit in "
            f"place into a tensor of shape {shape_str(target.shape)}"
        )
    if not np.can_cast(value.dtype, target.dtype, casting="same_kind"):
        raise InPlaceCastError(
            f"{op}: the result has dtype {value.dtype}, which cannot be stored in place in a "
            f"tensor of dtype {target.dtype} (an in-place op keeps the dtype); convert "
            f"first, e.g. t = t.astype('{value.dtype}')"
        )


def _write(op: str, t: Any, value: np.ndarray) -> None:
    value = np.asarray(value)
    _check_fits(op, np.broadcast_to(value, value.shape), t._data)
    if not t._data.flags.writeable:
        raise ValueError(f"{op}: this tensor's memory is read-only (shape "
                         f"{shape_str(t._data.shape)}); change a copy, t.clone()")
    np.copyto(t._data, value, casting="same_kind")
    mark_changed(t._data, op)


def _scaled(other: Any, alpha: Any) -> Any:
    return other if alpha == 1 else other * alpha


class InPlaceMethods:
    """The in-place methods and operators of :class:`chainrule.Tensor`."""

    __slots__ = ()

    def add_(self, other: Any, alpha: Any = 1) -> Any:
        r"""self ← self + α·other, in place."""
        other = operand("add_", other)
        return update(self, "add_", lambda v: v + _scaled(other, alpha))

    def sub_(self, other: Any, alpha: Any = 1) -> Any:
        r"""self ← self − α·other, in place."""
        other = operand("sub_", other)
        return update(self, "sub_", lambda v: v - _scaled(other, alpha))

    def mul_(self, other: Any) -> Any:
        r"""self ← self · other, in place."""
        other = operand("mul_", other)
        return update(self, "mul_", lambda v: v * other)

    def div_(self, other: Any) -> Any:
        r"""self ← self / other, in place."""
        other = operand("div_", other)
        return update(self, "div_", lambda v: v / other)

    def clip_(self, lo: Any = None, hi: Any = None) -> Any:
        r"""self ← clip(self, lo, hi), in place."""
        return update(self, "clip_", lambda v: v.clip(lo, hi))

    def fill_(self, value: Any) -> Any:
        r"""Every element ← ``value``, in place (the old values get a zero derivative)."""
        value = operand("fill_", value)
        return update(self, "fill_", lambda v: _replaced(v, value))

    def zero_(self) -> Any:
        r"""Every element ← 0, in place."""
        return update(self, "zero_", lambda v: _replaced(v, 0))

    def copy_(self, src: Any) -> Any:
        r"""self ← ``src`` (broadcast to self's shape, cast to its dtype), in place; the
        derivative flows to ``src``."""
        src = operand("copy_", src)
        return update(self, "copy_", lambda v: _replaced(v, src))

    def __iadd__(self, other: Any) -> Any:
        other = operand("add", other)
        return update(self, "add_", lambda v: v + other)

    def __isub__(self, other: Any) -> Any:
        other = operand("sub", other)
        return update(self, "sub_", lambda v: v - other)

    def __imul__(self, other: Any) -> Any:
        other = operand("mul", other)
        return update(self, "mul_", lambda v: v * other)

    def __itruediv__(self, other: Any) -> Any:
        other = operand("div", other)
        return update(self, "div_", lambda v: v / other)


def _replaced(v: Any, new: Any) -> Any:
    """``new`` broadcast to ``v``'s shape, as an op on ``v`` with a zero derivative for it:
    ``where(False, v, new)``."""
    keep = np.zeros(v._data.shape, dtype=bool)
    if isinstance(new, Traced) or isinstance(v, Traced) and v.requires_grad:
        return _ops.where(keep, v, new)
    return wrap_result(type(v), np.broadcast_to(np.asarray(new), v._data.shape).copy(), None)


def set_items(t: Any, index: Any, value: Any) -> None:
    """``t[index] = value`` under the in-place rules. Where a gradient must flow the result
    is recorded as ``where(selected, value scattered into place, old)``: the old values
    keep their derivative outside the selection and ``value`` receives it inside."""
    index = index_parts(index)
    value = operand("setitem", value)
    try:
        selected = np.zeros(t._data.shape, dtype=bool)
        selected[index] = True
        shape = t._data[index].shape
    except (IndexError, TypeError, ValueError) as exc:
        raise type(exc)(f"setitem: {exc} (tensor of shape {shape_str(t._data.shape)})") from None
    grad_flows = STATE.grad_enabled and (
        t.requires_grad or isinstance(value, Traced) and value.requires_grad)
    if not grad_flows:
        raw = value._data if isinstance(value, Traced) else value
        try:
            t._data[index] = raw
        except (ValueError, TypeError) as exc:
            raise type(exc)(
                f"setitem: {exc} (tensor of shape {shape_str(t._data.shape)})") from None
        mark_changed(t._data, "setitem")
        return

    def assign(v: Any) -> Any:
        if isinstance(value, Traced):
            part = value if value._data.shape == shape else _ops.broadcast_to(value, shape=shape)
            placed = _ops.scatter_add(part, shape=v._data.shape, index=index,
                                      dtype=v._data.dtype)
        else:
            placed = v._data.copy()
            placed[index] = value
        return _ops.where(selected, placed, v)

    update(t, "setitem", assign)
