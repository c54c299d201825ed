r"""Elementwise primitives: each acts on every element independently, so its Jacobian is
diagonal and the vector-Jacobian product is the gradient times the local derivative.

Every rule below is ∂L/∂x = g · ∂out/∂x, written with primitives or operators (``g * y``)
so that it can be differentiated again: on Tensors (``create_graph``) an operator records a
node, on the raw arrays of a first-order pass it is NumPy's own. Broadcasting is undone by
the engine (``sum_to``, set by :func:`_elementwise` for ops of several inputs).
Operations that can leave the reals (log 0, 1/0, 0⁻¹ᐟ², overflow in exp) follow IEEE
arithmetic silently, as PyTorch does: ``inf``/``nan`` results, no NumPy warning.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from chainrule.autodiff import Primitive, Traced, raw
from chainrule.ops._batching import elementwise as _batch_elementwise
from chainrule.ops._samples import Draw, binary_samples, unary_samples
from chainrule.ops._table import Convention, Exposure, Sample, primitive, sample
from chainrule.ops.broadcasting import sum_to

_draw = Draw("elementwise")


def _elementwise(name: str, forward: Callable[..., Any], vjps: Sequence[Any], *,
                 formula: str, samples: Sequence[Sample], expose: Exposure,
                 check: Callable[..., None] | None = None,
                 conventions: Sequence[Convention] = ()) -> Primitive:
    """Declare an elementwise primitive: its rules are written for same-shaped arguments,
    and the engine checks that the inputs broadcast and sums each gradient back to its
    input's shape (a unary op cannot broadcast). Its batching rule aligns the examples'
    ranks and runs it once (:func:`chainrule.ops._batching.elementwise`)."""
    return primitive(name, forward, vjps, formula=formula, samples=samples, expose=expose,
                     check=check, conventions=conventions, batch=_batch_elementwise,
                     sum_to=sum_to if len(vjps) > 1 else None)


def _unary_exposure(name: str, doc: str) -> Exposure:
    return Exposure(method=name, function=name, doc=doc, numpy=(getattr(np, name),))


def _binary_exposure(name: str, operator: str | None, doc: str, ufunc: Any,
                     method: bool = False) -> Exposure:
    operators = () if operator is None else (f"__{operator}__", f"__r{operator}__")
    return Exposure(method=name if method else None, function=name, operators=operators,
                    operands=(0, 1), doc=doc, numpy=(ufunc,))




def _dtype_kind(value: Any) -> str:
    """NumPy's kind letter ('b', 'i', 'u', 'f') of an array or a Python number."""
    return value.dtype.kind if hasattr(value, "dtype") else np.asarray(value).dtype.kind


# ---------------------------------------------------------------- arithmetic

add: Primitive = _elementwise(
    "add", np.add,
    [lambda g, out, x, y: g, lambda g, out, x, y: g],
    formula="∂(x+y)/∂x = 1, ∂(x+y)/∂y = 1",
    samples=[
        *binary_samples(lambda x, y: x + y, _draw.normal, _draw.normal),
        sample("python_float+tensor", lambda x, c: c + x, [_draw.normal(2, 3)], c=1.5),
    ],
    expose=_binary_exposure("add", "add", "x + y, with broadcasting.", np.add),
)


def _check_sub(x: Any, y: Any) -> None:
    if _dtype_kind(x) == "b" and _dtype_kind(y) == "b":
        raise TypeError(
            "sub: cannot subtract boolean tensors (dtypes bool and bool); convert them "
            "first, e.g. t.astype('float32')"
        )


sub: Primitive = _elementwise(
    "sub", np.subtract,
    [lambda g, out, x, y: g, lambda g, out, x, y: -g],
    formula="∂(x−y)/∂x = 1, ∂(x−y)/∂y = −1",
    check=_check_sub,
    samples=[
        *binary_samples(lambda x, y: x - y, _draw.normal, _draw.normal),
        sample("python_float-tensor", lambda x, c: c - x, [_draw.normal(2, 3)], c=2.0),
    ],
    expose=_binary_exposure("sub", "sub", "x − y, with broadcasting.", np.subtract),
)

