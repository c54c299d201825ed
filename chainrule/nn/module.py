r"""``nn.Module``: PyTorch's way of organising parameters, buffers and child modules.

A :class:`Module` owns :class:`~chainrule.nn.Parameter` tensors, buffers (tensors that
are state but are not optimised, like BatchNorm's running mean: ``register_buffer``) and
child modules. Assigning a Parameter or a Module as an attribute registers it
(``self.weight = Parameter(...)``, ``self.fc = Linear(...)``), which is what lets
``parameters()``, ``zero_grad()``, ``state_dict()`` and ``load_state_dict()`` find every
tensor of a whole network by walking the tree of children. Names are dotted paths, as in
PyTorch: ``"fc.weight"``, ``"0.bias"``, ``"1.running_mean"``.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, TypeVar

import numpy as np

from chainrule._config import STATE
from chainrule.autodiff import scope
from chainrule.nn import slots
from chainrule.nn.parameter import Parameter
from chainrule.tensor import Tensor, wrap

__all__ = ["Module", "Parameter"]

_M = TypeVar("_M", bound="Module")


class Module:
    r"""Base class of every layer and model.

    Subclasses call ``super().__init__()`` first, assign their parameters and child
    modules as attributes, register their buffers, and define ``forward``. Calling the
    module runs ``forward`` inside a graph scope named after it, so ``draw_graph`` can
    collapse the layer.

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
    _buffers: OrderedDict[str, Tensor | None]
    _non_persistent_buffers_set: set[str]
    _modules: OrderedDict[str, Module | None]
    _label: str | None

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent_buffers_set", set())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_label", None)

    # ------------------------------------------------------------ registration
    def __setattr__(self, name: str, value: Any) -> None:
        params: OrderedDict[str, Parameter | None] | None = self.__dict__.get("_parameters")
        modules: OrderedDict[str, Module | None] | None = self.__dict__.get("_modules")
        buffers: OrderedDict[str, Tensor | None] | None = self.__dict__.get("_buffers")
        if isinstance(value, (Parameter, Module)):
            if params is None or modules is None:
                raise AttributeError(
                    f"{type(self).__name__}: cannot assign {type(value).__name__} "
                    f"'{name}' before Module.__init__() call (call super().__init__() first)"
                )
            if isinstance(value, Parameter):
                self._forget(name, keep="_parameters")
                params[name] = value
            else:
                self._forget(name, keep="_modules")
                modules[name] = value
                object.__setattr__(value, "_label", name)
        elif params is not None and name in params:
            self._clear_slot(params, name, value, "parameter", "nn.Parameter")
        elif modules is not None and name in modules:
            self._clear_slot(modules, name, value, "child module", "nn.Module")
        elif buffers is not None and name in buffers:
            # a buffer slot takes a new tensor (PyTorch's ``self.running_mean = …``)
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(
                    f"{type(self).__name__}: cannot assign {type(value).__name__} as buffer "
                    f"'{name}' (Tensor or None expected)"
                )
            buffers[name] = value
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

    def _forget(self, name: str, keep: str = "") -> None:
        """Remove ``name`` wherever it is registered, before registering it again; the
        ``keep`` table is left alone, so a name registered again there keeps its place in
        the order (PyTorch's rule)."""
        self.__dict__.pop(name, None)
        for table in ("_parameters", "_buffers", "_modules"):
            if table != keep:
                getattr(self, table).pop(name, None)
        self._non_persistent_buffers_set.discard(name)

    def __getattr__(self, name: str) -> Any:
        # Only called when normal lookup fails: parameters, buffers and children live in
        # the dicts.
        for table in ("_parameters", "_buffers", "_modules"):
            entries = self.__dict__.get(table)
            if entries is not None and name in entries:
                return entries[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name: str) -> None:
        if name in self._parameters or name in self._buffers or name in self._modules:
            self._forget(name)
        else:
            object.__delattr__(self, name)

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Register ``param`` under ``name`` (``None`` reserves the name, like ``bias=False``)."""
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(
                f"register_parameter: expected an nn.Parameter or None for '{name}', "
                f"got {type(param).__name__}"
            )
        self._forget(name, keep="_parameters")
        self._parameters[name] = param

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True
                        ) -> None:
        r"""Register ``tensor`` as a buffer: state that is not a parameter, such as
        BatchNorm's running mean.

        A buffer is read and replaced as an attribute (``self.running_mean = new``), is
        listed by :meth:`buffers`, not by :meth:`parameters` (so no optimiser updates it),
        and is saved and loaded with the state dict unless ``persistent=False``.

        Args:
            name: the attribute name (no ``"."``, not an existing attribute).
            tensor: a Tensor, or ``None`` (reserves the name; not in the state dict).
            persistent: include the buffer in :meth:`state_dict`.

        Raises:
            KeyError: an empty or dotted name, or one that is already another attribute.
            TypeError: a name that is not a str, or a value that is not a Tensor or None.

        >>> import chainrule as cr
        >>> from chainrule import nn
        >>> m = nn.Module()
        >>> m.register_buffer("count", cr.zeros(1))
        >>> list(m.state_dict()), list(m.parameters())
        (['count'], [])
        """
        ready = "_buffers" in self.__dict__
        taken = ready and isinstance(name, str) and name not in self._buffers \
            and hasattr(self, name)
        slots.check_buffer(type(self).__name__, ready, name, tensor, persistent, taken)
        self._forget(name, keep="_buffers")
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers_set.discard(name)
        else:
            self._non_persistent_buffers_set.add(name)

    def add_module(self, name: str, module: Module | None) -> None:
        """Register ``module`` as a child under ``name``."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(
                f"add_module: expected an nn.Module or None for '{name}', "
                f"got {type(module).__name__}"
            )
        taken = isinstance(name, str) and name not in self._modules and hasattr(self, name)
        slots.check_name("add_module", "module", type(self).__name__, name, taken)
        self._forget(name, keep="_modules")
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
        if STATE.capture is not None:  # cr.compile: a train/eval switch captures again
            STATE.capture.module_called(self)
        with scope(type(self).__name__ if label is None else f"{label}: {type(self).__name__}"):
            return self.forward(*args, **kwargs)

    def train(self: _M, mode: bool = True) -> _M:
        """Set training mode (Dropout drops) on this module and every descendant."""
        if not isinstance(mode, bool):
            raise TypeError(f"train: mode must be a bool, got {type(mode).__name__}")
        for module in self.modules():
            object.__setattr__(module, "training", mode)
        return self

    def eval(self: _M) -> _M:
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

    def _named_members(self, table: str, prefix: str, recurse: bool
                       ) -> Iterator[tuple[str, Any]]:
        """``(dotted name, entry)`` of ``module.<table>`` over the tree; an entry shared
        between slots is listed once, under its first name."""
        seen: set[int] = set()
        modules = self.named_modules(prefix) if recurse else iter([(prefix, self)])
        for module_name, module in modules:
            for name, entry in getattr(module, table).items():
                if entry is None or id(entry) in seen:
                    continue
                seen.add(id(entry))
                yield (f"{module_name}.{name}" if module_name else name), entry

    def named_parameters(self, prefix: str = "", recurse: bool = True
                         ) -> Iterator[tuple[str, Parameter]]:
        """``(dotted name, parameter)`` pairs in registration order, e.g. ``"0.weight"``.

        A parameter shared between layers is listed once, under its first name.
        """
        return self._named_members("_parameters", prefix, recurse)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        """Every parameter, in the order of :meth:`named_parameters`."""
        for _, param in self.named_parameters(recurse=recurse):
            yield param

    def named_buffers(self, prefix: str = "", recurse: bool = True
                      ) -> Iterator[tuple[str, Tensor]]:
        """``(dotted name, buffer)`` pairs, e.g. ``"0.running_mean"``, persistent or not."""
        return self._named_members("_buffers", prefix, recurse)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        """Every buffer, in the order of :meth:`named_buffers`."""
        for _, buffer in self.named_buffers(recurse=recurse):
            yield buffer

    def apply(self: _M, fn: Callable[[Module], object]) -> _M:
        """Call ``fn(module)`` on every descendant, children first, then on ``self``;
        returns ``self`` (e.g. ``model.apply(init_weights)``)."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    # ------------------------------------------------------------ gradients and dtypes
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget accumulated gradients: ``.grad = None`` (PyTorch 2's default), or a
        tensor of zeros with ``set_to_none=False``."""
        if STATE.capture is not None:  # inside a function cr.compile captures: recorded
            STATE.capture.optimizer_call(self, "zero_grad", set_to_none)
            return
        for param in self.parameters():
            if set_to_none or param.grad is None:
                param.grad = None
            else:
                param.grad = wrap(np.zeros_like(param.data))

    def requires_grad_(self: _M, flag: bool = True) -> _M:
        """Set ``requires_grad`` on every parameter (``False`` freezes the module, e.g. to
        fine-tune only a new head); returns ``self``."""
        if not isinstance(flag, (bool, np.bool_)):
            raise TypeError(f"requires_grad_: flag must be a bool, got {flag!r}")
        for param in self.parameters():
            param.requires_grad_(bool(flag))
        return self

    def to(self: _M, dtype: Any) -> _M:
        """Convert every floating parameter (and its ``.grad``) and floating buffer to
        ``dtype``; returns ``self``.

        As in PyTorch, each Parameter is converted in place (the same object, so an
        optimiser that holds it keeps working); a buffer is replaced by a converted
        tensor. Integer buffers (such as a step count) keep their dtype.

        >>> from chainrule import nn
        >>> nn.Linear(2, 1).to("float64").weight.dtype
        dtype('float64')
        """
        resolved = slots.floating_dtype("Module.to", dtype)
        for module in self.modules():
            slots.cast_floating(module._parameters, module._buffers, resolved)
        return self

    def double(self: _M) -> _M:
        """``to("float64")``: every floating parameter and buffer in double precision."""
        return self.to(np.float64)

    def float(self: _M) -> _M:
        """``to("float32")``: every floating parameter and buffer in single precision."""
        return self.to(np.float32)

    # ------------------------------------------------------------ state
    def state_dict(self) -> OrderedDict[str, Tensor]:
        """An ordered dict from dotted name to a detached *copy* of each parameter and
        persistent buffer: per module its parameters, then its buffers, then its children
        (PyTorch's order).

        >>> from chainrule import nn
        >>> list(nn.Linear(2, 3).state_dict())
        ['weight', 'bias']
        """
        return OrderedDict((name, wrap(tensor.data.copy())) for name, tensor in self._slots())

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True
                        ) -> slots.IncompatibleKeys:
        r"""Copy values from ``state_dict`` into this module's parameters and persistent
        buffers, in place.

        Values may be Tensors, NumPy arrays or nested lists; each is cast to the
        tensor's dtype. The Parameter objects are kept (an optimiser holding them
        sees the new values).

        Returns:
            ``(missing_keys, unexpected_keys)``, both empty when ``strict``.

        Raises:
            RuntimeError: listing missing keys and unexpected keys (when ``strict``) and
                shape mismatches (always), in PyTorch's wording; nothing is copied then.
        """
        return slots.load_into(type(self).__name__, dict(self._slots()), state_dict, strict)

    def _slots(self) -> Iterator[tuple[str, Tensor]]:
        """``(dotted name, tensor)`` for every state-dict slot: parameters, then persistent
        buffers, module by module (a shared tensor under each of its names)."""
        for module_name, module in self.named_modules():
            dot = f"{module_name}." if module_name else ""
            for key, param in module._parameters.items():
                if param is not None:
                    yield dot + key, param
            for key, buffer in module._buffers.items():
                if buffer is not None and key not in module._non_persistent_buffers_set:
                    yield dot + key, buffer

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
        return sorted(set(super().__dir__()) | set(self._parameters) | set(self._buffers)
                      | set(self._modules))
