r"""The records the engine is made of.

* :class:`Traced` is the minimal graph-carrying value: ``data`` (an ``ndarray``),
  ``requires_grad``, ``grad`` and ``_node`` (the :class:`Node` that produced it, ``None``
  for a leaf). :class:`chainrule.Tensor` subclasses it; the engine never imports Tensor.
* :class:`Primitive` is one row of the op table: a forward function on arrays, one
  vector-Jacobian rule per input, the derivative formula in words, and an input check.
* :class:`Node` records one application of a primitive: its inputs, its output array
  and its parameters. ``backward()`` walks nodes from the output to the leaves and frees
  them as it goes.

A vector-Jacobian rule receives the gradient ``g`` = ∂L/∂out, the output and the inputs,
and returns ∂L/∂input = gᵀ·∂out/∂input. Rules are written with primitives, so the same
rule runs on raw arrays (first-order backward, fast) and on Tensors (``create_graph=True``,
where the backward pass is itself recorded and can be differentiated again).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

VJPRule = Callable[..., Any]


class Traced:
    """Base class of values that carry a computation graph."""

    __slots__ = ("data", "grad", "requires_grad", "_node", "__weakref__")

    data: np.ndarray
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

    @classmethod
    def _from_op(cls, data: Any, node: Node | None) -> Traced:
        """Wrap an operation's result without re-validating it (the hot path)."""
        out = cls.__new__(cls._result_class)
        out.data = data if type(data) is np.ndarray else np.asarray(data)
        out.grad = None
        out.requires_grad = node is not None
        out._node = node
        return out


Traced._result_class = Traced


def raw(value: Any) -> Any:
    """The array inside a :class:`Traced`, or the value itself (used for constant masks)."""
    return value.data if isinstance(value, Traced) else value


class Primitive:
    r"""One row of the op table.

    Args:
        name: the operation's name, as shown by ``repr``, ``explain`` and ``draw_graph``.
        forward: ``forward(*arrays, **params) -> ndarray``.
        vjps: one rule per input, ``rule(g, out, *inputs, **params) -> ∂L/∂input``, or
            ``None`` for an input that is not differentiable (a mask, an index).
        formula: the local derivative rule in words, e.g. ``"∂ sin x/∂x = cos x"``.
        check: ``check(*arrays, **params)`` raising a clear error before NumPy runs.
        vjp_all: instead of ``vjps``, one rule returning every input's gradient at once,
            ``vjp_all(g, out, inputs, params, needs) -> list`` (variadic ops, custom Functions).
        prepare_g: ``prepare_g(g) -> array`` applied once to the incoming gradient array
            before the first-order rules run (the same values, in the layout they want).
        saves: the forward returns ``(out, saved)``: arrays its rules can reuse in a
            first-order pass (the softmax of a fused cross-entropy). The engine keeps
            ``saved`` on the Node, hands it to the rules as ``saved=`` in a first-order
            backward, and frees it with the node; rules must give the same result
            without it (``create_graph`` passes none).
        sum_to: for an op that broadcasts its inputs, ``sum_to(grad, shape=...)``: the
            engine sums a rule's result back to its input's shape whenever they differ
            (an input copied along an axis receives the sum of its copies' gradients), so
            the rules are written for same-shaped arguments.
    """

    __slots__ = ("name", "forward", "vjps", "formula", "check", "vjp_all", "linear", "diff_mask",
                 "prepare_g", "sum_to", "saves")

    def __init__(
        self,
        name: str,
        forward: Callable[..., Any],
        vjps: Sequence[VJPRule | None] = (),
        formula: str = "",
        check: Callable[..., None] | None = None,
        vjp_all: Callable[..., list] | None = None,
        linear: bool = False,
        prepare_g: Callable[[Any], Any] | None = None,
        sum_to: Callable[..., Any] | None = None,
        saves: bool = False,
    ) -> None:
        self.name = name
        self.forward = forward
        self.vjps = tuple(vjps)
        self.formula = formula
        self.check = check
        self.vjp_all = vjp_all
        self.linear = linear
        self.prepare_g = prepare_g
        self.sum_to = sum_to
        self.saves = saves
        # Which inputs have a rule, hoisted out of every recording (None: all of them, the
        # common case, where recording skips the masking entirely).
        mask = tuple(r is not None for r in self.vjps)
        self.diff_mask = None if vjp_all is not None or all(mask) else mask

    def __call__(self, *args: Any, **params: Any) -> Any:
        # Rules call primitives on raw arrays during a first-order backward pass: then
        # no graph is needed and the forward function runs directly.
        for arg in args:
            if isinstance(arg, Traced):
                return _recording.apply(self, args, params)
        if self.saves:
            return self.forward(*args, **params)[0]
        return self.forward(*args, **params)

    def differentiable(self, index: int) -> bool:
        """Whether input ``index`` has a derivative rule."""
        if self.vjp_all is not None:
            return True
        return index < len(self.vjps) and self.vjps[index] is not None

    def input_grads(
        self, g: Any, out: Any, inputs: Sequence[Any], params: dict, needs: Sequence[bool]
    ) -> list:
        """∂L/∂input for every input whose ``needs`` flag is set (``None`` elsewhere)."""
        if self.vjp_all is not None:
            return list(self.vjp_all(g, out, inputs, params, needs))
        grads = [rule(g, out, *inputs, **params) if need else None
                 for rule, need in zip(self.vjps, needs)]
        if self.sum_to is not None:
            grads = [self.unbroadcast(gx, x) for gx, x in zip(grads, inputs)]
        return grads

    def unbroadcast(self, grad: Any, x: Any) -> Any:
        """``grad`` summed back to the shape of input ``x`` when broadcasting changed it."""
        shape = getattr(x, "shape", ())
        if grad is None or self.sum_to is None or getattr(grad, "shape", ()) == shape:
            return grad
        return self.sum_to(grad, shape=shape)

    def __repr__(self) -> str:
        return f"Primitive({self.name!r})"