mul: Primitive = _elementwise(
    "mul", np.multiply,
    [lambda g, out, x, y: g * y, lambda g, out, x, y: g * x],
    formula="∂(x·y)/∂x = y, ∂(x·y)/∂y = x",
    samples=[
        *binary_samples(lambda x, y: x * y, _draw.normal, _draw.normal),
        sample("tensor*array", lambda x, c: x * c, [_draw.normal(2, 3)], c=_draw.normal(3)),
    ],
    expose=_binary_exposure("mul", "mul", "x · y elementwise, with broadcasting.",
                            np.multiply),
)

div: Primitive = _elementwise(
    "div", np.divide,
    [
        lambda g, out, x, y: div(g, y),
        lambda g, out, x, y: neg(div(mul(g, out), y)),  # −x/y² = −out/y
    ],
    formula="∂(x/y)/∂x = 1/y, ∂(x/y)/∂y = −x/y²",
    samples=[
        *binary_samples(lambda x, y: x / y, _draw.normal, _draw.nonzero),
        sample("python_float/tensor", lambda x, c: c / x, [_draw.nonzero(2, 3)], c=3.0),
    ],
    expose=_binary_exposure("div", "truediv", "x / y elementwise, with broadcasting.",
                            np.divide),
)


def _check_neg(x: Any) -> None:
    if _dtype_kind(x) == "b":
        raise TypeError(
            "neg: cannot negate a boolean tensor; convert it first, e.g. t.astype('float32')"
        )


neg: Primitive = _elementwise(
    "neg", np.negative,
    [lambda g, out, x: -g],
    formula="∂(−x)/∂x = −1",
    check=_check_neg,
    samples=[
        sample("(2,3)", lambda x: -x, [_draw.normal(2, 3)]),
        sample("0-d", lambda x: -x, [_draw.normal()]),
    ],
    expose=Exposure(function="neg", operators=("__neg__",), doc="−x.", numpy=(np.negative,)),
)


def _pow_vjp_x(g: Any, out: Any, x: Any, y: Any) -> Any:
    """∂xʸ/∂x = y·xʸ⁻¹, taken as 0 where y = 0 (so 0⁰ does not give 0·∞ = nan)."""
    if type(y) in (int, float) and y == 2:
        return g * (y * x)  # x²: 2·x, no power and no mask (the squared error's case)
    # Python arithmetic for a Python exponent keeps float32 float32 (a NumPy int64 would not)
    y_minus_1 = y - 1 if type(y) in (int, float) else sub(y, 1)
    zero_exponent = np.asarray(raw(y)) == 0
    if zero_exponent.any():
        # Where y = 0 the base is replaced by 1 *before* the power, so x⁻¹ (∞ at x = 0)
        # is never formed: y·1⁻¹ = 0 there, and a second derivative through this rule
        # multiplies its zero gradient by nothing infinite (masking the result instead left
        # 0·∞ = nan in the backward of the backward).
        x = where(zero_exponent, 1.0, x)
    return mul(g, mul(y, pow(x, y_minus_1)))


def _pow_vjp_y(g: Any, out: Any, x: Any, y: Any) -> Any:
    """∂xʸ/∂y = xʸ·ln x, taken as 0 where x = 0 and y ≥ 0 (PyTorch's convention)."""
    with np.errstate(invalid="ignore"):  # 0·(−∞) at x = 0, y > 0: replaced just below
        local = mul(out, log(x))
    base_zero = (np.asarray(raw(x)) == 0) & (np.asarray(raw(y)) >= 0)
    if base_zero.any():
        local = where(base_zero, 0.0, local)
    return mul(g, local)


def _check_pow(x: Any, y: Any) -> None:
    """NumPy refuses integer bases with negative integer exponents (the result is not an
    integer); say so in our words."""
    if _dtype_kind(x) in "biu" and _dtype_kind(y) in "biu" and np.any(np.asarray(y) < 0):
        raise ValueError(
            f"pow: integers to negative integer powers are not allowed (base dtype "
            f"{np.asarray(x).dtype}, exponent dtype {np.asarray(y).dtype}); convert the base "
            "to float first, e.g. x.astype('float32') ** y"
        )


def _pow_sample(x: Any, y: Any) -> Any:
    return x ** y


