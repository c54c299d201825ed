r"""``nn.Module`` and ``nn.Parameter``: PyTorch's way of organising parameters.

A :class:`Module` owns :class:`Parameter` tensors and child modules. Assigning either
as an attribute registers it (``self.weight = Parameter(...)``, ``self.fc = Linear(...)``),
which is what lets ``parameters()``, ``named_parameters()``, ``zero_grad()``,
``state_dict()`` and ``load_state_dict()`` find every parameter of a whole network by
walking the tree of children. Names are dotted paths, as in PyTorch: ``"fc.weight"``,
``"0.bias"``.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, NamedTuple

import numpy as np

from chainrule._config import STATE
from chainrule._convert import to_array
from chainrule.autodiff import Traced, scope
from chainrule.errors import shape_str
from chainrule.tensor import Tensor, wrap


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

class IncompatibleKeys(NamedTuple):
    """What ``load_state_dict(strict=False)`` skipped (PyTorch's ``_IncompatibleKeys``)."""

    missing_keys: list[str]
    unexpected_keys: list[str]


class Module:
    r"""Base class of every layer and model.

    Subclasses call ``super().__init__()`` first, assign their parameters and child
    modules as attributes, and define ``forward``. Calling the module runs ``forward``
    inside a graph scope named after it, so ``draw_graph`` can collapse the layer.

    >>> import chainrule as cr
    >>> from chainrule import nn
    >>> class Affine(nn.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.a = nn.Parameter([2.0])
    ...         self.b = nn.Parameter([1.0])
    ...     def forward(self, x):
    ...         return self.a * x + self.b
    >>> m = Affine()
    >>> [name for name, _ in m.named_parameters()]
    ['a', 'b']
    >>> m(cr.tensor([3.0])).tolist()
    [7.0]
    """

    training: bool
    # Set with object.__setattr__ in __init__; None entries reserve a name (bias=False).
    _parameters: OrderedDict[str, Parameter | None]
    _modules: OrderedDict[str, Module | None]
    _label: str | None

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_label", None)

    # ------------------------------------------------------------ registration
    def __setattr__(self, name: str, value: Any) -> None:
        params: OrderedDict[str, Parameter | None] | None = self.__dict__.get("_parameters")
        modules: OrderedDict[str, Module | None] | None = self.__dict__.get("_modules")
        if isinstance(value, (Parameter, Module)):
            if params is None or modules is None:
                raise AttributeError(
                    f"{type(self).__name__}: cannot assign {type(value).__name__} "
                    f"'{name}' before Module.__init__() call (call super().__init__() first)"
                )
            self._forget(name)
            if isinstance(value, Parameter):
                params[name] = value
            else:
                modules[name] = value
                object.__setattr__(value, "_label", name)
        elif params is not None and name in params:
            self._clear_slot(params, name, value, "parameter", "nn.Parameter")
        elif modules is not None and name in modules:
            self._clear_slot(modules, name, value, "child module", "nn.Module")
        else:
            object.__setattr__(self, name, value)

    def _clear_slot(self, table: OrderedDict[str, Any], name: str, value: Any, kind: str,
                    expected: str) -> None:
        """A registered parameter or child may be set to None, and to nothing else."""
        if value is not None:
            raise TypeError(
                f"{type(self).__name__}: cannot assign {type(value).__name__} as "
                f"{kind} '{name}' ({expected} or None expected)"
            )
        table[name] = None

    def _forget(self, name: str) -> None:
        """Remove ``name`` wherever it is registered, before registering it again."""
        self.__dict__.pop(name, None)
        self._parameters.pop(name, None)
        self._modules.pop(name, None)

    def __getattr__(self, name: str) -> Any:
        # Only called when normal lookup fails: parameters and children live in the dicts.
        for table in ("_parameters", "_modules"):
            entries = self.__dict__.get(table)
            if entries is not None and name in entries:
                return entries[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name: str) -> None:
        if name in self._parameters:
            del self._parameters[name]
        elif name in self._modules:
            del self._modules[name]
        else:
            object.__delattr__(self, name)

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Register ``param`` under ``name`` (``None`` reserves the name, like ``bias=False``)."""
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(
                f"register_parameter: expected an nn.Parameter or None for '{name}', "
                f"got {type(param).__name__}"
            )
        self._forget(name)
        self._parameters[name] = param

    def add_module(self, name: str, module: Module | None) -> None:
        """Register ``module`` as a child under ``name``."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(
                f"add_module: expected an nn.Module or None for '{name}', "
                f"got {type(module).__name__}"
            )
        if "." in name or name == "":
            raise KeyError(f"add_module: module name can't be empty or contain '.', got {name!r}")
        self._forget(name)
        self._modules[name] = module
        if module is not None:
            object.__setattr__(module, "_label", name)

    # ------------------------------------------------------------ running
    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """The computation; every subclass defines it (a subclass may narrow the signature,
        e.g. ``forward(self, x: Tensor) -> Tensor``)."""
        raise NotImplementedError(
            f'Module [{type(self).__name__}] is missing the required "forward" function'
        )

    # Typed as giving a Tensor, which every module of the library returns, so that an editor
    # sees ``model(x)`` as a Tensor; ``forward`` stays open (``-> Any``) for user modules.
    def __call__(self, *args: Any, **kwargs: Any) -> Tensor:
        # A child is scoped as "name: Type" so two Linear layers stay apart in a drawing.
        label = self.__dict__.get("_label")
        with scope(type(self).__name__ if label is None else f"{label}: {type(self).__name__}"):
            return self.forward(*args, **kwargs)

    def train(self, mode: bool = True) -> Module:
        """Set training mode (Dropout drops) on this module and every descendant."""
        if not isinstance(mode, bool):
            raise TypeError(f"train: mode must be a bool, got {type(mode).__name__}")
        for module in self.modules():
            object.__setattr__(module, "training", mode)
        return self

    def eval(self) -> Module:
        """Set evaluation mode (``train(False)``): Dropout becomes the identity."""
        return self.train(False)

    # ------------------------------------------------------------ walking the tree
    def named_children(self) -> Iterator[tuple[str, Module]]:
        """``(name, module)`` for each direct child."""
        seen: set[int] = set()
        for name, module in self._modules.items():
            if module is not None and id(module) not in seen:
                seen.add(id(module))
                yield name, module

    def children(self) -> Iterator[Module]:
        """Each direct child module."""
        for _, module in self.named_children():
            yield module

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        """``(dotted name, module)`` for this module (name ``""``) and every descendant,
        depth first; a module reachable twice is listed once."""
        seen: set[int] = set()
        stack: list[tuple[str, Module]] = [(prefix, self)]
        while stack:
            name, module = stack.pop()
            if id(module) in seen:
                continue
            seen.add(id(module))
            yield name, module
            children = [(f"{name}.{n}" if name else n, m)
                        for n, m in module._modules.items() if m is not None]
            stack.extend(reversed(children))

    def modules(self) -> Iterator[Module]:
        """This module and every descendant."""
        for _, module in self.named_modules():
            yield module

    def named_parameters(self, prefix: str = "", recurse: bool = True
                         ) -> Iterator[tuple[str, Parameter]]:
        """``(dotted name, parameter)`` pairs in registration order, e.g. ``"0.weight"``.

        A parameter shared between layers is listed once, under its first name.
        """
        seen: set[int] = set()
        modules = self.named_modules(prefix) if recurse else iter([(prefix, self)])
        for module_name, module in modules:
            for name, param in module._parameters.items():
                if param is None or id(param) in seen:
                    continue
                seen.add(id(param))
                yield (f"{module_name}.{name}" if module_name else name), param

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        """Every parameter, in the order of :meth:`named_parameters`."""
        for _, param in self.named_parameters(recurse=recurse):
            yield param

    def apply(self, fn: Callable[[Module], object]) -> Module:
        """Call ``fn(module)`` on every descendant, children first, then on ``self``."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget accumulated gradients: ``.grad = None`` (PyTorch 2's default), or a
        tensor of zeros with ``set_to_none=False``."""
        for param in self.parameters():
            if set_to_none or param.grad is None:
                param.grad = None
            else:
                param.grad = wrap(np.zeros_like(param.data))

    # ------------------------------------------------------------ state
    def state_dict(self) -> OrderedDict[str, Tensor]:
        """An ordered dict from dotted parameter name to a detached *copy* of its value.

        >>> from chainrule import nn
        >>> list(nn.Linear(2, 3).state_dict())
        ['weight', 'bias']
        """
        state: OrderedDict[str, Tensor] = OrderedDict()
        for module_name, module in self.named_modules():
            for name, param in module._parameters.items():
                if param is not None:
                    key = f"{module_name}.{name}" if module_name else name
                    state[key] = wrap(param.data.copy())
        return state

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True
                        ) -> IncompatibleKeys:
        r"""Copy values from ``state_dict`` into this module's parameters, in place.

        Values may be Tensors, NumPy arrays or nested lists; each is cast to the
        parameter's dtype. The Parameter objects are kept (an optimiser holding them
        sees the new values).

        Returns:
            ``(missing_keys, unexpected_keys)``, both empty when ``strict``.

        Raises:
            RuntimeError: listing missing keys and unexpected keys (when ``strict``) and
                shape mismatches (always), in PyTorch's wording; nothing is copied then.
        """
        if not isinstance(state_dict, Mapping):
            raise TypeError(
                f"load_state_dict: expected a mapping of name to tensor, "
                f"got {type(state_dict).__name__}"
            )
        own = dict(self._param_slots())
        missing = [name for name in own if name not in state_dict]
        unexpected = [name for name in state_dict if name not in own]
        arrays: dict[str, np.ndarray] = {}
        errors: list[str] = []
        for name, param in own.items():
            if name not in state_dict:
                continue
            value = state_dict[name]
            array = value.data if isinstance(value, Traced) else to_array(
                value, op="load_state_dict", copy=False)
            if array.shape != param.shape:
                errors.append(
                    f"size mismatch for {name}: copying a param with shape "
                    f"{shape_str(array.shape)} from checkpoint, the shape in current model "
                    f"is {shape_str(param.shape)}."
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
                f"Error(s) in loading state_dict for {type(self).__name__}:\n\t"
                + "\n\t".join(errors)
            )
        for name, array in arrays.items():
            np.copyto(own[name].data, array, casting="unsafe")
        return IncompatibleKeys(missing, unexpected)

    def _param_slots(self) -> Iterator[tuple[str, Parameter]]:
        """``(dotted name, parameter)`` for every parameter slot (a shared parameter under
        each of its names)."""
        for module_name, module in self.named_modules():
            for key, param in module._parameters.items():
                if param is not None:
                    yield (f"{module_name}.{key}" if module_name else key), param

    # ------------------------------------------------------------ printing
    def extra_repr(self) -> str:
        """The text inside the parentheses of ``repr`` (e.g. ``in_features=2, …``)."""
        return ""

    def __repr__(self) -> str:
        lines = []
        for name, module in self._modules.items():
            child = repr(module).replace("\n", "\n  ")
            lines.append(f"  ({name}): {child}")
        extra = self.extra_repr()
        if not lines:
            return f"{type(self).__name__}({extra})"
        head = f"{type(self).__name__}({extra}" if extra else f"{type(self).__name__}("
        return head + "\n" + "\n".join(lines) + "\n)"

    def __dir__(self) -> Iterable[str]:
        return sorted(set(super().__dir__()) | set(self._parameters) | set(self._modules))
