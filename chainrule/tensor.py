r"""The :class:`Tensor`: a NumPy array that remembers how it was computed.

Its differentiable methods and operators are generated from the op table
(:data:`chainrule.ops.RECORDS`): each record says which method, operators and function
form reach it, so the Tensor itself holds no math. What is written here by hand is what is
not an operation: properties, ``backward``, conversions, comparisons (no gradient).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from chainrule import ops as _ops
from chainrule._config import STATE
from chainrule._convert import (
    PLAIN_OPERANDS,
    numpy_axis_names,
    operand,
    to_array,
)
from chainrule._inplace import InPlaceMethods, set_items
from chainrule._numpy import NumPyProtocols
from chainrule.autodiff import Traced, apply, backward, check_broadcast, raw, wrap_result
from chainrule.errors import shape_str
from chainrule.ops import OpRecord
from chainrule.ops._axes import normalize_axis

if TYPE_CHECKING:
    from chainrule._tensor_methods import TensorMethods
else:
    TensorMethods = object


class Tensor(Traced, InPlaceMethods, NumPyProtocols, TensorMethods):
    r"""An n-dimensional array with reverse-mode automatic differentiation.

    Args:
        data: a number, a nested list, a NumPy array or another Tensor (copied).
        dtype: NumPy dtype; by default Python floats become float32 and arrays keep theirs.
        requires_grad: record operations on this tensor so that ``backward()`` can fill
            its ``.grad``.

    >>> import chainrule as cr
    >>> x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    >>> y = (x * x).sum()          # y = Σ xᵢ²
    >>> y.backward()               # dy/dxᵢ = 2xᵢ
    >>> x.grad
    tensor([2., 4., 6.])
    """

    __slots__ = ()
    # Comparisons are elementwise, identity stays hashable: object's own hash, no Python
    # frame (type checkers see its signature).
    if TYPE_CHECKING:
        def __hash__(self) -> int: ...
    else:
        __hash__ = Traced.__hash__

    # Traced's slots, with the types a Tensor gives them (annotations only: no class values).
    grad: Tensor | None
    requires_grad: bool

    def __init__(self, data: Any, dtype: Any = None, requires_grad: bool = False) -> None:
        if not isinstance(requires_grad, (bool, np.bool_)):
            raise TypeError(f"tensor: requires_grad must be a bool, got {requires_grad!r}")
        self._data = to_array(data, dtype, bool(requires_grad))
        self.grad = None
        self.requires_grad = bool(requires_grad)
        self._node = None

    # ------------------------------------------------------------ properties
    @property
    def data(self) -> np.ndarray:
        """The values, a NumPy array (shared, not copied). Assigning converts the new value
        to an array of this tensor's dtype (a TypeError for anything that is not numbers);
        the graph is not told, as in PyTorch."""
        if STATE.capture is not None:  # cr.compile follows what is done with the values
            return raw(self)
        return self._data

    @data.setter
    def data(self, value: Any) -> None:
        if isinstance(value, Traced):
            value = value._data
        dtype = self._data.dtype
        if type(value) is np.ndarray and value.dtype == dtype:
            self._data = value  # shared, like PyTorch's ``t.data = other``
            return
        self._data = to_array(value, op="data", copy=False).astype(dtype, copy=False)

    @property
    def shape(self) -> tuple[int, ...]:
        return self._data.shape

    @property
    def dtype(self) -> np.dtype:
        return self._data.dtype

    @property
    def ndim(self) -> int:
        return self._data.ndim

    @property
    def size(self) -> int:
        return int(self._data.size)

    @property
    def T(self) -> Tensor:  # noqa: N802 - NumPy's name
        return self.transpose()

    @property
    def is_leaf(self) -> bool:
        """True for tensors created by the user (not by a recorded operation)."""
        return self._node is None

    @property
    def grad_fn(self) -> Any:
        """The graph node that produced this tensor (``None`` for a leaf), as in PyTorch."""
        return self._node

    # ------------------------------------------------------------ autodiff
    def backward(self, gradient: Any = None, retain_graph: bool | None = None,
                 create_graph: bool = False) -> None:
        r"""Accumulate ∂self/∂leaf into the ``.grad`` of every leaf that requires grad.

        Args:
            gradient: ∂L/∂self, needed when ``self`` is not a scalar (same shape).
            retain_graph: keep the graph's buffers for another backward (defaults to
                ``create_graph``).
            create_graph: record the backward pass, so ``.grad`` can be differentiated.

        Raises:
            RuntimeError: ``self`` does not require grad, is not a scalar and no
                ``gradient`` was given, or its graph was freed by an earlier backward.
        """
        if not self.requires_grad:
            raise RuntimeError(
                "backward: this tensor does not require grad and has no graph "
                "(create inputs with requires_grad=True, outside no_grad())"
            )
        if gradient is None:
            if self._data.size != 1:
                raise RuntimeError(
                    f"backward: a gradient can be created implicitly only for a scalar output, "
                    f"but this tensor has shape {shape_str(self.shape)}; pass gradient= (a tensor "
                    "of that shape, ∂L/∂output) or reduce it first, e.g. y.sum().backward()"
                )
            gradient = np.ones(self._data.shape, self._data.dtype)  # ones_like less dispatch
        else:
            gshape = np.shape(gradient.data if isinstance(gradient, Traced) else gradient)
            if tuple(gshape) != self.shape:
                raise ValueError(
                    f"backward: gradient has shape {shape_str(gshape)} but the output has shape "
                    f"{shape_str(self.shape)}"
                )
            if not create_graph:
                raw = gradient.data if isinstance(gradient, Traced) else gradient
                gradient = np.asarray(raw, dtype=self.dtype)
        if retain_graph is None:
            retain_graph = create_graph
        backward(self, gradient, bool(retain_graph), bool(create_graph))

    def detach(self) -> Tensor:
        """The same data (shared, not copied) with no graph and ``requires_grad=False``."""
        return wrap(self._data)

    def requires_grad_(self, flag: bool = True) -> Tensor:
        """Set ``requires_grad`` in place on a leaf (integer data is promoted to float)."""
        if self._node is not None and not flag:
            raise RuntimeError(
                "requires_grad_: only leaf tensors can stop requiring grad; use .detach()"
            )
        if flag and self._data.dtype.kind != "f":
            self._data = self._data.astype(STATE.default_dtype)
        self.requires_grad = bool(flag)
        return self

    # ------------------------------------------------------------ conversion
    def numpy(self) -> np.ndarray:
        """The underlying array (shared memory, no graph)."""
        if STATE.capture is not None:
            return raw(self)
        return self._data

    def item(self) -> Any:
        """The value of a one-element tensor as a Python number."""
        if STATE.capture is not None:
            STATE.capture.python(self, "item()")
        if self._data.size != 1:
            raise ValueError(
                f"item: only a one-element tensor converts to a Python number, "
                f"this one has shape {shape_str(self.shape)}"
            )
        return self._data.item()

    def tolist(self) -> Any:
        """The data as nested Python lists (a number for a 0-d tensor)."""
        if STATE.capture is not None:
            STATE.capture.python(self, "tolist()")
        return self._data.tolist()

    def __float__(self) -> float:
        if STATE.capture is not None:
            STATE.capture.python(self, "float()")
        return float(self.item())

    def __int__(self) -> int:
        if STATE.capture is not None:
            STATE.capture.python(self, "int()")
        return int(self.item())

    def __bool__(self) -> bool:
        if STATE.capture is not None:
            STATE.capture.python(self, "bool()")
        if self._data.size != 1:
            raise ValueError(
                f"bool: the truth value of a tensor with {self._data.size} elements is ambiguous"
            )
        return bool(self._data.item())

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len: a 0-d tensor has no length")
        return self.shape[0]

    def __iter__(self) -> Iterator[Tensor]:
        for i in range(len(self)):
            yield self[i]

    def __repr__(self) -> str:
        body = np.array2string(self._data, separator=", ", prefix="tensor(")
        extras = []
        if self.dtype not in (STATE.default_dtype, np.dtype(np.int64), np.dtype(np.bool_)):
            extras.append(f"dtype={self.dtype}")
        if self._node is not None:
            extras.append(f"grad_fn=<{self._node.prim.name}>")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + ", ".join([body, *extras]) + ")"

    def __pos__(self) -> Tensor:
        return self

    # ------------------------------------------------------------ comparisons (no gradient)
    def _compare(self, op: str, ufunc: Any, other: Any) -> Tensor:
        other = operand(op, other)
        other_data = other.data if isinstance(other, Traced) else other
        check_broadcast(op, [self._data, other_data])
        if STATE.capture is not None:  # recorded by cr.compile's capture
            return wrap(ufunc(raw(self), raw(other)))
        return wrap(ufunc(self._data, other_data))

    def __lt__(self, other: Any) -> Tensor:
        return self._compare("lt", np.less, other)

    def __le__(self, other: Any) -> Tensor:
        return self._compare("le", np.less_equal, other)

    def __gt__(self, other: Any) -> Tensor:
        return self._compare("gt", np.greater, other)

    def __ge__(self, other: Any) -> Tensor:
        return self._compare("ge", np.greater_equal, other)

    def __eq__(self, other: Any) -> Tensor:  # type: ignore[override]
        return self._compare("eq", np.equal, other)

    def __ne__(self, other: Any) -> Tensor:  # type: ignore[override]
        return self._compare("ne", np.not_equal, other)

    # ------------------------------------------------------------ indexing
    def __setitem__(self, index: Any, value: Any) -> None:
        """``t[index] = value`` in place, with the rules of the in-place ops (a leaf that
        requires grad refuses while grad mode is on; otherwise recorded when a gradient
        must flow, into the buffer when none must)."""
        set_items(self, index, value)

    # ------------------------------------------------------------ not operations
    def numel(self) -> int:
        """The number of elements (PyTorch's name for ``size``)."""
        return int(self._data.size)

    @property
    def mT(self) -> Tensor:  # noqa: N802 - PyTorch's name
        """The last two axes swapped (a batch of matrices transposed)."""
        if self._data.ndim < 2:
            raise ValueError(f"mT: needs at least 2 dimensions, got shape {shape_str(self.shape)}")
        return self.swapaxes(-1, -2)

    def to(self, dtype: Any) -> Tensor:
        """A copy converted to ``dtype`` (PyTorch's name for :meth:`astype`)."""
        return self.astype(dtype)

    def float(self) -> Tensor:
        """A float32 copy (differentiable)."""
        return self.astype(np.float32)

    def double(self) -> Tensor:
        """A float64 copy (differentiable)."""
        return self.astype(np.float64)

    def flatten(self) -> Tensor:
        """The elements as a 1-D tensor (``reshape(-1)``)."""
        return self.reshape(-1)

    @numpy_axis_names
    def argmax(self, axis: int | None = None) -> Tensor:
        """Index of the largest element (no gradient)."""
        if axis is not None:
            normalize_axis(axis, self.ndim, "argmax")
        return wrap(np.asarray(np.argmax(raw(self), axis=axis)))

    @numpy_axis_names
    def argmin(self, axis: int | None = None) -> Tensor:
        """Index of the smallest element (no gradient)."""
        if axis is not None:
            normalize_axis(axis, self.ndim, "argmin")
        return wrap(np.asarray(np.argmin(raw(self), axis=axis)))


def wrap(array: np.ndarray) -> Tensor:
    """A Tensor around ``array`` itself: no copy, no checks, no graph. The library's own
    constructor for arrays it has just made (users call :func:`chainrule.tensor`)."""
    return wrap_result(Tensor, array, None)


def as_tensor(value: Any, op: str = "tensor") -> Tensor:
    """``value`` itself if it is a Tensor, else a new Tensor from it (errors name ``op``)."""
    if isinstance(value, Tensor):
        return value
    return wrap(to_array(value, op=op))


# ---------------------------------------------------------------- generated from the op table

#: The operand types an operator uses as they are, tested by identity first: an operator
#: sees them on nearly every call.
_FAST_OPERAND = PLAIN_OPERANDS | {Tensor}
_NO_PARAMS: dict[str, Any] = {}
_AXIS_NAMES = frozenset({"axis", "axis1", "keepdims"})


def method_of(record: OpRecord, name: str | None = None) -> Callable[..., Any]:
    """The Tensor method of ``record`` (named ``name``): its form, or, for a primitive
    without one, the primitive applied to the tensor and, for two inputs, the converted
    other operand. A reflected operator (``__rsub__``) swaps the operands."""
    name = name or record.exposure.method or record.name
    if record.exposure.form is not None or record.primitive is None:
        form = record.form
        if record.exposure.doc and not form.__doc__:
            form.__doc__ = record.exposure.doc
        if _AXIS_NAMES & set(inspect.signature(form).parameters):
            form = numpy_axis_names(form, record.exposure.method or record.name)
        return form
    prim, op = record.primitive, record.name

    def unary(self: Tensor) -> Tensor:
        return apply(prim, (self,), _NO_PARAMS)

    def binary(self: Tensor, other: Any) -> Tensor:
        if type(other) not in _FAST_OPERAND:
            other = operand(op, other)
        return apply(prim, (self, other), _NO_PARAMS)

    def reflected(self: Tensor, other: Any) -> Tensor:
        if type(other) not in _FAST_OPERAND:
            other = operand(op, other)
        return apply(prim, (other, self), _NO_PARAMS)

    method: Callable[..., Tensor] = (
        unary if len(prim.vjps) == 1 else reflected if name.startswith("__r") else binary)
    method.__name__ = method.__qualname__ = name
    method.__doc__ = record.exposure.doc or None
    return method


def _install() -> None:
    """Give Tensor a method and operators for every op record that asks for them."""
    for record in _ops.RECORDS.values():
        for name in (record.exposure.method, *record.exposure.operators):
            if name is not None:
                setattr(Tensor, name, method_of(record, name))


_install()


@numpy_axis_names
def argmax(x: Any, axis: int | None = None) -> Tensor:
    """Index of the largest element (over ``axis``, or of the flattened tensor); no gradient."""
    return as_tensor(x, "argmax").argmax(axis=axis)


@numpy_axis_names
def argmin(x: Any, axis: int | None = None) -> Tensor:
    """Index of the smallest element (over ``axis``, or of the flattened tensor); no gradient."""
    return as_tensor(x, "argmin").argmin(axis=axis)