pow: Primitive = _elementwise(  # noqa: A001 - the API name
    "pow", np.power,
    [_pow_vjp_x, _pow_vjp_y],
    formula="∂xʸ/∂x = y·xʸ⁻¹, ∂xʸ/∂y = xʸ·ln x",
    check=_check_pow,
    samples=[
        sample("(3,4)**(3,4)", _pow_sample, [_draw.positive(3, 4), _draw.normal(3, 4)]),
        sample("broadcast(3,1)**(4,)", _pow_sample, [_draw.positive(3, 1), _draw.normal(4)]),
        sample("x**3_negative_base", lambda x, exponent: x ** exponent,
               [_draw.nonzero(2, 3)], exponent=3),
        sample("x**0.5", lambda x, exponent: x ** exponent, [_draw.positive(4)], exponent=0.5),
        sample("2**x", lambda x, base: base ** x, [_draw.normal(2, 3)], base=2.0),
    ],
    expose=_binary_exposure("pow", "pow", "xʸ elementwise, with broadcasting.", np.power,
                            method=True),
    conventions=[
        Convention(
            "pow with exponent 0", "∂xʸ/∂x = 0 where y = 0 (also at x = 0: 0⁰ = 1)", 0.0,
            "x⁰ = 1 is constant in x; the formula y·xʸ⁻¹ would give 0·∞ = nan at x = 0; "
            "PyTorch agrees",
            "test_pow_grad_wrt_base_is_zero_for_zero_exponent",
        ),
        Convention(
            "pow at base 0", "∂xʸ/∂y = 0 where x = 0 and y ≥ 0", 0.0,
            "xʸ·ln x is 0·(−∞) there; 0ʸ = 0 for y > 0 (and 0⁰ = 1) is constant in y; "
            "PyTorch agrees",
            "test_pow_grad_wrt_exponent_is_zero_at_zero_base",
        ),
    ],
)

# ---------------------------------------------------------------- unary functions

abs: Primitive = _elementwise(  # noqa: A001 - the API name
    "abs", np.abs,
    [lambda g, out, x: mul(g, np.sign(raw(x)))],
    formula="∂|x|/∂x = sign(x) (0 at x = 0)",
    samples=unary_samples(lambda x: abs(x), _draw.nonzero),  # the builtin: x.__abs__
    expose=Exposure(method="abs", function="abs", operators=("__abs__",),
                    doc="|x| elementwise; abs'(0) = 0.", numpy=(np.absolute,)),
    conventions=[Convention(
        "abs at 0", "abs'(0) = sign(0) = 0", 0.0,
        "the centre of the subgradient [−1, 1]; a minimum at 0 stays put (PyTorch agrees)",
        "test_abs_grad_at_zero_is_zero",
    )],
)

exp: Primitive = _elementwise(
    "exp", np.exp,
    [lambda g, out, x: g * out],
    formula="∂eˣ/∂x = eˣ",
    samples=unary_samples(lambda x: x.exp(), _draw.normal),
    expose=_unary_exposure("exp", "eˣ elementwise."),
)

log: Primitive = _elementwise(
    "log", np.log,
    [lambda g, out, x: div(g, x)],
    formula="∂ ln x/∂x = 1/x",
    samples=unary_samples(lambda x: x.log(), _draw.positive),
    expose=_unary_exposure("log", "Natural logarithm elementwise."),
)

log1p: Primitive = _elementwise(
    "log1p", np.log1p,
    [lambda g, out, x: div(g, add(x, 1))],
    formula="∂ ln(1+x)/∂x = 1/(1+x)",
    samples=unary_samples(lambda x: log1p(x), _draw.positive),
    expose=Exposure(internal="F.softplus and the losses, for ln(1+x) accurate near 0",
                    numpy=(np.log1p,)),
)

sqrt: Primitive = _elementwise(
    "sqrt", np.sqrt,
    [lambda g, out, x: div(g, mul(out, 2))],
    formula="∂√x/∂x = 1/(2√x) (+∞ at x = 0)",
    samples=unary_samples(lambda x: x.sqrt(), _draw.positive),
    expose=_unary_exposure("sqrt", "√x elementwise."),
    conventions=[Convention(
        "sqrt at 0", "∂√x/∂x = 1/(2√x) = +∞ at x = 0", float("inf"),
        "the one-sided limit, left as IEEE +inf rather than hidden, so a user sees it; "
        "PyTorch agrees",
        "test_sqrt_grad_at_zero_is_plus_inf",
    )],
)

