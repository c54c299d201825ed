r"""What a node's rules read, and refusing a backward whose saved values were changed in
place — PyTorch's version counter, in chainrule's terms.

A rule ``rule(g, out, x, y, …)`` may read the *values* of the output and of some inputs
(``mul``'s ∂/∂x reads ``y``; ``exp``'s reads ``out``), or only their shapes (``sum``'s
reads the shape of ``x``). :func:`value_reads` finds which, once per rule, from its code.

Every in-place change of an array bumps ``STATE.inplace_clock`` and is remembered here
(:func:`mark_changed`). Each Node records the clock when it is made; when backward reaches
a node recorded before the latest change, :func:`check_unchanged` looks for a changed
array among the values its rules will read, and raises instead of computing a silently
wrong gradient. The common case — nothing changed in place since the graph was recorded —
costs one comparison per node.
"""

from __future__ import annotations

import dis
import weakref
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from chainrule._config import STATE
from chainrule.errors import shape_str

if TYPE_CHECKING:
    from chainrule.autodiff.node import Node

#: The output's position among a rule's arguments; inputs are 0, 1, …
OUT = -1
_METADATA = frozenset({"shape", "dtype", "ndim", "size"})
_SHAPE_FUNCTIONS = frozenset({"shape_of", "shape", "len"})


def value_reads(rule: Callable[..., Any] | None, n_inputs: int) -> frozenset[int]:
    """The positions (``OUT``, 0, 1, …) whose values ``rule`` reads; a use that only asks
    for a shape or dtype (``shape_of(x)``, ``np.shape(x)``, ``x.shape``) does not count.
    A rule that cannot be read this way (no Python code) is taken to read everything."""
    everything = frozenset({OUT, *range(n_inputs)})
    code = getattr(rule, "__code__", None)
    if code is None or code.co_flags & 0x04:  # no code, or *args: read all
        return everything
    params = code.co_varnames[:code.co_argcount]
    position = {name: i - 2 for i, name in enumerate(params) if i >= 1}  # out = -1
    instructions = list(dis.get_instructions(code))
    found = set()
    for i, ins in enumerate(instructions):
        if ins.argval not in position:
            continue
        if ins.opname in ("LOAD_DEREF", "LOAD_CLOSURE", "LOAD_CLASSDEREF"):
            found.add(position[ins.argval])  # used by a nested function: assume its value
            continue
        if ins.opname != "LOAD_FAST":
            continue
        after = instructions[i + 1] if i + 1 < len(instructions) else None
        before = instructions[i - 1]
        if after is not None and after.opname == "LOAD_ATTR" and after.argval in _METADATA:
            continue
        if before.argval in _SHAPE_FUNCTIONS and before.opname in (
                "LOAD_GLOBAL", "LOAD_METHOD", "LOAD_ATTR"):
            continue
        found.add(position[ins.argval])
    return frozenset(p for p in found if p < n_inputs)


# id(array) -> (clock of its last in-place change, a weak reference to it, the op's name)
_CHANGED: dict[int, tuple[int, weakref.ref[np.ndarray], str]] = {}


def mark_changed(array: np.ndarray, op: str, clock: int | None = None) -> None:
    """Remember that ``op`` changed ``array`` (and so every view of its memory) in place:
    now, or as of ``clock`` (a tick taken before the change, so that nodes recorded while
    making it count as later than the change)."""
    if clock is None:
        STATE.inplace_clock += 1
        clock = STATE.inplace_clock
    for key in [k for k, (_, ref, _) in _CHANGED.items() if ref() is None]:
        del _CHANGED[key]  # arrays that no longer exist cannot have been saved
    _CHANGED[id(array)] = (clock, weakref.ref(array), op)


def check_unchanged(node: Node) -> None:
    """Raise if a value ``node``'s rules will read was changed in place after the node was
    recorded (the caller has checked that some change happened since)."""
    prim, stamp = node.prim, node.stamp
    reads: set[int] = set()
    if prim.reads is None:  # a rule we cannot read (a custom Function): everything counts
        reads = {OUT, *range(len(node.needs))}
    else:
        for need, positions in zip(node.needs, prim.reads):
            if need:
                reads |= positions
    saved: list[tuple[str, Any]] = []
    for p in sorted(reads):
        value = node.out if p == OUT else (node.arrays or ())[p]
        if isinstance(value, np.ndarray):
            saved.append(("its output" if p == OUT else f"its input {p}", value))
    for clock, ref, op in list(_CHANGED.values()):
        changed = ref()
        if clock <= stamp or changed is None:
            continue
        for what, value in saved:
            if np.may_share_memory(value, changed):
                raise RuntimeError(
                    f"backward: {prim.name} saved {what} (shape {shape_str(value.shape)}, "
                    f"{value.dtype}) for its derivative, and {op} changed it in place "
                    "afterwards; change a copy instead (t.clone()), or change the tensor "
                    "before using it"
                )


def reads_of(vjps: Sequence[Callable[..., Any] | None], n_inputs: int | None = None
             ) -> tuple[frozenset[int], ...]:
    """:func:`value_reads` of every rule of a primitive."""
    n = len(vjps) if n_inputs is None else n_inputs
    return tuple(frozenset() if rule is None else value_reads(rule, n) for rule in vjps)
