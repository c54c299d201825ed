r"""The gated recurrent cells' gate arithmetic as fused primitives: ``gru_cell`` and the
LSTM's two halves, ``lstm_c`` (the new cell state) and ``lstm_h`` (the new hidden state).

Each takes the gate pre-activations that two ``linear`` nodes computed from the step's
input, :math:`g_i = W_{ih}x + b_{ih}`, and from the previous hidden state,
:math:`g_h = W_{hh}h + b_{hh}` (PyTorch's gate order: GRU ``r, z, n``; LSTM ``i, f, g, o``).
Written out of elementwise primitives, one GRU step would record a dozen nodes (six slices,
two sigmoids, a tanh, adds and products); a recurrent layer runs one step per time step and
direction, so the per-node cost would dominate. Fused, one node per step does the gate
arithmetic; its forward saves the gates for its rule, and the rule is written with
primitives (the gates recomputed when ``create_graph`` records it), so derivatives of every
order still work.

GRU (:math:`\odot` elementwise):

.. math:: r = \sigma(g_{i,r} + g_{h,r}),\quad z = \sigma(g_{i,z} + g_{h,z}),\quad
          n = \tanh(g_{i,n} + r \odot g_{h,n}),\quad h' = (1 - z)\odot n + z \odot h

LSTM:

.. math:: c' = \sigma(f)\odot c + \sigma(i)\odot\tanh(g),\qquad h' = \sigma(o)\odot\tanh(c')

with :math:`i, f, g, o` the four quarters of :math:`g_i + g_h`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule.autodiff import Primitive, raw
from chainrule.errors import shape_str
from chainrule.ops._axes import shape_of
from chainrule.ops._batching import batch_size, materialize
from chainrule.ops._samples import Draw
from chainrule.ops._table import Exposure, primitive, sample
from chainrule.ops.elementwise import sigmoid, tanh
from chainrule.ops.shape import concatenate

_draw = Draw("recurrent")


def _check_gates(op: str, chunks: int, gi: Any, gh: Any, state: Any, name: str) -> None:
    """``gi`` and ``gh`` of one shape ``(*, chunks·H)``, the state ``(*, H)``."""
    gs, hs, ss = shape_of(gi), shape_of(gh), shape_of(state)
    if gs != hs:
        raise ValueError(f"{op}: input gates of shape {shape_str(gs)} and hidden gates of "
                         f"shape {shape_str(hs)} differ")
    if not ss or gs != (*ss[:-1], chunks * ss[-1]):
        raise ValueError(f"{op}: gates of shape {shape_str(gs)} need {name} of shape "
                         f"(*, gates/{chunks}), got {shape_str(ss)}")


def _part(x: Any, k: int, size: int, count: int = 1) -> Any:
    """Chunks ``k … k+count−1`` of width ``size`` along the last axis (a view)."""
    return x[..., k * size:(k + count) * size]


def _join(parts: list[Any]) -> Any:
    """The parts side by side along the last axis."""
    return concatenate(*parts, axis=len(shape_of(parts[0])) - 1)


def _zeros_like(x: Any) -> np.ndarray:
    data = raw(x)
    return np.zeros(data.shape, data.dtype)


# ---------------------------------------------------------------- GRU
#
# The forward functions and the first-order rules work on gate-major copies ``(gates, *batch,
# H)`` of the pre-activations: each gate is then one contiguous block, and NumPy's loops over a
# narrow column slice of ``(batch, gates·H)`` cost several times more per call.


def _cell_batch(prim: Any, values: list[Any], bdims: list[Any], params: dict[str, Any]
                ) -> tuple[Any, Any]:
    """A cell on the batch: the cells take any leading axes but need the three operands of
    one leading shape, so the unbatched ones are broadcast along the batch (views)."""
    size = batch_size(values, bdims)
    return prim(*(materialize(v, b, size) for v, b in zip(values, bdims)), **params), 0


def _gate_major(a: np.ndarray, chunks: int, size: int) -> np.ndarray:
    """``a`` of shape ``(*batch, chunks·size)`` as a contiguous ``(chunks, *batch, size)``."""
    batch = a.shape[:-1]
    blocks = a.reshape(-1, chunks, size).transpose(1, 0, 2)
    return np.ascontiguousarray(blocks).reshape(chunks, *batch, size)


def _sigmoid_(x: np.ndarray) -> np.ndarray:
    """σ in place (the forward of ``sigmoid``: e^(−x) may overflow to inf, giving 0)."""
    np.negative(x, out=x)
    np.exp(x, out=x)
    x += 1
    return np.reciprocal(x, out=x)


def _gru_cell(gi: Any, gh: Any, h: Any) -> tuple[Any, tuple[Any, ...]]:
    size = h.shape[-1]
    gi3, gh3 = _gate_major(gi, 3, size), _gate_major(gh, 3, size)
    rz = _sigmoid_(np.add(gi3[:2], gh3[:2]))
    r, z = rz[0], rz[1]
    n = np.multiply(r, gh3[2])
    n += gi3[2]
    np.tanh(n, out=n)
    out = np.subtract(h, n)  # h' = n + z(h − n) = (1 − z)n + zh
    out *= z
    out += n
    return out, (r, z, n, gh3[2])


def _gru_gates(gi: Any, gh: Any, size: int) -> tuple[Any, Any, Any]:
    """r, z, n from the pre-activations, with primitives (recorded under create_graph)."""
    r = sigmoid(_part(gi, 0, size) + _part(gh, 0, size))
    z = sigmoid(_part(gi, 1, size) + _part(gh, 1, size))
    n = tanh(_part(gi, 2, size) + r * _part(gh, 2, size))
    return r, z, n


def _gru_cell_vjp(g: Any, out: Any, inputs: Any, params: dict[str, Any], needs: Any
                  ) -> list[Any]:
    r"""With :math:`\bar n = g(1-z)(1-n^2)`, :math:`\bar z = g(h-n)z(1-z)`,
    :math:`\bar r = \bar n\, g_{h,n}\, r(1-r)`: ∂L/∂g_i = [r̄, z̄, n̄],
    ∂L/∂g_h = [r̄, z̄, n̄ ⊙ r], ∂L/∂h = g ⊙ z."""
    gi, gh, h = inputs
    saved = params.get("saved")
    if saved is not None and type(g) is np.ndarray:
        r, z, n, gh_n = saved
        return _gru_cell_vjp_arrays(g, h, r, z, n, gh_n, needs)
    size = shape_of(h)[-1]
    r, z, n = _gru_gates(gi, gh, size)
    dn = g * (1 - z) * (1 - n * n)
    grads: list[Any] = [None, None, None]
    if needs[0] or needs[1]:
        dz = g * (h - n) * (z * (1 - z))
        dr = dn * _part(gh, 2, size) * (r * (1 - r))
        if needs[0]:
            grads[0] = _join([dr, dz, dn])
        if needs[1]:
            grads[1] = _join([dr, dz, dn * r])
    if needs[2]:
        grads[2] = g * z
    return grads


def _gru_cell_vjp_arrays(g: np.ndarray, h: np.ndarray, r: np.ndarray, z: np.ndarray,
                         n: np.ndarray, gh_n: np.ndarray, needs: Any) -> list[Any]:
    """The rule above on arrays, with the forward's gates, in place where it can be."""
    grads: list[Any] = [None, None, None]
    if needs[0] or needs[1]:
        one_minus_z = np.subtract(1, z)
        dn = np.multiply(n, n)
        np.subtract(1, dn, out=dn)
        dn *= one_minus_z
        dn *= g
        dz = np.subtract(h, n)
        dz *= g
        dz *= z
        dz *= one_minus_z
        dr = np.subtract(1, r)
        dr *= r
        dr *= dn
        dr *= gh_n
        last = dn.ndim - 1
        if needs[0]:
            grads[0] = np.concatenate((dr, dz, dn), axis=last)
        if needs[1]:
            dn *= r
            grads[1] = np.concatenate((dr, dz, dn), axis=last)
    if needs[2]:
        grads[2] = np.multiply(g, z)
    return grads