sin: Primitive = _elementwise(
    "sin", np.sin,
    [lambda g, out, x: mul(g, cos(x))],
    formula="∂ sin x/∂x = cos x",
    samples=unary_samples(lambda x: x.sin(), _draw.normal),
    expose=_unary_exposure("sin", "sin x elementwise."),
)

cos: Primitive = _elementwise(
    "cos", np.cos,
    [lambda g, out, x: neg(mul(g, sin(x)))],
    formula="∂ cos x/∂x = −sin x",
    samples=unary_samples(lambda x: x.cos(), _draw.normal),
    expose=_unary_exposure("cos", "cos x elementwise."),
)

tanh: Primitive = _elementwise(
    "tanh", np.tanh,
    [lambda g, out, x: g * (1 - out * out)],
    formula="∂ tanh x/∂x = 1 − tanh²x",
    samples=unary_samples(lambda x: x.tanh(), _draw.normal),
    expose=_unary_exposure("tanh", "tanh x elementwise."),
)


def _sigmoid(x: Any) -> Any:
    """σ(x) = 1/(1+e⁻ˣ), accurate to rounding for every x and never nan.

    For very negative x, e⁻ˣ overflows to +inf and 1/(1+inf) = 0 is the correctly rounded
    limit, so only the overflow *warning* is silenced (the value is right). One exp and no
    ``where``: cheaper than the branch-free e^(−|x|) form.
    """
    x = np.asarray(x)
    if x.dtype.kind not in "fc":
        x = x.astype(np.float64)
    # one buffer, updated in place: no temporaries
    e = np.negative(x)
    if type(e) is not np.ndarray:  # a 0-d input gives a NumPy scalar: make it a buffer
        e = np.array(e)
    np.exp(e, out=e)
    e += 1
    return np.reciprocal(e, out=e)


_LARGE = np.array([-8.0, -3.0, 3.0, 8.0])

# A primitive rather than 1/(1+exp(−x)) composed: for numerical stability (no overflow for
# any finite x) and because the rule σ' = σ(1−σ) reuses the output (one node, not four).
sigmoid: Primitive = _elementwise(
    "sigmoid", _sigmoid,
    [lambda g, out, x: g * (out * (1 - out))],
    formula="σ'(z) = σ(z)(1−σ(z))",
    samples=[
        *unary_samples(lambda x: x.sigmoid(), _draw.normal),
        sample("large|x|", lambda x: x.sigmoid(), [_LARGE]),
    ],
    expose=Exposure(method="sigmoid", function="sigmoid",
                    doc="σ(x) = 1/(1+e⁻ˣ), stable for any finite x."),
)


def _relu(x: Any) -> Any:
    return np.maximum(x, 0)


# A primitive so that the convention relu'(0) = 0 is explicit (maximum(x, 0) would pass
# half the gradient at 0).
relu: Primitive = _elementwise(
    "relu", _relu,
    [lambda g, out, x: g * (raw(out) > 0)],  # out > 0 exactly where x > 0
    formula="relu'(x) = 1 if x > 0 else 0 (0 at x = 0)",
    samples=unary_samples(lambda x: x.relu(), _draw.nonzero),
    expose=Exposure(method="relu", function="relu", doc="max(x, 0); relu'(0) = 0."),
    conventions=[Convention(
        "relu at 0", "relu'(0) = 0", 0.0,
        "the subgradient in [0, 1] closest to 'inactive'; PyTorch and JAX choose 0 too "
        "(writing relu as maximum(x, 0) would give ½)",
        "test_relu_grad_at_zero_is_zero",
    )],
)


def _softplus(x: Any) -> Any:
    """ln(1+eˣ) = max(x, 0) + ln(1 + e^(−|x|)): no overflow for any finite x."""
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


# A primitive for stability: the stable form has kinks (max, |x|) that would give the
# wrong derivative at 0 if differentiated as a composite; the true derivative is σ(x).
softplus: Primitive = _elementwise(
    "softplus", _softplus,
    [lambda g, out, x: mul(g, sigmoid(x))],
    formula="∂ ln(1+eˣ)/∂x = σ(x)",
    samples=[
        *unary_samples(lambda x: softplus(x), _draw.normal),
        sample("large|x|", lambda x: softplus(x), [_LARGE]),
    ],
    expose=Exposure(internal="F.softplus"),
)

