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
    exposure = record.exposure
    name = exposure.function or record.name
    # the Tensor method (or operator) made once here, not looked up at every call
    impl = method_of(record, exposure.method or next(iter(exposure.operators), None))
    positions = exposure.operands

    def of_sequence(tensors: Sequence[Any], *args: Any, **kwargs: Any) -> Tensor:
        return impl([as_tensor(t, name) for t in tensors], *args, **kwargs)

    def of_tensor(x: Any, *args: Any, **kwargs: Any) -> Tensor:
        return impl(x if type(x) is Tensor else as_tensor(x, name), *args, **kwargs)

    def of_operands(*args: Any) -> Tensor:
        values = list(args)
        for i in positions:
            values[i] = operand(name, values[i])
        if not any(isinstance(values[i], Traced) for i in positions):
            values[positions[0]] = as_tensor(values[positions[0]], name)
        return impl(*values)

    function = (of_sequence if positions == "sequence" else of_tensor if positions == (0,)
                else of_operands)
    function.__name__ = function.__qualname__ = name
    function.__doc__ = exposure.doc or record.form.__doc__
    return function


def _generate() -> list[str]:
    names = []
    for record in _ops.RECORDS.values():
        if record.exposure.function is not None:
            globals()[record.exposure.function] = _function_form(record)
            names.append(record.exposure.function)
    return names


__all__ = _generate()
