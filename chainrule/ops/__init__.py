"""The op table: every primitive, declared once with its forward function, derivative
rule, formula and check, and the composites built from them.

``OP_TABLE`` maps each primitive's name to its :class:`~chainrule.autodiff.Primitive`;
``COMPOSITES`` maps each composite's name to its function. The gradient tests, the CLI's
``gradcheck``, ``explain`` and ``draw_graph`` all read these two tables.
"""

from chainrule.autodiff import Primitive
from chainrule.ops.composites import (
    expand,
    log_softmax,
    logsumexp,
    mean,
    softmax,
    squeeze,
    stack,
    std,
    swapaxes,
    unsqueeze,
    var,
)
from chainrule.ops.elementwise import (
    abs,
    add,
    clip,
    cos,
    div,
    erf,
    exp,
    log,
    log1p,
    maximum,
    minimum,
    mul,
    neg,
    pow,
    relu,
    sigmoid,
    sin,
    softplus,
    sqrt,
    sub,
    tanh,
    where,
)
from chainrule.ops.linalg import linear, matmul
from chainrule.ops.losses import softmax_cross_entropy
from chainrule.ops.reductions import max, min, sum
from chainrule.ops.shape import (
    broadcast_to,
    cast,
    concatenate,
    getitem,
    reshape,
    scatter_add,
    sum_to,
    transpose,
)

OP_TABLE: dict[str, Primitive] = {
    prim.name: prim
    for prim in (
        add, sub, mul, div, neg, pow, abs, exp, log, log1p, sqrt, sin, cos, tanh, sigmoid,
        relu, softplus, erf, maximum, minimum, where, clip,
        sum, max, min,
        matmul, linear, softmax_cross_entropy,
        sum_to, broadcast_to, reshape, transpose, getitem, scatter_add, concatenate, cast,
    )
}

COMPOSITES = {
    func.__name__: func
    for func in (
        mean, var, std, logsumexp, log_softmax, softmax, squeeze, unsqueeze, swapaxes,
        expand, stack,
    )
}

__all__ = ["COMPOSITES", "OP_TABLE", *OP_TABLE, *COMPOSITES]

from chainrule.autodiff.apply import check_broadcast as _check_broadcast  # noqa: E402


def elementwise_check(op: str, *arrays: object) -> None:
    """Raise the broadcasting error ``op`` would raise for these operands."""
    _check_broadcast(op, list(arrays))
