r"""The two records the graph is made of.

* :class:`Traced` is the minimal graph-carrying value: ``data`` (an ``ndarray``, kept in
  the slot ``_data``, which the engine reads directly), ``requires_grad``, ``grad`` and
  ``_node`` (the :class:`Node` that produced it, ``None`` for a leaf).
  :class:`chainrule.Tensor` subclasses it; the engine never imports Tensor.
* :class:`Node` records one application of a primitive: its inputs, its output array
  and its parameters. ``backward()`` walks nodes from the output to the leaves and frees
  them as it goes.

The output *Traced* is not referenced by its Node, so a graph has no reference cycles and
dies as soon as the user drops its output.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from chainrule._config import STATE

if TYPE_CHECKING:
    from chainrule.autodiff.primitive import Primitive

_T = TypeVar("_T", bound="Traced")


class Traced:
    """Base class of values that carry a computation graph."""

    __slots__ = ("_data", "grad", "requires_grad", "_node", "__weakref__")

    _data: np.ndarray
    grad: Any
    requires_grad: bool
    _node: Node | None
    #: The type of an operation's result on this type (its own unless a subclass says
    #: otherwise: an operation on a Parameter gives a plain Tensor).
    _result_class: type

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "_result_class" not in cls.__dict__:
            cls._result_class = cls

    @property
    def data(self) -> np.ndarray:
        """The values, a NumPy array (shared, not copied)."""
        return self._data

    @data.setter
    def data(self, value: np.ndarray) -> None:
        self._data = value


Traced._result_class = Traced

_new = object.__new__


def wrap_result(like: type[_T], data: Any, node: Node | None) -> _T:
    """An operation's result: a new value of ``like``'s result class holding ``data``
    (not copied, not checked), produced by ``node`` (``None``: a constant)."""
    out: _T = _new(like._result_class)
    out._data = data if type(data) is np.ndarray else np.asarray(data)
    out.grad = None
    out.requires_grad = node is not None
    out._node = node
    return out


def raw(value: Any) -> Any:
    """The array inside a :class:`Traced`, or the value itself (used for constant masks).
    While ``cr.compile`` captures a function, the values of a tensor it follows come back
    as an array whose NumPy calls are recorded too (chainrule/compiler/capture.py)."""
    if isinstance(value, Traced):
        if STATE.capture is not None:
            return STATE.capture.read(value, "raw")
        return value._data
    return value


class Node:
    """One recorded application of a primitive. Nodes are made in one place,
    :func:`chainrule.autodiff.primitive.apply`, which sets every field below (a new field
    is added there).

    Attributes:
        prim: the :class:`~chainrule.autodiff.primitive.Primitive` applied.
        inputs: the input values (Traced and constants) until ``backward()`` frees them.
        arrays: the raw arrays the forward function saw, what a first-order backward
            hands the rules (so it never unwraps Traced values).
        out: the output array.
        params: the keyword parameters of the call (axes, shapes, indices).
        needs: one flag per input: does a gradient flow into it?
        scope: the names of the composites being recorded when the node was made.
        saved: what a ``saves`` primitive's forward kept for its first-order rules.
        stamp: ``STATE.inplace_clock`` when the node was recorded: backward checks the
            values it saved only if something changed in place since (see :mod:`.saved`).
    """

    __slots__ = ("prim", "inputs", "arrays", "out", "params", "needs", "scope", "saved",
                 "stamp")

    prim: Primitive
    inputs: tuple[Any, ...] | None  # None once freed, like arrays, out and saved
    arrays: list[Any] | None
    out: np.ndarray | None
    params: dict[str, Any]
    needs: Sequence[bool]
    scope: tuple[str, ...]
    saved: Any
    stamp: int

    @property
    def freed(self) -> bool:
        """True once ``backward()`` (without ``retain_graph``) has released the buffers."""
        return self.inputs is None

    def free(self) -> None:
        """Release the saved inputs, arrays and output."""
        self.inputs = self.arrays = self.out = self.saved = None

    def parents(self) -> list[tuple[int, Traced]]:
        """``(index, input)`` for every input that gradients flow into."""
        if self.inputs is None:
            return []
        return [(i, x) for i, (x, need) in enumerate(zip(self.inputs, self.needs)) if need]

    def __repr__(self) -> str:
        shape = None if self.out is None else tuple(self.out.shape)
        return f"<{self.prim.name} node, out shape {shape}{', freed' if self.freed else ''}>"