class Node:
    """One recorded application of a primitive.

    ``inputs`` keeps the input values (Tensors and constants) until ``backward()`` frees
    them, and ``arrays`` the raw arrays the forward function saw (what the first-order fast
    path hands the rules); ``out`` is the output array (the output *Tensor* is not
    referenced, so the graph has no reference cycles and dies as soon as the user drops it).
    """

    __slots__ = ("prim", "inputs", "arrays", "out", "params", "needs", "scope", "saved")

    def __init__(
        self,
        prim: Primitive,
        inputs: tuple,
        out: np.ndarray,
        params: dict,
        needs: Sequence[bool],
        scope: tuple,
        arrays: Sequence[Any] | None = None,
        saved: Any = None,
    ) -> None:
        self.prim = prim
        self.saved = saved  # what a ``saves`` primitive's forward kept for its rules
        self.inputs: tuple | None = inputs
        # saved at record time: no per-node unwrapping of Tensors in a first-order backward
        self.arrays: Sequence[Any] | None = (
            arrays if arrays is not None else [raw(x) for x in inputs]
        )
        self.out: np.ndarray | None = out
        self.params = params
        self.needs = needs
        self.scope = scope

    @property
    def freed(self) -> bool:
        """True once ``backward()`` (without ``retain_graph``) has released the buffers."""
        return self.inputs is None

    def free(self) -> None:
        """Release the saved inputs and output."""
        self.inputs = None
        self.arrays = None
        self.out = None
        self.saved = None

    def parents(self) -> list[tuple[int, Traced]]:
        """``(index, input)`` for every input that gradients flow into."""
        if self.inputs is None:
            return []
        return [(i, x) for i, (x, need) in enumerate(zip(self.inputs, self.needs)) if need]

    def __repr__(self) -> str:
        shape = None if self.out is None else tuple(self.out.shape)
        return f"<{self.prim.name} node, out shape {shape}{', freed' if self.freed else ''}>"


# Imported last: apply.py needs the classes above, and Primitive.__call__ needs apply (a
# module-level name here instead of an import inside every call: ≈0.5 µs per op).
import chainrule.autodiff.apply as _recording  # noqa: E402
