r"""Pytrees, as in JAX: a value nested in dicts, lists and tuples, with leaves at the ends.

The function transforms accept pytree arguments (``cr.grad(loss)({"w": w, "b": b})``) and
give results in the same structure. They :func:`flatten` each argument into its list of
leaves and a :class:`TreeDef` (the structure with the leaves taken out), differentiate with
respect to the flat list, and :func:`unflatten` the gradients back into that structure.

The containers are ``dict`` (its keys in insertion order; an ``OrderedDict`` stays one),
``list``, ``tuple`` (a namedtuple stays one) and ``None``, an empty subtree with no leaves.
Anything else — a Tensor, an array, a number — is a leaf; a list of numbers is a list of
leaves, never one array (JAX's rule).

>>> leaves, tree = flatten({"w": [1.0, 2.0], "b": 3.0, "frozen": None})
>>> leaves
[1.0, 2.0, 3.0]
>>> tree
TreeDef({'w': [*, *], 'b': *, 'frozen': None})
>>> unflatten(tree, ["gw0", "gw1", "gb"])
{'w': ['gw0', 'gw1'], 'b': 'gb', 'frozen': None}
>>> tree.paths()
["['w'][0]", "['w'][1]", "['b']"]
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeAlias

PyTree: TypeAlias = Any  # a leaf, None, or a dict/list/tuple of pytrees

_LEAF, _NONE, _DICT, _LIST, _TUPLE = "leaf", "none", "dict", "list", "tuple"


class TreeDef:
    r"""The structure of a pytree with its leaves taken out.

    ``kind`` is ``"leaf"``, ``"none"``, ``"dict"``, ``"list"`` or ``"tuple"``; ``keys`` are
    the dict keys (the positions for a list or tuple); ``node_type`` rebuilds the container
    (``OrderedDict``, a namedtuple class). Two treedefs are equal when their containers,
    keys and children are.
    """

    __slots__ = ("kind", "keys", "children", "node_type", "num_leaves")
    kind: str
    keys: tuple[Any, ...]
    children: tuple[TreeDef, ...]
    node_type: type | None
    num_leaves: int

    def __init__(self, kind: str, keys: tuple[Any, ...] = (),
                 children: tuple[TreeDef, ...] = (), node_type: type | None = None) -> None:
        self.kind = kind
        self.keys = keys
        self.children = children
        self.node_type = node_type
        self.num_leaves = 1 if kind == _LEAF else sum(c.num_leaves for c in children)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TreeDef) and (
            (self.kind, self.keys, self.node_type, self.children)
            == (other.kind, other.keys, other.node_type, other.children))

    def __hash__(self) -> int:
        return hash((self.kind, self.keys, self.children))

    def __repr__(self) -> str:
        return f"TreeDef({self._shape()})"

    def _shape(self) -> str:
        if self.kind == _LEAF:
            return "*"
        if self.kind == _NONE:
            return "None"
        inner = [c._shape() for c in self.children]
        if self.kind == _DICT:
            return "{" + ", ".join(f"{k!r}: {s}" for k, s in zip(self.keys, inner)) + "}"
        if self.kind == _LIST:
            return "[" + ", ".join(inner) + "]"
        return "(" + ", ".join(inner) + ("," if len(inner) == 1 else "") + ")"

    def paths(self) -> list[str]:
        """Where each leaf sits, in flattening order, written as indexing: ``['w'][0]``
        (``""`` for a tree that is a single leaf)."""
        return [path for path, _ in _walk_paths(self, "")]


def _walk_paths(tree: TreeDef, prefix: str) -> Iterator[tuple[str, TreeDef]]:
    if tree.kind == _LEAF:
        yield prefix, tree
        return
    for key, child in zip(tree.keys, tree.children):
        yield from _walk_paths(child, f"{prefix}[{key!r}]")


def _node(value: Any) -> tuple[str, tuple[Any, ...], list[Any], type | None]:
    """(kind, keys, children, node_type) of one level of a pytree."""
    if value is None:
        return _NONE, (), [], None
    if isinstance(value, dict):
        node_type: type | None = OrderedDict if isinstance(value, OrderedDict) else None
        return _DICT, tuple(value), list(value.values()), node_type
    if isinstance(value, list):
        return _LIST, tuple(range(len(value))), list(value), None
    if isinstance(value, tuple):
        node_type = type(value) if hasattr(value, "_fields") else None  # a namedtuple
        return _TUPLE, tuple(range(len(value))), list(value), node_type
    return _LEAF, (), [], None


def flatten(tree: PyTree) -> tuple[list[Any], TreeDef]:
    r"""The leaves of ``tree``, depth first (dict keys in insertion order), and its
    structure.

    >>> flatten(((1, None), [2]))
    ([1, 2], TreeDef(((*, None), [*])))
    """
    leaves: list[Any] = []
    treedef = _build_flat(tree, leaves)
    return leaves, treedef


# The recursions are module functions, not closures: a nested function that calls itself
# is a reference cycle (function ↔ cell), which would keep the leaves it saw (a batch of
# per-example gradients) alive until the garbage collector runs.
def _build_flat(value: Any, leaves: list[Any]) -> TreeDef:
    kind, keys, children, node_type = _node(value)
    if kind == _LEAF:
        leaves.append(value)
        return TreeDef(_LEAF)
    return TreeDef(kind, keys, tuple(_build_flat(c, leaves) for c in children), node_type)


def _build_tree(node: TreeDef, supply: Any) -> Any:
    if node.kind == _LEAF:
        return next(supply)
    if node.kind == _NONE:
        return None
    children = [_build_tree(c, supply) for c in node.children]
    if node.kind == _DICT:
        pairs = zip(node.keys, children)
        return OrderedDict(pairs) if node.node_type is OrderedDict else dict(pairs)
    if node.kind == _LIST:
        return children
    return node.node_type(*children) if node.node_type is not None else tuple(children)


def unflatten(treedef: TreeDef, leaves: Sequence[Any]) -> PyTree:
    r"""The pytree of structure ``treedef`` with ``leaves`` put back in order (the inverse of
    :func:`flatten`).

    Raises:
        ValueError: the number of leaves is not ``treedef.num_leaves``.
    """
    if len(leaves) != treedef.num_leaves:
        raise ValueError(f"unflatten: {treedef!r} holds {treedef.num_leaves} leaves, "
                         f"got {len(leaves)}")
    return _build_tree(treedef, iter(leaves))


def flatten_as(treedef: TreeDef, tree: PyTree, op: str, what: str, like: str) -> list[Any]:
    r"""The leaves of ``tree``, which must have the structure ``treedef`` (the leaves in
    ``treedef``'s order, so a dict may list its keys in another order).

    Args:
        op, what, like: for the message, e.g. ``"vjp"``, ``"the cotangent"``, ``"the output"``.

    Raises:
        ValueError: the structures differ; the message names the first place where.
    """
    leaves: list[Any] = []
    _walk_as(treedef, tree, "", leaves, (op, what, like))
    return leaves


def _walk_as(node: TreeDef, value: Any, path: str, leaves: list[Any],
             names: tuple[str, str, str]) -> None:
    """:func:`flatten_as`'s recursion (a module function: see :func:`_build_flat`)."""
    if node.kind == _LEAF:
        leaves.append(value)
        return
    kind, keys, children, _ = _node(value)
    if kind != node.kind or len(keys) != len(node.keys) or set(keys) != set(node.keys):
        op, what, like = names
        raise ValueError(
            f"{op}: {what} must have the structure of {like} (at {path or 'the top'}: "
            f"expected {_describe(node.kind, node.keys)}, got {_describe(kind, keys)})"
        )
    by_key = dict(zip(keys, children))
    for key, child in zip(node.keys, node.children):
        _walk_as(child, by_key[key], f"{path}[{key!r}]", leaves, names)


def _describe(kind: str, keys: tuple[Any, ...]) -> str:
    if kind == _DICT:
        return f"a dict with keys {list(keys)}"
    if kind in (_LIST, _TUPLE):
        return f"a {kind} of length {len(keys)}"
    return "None" if kind == _NONE else "a leaf"


def map_leaves(fn: Callable[[Any], Any], tree: PyTree) -> PyTree:
    r"""``tree`` with ``fn`` applied to every leaf, in the same structure.

    >>> map_leaves(lambda x: 10 * x, {"a": (1, 2), "b": None})
    {'a': (10, 20), 'b': None}
    """
    leaves, treedef = flatten(tree)
    return unflatten(treedef, [fn(leaf) for leaf in leaves])
