r"""The tensors in a module's slots (its parameters and buffers), given as name → tensor
tables: checking a buffer before it is registered, loading a state dict into them, and
converting their dtype.

A module's state is its parameters and its persistent buffers, each under a dotted name
(``"0.weight"``, ``"1.running_mean"``). Loading checks every key and shape first, in
PyTorch's wording, and copies only when all of it fits: a failed load changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from typing import Any, NamedTuple

import numpy as np

from chainrule._convert import as_dtype, to_array
from chainrule.autodiff import Traced
from chainrule.errors import shape_str
from chainrule.nn.parameter import Parameter
from chainrule.tensor import Tensor, wrap

__all__ = ["IncompatibleKeys", "cast_floating", "check_buffer", "check_name", "floating_dtype",
           "load_into"]


class IncompatibleKeys(NamedTuple):
    """What ``load_state_dict(strict=False)`` skipped (PyTorch's ``_IncompatibleKeys``)."""

    missing_keys: list[str]
    unexpected_keys: list[str]


def load_into(owner: str, own: Mapping[str, Tensor], state_dict: Mapping[str, Any],
              strict: bool) -> IncompatibleKeys:
    r"""Copy ``state_dict[name]`` into ``own[name].data`` in place, cast to its dtype.

    Args:
        owner: the module's class name, for the message.
        own: dotted name → the module's tensor (parameter or persistent buffer).
        state_dict: dotted name → Tensor, array or nested list.
        strict: refuse missing and unexpected keys.

    Raises:
        TypeError: ``state_dict`` is not a mapping.
        RuntimeError: missing/unexpected keys (when ``strict``) and shape mismatches
            (always), in PyTorch's wording; nothing is copied then.
    """
    if not isinstance(state_dict, Mapping):
        raise TypeError(
            f"load_state_dict: expected a mapping of name to tensor, "
            f"got {type(state_dict).__name__}"
        )
    missing = [name for name in own if name not in state_dict]
    unexpected = [name for name in state_dict if name not in own]
    arrays: dict[str, np.ndarray] = {}
    errors: list[str] = []
    for name, tensor in own.items():
        if name not in state_dict:
            continue
        value = state_dict[name]
        array = value.data if isinstance(value, Traced) else to_array(
            value, op="load_state_dict", copy=False)
        if array.shape != tensor.shape:
            errors.append(
                f"size mismatch for {name}: copying a param with shape "
                f"{shape_str(array.shape)} from checkpoint, the shape in current model "
                f"is {shape_str(tensor.shape)}."
            )
        arrays[name] = array
    if strict:
        if unexpected:
            errors.insert(0, "Unexpected key(s) in state_dict: "
                          + ", ".join(f'"{k}"' for k in unexpected) + ". ")
        if missing:
            errors.insert(0, "Missing key(s) in state_dict: "
                          + ", ".join(f'"{k}"' for k in missing) + ". ")
    if errors:
        raise RuntimeError(
            f"Error(s) in loading state_dict for {owner}:\n\t" + "\n\t".join(errors)
        )
    for name, array in arrays.items():
        np.copyto(own[name].data, array, casting="unsafe")
    return IncompatibleKeys(missing, unexpected)


def check_name(op: str, kind: str, owner: str, name: Any, taken: bool) -> None:
    """Refuse a name that ``add_module``/``register_buffer`` cannot register (PyTorch's
    exception types); ``taken``: ``name`` is already another kind of attribute."""
    if not isinstance(name, str):
        raise TypeError(f"{op}: {kind} name should be a string, got {type(name).__name__}")
    if "." in name or name == "":
        raise KeyError(f"{op}: {kind} name can't be empty or contain '.', got {name!r}")
    if taken:
        raise KeyError(f"{op}: attribute '{name}' already exists on {owner}")


def check_buffer(owner: str, ready: bool, name: Any, tensor: Any, persistent: Any,
                 taken: bool) -> None:
    """Refuse what ``register_buffer`` cannot register, in PyTorch's exception types.

    ``ready``: ``Module.__init__`` has run; ``taken``: ``name`` is already an attribute
    other than a buffer.
    """
    if not ready:
        raise AttributeError(f"{owner}: cannot assign buffer before Module.__init__() call "
                             "(call super().__init__() first)")
    check_name("register_buffer", "buffer", owner, name, taken)
    if tensor is not None and not isinstance(tensor, Tensor):
        raise TypeError(
            f"register_buffer: cannot assign {type(tensor).__name__} to buffer '{name}' "
            "(a Tensor or None is required; wrap arrays with cr.tensor(...))"
        )
    if not isinstance(persistent, bool):
        raise TypeError(f"register_buffer: persistent must be a bool, got {persistent!r}")


def floating_dtype(op: str, dtype: Any) -> np.dtype:
    """``dtype`` as a floating NumPy dtype, or a TypeError naming ``op``."""
    resolved = as_dtype(op, dtype)
    if resolved.kind != "f":
        raise TypeError(f"{op}: only floating dtypes are accepted (float16, float32, float64), "
                        f"got {resolved}")
    return resolved


def cast_floating(params: Mapping[str, Parameter | None],
                  buffers: MutableMapping[str, Tensor | None], dtype: np.dtype) -> None:
    """Convert floating tensors to ``dtype`` as PyTorch's ``Module.to`` does: a Parameter
    (and its ``.grad``) in place, keeping the object; a buffer replaced by a converted
    tensor; integer buffers untouched."""
    for param in params.values():
        if param is not None and param.dtype != dtype:
            param._data = param._data.astype(dtype)
            if param.grad is not None:
                param.grad._data = param.grad._data.astype(dtype)
    for name, buffer in buffers.items():
        if buffer is not None and buffer.dtype.kind == "f" and buffer.dtype != dtype:
            converted = wrap(buffer.data.astype(dtype))
            converted.requires_grad = buffer.requires_grad
            buffers[name] = converted
