r"""Function transforms, JAX-style: ``grad``, ``value_and_grad``, ``vjp``, ``jvp``,
``jacobian`` (``jacrev``), ``jacfwd`` and ``hessian``; ``vmap`` is in
:mod:`chainrule.vectorize`, and each of these works inside it (per-example derivatives).

Each transform takes a function of Tensors and returns a new function. They compose
(``grad(grad(f))``) because, whenever the arguments are themselves being differentiated
by an outer transform, the inner backward pass is recorded (``create_graph``) and its
result is an ordinary differentiable Tensor.

Arguments may be pytrees (:mod:`chainrule.pytree`): Tensors, arrays and numbers nested in
dicts, lists and tuples. Each leaf becomes a variable of its own, and a derivative comes
back in the argument's structure (a dict in, a dict of gradients out; a list of two
tensors is two leaves, never one stacked array). ``vjp``, ``jvp`` and the Jacobians also
accept a function returning a pytree of Tensors.

>>> import chainrule as cr
>>> def f(p):                                      # f = w·x₀ + w·x₁
...     return p["w"] * p["x"][0] + p["w"] * p["x"][1]
>>> g = cr.grad(f)({"w": 2.0, "x": [1.0, 3.0]})    # ∂f/∂w = x₀ + x₁, ∂f/∂xᵢ = w
>>> float(g["w"]), [float(gx) for gx in g["x"]]
(4.0, [2.0, 2.0])
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from chainrule import batching
from chainrule._config import STATE, enable_grad
from chainrule._convert import to_array
from chainrule.autodiff import Traced, reaches_leaf
from chainrule.autodiff import backward as _backward
from chainrule.errors import shape_str
from chainrule.function_forms import concatenate, stack
from chainrule.pytree import PyTree, TreeDef, flatten, flatten_as, map_leaves, unflatten
from chainrule.tensor import Tensor, wrap
from chainrule.vectorize import vmap

_LEAF_RULE = ("a differentiated argument must be a Tensor, NumPy array or number, or a dict, "
              "list or tuple of them (pass other data in an argument not in argnums)")


def _argnums_tuple(argnums: int | Sequence[int], nargs: int, op: str) -> tuple[int, ...]:
    nums = (argnums,) if isinstance(argnums, (int, np.integer)) else tuple(argnums)
    for n in nums:
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not -nargs <= n < nargs:
            raise ValueError(
                f"{op}: argnums {argnums!r} is out of range for a function called with "
                f"{nargs} positional argument(s)"
            )
    return tuple(int(n) % nargs for n in nums)


def _pick(argnums: int | Sequence[int], groups: list[PyTree]) -> PyTree:
    """One result for an int ``argnums``, a tuple of them for a sequence (JAX's rule)."""
    return groups[0] if isinstance(argnums, (int, np.integer)) else tuple(groups)


def _function_name(f: Callable[..., Any]) -> str:
    return str(getattr(f, "__name__", type(f).__name__))


def _bad_leaf_type(leaf: Any) -> str | None:
    """The type of a leaf that cannot be differentiated, in words; None for a good leaf."""
    if isinstance(leaf, (Traced, int, float)):
        return None
    if isinstance(leaf, (np.ndarray, np.generic)):
        return None if leaf.dtype.kind in "biuf" else f"{type(leaf).__name__} (dtype {leaf.dtype})"
    return type(leaf).__name__


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


def _variables(leaves: list[Any]) -> list[Tensor]:
    """One variable per leaf (recording must be on: a repeated tensor gets an alias op)."""
    variables = [_as_variable(leaf) for leaf in leaves]
    # The same tensor at two positions ([w, w], or an outer variable passed twice): a backward
    # pass gives a leaf's whole gradient to one target, so every position of a repeated tensor
    # gets an identity op of its own, whose node collects that position's partial derivative.
    repeats = Counter(id(v) for v in variables)
    return [v.reshape(v.shape) if repeats[id(v)] > 1 else v for v in variables]


class _Call:
    r"""``f(*args)`` with every leaf of the differentiated arguments replaced by a variable.

    ``outer`` says whether an outer transform is differentiating those arguments (then every
    derivative must stay differentiable); ``trees`` holds each argument's structure, so that
    flat per-variable results go back into it (:meth:`regroup`).
    """

    __slots__ = ("out", "variables", "trees", "outer", "levels", "targets")

    def __init__(self, f: Callable[..., Any], args: tuple[Any, ...], argnums: tuple[int, ...],
                 op: str) -> None:
        self.trees: list[TreeDef] = []
        leaves: list[Any] = []
        for i in argnums:
            arg_leaves, tree = flatten(args[i])
            for k, leaf in enumerate(arg_leaves):
                bad = _bad_leaf_type(leaf)
                if bad is not None:
                    raise TypeError(f"{op}: argument {i}{tree.paths()[k]} of {_function_name(f)} "
                                    f"is of type {bad}; {_LEAF_RULE}")
            self.trees.append(tree)
            leaves += arg_leaves
        self.outer = STATE.grad_enabled and any(
            isinstance(x, Tensor) and x.requires_grad for x in leaves)
        #: inside vmap: the active levels, every variable batched at all of them, and the
        #: physical tensors that backward differentiates (per-example gradients)
        self.levels = list(batching.LEVELS)
        with enable_grad():
            if self.levels:
                lifted = [batching.lift(leaf, self.levels) for leaf in leaves]
                self.variables = [v for v, _ in lifted]
                self.targets = [t for _, t in lifted]
            else:
                self.variables = _variables(leaves)
                self.targets = self.variables
            call_args = list(args)
            for i, group in zip(argnums, self.regroup(self.variables)):
                call_args[i] = group
            self.out = f(*call_args)

    def regroup(self, flat: Sequence[Any]) -> list[PyTree]:
        """Per-variable values as one pytree per differentiated argument."""
        groups, start = [], 0
        for tree in self.trees:
            groups.append(unflatten(tree, flat[start:start + tree.num_leaves]))
            start += tree.num_leaves
        return groups

    def keeps_graph(self, t: Tensor) -> bool:
        """Whether a result computed along the way must keep its graph: an outer transform
        or a closed-over parameter (a leaf that is not a variable) can still differentiate
        it. Otherwise its graph is spent by this transform, as in JAX."""
        if self.levels and isinstance(t, batching.BatchedTensor):
            return self.outer or (t.requires_grad and reaches_leaf(
                batching.peel(t), self.targets))
        return self.outer or (t.requires_grad and reaches_leaf(t, self.variables))


def _output_leaves(out: Any, op: str) -> tuple[list[Tensor], TreeDef]:
    """The Tensors ``f`` returned (one, or a pytree of them) and their structure."""
    leaves, tree = flatten(out)
    for k, leaf in enumerate(leaves):
        if not isinstance(leaf, Tensor):
            where = f" at {tree.paths()[k]}" if tree.paths()[k] else ""
            raise TypeError(f"{op}: the function must return a Tensor (or a dict, list or tuple "
                            f"of Tensors), got {type(leaf).__name__}{where}")
    return leaves, tree


def _join(outs: list[Tensor]) -> Tensor:
    """One Tensor for all of ``f``'s outputs, so that one backward pass serves them all: a
    single output as it is, several flattened and concatenated (record with grad on)."""
    if len(outs) == 1:
        return outs[0]
    if not outs:
        return wrap(np.zeros(0, dtype=STATE.default_dtype))
    return concatenate([o.reshape(-1) for o in outs])


def _split(joined: Tensor, outs: list[Tensor], trailing: tuple[int, ...] = ()) -> list[Tensor]:
    """Undo :func:`_join` on a Tensor laid out like the joined outputs (their elements along
    axis 0, then ``trailing`` axes): one piece per output, of shape ``out.shape + trailing``."""
    if len(outs) == 1:
        shape = outs[0].shape + trailing
        return [joined if joined.shape == shape else joined.reshape(shape)]
    pieces, start = [], 0
    for o in outs:
        pieces.append(joined[start:start + o.size].reshape(o.shape + trailing))
        start += o.size
    return pieces


def _zeros_for(x: Tensor) -> Tensor:
    return wrap(np.zeros(x.shape, x.dtype))


def _gradients(out: Tensor, variables: Sequence[Tensor], cotangent: Any, outer: bool,
               retain_graph: bool = False, own: Sequence[Tensor] = ()) -> list[Tensor]:
    """∂⟨cotangent, out⟩/∂variable for each variable (zeros where out does not depend on it).

    The backward pass is recorded only when the result must stay differentiable: an outer
    transform is differentiating, or ``out`` depends on a leaf (a closed-over parameter)
    other than the ``variables`` and this transform's ``own`` temporaries.
    """
    if batching.LEVELS:
        if any(isinstance(v, batching.BatchedTensor) for v in variables):
            return batching.lifted_gradients(_backward, out, variables, cotangent, outer,
                                             retain_graph, own)
        if isinstance(cotangent, batching.BatchedTensor):
            if not out.requires_grad:
                return [_zeros_for(v) for v in variables]
            return batching.cotangent_gradients(_backward, out, variables, cotangent, outer,
                                                own)
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


# ------------------------------------------------------------ gradients of scalar functions
def _split_aux(result: Any, op: str) -> tuple[Any, Any]:
    if not (isinstance(result, (tuple, list)) and len(result) == 2):
        got = (f"a {type(result).__name__} of length {len(result)}"
               if isinstance(result, (tuple, list)) else type(result).__name__)
        raise TypeError(f"{op}: with has_aux=True the function must return a pair "
                        f"(output, aux), got {got}")
    return result[0], result[1]


def _scalar_output(out: Any, op: str, has_aux: bool) -> Tensor:
    if not isinstance(out, Tensor):
        got = type(out).__name__
        if has_aux:
            got += " as the first element of the (output, aux) pair"
        elif isinstance(out, tuple) and len(out) == 2:
            got += " (for a function returning (output, aux), pass has_aux=True)"
        raise TypeError(f"{op}: the function must return a Tensor, got {got}")
    if out.size != 1:
        raise ValueError(
            f"{op}: the function must return a scalar (one element) to take its gradient, "
            f"got shape {shape_str(out.shape)}; use cr.jacobian for vector outputs"
        )
    return out


def _value_and_grad(f: Callable[..., Any], argnums: int | Sequence[int], has_aux: bool,
                    op: str) -> Callable[..., tuple[Any, PyTree]]:
    """``value_and_grad``'s function, naming ``op`` in its errors; with ``has_aux`` the value
    is the pair ``(output, aux)``."""

    def value_and_grad_f(*args: Any) -> tuple[Any, PyTree]:
        nums = _argnums_tuple(argnums, len(args), op)
        call = _Call(f, args, nums, op)
        out, aux = _split_aux(call.out, op) if has_aux else (call.out, None)
        out = _scalar_output(out, op, has_aux)
        # The value (and aux) keep their graph only where someone can still differentiate
        # them: otherwise that graph is freed just below (so decide before it is).
        value = out if call.keeps_graph(out) else out.detach()
        if has_aux:
            aux = map_leaves(
                lambda a: a.detach() if isinstance(a, Tensor) and not call.keeps_graph(a) else a,
                aux)
        grads = _gradients(out, call.variables, np.ones(out.shape, out.dtype), call.outer)
        gradient = _pick(argnums, call.regroup(grads))
        return ((value, aux), gradient) if has_aux else (value, gradient)

    return value_and_grad_f


def value_and_grad(f: Callable[..., Any], argnums: int | Sequence[int] = 0,
                   has_aux: bool = False) -> Callable[..., tuple[Any, PyTree]]:
    r"""A function returning ``(f(*args), ∇f(*args))`` for scalar-valued ``f``.

    Args:
        f: a function of Tensors returning a one-element Tensor (with ``has_aux``, a pair
            ``(output, aux)`` whose ``aux`` is anything and is passed through).
        argnums: the position(s) to differentiate; a tuple gives a tuple of gradients.
            Each such argument may be a pytree; its gradient has the same structure.
        has_aux: return ``((value, aux), gradient)`` (JAX's convention).

    Raises:
        TypeError: a leaf of a differentiated argument is not a Tensor, array or number,
            or ``f`` does not return a Tensor (or, with ``has_aux``, a pair).
        ValueError: ``f`` returns more than one element; ``argnums`` is out of range.

    >>> import chainrule as cr
    >>> value, slope = cr.value_and_grad(lambda x: x ** 3)(2.0)   # d(x³)/dx = 3x²
    >>> float(value), float(slope)
    (8.0, 12.0)
    >>> (value, aux), slope = cr.value_and_grad(lambda x: (x ** 2, "x²"), has_aux=True)(3.0)
    >>> float(value), aux, float(slope)
    (9.0, 'x²', 6.0)
    """
    return _value_and_grad(f, argnums, has_aux, "value_and_grad")


def grad(f: Callable[..., Any], argnums: int | Sequence[int] = 0,
         has_aux: bool = False) -> Callable[..., PyTree]:
    r"""A function returning the gradient ∇f of scalar-valued ``f``; nests for higher orders.

    The gradient has the structure of the argument (a tuple of them for a tuple
    ``argnums``); with ``has_aux=True``, ``f`` returns ``(output, aux)`` and the function
    returns ``(gradient, aux)``. Arguments as in :func:`value_and_grad`.

    >>> import chainrule as cr, numpy as np
    >>> d2 = cr.grad(cr.grad(lambda x: x.sin()))   # (sin x)'' = −sin x
    >>> round(float(d2(1.0)), 6)
    -0.841471
    >>> params = {"w": np.array([1.0, 2.0]), "b": 0.5}
    >>> g = cr.grad(lambda p: (p["w"] ** 2).sum() + p["b"])(params)
    >>> g["w"].tolist(), float(g["b"])                 # 2w and 1
    ([2.0, 4.0], 1.0)
    """
    inner = _value_and_grad(f, argnums, has_aux, "grad")

    def grad_f(*args: Any) -> PyTree:
        value, gradient = inner(*args)
        return (gradient, value[1]) if has_aux else gradient

    return grad_f


# ------------------------------------------------------------ vector-Jacobian products
def vjp(f: Callable[..., Any], *primals: Any) -> tuple[PyTree, Callable[[Any], tuple[Any, ...]]]:
    r"""Evaluate ``f(*primals)`` and return ``(out, vjp_fn)``, where
    ``vjp_fn(v) = (vᵀ ∂out/∂primal₁, …)`` — a tuple, one entry per primal (JAX's convention).

    A primal may be a pytree (its entry has its structure); ``out`` may be a pytree of
    Tensors, and the cotangent ``v`` then has its structure (a leaf of each leaf's shape).
    ``vjp_fn`` may be called many times.

    >>> import chainrule as cr
    >>> out, vjp_fn = cr.vjp(lambda p: p["a"] * p["b"], {"a": 2.0, "b": 5.0})
    >>> (g,) = vjp_fn(1.0)                                      # ∂(ab)/∂a = b, ∂(ab)/∂b = a
    >>> float(g["a"]), float(g["b"])
    (5.0, 2.0)
    """
    call = _Call(f, primals, tuple(range(len(primals))), "vjp")
    outs, out_tree = _output_leaves(call.out, "vjp")
    with enable_grad():
        root = _join(outs)

    def vjp_fn(cotangent: Any) -> tuple[PyTree, ...]:
        given = flatten_as(out_tree, cotangent, "vjp", "the cotangent", "the output")
        vs: list[Tensor] = []
        for k, (o, c) in enumerate(zip(outs, given)):
            v = c if isinstance(c, Tensor) else Tensor(to_array(c, op="vjp"), dtype=o.dtype)
            if v.shape != o.shape:
                where = f" (output{out_tree.paths()[k]})" if out_tree.paths()[k] else ""
                raise ValueError(f"vjp: cotangent has shape {shape_str(v.shape)} but the output "
                                 f"has shape {shape_str(o.shape)}{where}")
            vs.append(v)
        with enable_grad():
            grads = _gradients(root, call.variables, _join(vs), call.outer, retain_graph=True)
        return tuple(call.regroup(grads))

    return call.out, vjp_fn


def _jacobian_rows(f: Callable[..., Any], argnums: int | Sequence[int], op: str
                   ) -> Callable[..., PyTree]:
    """Reverse mode: row i of the Jacobian is eᵢᵀJ, all rows in one backward pass mapped
    over the unit vectors eᵢ (``vmap``); inside ``vmap``, one backward pass per row."""

    def jacobian_f(*args: Any) -> PyTree:
        call = _Call(f, args, _argnums_tuple(argnums, len(args), op), op)
        outs, out_tree = _output_leaves(call.out, op)
        with enable_grad():
            root = _join(outs)
            if root.size and not call.levels:
                # every row at once: the vector-Jacobian product mapped over the unit
                # vectors, its backward pass run by the batching rules
                basis = np.eye(root.size, dtype=root.dtype).reshape((root.size, *root.shape))
                blocks = vmap(lambda e: _gradients(root, call.variables, e, call.outer,
                                                   retain_graph=True))(basis)
                return _assemble(call, argnums, outs, out_tree, blocks)
            # inside vmap (the variables batched already): one backward pass per row
            rows: list[list[Tensor]] = [[] for _ in call.variables]
            for i in range(root.size):
                basis = np.zeros(root.size, dtype=root.dtype)
                basis[i] = 1
                grads = _gradients(root, call.variables, basis.reshape(root.shape), call.outer,
                                   retain_graph=True)
                for row, g in zip(rows, grads):
                    row.append(g)
            blocks = [stack(row, axis=0) if row else wrap(np.zeros((0, *v.shape), v.dtype))
                      for v, row in zip(call.variables, rows)]
            return _assemble(call, argnums, outs, out_tree, blocks)

    return jacobian_f


def _assemble(call: _Call, argnums: int | Sequence[int], outs: list[Tensor], out_tree: TreeDef,
              blocks: list[Tensor]) -> PyTree:
    """The Jacobian in JAX's layout from ``blocks[j]`` = ∂(joined outputs)/∂variable j, of
    shape ``(N,) + x_j.shape``: the output's structure with each output leaf replaced by the
    argument's structure (a tuple of them for tuple ``argnums``), each block of shape
    ``out_k.shape + x_j.shape``."""
    per_out: list[list[Tensor]] = [[] for _ in outs]
    for v, block in zip(call.variables, blocks):
        for pieces, piece in zip(per_out, _split(block, outs, v.shape)):
            pieces.append(piece)
    return unflatten(out_tree, [_pick(argnums, call.regroup(pieces)) for pieces in per_out])


def jacrev(f: Callable[..., Any], argnums: int | Sequence[int] = 0) -> Callable[..., PyTree]:
    r"""A function returning the Jacobian ∂f/∂x by reverse mode: row i is the
    vector-Jacobian product eᵢᵀJ, every row in one backward pass over a batch of unit
    vectors (``vmap`` of the product; cheap for few outputs).

    The block for an output of shape S and an argument of shape T has shape ``S + T``;
    for pytrees, the output's structure holds, at each output leaf, the argument's
    structure of blocks (a tuple of them for a tuple ``argnums``), as in JAX.

    >>> import chainrule as cr, numpy as np
    >>> J = cr.jacrev(lambda x: x[:2] * x[2])(np.array([1.0, 2.0, 3.0]))   # 2 × 3
    >>> J.numpy().tolist()
    [[3.0, 0.0, 1.0], [0.0, 3.0, 2.0]]
    """
    return _jacobian_rows(f, argnums, "jacrev")


def jacobian(f: Callable[..., Any], argnums: int | Sequence[int] = 0) -> Callable[..., PyTree]:
    r"""A function returning the Jacobian ∂f/∂x, of shape ``out.shape + x.shape``
    (a tuple of them for a tuple ``argnums``), built row by row from vector-Jacobian
    products with the unit vectors eᵢ: the same as :func:`jacrev`, pytrees included."""
    return _jacobian_rows(f, argnums, "jacobian")


def hessian(f: Callable[..., Any], argnums: int = 0) -> Callable[..., PyTree]:
    r"""A function returning the Hessian ∂²f/∂x², the Jacobian of the gradient; for
    f(x) = xᵀAx it is A + Aᵀ. For a pytree ``x`` the block ``H[a][b]`` is ∂²f/∂x_a∂x_b."""
    if not isinstance(argnums, (int, np.integer)):
        raise ValueError("hessian: argnums must be a single int")
    return jacobian(grad(f, argnums), argnums)


# ------------------------------------------------------------ forward mode
class _Linearized:
    r"""``f`` at x with u ↦ uᵀJ recorded, so that each J·t costs one more backward pass.

    The double-vjp construction: uᵀJ is linear in u, so ∂⟨uᵀJ, t⟩/∂u = J·t exactly. It
    needs no forward rules, and it is exact to rounding, like any autodiff result.
    """

    def __init__(self, call: _Call, outs: list[Tensor]) -> None:
        self.call = call
        self.root = _join(outs)
        self.vjps: list[Tensor | None] = [None] * len(call.variables)
        if call.levels:  # inside vmap: u batched like the variables, one physical pass
            self.u, u = batching.lift(np.zeros(self.root.shape, self.root.dtype), call.levels)
            root = batching.physical(self.root, call.levels)
            if root.requires_grad:
                self.vjps = [None if g is None else batching.wrap_levels(g, call.levels)
                             for g in _backward(root, u, True, True, targets=call.targets)]
            return
        self.u = wrap(np.zeros(self.root.shape, self.root.dtype))
        self.u.requires_grad = True
        if self.root.requires_grad:
            self.vjps = _backward(self.root, self.u, True, True, targets=call.variables)

    def along(self, total: Tensor | None) -> Tensor:
        """∂total/∂u, laid out like the joined outputs: J·t for total = ⟨uᵀJ, t⟩."""
        if total is None or not total.requires_grad:
            return _zeros_for(self.root)
        (jt,) = _gradients(total, [self.u], np.ones(total.shape, total.dtype), self.call.outer,
                           retain_graph=True, own=self.call.variables)
        return jt


def jvp(f: Callable[..., Any], primals: Sequence[Any], tangents: Sequence[Any]
        ) -> tuple[PyTree, PyTree]:
    r"""Forward mode: ``(f(x), J·t)``, the directional derivative of ``f`` at ``primals``
    along ``tangents``.

    ``tangents`` has the structure of ``primals`` (one tangent per primal, pytrees
    alike, each leaf of its primal's shape); ``J·t`` has the structure of ``f``'s output.
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
    call = _Call(f, primals, tuple(range(len(primals))), "jvp")
    outs, out_tree = _output_leaves(call.out, "jvp")
    primal_tree = flatten(primals)[1]
    given = flatten_as(primal_tree, tangents, "jvp", "the tangents", "the primals")
    with enable_grad():
        lin = _Linearized(call, outs)
        total: Tensor | None = None
        for k, (v, g, t) in enumerate(zip(call.variables, lin.vjps, given)):
            t = t if isinstance(t, Tensor) else Tensor(to_array(t, op="jvp"), dtype=v.dtype)
            if t.shape != v.shape:
                raise ValueError(f"jvp: tangent of shape {shape_str(t.shape)} for a primal of "
                                 f"shape {shape_str(v.shape)} (primals{primal_tree.paths()[k]})")
            if g is not None:
                term = (g * t).sum()
                total = term if total is None else total + term
        tangent_out = _split(lin.along(total), outs)
    out = call.out if call.outer else map_leaves(
        lambda o: o.detach() if isinstance(o, Tensor) else o, call.out)
    return out, unflatten(out_tree, tangent_out)


def jacfwd(f: Callable[..., Any], argnums: int | Sequence[int] = 0) -> Callable[..., PyTree]:
    r"""A function returning the Jacobian ∂f/∂x by forward mode: column j is the
    Jacobian-vector product J·eⱼ, all of them in one pass mapped over the unit vectors eⱼ
    (``vmap``; cheap for few inputs); the same layout as :func:`jacrev`, pytrees included.

    >>> import chainrule as cr, numpy as np
    >>> J = cr.jacfwd(lambda x: x[:2] * x[2])(np.array([1.0, 2.0, 3.0]))   # 2 × 3
    >>> J.numpy().tolist()
    [[3.0, 0.0, 1.0], [0.0, 3.0, 2.0]]
    """

    def jacfwd_f(*args: Any) -> PyTree:
        call = _Call(f, args, _argnums_tuple(argnums, len(args), "jacfwd"), "jacfwd")
        outs, out_tree = _output_leaves(call.out, "jacfwd")
        with enable_grad():
            lin = _Linearized(call, outs)
            n = lin.root.size
            blocks: list[Tensor] = []
            for v, g in zip(call.variables, lin.vjps):
                if g is None or v.size == 0:  # f does not depend on v: a block of zeros
                    blocks.append(wrap(np.zeros((n, *v.shape), lin.root.dtype)))
                    continue
                if not call.levels:
                    # every column at once: J·eⱼ is the vector-Jacobian product of u ↦ uᵀJ
                    # with the cotangent eⱼ, mapped over the unit vectors (one backward pass)
                    basis = np.eye(v.size, dtype=g.dtype).reshape((v.size, *v.shape))
                    columns = vmap(lambda e, g=g: _gradients(
                        g, [lin.u], e, call.outer, retain_graph=True,
                        own=call.variables)[0])(basis)
                    blocks.append(columns.reshape((v.size, n)).T.reshape((n, *v.shape)))
                    continue
                flat_g = g.reshape(-1)
                # inside vmap: ⟨uᵀJ, eⱼ⟩ is entry j of uᵀJ; its derivative in u is column j
                columns_j = [lin.along(flat_g[j]) for j in range(v.size)]
                blocks.append(stack(columns_j, axis=-1).reshape((n, *v.shape)))
            return _assemble(call, argnums, outs, out_tree, blocks)

    return jacfwd_f
