r"""``softmax``, a fused primitive: :math:`s_i = e^{x_i - m}/\sum_j e^{x_j - m}` along one
axis, m the max, with the rule

.. math:: \frac{\partial L}{\partial x_j} = \sum_i g_i \frac{\partial s_i}{\partial x_j}
          = \sum_i g_i\, s_i(\delta_{ij} - s_j) = s_j\Big(g_j - \sum_i g_i s_i\Big).

Why a primitive when softmax is exp(log_softmax(x)) of primitives: speed. The
composition keeps five arrays of the input's size per call and makes about six more in its
backward; for attention, where the softmax runs over a (batch, heads, L, S) array, those
fresh arrays (each a round of page faults) dominated the layer's time. This one keeps its
output and makes one array in the backward. The rule is written with primitives, so
higher derivatives work as before.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule.autodiff import Primitive
from chainrule.ops._axes import normalize_one_axis, shape_of
from chainrule.ops._batching import shifted
from chainrule.ops._table import Exposure, primitive
from chainrule.ops.composites import _softmax_samples
from chainrule.ops.elementwise import mul, sub
from chainrule.ops.reductions import sum as reduce_sum


def _softmax(x: Any, axis: int) -> Any:
    """e^(x−m)/Σ e^(x−m) in one buffer; m the max along ``axis``, 0 where it is not finite
    (as ``log_softmax``), so every exponent is ≤ 0 for finite input."""
    shift = np.maximum.reduce(x, axis=axis, keepdims=True)
    if not np.isfinite(np.add.reduce(shift, axis=None)):
        shift = np.where(np.isfinite(shift), shift, 0)
    e = np.subtract(x, shift)
    if e.dtype.kind == "f":
        np.exp(e, out=e)
    else:
        e = np.exp(e)  # integers: NumPy's floating result type
    e /= np.add.reduce(e, axis=axis, keepdims=True)
    return e


def _softmax_vjp(g: Any, out: Any, x: Any, axis: int) -> Any:
    """∂L/∂xⱼ = sⱼ(gⱼ − Σᵢ gᵢsᵢ)."""
    if type(out) is np.ndarray and type(g) is np.ndarray:
        # A first-order pass: the same operations in one buffer (the same bits as the
        # primitive form below, which the recorded create_graph pass uses).
        gx = np.multiply(g, out)
        dot = np.add.reduce(gx, axis=axis, keepdims=True)
        np.subtract(g, dot, out=gx)
        gx *= out
        return gx
    return mul(sub(g, reduce_sum(mul(g, out), axis=(axis,), keepdims=True)), out)


def softmax(x: Any, axis: int = -1) -> Any:
    r""":math:`\mathrm{softmax}(x)_i = e^{x_i}/\sum_j e^{x_j}` along ``axis`` (negatives
    count from the end), shifted by the max; Jacobian ∂sᵢ/∂xⱼ = sᵢ(δᵢⱼ − sⱼ)."""
    return _softmax_primitive(x, axis=normalize_one_axis(axis, len(shape_of(x)), "softmax"))


_softmax_primitive: Primitive = primitive(
    "softmax",
    _softmax,
    [_softmax_vjp],
    formula="∂sᵢ/∂xⱼ = sᵢ(δᵢⱼ − sⱼ)",
    batch=shifted("axis"),
    samples=_softmax_samples("softmax"),
    expose=Exposure(form=softmax, method="softmax", function="softmax",
                    doc="exp(x)/Σexp(x) along ``axis``."),
)