_ERF_KERNEL: list[Any] = []


def _erf_kernel(x: np.ndarray) -> Any:
    """SciPy's erf when available, otherwise the correctly rounded math.erf elementwise.

    Looked up on first use, not at import: importing scipy.special costs resident memory
    and start-up time that a model without GELU never needs.
    """
    if not _ERF_KERNEL:
        try:
            from scipy.special import erf as kernel
        except ImportError:  # pragma: no cover - depends on the environment
            kernel = np.vectorize(math.erf, otypes=[np.float64])
        _ERF_KERNEL.append(kernel)
    return _ERF_KERNEL[0](x)


def _square_clipped(x: Any) -> Any:
    c = clip(x, lo=-_ERF_TAIL, hi=_ERF_TAIL)
    return mul(c, c)


def _erf(x: Any) -> Any:
    x = np.asarray(x)
    return np.asarray(_erf_kernel(x)).astype(x.dtype if x.dtype.kind == "f" else np.float64)


_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
# e^(−x²) is exactly 0 in float64 beyond |x| = 27.5; clipping there keeps x² from
# overflowing (|x| > 1.3e154, or 1.8e19 in float32) without changing any value.
_ERF_TAIL = 27.5

erf: Primitive = _elementwise(
    "erf", _erf,
    [lambda g, out, x: mul(g, mul(_TWO_OVER_SQRT_PI, exp(neg(_square_clipped(x)))))],
    formula="∂ erf x/∂x = (2/√π)·e^(−x²)",
    samples=unary_samples(lambda x: erf(x), _draw.normal),
    expose=Exposure(internal="F.gelu"),
)

# ---------------------------------------------------------------- selections


def _tie_mask(x: Any, y: Any, wins: Any) -> np.ndarray:
    """1 where ``wins`` holds, ½ at a tie, 0 elsewhere: the share of the gradient."""
    x, y = np.asarray(raw(x)), np.asarray(raw(y))
    dtype = np.result_type(x, y)
    mask = wins(x, y) + 0.5 * (x == y)
    return mask.astype(dtype, copy=False) if dtype.kind == "f" else mask


def _selection(name: str, forward: Any, wins: Any, formula: str, extra: Sequence[Sample],
               convention: Convention) -> Primitive:
    """Declare ``maximum`` or ``minimum``: the gradient goes to the winning side, half to
    each side at a tie. Samples keep the operands apart, so no tie lies within ±h."""
    call = lambda x, y: getattr(x, name)(y)  # noqa: E731 - a sample callable
    x, column = _draw.normal(3, 4), _draw.normal(3, 1)
    return _elementwise(
        name, forward,
        [
            lambda g, out, x, y: mul(g, _tie_mask(x, y, wins)),
            lambda g, out, x, y: mul(g, _tie_mask(y, x, wins)),
        ],
        formula=formula,
        samples=[
            sample("(3,4)&(3,4)", call, [x, _draw.apart_from(x)]),
            sample("broadcast(3,1)&(4,)", call,
                   [column, _draw.apart_from(np.broadcast_to(column, (3, 4)))[0]]),
            *extra,
        ],
        expose=_binary_exposure(
            name, None, f"Elementwise {name}; at a tie each side receives half the gradient.",
            forward, method=True),
        conventions=[convention],
    )


maximum: Primitive = _selection(
    "maximum", np.maximum, np.greater, "∂max(x,y)/∂x = 1 if x > y, ½ if x = y, 0 if x < y",
    [sample("tensor&python_float", lambda x, c: x.maximum(c), [_draw.nonzero(2, 3)], c=0.0)],
    Convention(
        "maximum tie", "∂max(x, y)/∂x = ∂max(x, y)/∂y = ½ where x = y", 0.5,
        "the average of the one-sided derivatives, symmetric in x and y; PyTorch agrees",
        "test_maximum_gives_half_to_each_side_at_a_tie",
    ),
)

