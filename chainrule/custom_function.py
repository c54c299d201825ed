r"""Custom derivatives, PyTorch's pattern: subclass :class:`Function`, write ``forward`` and
``backward``, call ``MyOp.apply(*args)``.

``backward`` is the vector-Jacobian product: given ``g`` = ∂L/∂out it returns ∂L/∂xᵢ =
gᵀ·∂out/∂xᵢ for each input. The op is recorded as one node whose rule calls it, so it
joins the graph like any primitive, and — when ``backward`` is written with Tensor
operations — it can itself be differentiated (``create_graph=True``, ``cr.grad(cr.grad(f))``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule._config import STATE, no_grad
from chainrule._convert import to_array
from chainrule.autodiff import Primitive, Traced, apply
from chainrule.errors import shape_str
from chainrule.tensor import Tensor, wrap


class FunctionCtx:
    """The context passed to ``forward`` and ``backward``: what forward saves for backward.

    Attributes:
        needs_input_grad: one bool per argument of ``apply``: whether ∂L/∂argument is
            needed (a Tensor that requires grad, with grad mode on).

    Any other attribute can be set in ``forward`` (``ctx.lo = lo``) and read in ``backward``.
    """

    def __init__(self, needs_input_grad: tuple[bool, ...]) -> None:
        self.needs_input_grad = needs_input_grad
        self._saved: tuple[Any, ...] = ()
        self._output_slots: tuple[int, ...] = ()
        self._output: Any = None

    def save_for_backward(self, *tensors: Any) -> None:
        """Keep ``tensors`` (inputs, the output, or None) for ``backward``."""
        for t in tensors:
            if t is not None and not isinstance(t, Traced):
                raise TypeError(
                    f"save_for_backward: expected Tensors or None, got {type(t).__name__}; "
                    "store other values as attributes (ctx.name = value)"
                )
        self._saved = tensors

    @property
    def saved_tensors(self) -> tuple[Any, ...]:
        """The tensors given to :meth:`save_for_backward`, in order."""
        if self._output is None:
            return self._saved
        # The output saved in forward is replaced by the recorded output, so that with
        # create_graph=True a backward that uses it stays connected to the graph.
        saved = list(self._saved)
        for slot in self._output_slots:
            saved[slot] = self._output
        return tuple(saved)


class Function:
    r"""Base class for operations with a hand-written derivative.

    Subclass it with two static methods and call ``apply``:

    * ``forward(ctx, *args)`` computes the output from Tensors (it runs under ``no_grad``);
      it may call ``ctx.save_for_backward(...)`` and set attributes on ``ctx``.
    * ``backward(ctx, *grads)`` receives ∂L/∂out as a Tensor and returns one gradient per
      argument of ``forward`` (``None`` for non-Tensor arguments), each of its input's shape.

    >>> import chainrule as cr
    >>> class Exp(cr.Function):
    ...     @staticmethod
    ...     def forward(ctx, x):
    ...         out = x.exp()
    ...         ctx.save_for_backward(out)
    ...         return out
    ...     @staticmethod
    ...     def backward(ctx, g):            # ∂eˣ/∂x = eˣ
    ...         (out,) = ctx.saved_tensors
    ...         return g * out
    >>> x = cr.tensor(1.0, requires_grad=True)
    >>> Exp.apply(x).backward()
    >>> round(float(x.grad), 6)
    2.718282
    """

    @staticmethod
    def forward(ctx: FunctionCtx, *args: Any) -> Any:
        """Compute the output. Override in a subclass."""
        raise NotImplementedError("Function.forward: override forward(ctx, *args)")

    @staticmethod
    def backward(ctx: FunctionCtx, *grads: Any) -> Any:
        """Return ∂L/∂input for each input, given ∂L/∂out. Override in a subclass."""
        raise NotImplementedError("Function.backward: override backward(ctx, *grads)")

    @classmethod
    def apply(cls, *args: Any) -> Tensor:
        """Run ``forward`` and record one graph node whose derivative is ``backward``."""
        record = STATE.grad_enabled and any(
            isinstance(a, Traced) and a.requires_grad for a in args
        )
        ctx = FunctionCtx(tuple(
            record and isinstance(a, Traced) and a.requires_grad for a in args
        ))
        with no_grad():
            returned = cls.forward(ctx, *args)
        out = _as_output(cls, returned)
        ctx._output_slots = tuple(i for i, t in enumerate(ctx._saved) if t is returned)
        if not record:
            return out
        prim = Primitive(
            cls.__name__,
            lambda *arrays: out.data,
            formula=_formula(cls),
            vjp_all=_rule(cls, ctx),
        )
        return apply(prim, args, {})


def _as_output(cls: type, out: Any) -> Tensor:
    if isinstance(out, Tensor):
        return wrap(out.data)
    if isinstance(out, (tuple, list)):
        raise TypeError(f"{cls.__name__}.forward: returned a {type(out).__name__}; a Function "
                        "returns a single Tensor")
    return wrap(to_array(out, op=f"{cls.__name__}.forward"))


def _formula(cls: type) -> str:
    doc = (cls.__doc__ or "").strip()
    first = doc.splitlines()[0] if doc else ""
    return f"custom derivative {cls.__name__}.backward" + (f": {first}" if first else "")


def _rule(cls: type[Function], ctx: FunctionCtx) -> Any:
    """The node's ``vjp_all``: call the user's backward with Tensors, check what it returns."""

    def vjp_all(g: Any, out: Any, inputs: Any, params: dict[str, Any], needs: Any) -> list[Any]:
        graph = isinstance(g, Traced)  # create_graph: keep Tensors, the pass is recorded
        g_tensor = g if graph else wrap(np.asarray(g))
        ctx._output = out if isinstance(out, Traced) else wrap(np.asarray(out))
        try:
            grads = cls.backward(ctx, g_tensor)
        finally:
            ctx._output = None
        if not isinstance(grads, (tuple, list)):
            grads = (grads,)
        if len(grads) != len(inputs):
            raise RuntimeError(
                f"{cls.__name__}.backward: returned {len(grads)} gradient(s) but forward took "
                f"{len(inputs)} argument(s); return one per argument (None for non-Tensors)"
            )
        return [_checked_grad(cls, i, gi, x, graph) if need else None
                for i, (gi, x, need) in enumerate(zip(grads, inputs, needs))]

    return vjp_all


def _checked_grad(cls: type, index: int, gi: Any, x: Any, graph: bool) -> Any:
    """One returned gradient, with its input's shape; ``None`` means zero (as PyTorch)."""
    shape = np.shape(x.data if isinstance(x, Traced) else x)
    if gi is None:
        return np.zeros(shape, dtype=np.result_type(x.data if isinstance(x, Traced) else x))
    gshape = np.shape(gi.data if isinstance(gi, Traced) else gi)
    if tuple(gshape) != tuple(shape):
        raise RuntimeError(
            f"{cls.__name__}.backward: gradient {index} has shape {shape_str(gshape)} but "
            f"input {index} has shape {shape_str(shape)}; return ∂L/∂input with the input's shape"
        )
    if graph:
        return gi if isinstance(gi, Traced) else wrap(np.asarray(gi))
    return gi.data if isinstance(gi, Traced) else np.asarray(gi)
