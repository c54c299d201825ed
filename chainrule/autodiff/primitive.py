r"""A primitive, and applying it: validate, run the forward function on arrays, and record
a :class:`~chainrule.autodiff.node.Node` when a gradient will be needed.

A vector-Jacobian rule receives the gradient ``g`` = ∂L/∂out, the output and the inputs,
and returns ∂L/∂input = gᵀ·∂out/∂input. Rules are written with primitives, so the same
rule runs on raw arrays (first-order backward) and on Traced values (``create_graph=True``,
where the backward pass is itself recorded and can be differentiated again).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from chainrule._config import STATE
from chainrule._quiet import QUIET_STATE, current_state, quiet, quiet_runner
from chainrule._quiet import THREAD as _THREAD
from chainrule.autodiff.node import Node, Traced
from chainrule.autodiff.saved import reads_of
from chainrule.autodiff.scope import SCOPES
from chainrule.errors import shape_str

VJPRule = Callable[..., Any]


class Primitive:
    r"""One operation the engine can differentiate: the engine's half of an op-table record
    (:mod:`chainrule.ops` adds samples, conventions and how the op is exposed).

    Args:
        name: the operation's name, as shown by ``repr``, ``explain`` and ``draw_graph``.
        forward: ``forward(*arrays, **params) -> ndarray``.
        vjps: one rule per input, ``rule(g, out, *inputs, **params) -> ∂L/∂input``, or
            ``None`` for an input that is not differentiable (a mask, an index).
        formula: the local derivative rule in words, e.g. ``"∂ sin x/∂x = cos x"``.
        check: ``check(*arrays, **params)`` raising a clear error before NumPy runs.
        vjp_all: instead of ``vjps``, one rule returning every input's gradient at once,
            ``vjp_all(g, out, inputs, params, needs) -> list`` (variadic ops, custom Functions).
        prepare_g: ``prepare_g(g) -> array`` applied once to the incoming gradient array
            before the first-order rules run (the same values, in the layout they want).
        saves: the forward returns ``(out, saved)``: arrays its rules can reuse in a
            first-order pass. The engine keeps ``saved`` on the Node, hands it to the rules
            as ``saved=`` in a first-order backward and frees it with the node; rules must
            give the same result without it (``create_graph`` passes none).
        sum_to: for an op that broadcasts its inputs, ``sum_to(grad, shape=...)``: the
            engine checks that the inputs broadcast and sums a rule's result back to its
            input's shape whenever they differ (an input copied along an axis receives the
            sum of its copies' gradients), so rules are written for same-shaped arguments.
        value_reads: for a ``vjp_all`` rule, which values it reads (positions as in
            :mod:`.saved`; ``()`` for none); default: the output and every input. Per-input
            rules are read from their code (:func:`.saved.value_reads`).
        owns_grads: a ``vjp_all`` rule's gradients are arrays made for their input alone,
            unless one is the incoming gradient itself (as the per-input rules' are): a leaf
            takes such a gradient as its ``.grad`` without a copy (``cr.compile``'s replays).
    """

    __slots__ = ("name", "forward", "vjps", "formula", "check", "vjp_all", "diff_mask",
                 "prepare_g", "sum_to", "saves", "reads", "owns_grads")

    name: str
    forward: Callable[..., Any]
    vjps: tuple[VJPRule | None, ...]
    formula: str
    check: Callable[..., None] | None
    vjp_all: Callable[..., list[Any]] | None
    #: Which inputs have a rule; ``None`` when all do (or ``vjp_all`` serves them all).
    diff_mask: tuple[bool, ...] | None
    prepare_g: Callable[[Any], Any] | None
    sum_to: Callable[..., Any] | None
    saves: bool
    owns_grads: bool

    def __init__(
        self,
        name: str,
        forward: Callable[..., Any],
        vjps: Sequence[VJPRule | None] = (),
        formula: str = "",
        check: Callable[..., None] | None = None,
        vjp_all: Callable[..., list[Any]] | None = None,
        prepare_g: Callable[[Any], Any] | None = None,
        sum_to: Callable[..., Any] | None = None,
        saves: bool = False,
        value_reads: Sequence[frozenset[int]] | None = None,
        owns_grads: bool = False,
    ) -> None:
        self.name = name
        self.forward = forward
        self.vjps = tuple(vjps)
        self.formula = formula
        self.check = check
        self.vjp_all = vjp_all
        self.prepare_g = prepare_g
        self.sum_to = sum_to
        self.saves = saves
        self.owns_grads = owns_grads
        # Which inputs have a rule, decided once here rather than at every recording
        # (None: all of them, the common case, where recording skips the masking).
        mask = tuple(r is not None for r in self.vjps)
        self.diff_mask = None if vjp_all is not None or all(mask) else mask
        # which saved values the rules read: an in-place change of one of them after
        # recording makes backward refuse (see .saved)
        if vjp_all is None:
            self.reads: tuple[frozenset[int], ...] | None = reads_of(self.vjps)
        else:
            self.reads = None if value_reads is None else tuple(value_reads)

    def __call__(self, *args: Any, **params: Any) -> Any:
        # Rules call primitives on raw arrays during a first-order backward pass: then
        # no graph is needed and the forward function runs directly.
        for arg in args:
            if isinstance(arg, Traced):
                return apply(self, args, params)
        if STATE.capture is not None:  # cr.compile is capturing: a step of its tape
            return STATE.capture.prim_call(self, args, params)
        run = quiet_runner()  # None inside a quiet backward pass, where rules call this
        out = self.forward(*args, **params) if run is None else run(self.forward, *args,
                                                                       **params)
        return out[0] if self.saves else out

    def differentiable(self, index: int) -> bool:
        """Whether input ``index`` has a derivative rule."""
        if self.vjp_all is not None:
            return True
        return index < len(self.vjps) and self.vjps[index] is not None

    @quiet  # as in backward: a gradient that overflows is ±inf, silently
    def input_grads(
        self, g: Any, out: Any, inputs: Sequence[Any], params: dict[str, Any],
        needs: Sequence[bool]
    ) -> list[Any]:
        """∂L/∂input for every input whose ``needs`` flag is set (``None`` elsewhere), each
        summed back to its input's shape. The backward loop runs the same steps inline."""
        if self.vjp_all is not None:
            return list(self.vjp_all(g, out, inputs, params, needs))
        grads = [rule(g, out, *inputs, **params) if need and rule is not None else None
                 for rule, need in zip(self.vjps, needs)]
        if self.sum_to is not None:
            grads = [gx if gx is None or _shape(gx) == _shape(x)
                     else self.sum_to(gx, shape=_shape(x))
                     for gx, x in zip(grads, inputs)]
        return grads

    def __repr__(self) -> str:
        return f"Primitive({self.name!r})"


#: While ``cr.vmap`` runs, its dispatcher (:mod:`chainrule.batching`):
#: ``hook(prim, args, params)`` runs a primitive one of whose arguments is batched by the
#: primitive's batching rule, and returns ``NotImplemented`` when none is;
#: ``hook.composite(rule, args, kwargs)`` does the same for a composite with a rule.
#: ``None`` outside ``vmap``: then one comparison is all it costs.
_batching: Any = None


def set_batching(hook: Any) -> None:
    """Install (or, with ``None``, remove) the ``vmap`` dispatcher that :func:`apply`
    consults first."""
    global _batching
    _batching = hook


def batching_hook() -> Any:
    """The ``vmap`` dispatcher while a ``vmap`` runs, else ``None`` (for forms that take
    tensors outside the primitive's arguments, such as an index)."""
    return _batching


def batched_composite(func: Callable[..., Any], rule: Callable[..., Any]
                      ) -> Callable[..., Any]:
    """``func`` (a composite), run by its batching ``rule`` under ``vmap`` when an argument
    is batched."""

    def run(*args: Any, **kwargs: Any) -> Any:
        if _batching is not None:
            out = _batching.composite(rule, args, kwargs)
            if out is not NotImplemented:
                return out
        return func(*args, **kwargs)

    run.__name__, run.__qualname__ = func.__name__, func.__qualname__
    run.__doc__, run.__wrapped__ = func.__doc__, func  # type: ignore[attr-defined]
    return run


def apply(prim: Primitive, args: tuple[Any, ...], params: dict[str, Any],
          checked: bool = False) -> Any:
    """Run ``prim`` on ``args`` (Traced values and constants) and record the graph.

    The result has the result type of the first Traced argument. A Node is recorded only
    when grad mode is on and some argument requires grad. ``checked``: the caller has
    already validated everything the checks would, so they are skipped. Under ``vmap``
    a batched argument sends the call to the primitive's batching rule.
    """
    if _batching is not None:
        batched = _batching(prim, args, params)
        if batched is not NotImplemented:
            return batched
    # After vmap's dispatch: a batching rule's own primitive calls come back here and are
    # captured one by one.
    if STATE.capture is not None:  # cr.compile is capturing: it records, then runs this
        return STATE.capture.apply(prim, args, params, checked)
    # One pass over the arguments gathers the arrays, the result type and which inputs
    # need a gradient: this runs for every operation of every forward pass.
    first = None
    datas = []
    needs = []
    for arg in args:
        if isinstance(arg, Traced):
            if first is None:
                first = arg
            datas.append(arg._data)
            needs.append(arg.requires_grad)
        else:
            datas.append(arg)
            needs.append(False)
    if not checked:
        if prim.sum_to is not None:
            # equal shapes and scalars always broadcast: tested inline, the common case
            if len(datas) != 2:
                check_broadcast(prim.name, datas)
            else:
                shape, other = getattr(datas[0], "shape", ()), getattr(datas[1], "shape", ())
                if shape != other and shape != () and other != ():
                    check_broadcast(prim.name, datas)
        if prim.check is not None:
            prim.check(*datas, **params)
    # Every forward runs with floating-point warnings off: overflow to ±inf, 0/0 = nan and
    # log 0 = −inf are IEEE's answers, given silently as PyTorch gives them.
    # (quiet_runner's body, inline: this runs for every operation)
    if current_state() is QUIET_STATE:  # already quiet: a recorded backward pass
        out = prim.forward(*datas, **params) if params else prim.forward(*datas)
    else:
        try:
            run = _THREAD.run
        except AttributeError:
            run = quiet_runner()
        out = run(prim.forward, *datas, **params) if params else run(prim.forward, *datas)
    saved = None
    if prim.saves:
        out, saved = out
    if type(out) is not np.ndarray:
        out = np.asarray(out)
    # the result is built here rather than by a constructor: this is the hot path
    result = _new(first._result_class)  # type: ignore[union-attr]
    result._data = out
    result.grad = None
    if True in needs and STATE.grad_enabled:
        mask = prim.diff_mask
        if mask is not None:
            needs = [need and m for need, m in zip(needs, mask)]
        # Node's fields set here rather than through a constructor: this is the one place
        # Nodes are made, and it runs for every recorded operation
        node = _new(Node)
        node.prim, node.inputs, node.arrays, node.out = prim, args, datas, out
        node.params, node.needs, node.scope = params, needs, SCOPES[-1]
        node.saved, node.stamp = saved, STATE.inplace_clock
        result._node = node
        result.requires_grad = True
    else:
        result._node = None
        result.requires_grad = False
    return result


_new = object.__new__


def _shape(value: Any) -> tuple[int, ...]:
    return getattr(value, "shape", ())


def check_broadcast(op: str, arrays: Sequence[Any]) -> None:
    """Raise a clear error unless the shapes of ``arrays`` broadcast together (NumPy's
    rules); run by :func:`apply` for every primitive that broadcasts (``sum_to`` set)."""
    shapes = [getattr(a, "shape", ()) for a in arrays]
    if all(s == shapes[0] or s == () for s in shapes):
        return
    try:
        np.broadcast_shapes(*shapes)
    except ValueError:
        described = " and ".join(shape_str(s) for s in shapes)
        raise ValueError(f"{op}: shapes {described} cannot be broadcast together") from None
