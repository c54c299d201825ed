"""The op table: every operation, declared once with all its facets (see
:mod:`chainrule.ops._table`).

``RECORDS`` maps every operation's name to its :class:`~chainrule.ops._table.OpRecord`, in
declaration order. ``OP_TABLE`` holds the primitives (name → Primitive) and
``COMPOSITES`` the operations built from them (name → function). The gradient tests, the
CLI's ``gradcheck``, ``explain``, ``draw_graph``, ``cr.conventions()``, the Tensor
methods and the ``cr.`` function forms all read these tables. The names below are the
operations that other layers call as ``ops.NAME``; a new operation needs a line here only
if they do (importing its module is what registers it).
"""

from chainrule.autodiff import Primitive
from chainrule.ops._table import RECORDS, Convention, Exposure, OpRecord, Sample
from chainrule.ops.broadcasting import broadcast_to, sum_to
from chainrule.ops.composites import (
    expand,
    log_softmax,
    logsumexp,
    mean,
    squeeze,
    stack,
    std,
    swapaxes,
    unsqueeze,
    var,
)
from chainrule.ops.convolution import (
    check_conv,
    conv,
    conv_input_grad,
    conv_output_size,
    conv_weight_grad,
    pad,
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
from chainrule.ops.pooling import max_pool, pool_sum, pool_sum_transpose
from chainrule.ops.recurrent import gru_cell, lstm_c, lstm_h
from chainrule.ops.reductions import max, min, sum  # noqa: I001 - after shape, which it uses
from chainrule.ops.shape import (
    cast,
    concatenate,
    getitem,
    reshape,
    scatter_add,
    transpose,
)
from chainrule.ops.softmax import softmax

OP_TABLE: dict[str, Primitive] = {
    name: record.primitive for name, record in RECORDS.items() if record.primitive is not None
}
COMPOSITES = {
    name: record.composite for name, record in RECORDS.items() if record.composite is not None
}

__all__ = [
    "COMPOSITES", "OP_TABLE", "RECORDS", "Convention", "Exposure", "OpRecord", "Sample",
    "abs", "add", "broadcast_to", "cast", "check_conv", "clip", "concatenate", "conv",
    "conv_input_grad", "conv_output_size", "conv_weight_grad", "cos", "div", "erf", "exp",
    "expand", "getitem", "linear", "log", "log1p", "log_softmax", "logsumexp", "matmul", "max",
    "max_pool", "maximum", "mean", "min", "minimum", "mul", "neg", "pad", "pool_sum",
    "pool_sum_transpose", "pow", "relu", "reshape", "scatter_add",
    "sigmoid", "sin", "softmax", "softmax_cross_entropy", "softplus", "sqrt", "squeeze",
    "stack", "std", "sub", "sum", "sum_to", "swapaxes", "tanh", "transpose", "unsqueeze",
    "var", "where",
    # recurrent cells
    "gru_cell", "lstm_c", "lstm_h",
]
