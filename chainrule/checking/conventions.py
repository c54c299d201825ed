r"""The documented choices at points where a derivative does not exist.

At a kink (relu and abs at 0, a tie in max) or an edge (clip's bounds, sqrt at 0) the
derivative is undefined, yet backpropagation must return a number. Each choice is made
once, in the op table's rule, stated in its formula, declared on the op's record beside the
rule (:class:`~chainrule.ops.Convention`) and proved by a test of the same name in
``tests/test_conventions.py``. Where PyTorch has the same rule we match it.
"""

from __future__ import annotations

from chainrule.ops import RECORDS, Convention


class Conventions(list[Convention]):
    """The list of :class:`~chainrule.ops.Convention` records, printed one per line."""

    def __str__(self) -> str:
        return "\n".join(str(c) for c in self)

    def __repr__(self) -> str:
        return f"Conventions([{', '.join(repr(c.name) for c in self)}])"


def conventions() -> Conventions:
    r"""The documented derivative choices at non-differentiable points.

    Returns:
        A list of :class:`~chainrule.ops.Convention` records (name, op, rule, value,
        rationale, test) in op-table order; ``print`` it for one line each.

    >>> import chainrule as cr
    >>> [c.value for c in cr.conventions() if c.op == "relu"]
    [0.0]
    """
    found: list[Convention] = [c for record in RECORDS.values() for c in record.conventions]
    return Conventions(found)
