"""The autodiff engine: graph records (:mod:`.node`), recording (:mod:`.apply`) and
reverse-mode traversal (:mod:`.backward`). It knows nothing about any particular operation."""

from chainrule.autodiff.apply import apply, composite, current_scope, scope
from chainrule.autodiff.backward import backward, reaches_leaf
from chainrule.autodiff.node import Node, Primitive, Traced, raw

__all__ = [
    "Node",
    "Primitive",
    "Traced",
    "apply",
    "backward",
    "composite",
    "current_scope",
    "raw",
    "reaches_leaf",
    "scope",
]
