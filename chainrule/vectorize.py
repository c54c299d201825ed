r"""``cr.vmap``: a function mapped over a batch axis by batching rules, not a Python loop.

``vmap(f, in_axes, out_axes)(*args)`` equals stacking ``f`` applied to each example:

.. math:: \mathrm{vmap}(f)(x)[b] = f(x[b])

taking example b of every mapped argument along its axis in ``in_axes``, and placing the
results' batch axis at ``out_axes``. Each primitive runs once on the whole batch through its
batching rule (see :mod:`chainrule.batching`), so the cost is that of one batched call.

>>> import chainrule as cr, numpy as np
>>> dot = lambda a, b: (a * b).sum()
>>> cr.vmap(dot)(np.ones((3, 2)), np.arange(6.0).reshape(3, 2)).tolist()   # row-wise dots
[1.0, 5.0, 9.0]
>>> cr.vmap(dot, in_axes=(None, 0))(np.array([1.0, -1.0]), np.eye(2)).tolist()
[1.0, -1.0]
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import numpy as np

from chainrule import batching
from chainrule._convert import to_array
from chainrule.autodiff import Traced
from chainrule.errors import shape_str
from chainrule.pytree import PyTree, TreeDef, flatten, unflatten
from chainrule.tensor import Tensor, wrap


def _name(f: Callable[..., Any]) -> str:
    return str(getattr(f, "__name__", type(f).__name__))


def _is_axis(value: Any) -> bool:
    return value is None or (isinstance(value, (int, np.integer)) and not isinstance(value, bool))


def _axes_for(spec: Any, tree: Any, where: str, what: str) -> list[tuple[Any, str]]:
    """One axis (int or None) per leaf of ``tree``, from ``spec``: an int or None for a whole
    subtree, or a container of the tree's structure (a pytree prefix, JAX's rule)."""
    if _is_axis(spec):
        leaves, treedef = flatten(tree)
        if spec is None:  # nothing to check, nothing to name
            return [(None, where)] * len(leaves)
        return [(spec, where + p) for p in treedef.paths()] if leaves else []
    if isinstance(spec, dict) and isinstance(tree, dict):
        if set(spec) != set(tree):
            raise ValueError(f"vmap: {what} at {where} has keys {sorted(map(str, spec))} but the "
                             f"argument has keys {sorted(map(str, tree))}")
        out: list[tuple[Any, str]] = []
        for key in tree:
            out += _axes_for(spec[key], tree[key], f"{where}[{key!r}]", what)
        return out
    if isinstance(spec, (list, tuple)) and isinstance(tree, (list, tuple)):
        if len(spec) != len(tree):
            raise ValueError(f"vmap: {what} at {where} has {len(spec)} entries but the argument "
                             f"there has {len(tree)}")
        out = []
        for k, (s, t) in enumerate(zip(spec, tree)):
            out += _axes_for(s, t, f"{where}[{k}]", what)
        return out
    raise ValueError(f"vmap: {what} at {where} must be an int, None, or a container matching "
                     f"the argument's structure, got {type(spec).__name__} for a "
                     f"{type(tree).__name__}")


def _check_in_axes(in_axes: Any, nargs: int) -> tuple[Any, ...]:
    if _is_axis(in_axes):
        return (in_axes,) * nargs
    if isinstance(in_axes, list):
        in_axes = tuple(in_axes)
    if not isinstance(in_axes, tuple):
        raise TypeError(f"vmap: in_axes must be an int, None, or a tuple with one entry per "
                        f"positional argument, got {type(in_axes).__name__}")
    if len(in_axes) != nargs:
        raise ValueError(f"vmap: in_axes has {len(in_axes)} entries but the function was "
                         f"called with {nargs} positional argument(s)")
    return in_axes


def _leaf_tensor(leaf: Any, path: str) -> Tensor:
    if isinstance(leaf, Tensor):
        return leaf
    try:
        return wrap(to_array(leaf, op="vmap"))
    except (TypeError, ValueError):
        raise TypeError(f"vmap: argument {path} is a {type(leaf).__name__}, which has no axis "
                        "to map over (give it in_axes None)") from None


def vmap(f: Callable[..., Any], in_axes: Any = 0, out_axes: Any = 0) -> Callable[..., Any]:
    r"""``f`` mapped over a batch axis: ``vmap(f)(x)[b] = f(x[b])``, computed by batching
    rules in one pass over the batch, not by a loop.

    Args:
        f: a function of Tensors (pytrees allowed) returning a Tensor or a pytree of them.
        in_axes: the axis to map of each positional argument: an int (negative counts
            from the end) or None (not mapped, the same for every example) for all of
            them, or a tuple with one entry per argument, each an int, None, or a pytree
            of them matching that argument's structure. Keyword arguments are mapped
            along axis 0.
        out_axes: where the batch axis goes in each output: an int, None (the output must
            not depend on the batch), or a pytree prefix of the outputs.

    Mapped arguments must agree on the batch size. Inside ``f``, each mapped value has
    one example's shape; operations on it run on the whole batch. Nested ``vmap`` maps
    further axes; ``grad`` inside gives per-example gradients::

        per_example = cr.vmap(cr.grad(loss), in_axes=(None, 0, 0))(params, X, y)

    Raises:
        ValueError: ``in_axes`` does not match the arguments, an axis is out of range, the
            batch sizes differ, or nothing is mapped (each message names the argument).
        TypeError: a mapped argument is not a tensor, array or number.
        RuntimeError: ``f`` reads the values of a batched tensor (``float(t)``, ``if``).
    """

    def mapped(*args: Any, **kwargs: Any) -> PyTree:
        axes = _check_in_axes(in_axes, len(args))
        plan: list[tuple[Any, str]] = []
        trees: list[TreeDef] = []
        leaves_all: list[Any] = []
        for i, (spec, arg) in enumerate(zip(axes, args)):
            plan += _axes_for(spec, arg, f"{i}", "in_axes")
            leaves, tree = flatten(arg)
            trees.append(tree)
            leaves_all += leaves
        for key, value in kwargs.items():
            plan += _axes_for(0, value, f"{key!r}", "in_axes")
            leaves, tree = flatten(value)
            trees.append(tree)
            leaves_all += leaves
        size, sizes = None, []
        prepared: list[tuple[Tensor | Any, Any]] = []
        for leaf, (axis, path) in zip(leaves_all, plan):
            if axis is None:
                prepared.append((leaf, None))
                continue
            t = _leaf_tensor(leaf, path)
            ndim = len(t.shape)
            if not -ndim <= axis < ndim:
                raise ValueError(f"vmap: in_axes {axis} is out of range for argument {path} of "
                                 f"shape {shape_str(t.shape)}")
            axis = int(axis) % ndim
            sizes.append((path, axis, t.shape[axis]))
            size = t.shape[axis] if size is None else size
            prepared.append((t, axis))
        if not sizes:
            raise ValueError("vmap: in_axes maps no argument (all None); map at least one")
        if any(n != size for _, _, n in sizes):
            described = ", ".join(f"argument {p} has {n} along axis {a}" for p, a, n in sizes)
            raise ValueError(f"vmap: the mapped axes have different sizes: {described}")
        assert size is not None
        level = batching.push(size)
        try:
            wrapped = [leaf if axis is None else batching.batched(
                batching.move_first(leaf, axis), level) for leaf, axis in prepared]
            call_args, start = [], 0
            for tree in trees:
                call_args.append(unflatten(tree, wrapped[start:start + tree.num_leaves]))
                start += tree.num_leaves
            out = f(*call_args[:len(args)], **dict(zip(kwargs, call_args[len(args):])))
            return _unbatch(out, out_axes, level, size, _name(f))
        finally:
            batching.pop(level)

    mapped.__name__ = f"vmap({_name(f)})"
    mapped.__doc__ = f.__doc__
    return mapped


def _unbatch(out: Any, out_axes: Any, level: int, size: int, name: str) -> PyTree:
    """The outputs of ``f`` with the batch axis of ``level`` placed at ``out_axes``."""
    leaves, tree = flatten(out)
    plan = _axes_for(out_axes, out, "", "out_axes")
    result = []
    for leaf, (axis, path) in zip(leaves, plan):
        where = f" (output{path})" if path else ""
        if not isinstance(leaf, Traced):
            raise TypeError(f"vmap: {name} must return Tensors (or a pytree of them), got "
                            f"{type(leaf).__name__}{where}")
        mapped_here = isinstance(leaf, batching.BatchedTensor) and leaf._level == level
        if axis is None:
            if mapped_here:
                raise ValueError(f"vmap: out_axes is None but the output{where} depends on the "
                                 "mapped axis")
            result.append(leaf)
            continue
        value = (cast(batching.BatchedTensor, leaf)._value if mapped_here
                 else batching.broadcast_level(leaf, size))
        ndim = len(value.shape)
        if not -ndim <= axis < ndim:
            raise ValueError(f"vmap: out_axes {axis} is out of range for output{where} of "
                             f"shape {shape_str(tuple(value.shape[1:]))} (plus the batch axis)")
        result.append(batching.move_from_first(value, int(axis) % ndim))
    return unflatten(tree, result)
