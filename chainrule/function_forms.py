"""The function forms ``cr.add``, ``cr.exp``, ``cr.concatenate``…, generated from the op
table: each record that names a ``function`` gets one here.

They accept Tensors, arrays, lists and numbers and always return a Tensor: the record's
``operands`` say which arguments hold tensors; those are converted like an operator's
operands, and the first becomes a Tensor when none is one. ``function_forms.pyi`` gives
editors their signatures (``make stubs`` regenerates it from the table).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from chainrule import ops as _ops
from chainrule._convert import operand
from chainrule.autodiff import Traced
from chainrule.ops import OpRecord
from chainrule.tensor import Tensor, as_tensor, method_of


def _function_form(record: OpRecord) -> Callable[..., Tensor]:
    """The ``cr.`` function of ``record``."""
    name = record.exposure.function
    assert name is not None
    operands = record.exposure.operands
    exposure = record.exposure
    # the Tensor method (or operator) made once here, not looked up at every call
    impl = method_of(record, exposure.method or next(iter(exposure.operators), None))
    if operands == "sequence":
        def function(tensors: Sequence[Any], *args: Any, **kwargs: Any) -> Tensor:
            return impl([as_tensor(t, name) for t in tensors], *args, **kwargs)  # type: ignore
    elif operands == (0,):
        def function(x: Any, *args: Any, **kwargs: Any) -> Tensor:
            return impl(x if type(x) is Tensor else as_tensor(x, name), *args, **kwargs)  # type: ignore
    else:
        positions = tuple(operands)

        def function(*args: Any) -> Tensor:
            values = list(args)
            for i in positions:
                values[i] = operand(name, values[i])
            if not any(isinstance(values[i], Traced) for i in positions):
                values[positions[0]] = as_tensor(values[positions[0]], name)
            return impl(*values)  # type: ignore[no-any-return]
    function.__name__ = function.__qualname__ = name
    function.__doc__ = record.exposure.doc or record.form.__doc__
    return function


def _generate() -> list[str]:
    names = []
    for record in _ops.RECORDS.values():
        if record.exposure.function is not None:
            globals()[record.exposure.function] = _function_form(record)
            names.append(record.exposure.function)
    return names


__all__ = _generate()