minimum: Primitive = _selection(
    "minimum", np.minimum, np.less, "∂min(x,y)/∂x = 1 if x < y, ½ if x = y, 0 if x > y", [],
    Convention(
        "minimum tie", "∂min(x, y)/∂x = ∂min(x, y)/∂y = ½ where x = y", 0.5,
        "as for maximum; PyTorch agrees",
        "test_minimum_gives_half_to_each_side_at_a_tie",
    ),
)


def _where_form(cond: Any, x: Any, y: Any) -> Any:
    """``x`` where ``cond`` holds, else ``y`` (broadcast together); no gradient to ``cond``."""
    if isinstance(cond, Traced) and cond.dtype == np.bool_:  # type: ignore[attr-defined]
        return where(cond, x, y)  # a boolean tensor as it is (under vmap, a batched mask)
    mask = np.asarray(raw(cond)).astype(bool, copy=False)
    return where(mask, x, y)


def _where_sample(x: Any, y: Any, cond: Any) -> Any:
    return _where_form(cond, x, y)


where: Primitive = _elementwise(
    "where", np.where,
    [
        None,
        lambda g, out, cond, x, y: where(raw(cond), g, 0.0),
        lambda g, out, cond, x, y: where(raw(cond), 0.0, g),
    ],
    formula="∂where(c,x,y)/∂x = 1 where c, ∂/∂y = 1 where not c",
    samples=[
        sample("(3,4)&(3,4)", _where_sample, [_draw.normal(3, 4), _draw.normal(3, 4)],
               cond=_draw.mask(3, 4)),
        sample("broadcast(3,1)&(4,)", _where_sample, [_draw.normal(3, 1), _draw.normal(4)],
               cond=_draw.mask(3, 4)),
        sample("tensor&python_float", lambda x, cond, c: _where_form(cond, x, c),
               [_draw.normal(2, 3)], cond=_draw.mask(2, 3), c=0.0),
    ],
    expose=Exposure(form=_where_form, function="where", operands=(1, 2), numpy=(np.where,)),
)


def _clip_vjp(g: Any, out: Any, x: Any, lo: Any = None, hi: Any = None) -> Any:
    """The gradient passes where lo ≤ x ≤ hi, edges included (as PyTorch's clamp)."""
    data = np.asarray(raw(x))
    inside = np.ones(data.shape, dtype=bool)
    if lo is not None:
        inside &= data >= lo
    if hi is not None:
        inside &= data <= hi
    return mul(g, inside)


def _clip_form(x: Any, lo: Any = None, hi: Any = None) -> Any:
    """Limit values to [lo, hi]; the gradient passes where lo ≤ x ≤ hi."""
    for name, bound in (("lo", lo), ("hi", hi)):
        if bound is not None and type(bound) not in (bool, int, float) and not isinstance(
            bound, np.generic
        ):
            raise TypeError(f"clip: {name} must be a number or None, got {type(bound).__name__}")
    return clip(x, lo=lo, hi=hi)


def _clip_sample(x: Any, lo: Any, hi: Any) -> Any:
    return x.clip(lo, hi)


clip: Primitive = primitive(
    "clip",
    lambda x, lo=None, hi=None: np.clip(x, lo, hi),
    [_clip_vjp],
    formula="∂clip(x,lo,hi)/∂x = 1 if lo ≤ x ≤ hi else 0 (1 at the edges)",
    batch=_batch_elementwise,
    samples=[
        sample("lo&hi", _clip_sample, [_draw.away_from_edges(-0.5, 0.5, 3, 4)], lo=-0.5, hi=0.5),
        sample("lo_only", _clip_sample, [_draw.away_from_edges(0.0, 0.0, 2, 3)], lo=0.0, hi=None),
        sample("hi_only", _clip_sample, [_draw.away_from_edges(0.3, 0.3, 2, 3)], lo=None, hi=0.3),
    ],
    expose=Exposure(form=_clip_form, method="clip", function="clip",
                    doc="clip(x, lo, hi); the gradient passes where lo ≤ x ≤ hi.",
                    numpy=(np.clip,)),
    conventions=[Convention(
        "clip edges", "∂clip(x, lo, hi)/∂x = 1 for lo ≤ x ≤ hi, edges included", 1.0,
        "a value sitting on a bound still moves with x from inside; PyTorch's clamp agrees",
        "test_clip_grad_is_one_at_the_edges",
    )],
)