def _gru_cell_sample(gi: Any, gh: Any, h: Any) -> Any:
    return gru_cell(gi, gh, h)


gru_cell: Primitive = primitive(
    "gru_cell",
    _gru_cell,
    vjp_all=_gru_cell_vjp,
    formula="h' = (1−z)n + zh: ∂/∂h = z; through n (1−z)(1−n²), z (h−n)z(1−z), "
            "r n̄·g_hn·r(1−r)",
    check=lambda gi, gh, h: _check_gates("gru_cell", 3, gi, gh, h, "h"),
    batch=_cell_batch,
    saves=True,
    samples=[
        sample("batch(3,H=2)", _gru_cell_sample,
               [_draw.normal(3, 6), _draw.normal(3, 6), _draw.normal(3, 2)]),
        sample("unbatched(H=3)", _gru_cell_sample,
               [_draw.normal(9), _draw.normal(9), _draw.normal(3)]),
    ],
    expose=Exposure(internal="nn.GRU and nn.GRUCell"),
)


# ---------------------------------------------------------------- LSTM


def _lstm_c(gi: Any, gh: Any, c: Any) -> tuple[Any, tuple[Any, ...]]:
    size = c.shape[-1]
    gates = _gate_major(np.add(gi, gh), 4, size)
    if_ = _sigmoid_(gates[:2])
    i, f = if_[0], if_[1]
    cand = np.tanh(gates[2])
    out = np.multiply(f, c)
    out += np.multiply(i, cand)
    return out, (i, f, cand)


def _lstm_c_gates(gi: Any, gh: Any, size: int) -> tuple[Any, Any, Any]:
    """i, f, g from the pre-activations, with primitives."""
    i = sigmoid(_part(gi, 0, size) + _part(gh, 0, size))
    f = sigmoid(_part(gi, 1, size) + _part(gh, 1, size))
    g = tanh(_part(gi, 2, size) + _part(gh, 2, size))
    return i, f, g


