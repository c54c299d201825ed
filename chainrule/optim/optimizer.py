r"""The :class:`Optimizer` base class: parameter groups, per-parameter state, checkpoints.

An optimiser turns gradients into parameter updates
:math:`\theta_t = \theta_{t-1} - (\text{something built from } \nabla_\theta J)`. This module
holds everything that does not depend on *which* update: the bookkeeping of parameter
groups (per-group hyper-parameters, PyTorch's layout), the per-parameter ``state`` dict,
``zero_grad`` and ``state_dict``/``load_state_dict``. Each subclass adds one pure update
function on NumPy arrays and says, in its docstring, which formula it computes.

Updates run on the parameters' arrays (``p.data``), in place, so no graph is recorded and
every reference to a parameter sees its new value.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar, overload

import numpy as np

from chainrule._config import STATE, enable_grad
from chainrule._quiet import quiet
from chainrule.tensor import Tensor

ParamsLike = Iterable[Tensor] | Iterable[dict[str, Any]]

_K = TypeVar("_K")
_T = TypeVar("_T")


def _lerp(start: np.ndarray, end: np.ndarray, weight: float) -> np.ndarray:
    r""":math:`\text{start} + w\,(\text{end} - \text{start})`, evaluated as PyTorch's ``lerp``.

    Mathematically this is the running average :math:`(1-w)\,\text{start} + w\,\text{end}`;
    PyTorch switches between two algebraically equal forms at :math:`|w| = 0.5` (the one
    with the smaller rounding error), and we copy that so float64 trajectories agree.
    """
    if abs(weight) < 0.5:
        return start + weight * (end - start)
    return end - (end - start) * (1 - weight)


def _lerp_(start: np.ndarray, end: np.ndarray, weight: float, work: np.ndarray) -> None:
    """:func:`_lerp` into ``start`` in place, the same arithmetic (``work``: a scratch
    buffer of the same shape)."""
    np.subtract(end, start, out=work)
    if abs(weight) < 0.5:
        work *= weight
        start += work
    else:
        work *= 1 - weight
        np.subtract(end, work, out=start)


def _copy_value(value: Any) -> Any:
    """A copy that shares no array with the optimiser (checkpoints must not alias state)."""
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, (list, tuple)):
        return type(value)(_copy_value(v) for v in value)
    return value


def _python_value(value: Any) -> Any:
    """Undo what saving to ``.npz`` does to a hyper-parameter: 0-d arrays → numbers,
    1-d arrays → tuples (``betas``), NumPy scalars → Python numbers."""
    if isinstance(value, np.ndarray):
        return value.item() if value.ndim == 0 else tuple(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    return value


def _is_index(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
        value, (bool, np.bool_)
    )


class Optimizer:
    r"""Base class of the optimisers: parameter groups, per-parameter state and checkpoints.

    Args:
        params: an iterable of Tensors to optimise, or of dicts (*parameter groups*), each
            with a ``"params"`` entry and any hyper-parameters that override ``defaults``
            for that group.
        defaults: the hyper-parameters of every group that does not set its own.

    Attributes:
        param_groups: a list of dicts, one per group: ``"params"`` (a list of Tensors) and
            every hyper-parameter (``"lr"``, ...), as in PyTorch.
        state: per-parameter state (momentum buffers, moment estimates, step counts),
            ``state[p]`` a dict of NumPy arrays of ``p``'s dtype and Python numbers.

    Raises:
        TypeError: ``params`` is a single Tensor, or holds something that is not a Tensor.
        ValueError: ``params`` is empty, a parameter appears twice, or a hyper-parameter is
            out of range (PyTorch's messages, e.g. ``Invalid learning rate: -1.0``).

    >>> import chainrule as cr
    >>> w = cr.tensor([1.0, 2.0], requires_grad=True)
    >>> opt = cr.optim.SGD([w], lr=0.1)
    >>> (w * w).sum().backward()           # dJ/dw = 2w
    >>> opt.step()                         # w <- w - 0.1 * 2w
    >>> w
    tensor([0.8, 1.6], requires_grad=True)
    >>> opt.zero_grad(); w.grad is None
    True
    """

    # Per-parameter state entries kept as Python numbers rather than arrays.
    _SCALAR_STATE: frozenset[str] = frozenset({"step"})

    def __init__(self, params: ParamsLike, defaults: dict[str, Any]) -> None:
        self.defaults: dict[str, Any] = dict(defaults)
        self.state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []
        self._buffers: dict[tuple[tuple[int, ...], str], np.ndarray] = {}  # see _scratch
        if isinstance(params, Tensor):
            raise TypeError(
                f"{self._name}: params argument given to the optimizer should be an iterable "
                f"of Tensors or dicts, but got a Tensor (wrap it in a list: [p])"
            )
        self._validate(self.defaults)
        if isinstance(params, (set, frozenset)):
            self._param_list(params)  # raises: a set has no stable order
        groups: list[Any] = list(params)
        if len(groups) == 0:
            raise ValueError(f"{self._name}: optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    @property
    def _name(self) -> str:
        return type(self).__name__

    def _scratch(self, like: np.ndarray) -> np.ndarray:
        """A work buffer shaped like ``like``, shared by every parameter of that shape and
        dtype: in-place updates need no temporaries of their own."""
        key = (like.shape, like.dtype.str)
        work = self._buffers.get(key)
        if work is None:
            work = self._buffers[key] = np.empty_like(like)
        return work

    # ------------------------------------------------------------ hooks for subclasses
    def _validate(self, group: dict[str, Any]) -> None:
        """Check one group's hyper-parameters (subclasses raise PyTorch's messages)."""

    def _init_state(self, p: Tensor, group: dict[str, Any]) -> None:
        """Create ``state[p]`` when the parameter joins (only optimisers that do it eagerly)."""

    def _update(self, p: Tensor, g: np.ndarray, state: dict[str, Any],
                group: dict[str, Any]) -> None:
        """Apply one step to ``p.data`` given its gradient ``g`` (abstract)."""
        raise NotImplementedError(f"{self._name} does not define an update rule")

    def _require(self, condition: bool, message: str) -> None:
        if not condition:
            raise ValueError(f"{self._name}: {message}")

    def _require_numbers(self, group: Mapping[_K, Any], keys: Iterable[_K]) -> None:
        for key in keys:
            if not _is_number(group[key]):
                raise TypeError(
                    f"{self._name}: {key} must be a real number, "
                    f"got {type(group[key]).__name__} {group[key]!r}"
                )

    # ------------------------------------------------------------ groups
    def add_param_group(self, param_group: dict[str, Any]) -> None:
        r"""Add a group of parameters, with its own hyper-parameters, to ``param_groups``.

        Options missing from ``param_group`` take this optimiser's defaults.

        Raises:
            TypeError: ``param_group`` is not a dict, its params are a set (unordered) or
                hold something that is not a Tensor.
            ValueError: a parameter is already optimised, or is not a leaf.
        """
        if not isinstance(param_group, dict):
            raise TypeError(
                f"{self._name}: param_group must be a dict, but got {type(param_group).__name__}"
            )
        if "params" not in param_group:
            raise ValueError(f"{self._name}: a parameter group needs a 'params' entry")
        params = self._param_list(param_group["params"])
        group = dict(param_group)
        group["params"] = params
        for key, default in self.defaults.items():
            group.setdefault(key, default)
        self._validate(group)
        self._check_disjoint(params)
        self.param_groups.append(group)
        for p in params:
            self._init_state(p, group)

    def _param_list(self, params: Any) -> list[Tensor]:
        if isinstance(params, Tensor):
            return [params]
        if isinstance(params, (set, frozenset)):
            raise TypeError(
                f"{self._name}: optimizer parameters need to be organized in ordered "
                f"collections, but the ordering of tensors in sets will change between runs. "
                f"Please use a list instead."
            )
        params = list(params)
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(
                    f"{self._name}: optimizer can only optimize Tensors, "
                    f"but one of the params is {type(p).__name__}"
                )
            if not p.is_leaf:
                raise ValueError(
                    f"{self._name}: can't optimize a non-leaf Tensor (it is computed from "
                    f"other tensors; optimise those, or .detach() it into a new leaf)"
                )
        return params

    def _check_disjoint(self, params: list[Tensor]) -> None:
        # Identity, never ==: Tensor.__eq__ is elementwise.
        ids = [id(p) for p in params]
        if len(set(ids)) != len(ids):
            raise ValueError(f"{self._name}: a parameter group contains a parameter twice")
        seen = {id(p) for group in self.param_groups for p in group["params"]}
        if not seen.isdisjoint(ids):
            raise ValueError(
                f"{self._name}: some parameters appear in more than one parameter group"
            )

    # ------------------------------------------------------------ stepping
    @overload
    def step(self, closure: None = None) -> None: ...
    @overload
    def step(self, closure: Callable[[], _T]) -> _T: ...
    def step(self, closure: Callable[[], _T] | None = None) -> _T | None:
        r"""Update every parameter that has a gradient (those with ``.grad is None`` are
        skipped) by the subclass's rule.

        Args:
            closure: optional; re-evaluates the model and returns the loss (called with
                grad mode on, before the update).

        Returns:
            The closure's loss, or ``None``.
        """
        if STATE.capture is not None:  # inside a function cr.compile captures
            return STATE.capture.optimizer_call(self, "step", closure)
        loss: _T | None = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        self._update_all()
        return loss

    @quiet  # a step that overflows leaves ±inf/nan as IEEE says, silently (fit reports it)
    def _update_all(self) -> None:
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                self._update(p, self._grad_array(p), self.state[p], group)

    def _replay_update(self) -> Callable[[], None]:
        """The update as a compiled training step replays it (:mod:`chainrule.compiler`):
        a function of no arguments doing exactly what :meth:`step` does now, for every
        later state of this optimiser (its ``lr`` changed by a scheduler, its state
        loaded). Here the generic loop; a subclass may return one written out for the
        parameters and state it has now, which checks that they are still those and falls
        back to this loop when they are not (see :meth:`SGD._replay_update`)."""
        return self._update_all

    def _grad_array(self, p: Tensor) -> np.ndarray:
        grad = p.grad.data if isinstance(p.grad, Tensor) else np.asarray(p.grad)
        data = p.data
        if grad.shape != data.shape:
            raise RuntimeError(
                f"{self._name}.step: a gradient of shape {grad.shape} does not match its "
                f"parameter's shape {data.shape}"
            )
        # State keeps the parameter's dtype: float32 stays float32.
        return grad if grad.dtype == data.dtype else grad.astype(data.dtype)

    def zero_grad(self, set_to_none: bool = True) -> None:
        r"""Forget the gradients: set every parameter's ``.grad`` to ``None`` (PyTorch 2's
        default), or to zeros with ``set_to_none=False``."""
        if STATE.capture is not None:  # inside a function cr.compile captures
            STATE.capture.optimizer_call(self, "zero_grad", set_to_none)
            return
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    p.grad = Tensor(np.zeros(p.shape, dtype=p.dtype))

    # ------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict[str, Any]:
        r"""The optimiser's state in PyTorch's layout, as copies.

        ``{"state": {index: {name: array or number}}, "param_groups": [{hyper-parameters...,
        "params": [index, ...]}]}``: parameters are numbered in the order the groups list
        them, and the Tensors themselves are not saved. Values are NumPy arrays, Python
        numbers, bools, ``None`` and tuples of numbers, so the dict can be written to
        ``.npz``.
        """
        index: dict[int, int] = {}
        groups: list[dict[str, Any]] = []
        for group in self.param_groups:
            packed = {k: _copy_value(v) for k, v in group.items() if k != "params"}
            packed["params"] = [index.setdefault(id(p), len(index)) for p in group["params"]]
            groups.append(packed)
        state: dict[int, dict[str, Any]] = {}
        for group in self.param_groups:
            for p in group["params"]:
                entry = self.state.get(p)
                if entry:
                    state[index[id(p)]] = {k: _copy_value(v) for k, v in entry.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        r"""Restore a state from :meth:`state_dict` (also after a round trip through
        ``.npz``); the next ``step`` continues the saved run bit for bit.

        Raises:
            ValueError: the dict is not an optimiser state, or its groups do not match this
                optimiser's (number of groups, parameters per group, state shapes).
        """
        if not (isinstance(state_dict, dict) and "state" in state_dict
                and "param_groups" in state_dict):
            raise ValueError(
                f"{self._name}.load_state_dict: expected a dict with keys 'state' and "
                f"'param_groups' (from Optimizer.state_dict())"
            )
        self._check_layout(state_dict)
        saved_groups = list(state_dict["param_groups"])
        by_index = self._match_groups(saved_groups)
        new_state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        for key, entry in state_dict["state"].items():
            if int(key) not in by_index:
                raise ValueError(
                    f"{self._name}.load_state_dict: state for parameter {key}, "
                    f"which no parameter group lists"
                )
            p = by_index[int(key)]
            new_state[p] = {name: self._load_state_value(p, int(key), name, value)
                            for name, value in entry.items()}
        new_groups: list[dict[str, Any]] = []
        for group, saved in zip(self.param_groups, saved_groups):
            restored = {k: _python_value(v) for k, v in saved.items() if k != "params"}
            for key, default in self.defaults.items():
                restored.setdefault(key, default)
            restored["params"] = group["params"]
            self._validate(restored)
            new_groups.append(restored)
        # Replace only after everything validated: a failed load leaves the optimiser intact.
        self.state = new_state
        self.param_groups = new_groups

    def _check_layout(self, state_dict: dict[str, Any]) -> None:
        """The nesting of a state dict, checked before use: a damaged or foreign file gets
        a message naming what is wrong, not an AttributeError from deep inside."""
        where = f"{self._name}.load_state_dict"
        state, groups = state_dict["state"], state_dict["param_groups"]
        if not isinstance(state, dict) or not all(
            # "0" too: serializers that flatten nested dicts turn int keys into strings
            (_is_index(key) or isinstance(key, str) and key.isdigit())
            and isinstance(entry, dict) for key, entry in state.items()
        ):
            raise ValueError(f"{where}: 'state' must map parameter indices (ints) to dicts")
        if not isinstance(groups, (list, tuple)) or not all(isinstance(g, dict) for g in groups):
            raise ValueError(f"{where}: 'param_groups' must be a list of dicts")
        for i, group in enumerate(groups):
            params = group.get("params", [])
            if not (isinstance(params, (list, tuple, np.ndarray))
                    and all(_is_index(k) for k in np.asarray(params).reshape(-1).tolist())):
                raise ValueError(
                    f"{where}: 'params' of parameter group {i} must be a list of parameter "
                    f"indices (ints), got {params!r}"
                )

    def _match_groups(self, saved_groups: list[Any]) -> dict[int, Tensor]:
        """Check the saved groups fit this optimiser's; map saved indices to parameters."""
        where = f"{self._name}.load_state_dict"
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(
                f"{where}: loaded state dict has a different number of parameter groups "
                f"({len(saved_groups)} saved, {len(self.param_groups)} in this optimizer)"
            )
        by_index: dict[int, Tensor] = {}
        for i, (group, saved) in enumerate(zip(self.param_groups, saved_groups)):
            if not isinstance(saved, dict) or "params" not in saved:
                raise ValueError(f"{where}: saved parameter group {i} has no 'params' entry")
            indices = [int(k) for k in np.asarray(saved["params"]).reshape(-1)]
            if len(indices) != len(group["params"]):
                raise ValueError(
                    f"{where}: loaded state dict contains a parameter group that doesn't "
                    f"match the size of optimizer's group (group {i}: {len(indices)} saved "
                    f"parameters, {len(group['params'])} here)"
                )
            by_index.update(zip(indices, group["params"]))
        return by_index

    def _load_state_value(self, p: Tensor, index: int, name: str, value: Any) -> Any:
        if name in self._SCALAR_STATE:
            # a step count: checked here, or a damaged file fails later inside step()
            count = _python_value(value)
            if not (_is_number(count) and 0 <= count < np.inf and count == int(count)):
                raise ValueError(
                    f"{self._name}.load_state_dict: state '{name}' of parameter {index} must "
                    f"be a whole number >= 0, got {count!r}"
                )
            return count
        array = np.asarray(value)
        if array.shape != p.shape:
            raise ValueError(
                f"{self._name}.load_state_dict: state '{name}' of parameter {index} has shape "
                f"{array.shape}, but the parameter has shape {p.shape}"
            )
        return array.astype(p.dtype, copy=True)

    def __repr__(self) -> str:
        lines = [f"{self._name} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines.extend(f"    {key}: {group[key]}" for key in sorted(group) if key != "params")
        return "\n".join(lines) + "\n)"
