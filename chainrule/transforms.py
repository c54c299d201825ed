r"""Function transforms, JAX-style: ``grad``, ``value_and_grad``, ``vjp``, ``jvp``,
``jacobian`` and ``hessian``.

Each transform takes a function of Tensors and returns a new function. They compose
(``grad(grad(f))``) because, whenever the arguments are themselves being differentiated
by an outer transform, the inner backward pass is recorded (``create_graph``) and its
result is an ordinary differentiable Tensor.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, overload

import numpy as np

from chainrule._config import STATE
from chainrule._convert import to_array
from chainrule.autodiff import Traced, reaches_leaf
from chainrule.autodiff import backward as _backward
from chainrule.errors import shape_str
from chainrule.function_forms import stack
from chainrule.tensor import Tensor, wrap


def _argnums_tuple(argnums: int | Sequence[int], nargs: int, op: str) -> tuple[int, ...]:
    nums = (argnums,) if isinstance(argnums, (int, np.integer)) else tuple(argnums)
    for n in nums:
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not -nargs <= n < nargs:
            raise ValueError(
                f"{op}: argnums {argnums!r} is out of range for a function called with "
                f"{nargs} positional argument(s)"
            )
    return tuple(int(n) % nargs for n in nums)

def _as_variable(value: Any) -> Tensor:
    """The tensor to differentiate with respect to.

    A Tensor that already requires grad (an outer transform's variable) is used as is,
    so the derivative stays connected to the outer computation; anything else becomes a
    fresh float leaf.
    """
    if isinstance(value, Tensor) and value.requires_grad:
        return value
    data = value.data if isinstance(value, Traced) else to_array(value, op="grad")
    if data.dtype.kind != "f":
        data = data.astype(STATE.default_dtype)
    leaf = wrap(data)
    leaf.requires_grad = True
    return leaf


def _output_tensor(out: Any, op: str) -> Tensor:
    if not isinstance(out, Tensor):
        raise TypeError(f"{op}: the function must return a Tensor, got {type(out).__name__}")
    return out


def _zeros_for(x: Tensor) -> Tensor:
    return wrap(np.zeros_like(x.data))


def _gradients(out: Tensor, variables: Sequence[Tensor], cotangent: Any, outer: bool,
               retain_graph: bool = False, own: Sequence[Tensor] = ()) -> list[Tensor]:
    """∂⟨cotangent, out⟩/∂variable for each variable (zeros where out does not depend on it).

    The backward pass is recorded only when the result must stay differentiable: an outer
    transform is differentiating, or ``out`` depends on a leaf (a closed-over parameter)
    other than the ``variables`` and this transform's ``own`` temporaries.
    """
    if not out.requires_grad:
        return [_zeros_for(v) for v in variables]
    create = outer or reaches_leaf(out, [*variables, *own]) or isinstance(cotangent, Traced) and (
        cotangent.requires_grad
    )
    if not create and isinstance(cotangent, Traced):
        cotangent = cotangent.data
    grads = _backward(out, cotangent, retain_graph or create, create, targets=variables)
    assert grads is not None  # with targets, backward returns one entry per target
    result: list[Tensor] = []
    for v, g in zip(variables, grads):
        if g is None:
            result.append(_zeros_for(v))
        elif isinstance(g, Tensor):
            result.append(g)
        else:
            result.append(wrap(np.asarray(g, dtype=v.dtype)))
    return result


def _call(f: Callable[..., Any], args: tuple[Any, ...], argnums: tuple[int, ...]
          ) -> tuple[Any, list[Tensor], bool]:
    """Call ``f`` with the differentiated arguments replaced by variables."""
    outer = STATE.grad_enabled and any(
        isinstance(args[i], Tensor) and args[i].requires_grad for i in argnums
    )
    variables = [_as_variable(args[i]) for i in argnums]
    call_args = list(args)
    for i, v in zip(argnums, variables):
        call_args[i] = v
    previous = STATE.grad_enabled
    STATE.grad_enabled = True
    try:
        out = f(*call_args)
    finally:
        STATE.grad_enabled = previous
    return out, variables, outer


@overload
def value_and_grad(f: Callable[..., Any], argnums: int = 0
                   ) -> Callable[..., tuple[Tensor, Tensor]]: ...
@overload
def value_and_grad(f: Callable[..., Any], argnums: Sequence[int]
                   ) -> Callable[..., tuple[Tensor, tuple[Tensor, ...]]]: ...
def value_and_grad(f: Callable[..., Any], argnums: int | Sequence[int] = 0
                   ) -> Callable[..., tuple[Tensor, Tensor | tuple[Tensor, ...]]]:
    r"""A function returning ``(f(*args), ∇f(*args))`` for scalar-valued ``f``.

    Args:
        f: a function of Tensors returning a one-element Tensor.
        argnums: the position(s) to differentiate; a tuple gives a tuple of gradients.

    >>> import chainrule as cr
    >>> value, slope = cr.value_and_grad(lambda x: x ** 3)(2.0)   # d(x³)/dx = 3x²
    >>> float(value), float(slope)
    (8.0, 12.0)
    """

    def value_and_grad_f(*args: Any) -> tuple[Tensor, Tensor | tuple[Tensor, ...]]:
        nums = _argnums_tuple(argnums, len(args), "grad")
        out, variables, outer = _call(f, args, nums)
        out = _output_tensor(out, "grad")
        if out.size != 1:
            raise ValueError(
                f"grad: the function must return a scalar (one element) to take its gradient, "
                f"got shape {shape_str(out.shape)}; use cr.jacobian for vector outputs"
            )
        # The value keeps its graph only where someone can still differentiate it (an outer
        # transform, or closed-over parameters): otherwise that graph is freed just below.
        keep = outer or (out.requires_grad and reaches_leaf(out, variables))
        grads = _gradients(out, variables, np.ones_like(out.data), outer)
        value = out if keep else out.detach()
        if isinstance(argnums, (int, np.integer)):
            return value, grads[0]
        return value, tuple(grads)

    return value_and_grad_f


@overload
def grad(f: Callable[..., Any], argnums: int = 0) -> Callable[..., Tensor]: ...
@overload
def grad(f: Callable[..., Any], argnums: Sequence[int]) -> Callable[..., tuple[Tensor, ...]]: ...
def grad(f: Callable[..., Any], argnums: int | Sequence[int] = 0
         ) -> Callable[..., Tensor | tuple[Tensor, ...]]:
    r"""A function returning the gradient ∇f of scalar-valued ``f``; nests for higher orders.

    >>> import chainrule as cr
    >>> d2 = cr.grad(cr.grad(lambda x: x.sin()))   # (sin x)'' = −sin x
    >>> round(float(d2(1.0)), 6)
    -0.841471
    """
    inner = value_and_grad(f, argnums)

    def grad_f(*args: Any) -> Tensor | tuple[Tensor, ...]:
        return inner(*args)[1]

    return grad_f


def vjp(f: Callable[..., Any], *primals: Any
        ) -> tuple[Tensor, Callable[[Any], tuple[Tensor, ...]]]:
    r"""Evaluate ``f(*primals)`` and return ``(out, vjp_fn)``, where
    ``vjp_fn(v) = (vᵀ ∂out/∂primal₁, …)`` — a tuple, one entry per primal (JAX's convention).
    """
    nums = tuple(range(len(primals)))
    out, variables, outer = _call(f, primals, nums)
    out = _output_tensor(out, "vjp")

    def vjp_fn(cotangent: Any) -> tuple[Tensor, ...]:
        v = cotangent if isinstance(cotangent, Tensor) else Tensor(
            to_array(cotangent, op="vjp"), dtype=out.dtype)
        if v.shape != out.shape:
            raise ValueError(
                f"vjp: cotangent has shape {shape_str(v.shape)} but the output has shape "
                f"{shape_str(out.shape)}"
            )
        return tuple(_gradients(out, variables, v, outer, retain_graph=True))

    return out, vjp_fn


def jvp(f: Callable[..., Any], primals: Sequence[Any], tangents: Sequence[Any]
        ) -> tuple[Tensor, Tensor]:
    r"""Forward mode: ``(f(x), J·t)``, the directional derivative of ``f`` at ``primals``
    along ``tangents``.

    Computed by an exact construction, not a separate forward-mode pass: the
    vector-Jacobian product u ↦ uᵀJ is linear in u, so differentiating ⟨uᵀJ, t⟩ with
    respect to u gives J·t exactly (the "double-vjp" trick). It costs two backward passes
    and needs no forward rules, and it is exact to rounding, like any autodiff result.
    """
    primals, tangents = tuple(primals), tuple(tangents)
    if len(primals) != len(tangents):
        raise ValueError(
            f"jvp: got {len(primals)} primal(s) but {len(tangents)} tangent(s); give one "
            "tangent per primal"
        )
    nums = tuple(range(len(primals)))
    out, variables, outer = _call(f, primals, nums)
    out = _output_tensor(out, "jvp")
    tangent_tensors: list[Tensor] = []
    for v, t in zip(variables, tangents):
        t = t if isinstance(t, Tensor) else Tensor(to_array(t, op="jvp"), dtype=v.dtype)
        if t.shape != v.shape:
            raise ValueError(
                f"jvp: tangent of shape {shape_str(t.shape)} for a primal of shape "
                f"{shape_str(v.shape)}"
            )
        tangent_tensors.append(t)
    u = wrap(np.zeros_like(out.data))
    u.requires_grad = True
    if not out.requires_grad:
        return out, wrap(np.zeros_like(out.data))
    vjps = _backward(out, u, True, True, targets=variables)
    assert vjps is not None  # with targets, backward returns one entry per target
    total: Tensor | None = None
    for g, t in zip(vjps, tangent_tensors):
        if g is None:
            continue
        term = (g * t).sum()
        total = term if total is None else total + term
    if total is None or not total.requires_grad:
        return out, wrap(np.zeros_like(out.data))
    (tangent_out,) = _gradients(total, [u], np.ones_like(total.data), outer, own=variables)
    return (out if outer else out.detach()), tangent_out


@overload
def jacobian(f: Callable[..., Any], argnums: int = 0) -> Callable[..., Tensor]: ...
@overload
def jacobian(f: Callable[..., Any], argnums: Sequence[int]
             ) -> Callable[..., tuple[Tensor, ...]]: ...
def jacobian(f: Callable[..., Any], argnums: int | Sequence[int] = 0
             ) -> Callable[..., Tensor | tuple[Tensor, ...]]:
    r"""A function returning the Jacobian ∂f/∂x, of shape ``out.shape + x.shape``
    (a tuple of them for a tuple ``argnums``), built row by row from vector-Jacobian
    products with the unit vectors eᵢ."""

    def jacobian_f(*args: Any) -> Tensor | tuple[Tensor, ...]:
        nums = _argnums_tuple(argnums, len(args), "jacobian")
        out, variables, outer = _call(f, args, nums)
        out = _output_tensor(out, "jacobian")
        rows: list[list[Tensor]] = [[] for _ in variables]
        for i in range(out.size):
            basis = np.zeros(out.size, dtype=out.dtype)
            basis[i] = 1
            grads = _gradients(out, variables, basis.reshape(out.shape), outer, retain_graph=True)
            for row, g in zip(rows, grads):
                row.append(g)
        results: list[Tensor] = []
        for v, row in zip(variables, rows):
            if row:
                results.append(stack(row, axis=0).reshape(out.shape + v.shape))
            else:
                results.append(wrap(np.zeros(out.shape + v.shape, v.dtype)))
        if isinstance(argnums, (int, np.integer)):
            return results[0]
        return tuple(results)

    return jacobian_f


def hessian(f: Callable[..., Any], argnums: int = 0) -> Callable[..., Tensor]:
    r"""A function returning the Hessian ∂²f/∂x², the Jacobian of the gradient; for
    f(x) = xᵀAx it is A + Aᵀ."""
    if not isinstance(argnums, (int, np.integer)):
        raise ValueError("hessian: argnums must be a single int")
    return jacobian(grad(f, argnums), argnums)