def _lstm_c_vjp(g: Any, out: Any, inputs: Any, params: dict[str, Any], needs: Any
                ) -> list[Any]:
    r"""∂L/∂g_i = ∂L/∂g_h = [g·tanh(g)·i(1−i), g·c·f(1−f), g·i(1−tanh²), 0] (gates
    i, f, g, o), ∂L/∂c = g ⊙ f."""
    gi, gh, c = inputs
    saved = params.get("saved")
    grads: list[Any] = [None, None, None]
    if saved is not None and type(g) is np.ndarray:
        i, f, cand = saved
        if needs[0] or needs[1]:
            di = np.subtract(1, i)
            di *= i
            di *= cand
            di *= g
            df = np.subtract(1, f)
            df *= f
            df *= c
            df *= g
            dg = np.multiply(cand, cand)
            np.subtract(1, dg, out=dg)
            dg *= i
            dg *= g
            gates = np.concatenate((di, df, dg, np.zeros_like(dg)), axis=dg.ndim - 1)
            grads[0] = gates if needs[0] else None
            grads[1] = gates if needs[1] else None
        if needs[2]:
            grads[2] = np.multiply(g, f)
        return grads
    i, f, cand = _lstm_c_gates(gi, gh, shape_of(c)[-1])
    if needs[0] or needs[1]:
        gates = _join([g * cand * (i * (1 - i)), g * c * (f * (1 - f)),
                       g * i * (1 - cand * cand), _zeros_like(c)])
        grads[0] = gates if needs[0] else None
        grads[1] = gates if needs[1] else None
    if needs[2]:
        grads[2] = g * f
    return grads


def _lstm_h(gi: Any, gh: Any, c: Any) -> tuple[Any, tuple[Any, ...]]:
    size = c.shape[-1]
    o = _sigmoid_(np.add(_part(gi, 3, size), _part(gh, 3, size)))
    tc = np.tanh(c)
    return np.multiply(o, tc), (o, tc)


def _lstm_h_vjp(g: Any, out: Any, inputs: Any, params: dict[str, Any], needs: Any
                ) -> list[Any]:
    r"""∂L/∂g_i = ∂L/∂g_h = [0, 0, 0, g·tanh(c')·o(1−o)], ∂L/∂c' = g·o·(1 − tanh²c')."""
    gi, gh, c = inputs
    saved = params.get("saved")
    if saved is None:
        size = shape_of(c)[-1]
        o, tc = sigmoid(_part(gi, 3, size) + _part(gh, 3, size)), tanh(c)
    else:
        o, tc = saved
    grads: list[Any] = [None, None, None]
    if needs[0] or needs[1]:
        zeros = _zeros_like(c)
        gates = _join([zeros, zeros, zeros, g * tc * (o * (1 - o))])
        grads[0] = gates if needs[0] else None
        grads[1] = gates if needs[1] else None
    if needs[2]:
        grads[2] = g * o * (1 - tc * tc)
    return grads


def _lstm_c_sample(gi: Any, gh: Any, c: Any) -> Any:
    return lstm_c(gi, gh, c)


def _lstm_h_sample(gi: Any, gh: Any, c: Any) -> Any:
    return lstm_h(gi, gh, c)


lstm_c: Primitive = primitive(
    "lstm_c",
    _lstm_c,
    vjp_all=_lstm_c_vjp,
    formula="c' = σ(f)c + σ(i)tanh(g): ∂/∂c = σ(f); gates i, f, g through σ' and tanh'",
    check=lambda gi, gh, c: _check_gates("lstm_c", 4, gi, gh, c, "c"),
    batch=_cell_batch,
    saves=True,
    samples=[
        sample("batch(3,H=2)", _lstm_c_sample,
               [_draw.normal(3, 8), _draw.normal(3, 8), _draw.normal(3, 2)]),
        sample("unbatched(H=3)", _lstm_c_sample,
               [_draw.normal(12), _draw.normal(12), _draw.normal(3)]),
    ],
    expose=Exposure(internal="nn.LSTM and nn.LSTMCell"),
)

lstm_h: Primitive = primitive(
    "lstm_h",
    _lstm_h,
    vjp_all=_lstm_h_vjp,
    formula="h' = σ(o)tanh(c'): ∂/∂c' = σ(o)(1−tanh²c'), ∂/∂o = tanh(c')σ(o)(1−σ(o))",
    check=lambda gi, gh, c: _check_gates("lstm_h", 4, gi, gh, c, "c"),
    batch=_cell_batch,
    saves=True,
    samples=[
        sample("batch(3,H=2)", _lstm_h_sample,
               [_draw.normal(3, 8), _draw.normal(3, 8), _draw.normal(3, 2)]),
        sample("unbatched(H=3)", _lstm_h_sample,
               [_draw.normal(12), _draw.normal(12), _draw.normal(3)]),
    ],
    expose=Exposure(internal="nn.LSTM and nn.LSTMCell"),
)
