r"""The op table's record: everything about one operation, declared once, side by side.

An operation is declared in one file of :mod:`chainrule.ops` with

* the engine's half, a :class:`~chainrule.autodiff.Primitive` (forward, one derivative
  rule per input written with primitives, the formula, the input check) — or, for a
  *composite* built stably from primitives, just its function;
* its test samples (:class:`Sample`: inputs from a domain, shapes, parameters), which
  ``chainrule gradcheck`` and the op-table tests run against finite differences and PyTorch;
* its conventions at kinks (:class:`Convention`), if it has any;
* how users reach it (:class:`Exposure`): a Tensor method, a ``cr.`` function form,
  operators — generated from this record by :mod:`chainrule.tensor` and
  :mod:`chainrule.function_forms`;
* its batching rule (``batch``, see :mod:`chainrule.ops._batching`): how ``cr.vmap`` runs
  it on a whole batch at once. Every primitive has one; a composite has one only when its
  body reads values (a shift constant) and so cannot simply run its primitives' rules.

:func:`register` checks that no facet is missing, so an op cannot be declared without them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from chainrule.autodiff import Primitive, batched_composite, composite


@dataclass(frozen=True)
class Sample:
    r"""One way of calling an op: ``fn(*Tensor(inputs), **params)``.

    Args:
        description: what this sample exercises (``"broadcast(3,1)&(4,)"``).
        fn: applies the op through the public surface; takes Tensors, then ``params``.
        inputs: the differentiable inputs, float64 arrays inside the op's domain.
        params: keyword parameters (axes, shapes, indices, masks), the same for any
            reference implementation (the PyTorch oracle receives them too).
        op: the op's name, filled in by :func:`register`.
    """

    description: str
    fn: Callable[..., Any]
    inputs: tuple[np.ndarray, ...]
    params: dict[str, Any] = field(default_factory=dict)
    op: str = ""

    def __call__(self, *tensors: Any) -> Any:
        return self.fn(*tensors, **self.params)

    @property
    def id(self) -> str:
        """A readable identifier, ``op:description``."""
        return f"{self.op}:{self.description}"


def sample(description: str, fn: Callable[..., Any], inputs: Sequence[Any],
           **params: Any) -> Sample:
    """A :class:`Sample` whose inputs are converted to float64 arrays."""
    arrays = tuple(np.asarray(a, dtype=np.float64) for a in inputs)
    return Sample(description, fn, arrays, params)


@dataclass(frozen=True)
class Convention:
    r"""One choice at a point where the derivative does not exist (a kink, a tie, an edge).

    Attributes:
        name: a short name (``"relu at 0"``).
        rule: the choice, as a formula.
        value: the derivative the library returns in the case ``rule`` describes.
        rationale: why this choice.
        test: the test in ``tests/test_conventions.py`` that proves it.
        op: the op table row that implements it, filled in by :func:`register`.
    """

    name: str
    rule: str
    value: float
    rationale: str
    test: str
    op: str = ""

    def __str__(self) -> str:
        return (f"{self.name}: {self.rule}\n    why: {self.rationale}\n"
                f"    tested by: tests/test_conventions.py::{self.test}")


@dataclass(frozen=True)
class Exposure:
    r"""How users reach an operation.

    Attributes:
        form: the public implementation, ``form(x, ...)`` with the tensor(s) first; the
            Tensor method and the ``cr.`` function call it. ``None``: apply the primitive
            to the positional arguments.
        method: the Tensor method's name, or ``None``.
        function: the ``cr.`` function's name, or ``None``.
        operators: Python operators (``"__add__"``); a reflected one (``"__radd__"``)
            receives its operands swapped.
        operands: the positions of the function form's tensor arguments: each is
            converted like an operator's operand (lists become arrays), and the first
            becomes a Tensor when none is one. ``"sequence"``: the first argument is a
            sequence of tensors.
        internal: for an op users do not call directly, the public function that uses it
            (``"F.cross_entropy"``); then no method, function or operator is made.
        doc: the method's and function's one-line docstring (default: the form's).
        numpy: the NumPy ufuncs and functions that run this op when called on a Tensor
            (``np.exp(t)``), with NumPy's arguments, recording the gradient.
    """

    form: Callable[..., Any] | None = None
    method: str | None = None
    function: str | None = None
    operators: tuple[str, ...] = ()
    operands: tuple[int, ...] | str = (0,)
    internal: str = ""
    doc: str = ""
    numpy: tuple[Any, ...] = ()


@dataclass(frozen=True)
class OpRecord:
    """One row of the op table (see the module docstring)."""

    name: str
    primitive: Primitive | None
    composite: Callable[..., Any] | None
    formula: str
    samples: tuple[Sample, ...]
    exposure: Exposure
    conventions: tuple[Convention, ...]
    #: ``batch(prim, values, bdims, params) -> (out, out_bdim)`` for a primitive;
    #: ``batch(values, bdims, kwargs) -> (out, out_bdim)`` for a composite (or None).
    batch: Callable[..., Any] | None = None

    @property
    def form(self) -> Callable[..., Any]:
        """The public implementation that methods and function forms call."""
        if self.exposure.form is not None:
            return self.exposure.form
        if self.composite is not None:
            return self.composite
        return self.primitive  # type: ignore[return-value]


#: Every operation, in declaration order: name -> record.
RECORDS: dict[str, OpRecord] = {}


def register(name: str, primitive: Primitive | None, composite: Callable[..., Any] | None,
             samples: Sequence[Sample], exposure: Exposure,
             conventions: Sequence[Convention], batch: Callable[..., Any] | None = None
             ) -> None:
    """Add an op to :data:`RECORDS`, refusing a record with a facet missing (a primitive
    without a batching rule among them)."""
    if name in RECORDS:
        raise ValueError(f"op table: {name!r} is declared twice")
    if not samples:
        raise ValueError(f"op table: {name!r} has no samples")
    if primitive is not None and not primitive.formula:
        raise ValueError(f"op table: primitive {name!r} has no formula")
    if primitive is not None and batch is None:
        raise ValueError(f"op table: primitive {name!r} has no batching rule (batch=)")
    exposed = exposure.method or exposure.function or exposure.operators
    if not exposed and not exposure.internal:
        raise ValueError(f"op table: {name!r} is neither exposed nor marked internal")
    formula = primitive.formula if primitive is not None else (composite.__doc__ or "")
    RECORDS[name] = OpRecord(
        name, primitive, composite, formula.strip().splitlines()[0] if formula else "",
        tuple(Sample(s.description, s.fn, s.inputs, s.params, name) for s in samples),
        exposure,
        tuple(Convention(c.name, c.rule, c.value, c.rationale, c.test, name)
              for c in conventions),
        batch,
    )


def primitive(name: str, forward: Callable[..., Any], vjps: Sequence[Any] = (), *,
              formula: str, samples: Sequence[Sample], expose: Exposure,
              check: Callable[..., None] | None = None,
              conventions: Sequence[Convention] = (),
              batch: Callable[..., Any] | None = None, **engine: Any) -> Primitive:
    """Declare a primitive and its record; ``batch`` is its batching rule (required);
    ``engine`` passes the rest of :class:`~chainrule.autodiff.Primitive`'s options
    (``vjp_all``, ``prepare_g``, ``saves``, ``sum_to``). Returns the Primitive, which rules
    call."""
    prim = Primitive(name, forward, vjps, formula=formula, check=check, **engine)
    register(name, prim, None, samples, expose, conventions, batch)
    return prim


def composite_op(name: str, *, samples: Sequence[Sample], expose: Exposure,
                 conventions: Sequence[Convention] = (), scoped: bool = True,
                 batch: Callable[..., Any] | None = None) -> Callable[[Any], Any]:
    """Declare a composite (built from primitives, no rule of its own) and its record::

        @composite_op("mean", samples=..., expose=Exposure(method="mean", function="mean"))
        def mean(x, axis=None, keepdims=False): ...

    With ``scoped`` the function's nodes carry its name (see
    :func:`chainrule.autodiff.composite`); a mere reshaping helper (``squeeze``) is not
    worth a box of its own in a drawing.

    ``batch``: for a composite whose body reads values (a shift constant, a mask), the rule
    ``vmap`` runs instead when its first argument is batched; the others run their
    primitives' rules.
    """

    def declare(func: Callable[..., Any]) -> Callable[..., Any]:
        wrapped = composite(name)(func) if scoped else func
        if batch is not None:
            wrapped = batched_composite(wrapped, batch)
        register(name, None, wrapped, samples, expose, conventions, batch)
        return wrapped

    return declare
