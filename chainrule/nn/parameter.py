r"""``nn.Parameter``: the tensors that a :class:`~chainrule.nn.Module` registers as its
parameters (``parameters()`` lists them, optimisers update them)."""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule._config import STATE
from chainrule._convert import to_array
from chainrule.tensor import Tensor

__all__ = ["Parameter"]


class Parameter(Tensor):
    r"""A Tensor that a :class:`Module` registers as one of its parameters.

    It requires grad by default and always holds floating data (integer data is
    promoted to the default dtype). ``Parameter(t)`` shares ``t``'s array, as in PyTorch.
    Results of operations on a Parameter are plain Tensors, so only the leaves you
    create are registered.

    Args:
        data: a Tensor, array or nested list (default: an empty float tensor).
        requires_grad: whether ``backward()`` fills ``.grad`` (default True).

    >>> import chainrule as cr
    >>> w = cr.nn.Parameter([1.0, 2.0])
    >>> w.requires_grad, type(w * 2).__name__
    (True, 'Tensor')
    """

    __slots__ = ()

    # What backward() stores there: a plain Tensor (or nothing yet).
    grad: Tensor | None
    requires_grad: bool

    def __init__(self, data: Any = None, requires_grad: bool = True) -> None:
        if data is None:
            array = np.empty((0,), dtype=STATE.default_dtype)
        else:
            array = to_array(data, op="Parameter", copy=False)
        if array.dtype.kind != "f":
            array = array.astype(STATE.default_dtype)
        self._data = array
        self.grad = None
        self.requires_grad = bool(requires_grad)
        self._node = None

    # An operation on a Parameter (w.T, w * 2, its gradient) is an ordinary Tensor: only
    # leaves the user creates should be registered by Module.__setattr__.
    _result_class = Tensor

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()
