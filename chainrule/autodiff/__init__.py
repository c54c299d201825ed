"""The autodiff engine: graph records (:mod:`.node`), primitives and recording
(:mod:`.primitive`), composite scopes (:mod:`.scope`), graph walks (:mod:`.graph`) and
reverse-mode traversal (:mod:`.backward`). It knows nothing about any particular operation."""

from chainrule.autodiff.backward import backward
from chainrule.autodiff.graph import consumer_counts, producers, reaches_leaf, topological_order
from chainrule.autodiff.node import Node, Traced, raw, wrap_result
from chainrule.autodiff.primitive import (
    Primitive,
    apply,
    batched_composite,
    batching_hook,
    check_broadcast,
    set_batching,
)
from chainrule.autodiff.saved import mark_changed
from chainrule.autodiff.scope import composite, scope

__all__ = [
    "Node",
    "Primitive",
    "Traced",
    "apply",
    "backward",
    "batched_composite",
    "batching_hook",
    "check_broadcast",
    "composite",
    "consumer_counts",
    "mark_changed",
    "producers",
    "raw",
    "reaches_leaf",
    "scope",
    "set_batching",
    "topological_order",
    "wrap_result",
]
